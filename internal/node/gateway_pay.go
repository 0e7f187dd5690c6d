package node

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/deai-network/deai/internal/agent"
	"github.com/deai-network/deai/internal/gateway"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

// PaymentChannels reads channels and their lanes from the ledger;
// agent.LedgerChain implements it.
type PaymentChannels interface {
	agent.ChannelSource
	agent.LaneSource
}

// GatewayPaymentsOptions configure GatewayPayments.
type GatewayPaymentsOptions struct {
	ChainID  string
	Key      ed25519.PrivateKey // the gateway's hotkey: the payee, and signs receipts
	Channels PaymentChannels
	// Store is the gateway's store: the vouchers it kept are read back, so
	// that none is accepted or credited twice after a restart and all are
	// still redeemed.
	Store gateway.Store
	// Height is the chain height voucher expiries are compared with (nil:
	// vouchers with an expiry are refused).
	Height func() uint64
	// MinSettleDelay: channels that settle faster are refused.
	MinSettleDelay uint64
	Logger         *slog.Logger
}

// GatewayPaywall adapts an agent.Paywall, with the gateway's hotkey as
// payee, to gateway.Payments. Redeem its Paywall's kept vouchers with an
// agent.Redeemer.
type GatewayPaywall struct {
	pw      *agent.Paywall
	key     ed25519.PrivateKey
	chainID string
	minWait uint64

	mu    sync.Mutex // guards lanes
	lanes map[laneID]tx.Amount
}

// laneID names one lane of one channel.
type laneID struct {
	ch   paych.ChannelID
	lane uint32
}

var _ gateway.Payments = (*GatewayPaywall)(nil)

// GatewayPayments returns the gateway's voucher payments, resuming from
// the vouchers kept in o.Store; those the ledger's lanes already hold
// count as redeemed (one lane query each), so a restart does not send
// them again.
//
// The Paywall does not tell a claim's delta, so the adapter mirrors each
// lane's cumulative amount the Paywall knows: from the kept vouchers, the
// ledger's lane (read through the adapter when the Paywall seeds a lane)
// and every voucher kept since. A lane is held by its claim between Check
// and Settle, so its position cannot move meanwhile.
func GatewayPayments(ctx context.Context, o GatewayPaymentsOptions) (*GatewayPaywall, error) {
	if o.Channels == nil || o.Store == nil {
		return nil, errors.New("gateway payments: need channels and a store")
	}
	encoded, err := gateway.KeptVouchers(o.Store)
	if err != nil {
		return nil, fmt.Errorf("gateway payments: %w", err)
	}
	p := &GatewayPaywall{key: o.Key, chainID: o.ChainID, minWait: o.MinSettleDelay, lanes: map[laneID]tx.Amount{}}
	var accepted []paych.SignedVoucher
	for _, e := range encoded {
		raw, err := base64.StdEncoding.DecodeString(e)
		if err != nil {
			return nil, fmt.Errorf("gateway payments: stored voucher: %w", err)
		}
		v, err := paych.DecodeSignedVoucher(raw)
		if err != nil {
			return nil, fmt.Errorf("gateway payments: stored voucher: %w", err)
		}
		accepted = append(accepted, v)
		p.lanes[laneID{v.Channel, v.Lane}] = v.Amount
	}
	p.pw, err = agent.NewPaywall(agent.PaywallOptions{ChainID: o.ChainID, Key: o.Key, Channels: laneWatch{o.Channels, p},
		Height: o.Height, MinSettleDelay: o.MinSettleDelay, Logger: o.Logger, Accepted: accepted,
		Price: func(*http.Request) tx.Amount { return 0 }}) // the gateway prices each Check
	if err != nil {
		return nil, fmt.Errorf("gateway payments: %w", err)
	}
	var onChain []paych.SignedVoucher
	for _, v := range accepted {
		l, err := o.Channels.Lane(ctx, v.Channel, v.Lane)
		if err != nil {
			return nil, fmt.Errorf("gateway payments: read lane %d of channel %s: %w", v.Lane, v.Channel, err)
		}
		if l.Nonce >= v.Nonce {
			onChain = append(onChain, v)
		}
	}
	p.pw.MarkRedeemed(onChain)
	return p, nil
}

// Paywall returns the paywall, for an agent.Redeemer.
func (p *GatewayPaywall) Paywall() *agent.Paywall { return p.pw }

// laneWatch passes lane reads through, noting the positions the Paywall
// starts lanes from.
type laneWatch struct {
	PaymentChannels
	p *GatewayPaywall
}

func (w laneWatch) Lane(ctx context.Context, id paych.ChannelID, lane uint32) (paych.Lane, error) {
	l, err := w.PaymentChannels.Lane(ctx, id, lane)
	if err == nil {
		w.p.mu.Lock()
		if _, ok := w.p.lanes[laneID{id, lane}]; !ok {
			w.p.lanes[laneID{id, lane}] = l.Redeemed
		}
		w.p.mu.Unlock()
	}
	return l, err
}

// claim is what the adapter keeps of a checked voucher.
type claim struct {
	cl      *agent.Claim
	v       paych.SignedVoucher
	reqHash paych.RequestHash
}

// Required implements gateway.Payments with agent's PaymentRequired.
func (p *GatewayPaywall) Required(method, requestURI string, body []byte, price tx.Amount, code, msg string) string {
	pr := agent.PaymentRequired{X402Version: agent.X402Version, Error: code, Message: msg,
		Resource: agent.Resource{URL: requestURI, Method: method},
		Accepts: []agent.Requirements{{Scheme: agent.Scheme, Network: p.chainID, Amount: price, Asset: agent.Asset, PayTo: p.pw.Payee(),
			MaxTimeoutSeconds: 60, Extra: agent.Terms{RequestHash: agent.RequestHashOf(method, requestURI, body), MinSettleDelay: p.minWait}}}}
	return pr.Encode()
}

// Check implements gateway.Payments with Paywall.Check.
func (p *GatewayPaywall) Check(ctx context.Context, header, method, requestURI string, body []byte, price tx.Amount) (*gateway.Voucher, error) {
	v, err := agent.DecodePaymentSignature(header)
	if err != nil {
		return nil, &gateway.PaymentError{Status: http.StatusBadRequest, Code: agent.CodeMalformedPayment, Message: err.Error()}
	}
	reqHash := agent.RequestHashOf(method, requestURI, body)
	cl, rej := p.pw.Check(ctx, &v, price, reqHash)
	if rej != nil {
		return nil, &gateway.PaymentError{Status: rej.Status, Code: rej.Code, Message: rej.Message}
	}
	p.mu.Lock()
	prev := p.lanes[laneID{v.Channel, v.Lane}]
	p.mu.Unlock()
	return &gateway.Voucher{Payer: v.Signer(), Channel: v.Channel.String(), Lane: v.Lane, Nonce: v.Nonce, Amount: v.Amount,
		Delta: v.Amount - prev, Encoded: base64.StdEncoding.EncodeToString(v.Encode()), Claim: &claim{cl: cl, v: v, reqHash: reqHash}}, nil
}

// Settle implements gateway.Payments.
func (p *GatewayPaywall) Settle(gv *gateway.Voucher, kept bool) {
	c := gv.Claim.(*claim)
	if kept {
		p.mu.Lock()
		p.lanes[laneID{c.v.Channel, c.v.Lane}] = c.v.Amount
		p.mu.Unlock()
	}
	p.pw.Settle(c.cl, kept)
}

// Receipt implements gateway.Payments with a signed agent.PaymentReceipt.
func (p *GatewayPaywall) Receipt(gv *gateway.Voucher, status int, bodyHash [32]byte) string {
	c := gv.Claim.(*claim)
	r := agent.PaymentReceipt{Success: true, Network: p.chainID, Payer: gv.Payer, Payee: p.pw.Payee(), Channel: c.v.Channel,
		Lane: c.v.Lane, Nonce: c.v.Nonce, Amount: c.v.Amount, Paid: gv.Delta, VoucherHash: agent.VoucherHash(&c.v),
		RequestHash: c.reqHash, ResponseHash: bodyHash, Status: status}
	r.Sign(p.key)
	return r.Encode()
}
