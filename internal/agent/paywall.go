package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"sync"

	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

// ErrUnknownChannel is returned by a ChannelSource for a channel that
// does not exist.
var ErrUnknownChannel = errors.New("unknown payment channel")

// ChannelSource looks up a payment channel's on-chain state (the
// ledger's /paych/channel/<id>); LedgerChain implements it.
type ChannelSource interface {
	Channel(ctx context.Context, id paych.ChannelID) (paych.Channel, error)
}

// LaneSource is optionally implemented by a ChannelSource to tell a
// lane's redeemed position on chain (the ledger's /paych/lane/<id>/<lane>);
// the paywall starts a lane it has no record of from it, so that a voucher
// already redeemed is refused as a replay even after a restart that lost
// the paywall's memory. LedgerChain implements it.
type LaneSource interface {
	Lane(ctx context.Context, id paych.ChannelID, lane uint32) (paych.Lane, error)
}

// The error codes of a refused payment, in the "error" field of the 402
// body and header, or of the JSON error body for 400 and 409.
const (
	CodePaymentRequired     = "payment_required"      // 402: no PAYMENT-SIGNATURE
	CodeMalformedPayment    = "malformed_payment"     // 400: the header does not decode
	CodeWrongNetwork        = "wrong_network"         // 400: voucher for another chain
	CodeRequestMismatch     = "request_mismatch"      // 400: voucher bound to another request
	CodeBadSignature        = "bad_signature"         // 400: signature invalid or not the channel's From
	CodeUnknownChannel      = "unknown_channel"       // 402: no such channel, or not to this payee
	CodeChannelClosed       = "channel_closed"        // 402: settling or closed
	CodeReplayedVoucher     = "replayed_voucher"      // 402: the lane's nonce was already used
	CodeStaleVoucher        = "stale_voucher"         // 402: a nonce below the lane's
	CodeInsufficientPayment = "insufficient_payment"  // 402: the voucher adds less than the price
	CodeChannelExhausted    = "channel_exhausted"     // 402: beyond the channel's balance
	CodeVoucherExpired      = "voucher_expired"       // 402
	CodeLaneBusy            = "lane_busy"             // 409: another payment on the lane is in flight
	CodeChannelLookup       = "channel_lookup_failed" // 503: the chain did not answer
)

// PaywallOptions configure NewPaywall.
type PaywallOptions struct {
	ChainID string
	Key     ed25519.PrivateKey // the payee's: receipts are signed with it
	// Price of a request (required); 0 serves it for free.
	Price    func(r *http.Request) tx.Amount
	Channels ChannelSource
	// Height is the chain height that voucher expiries are compared with
	// (nil: vouchers with an expiry are refused).
	Height func() uint64
	// MinSettleDelay: channels that settle faster are refused, so the
	// payee always has time to redeem.
	MinSettleDelay uint64
	MaxBody        int64        // default 8 MiB
	Logger         *slog.Logger // nil: discard
	// Accepted restores the vouchers a previous run accepted (from
	// Paywall.Accepted, saved by the caller): each lane starts from its
	// voucher, which is redeemed again if needed.
	Accepted []paych.SignedVoucher
}

// Paywall is a payee's HTTP middleware for the 402 flow: a request
// without PAYMENT-SIGNATURE gets 402 with the terms; a request with a
// voucher is checked against the payee's copy of the channel (the ledger's
// redeem rules: signature, channel, lane nonce above the last accepted,
// cumulative amount at least the price above it, within the channel's
// balance, not expired), served, and answered with a signed
// PAYMENT-RESPONSE receipt. The voucher is kept (and will be redeemed)
// only when the handler answered below 500, so a failing service is not
// paid. Its methods are safe for concurrent use.
type Paywall struct {
	o     PaywallOptions
	payee tx.Address
	log   *slog.Logger

	mu      sync.Mutex // guards chans and restore
	chans   map[paych.ChannelID]*payeeChannel
	restore []paych.SignedVoucher // from PaywallOptions.Accepted, for channels not read yet
}

type payeeChannel struct {
	ch       paych.Channel // as last read from the ledger
	lanes    map[uint32]*payeeLane
	accepted tx.Amount // sum of the lanes' accepted amounts
	pending  tx.Amount // sum of the in-flight vouchers' deltas
}

type payeeLane struct {
	pos      paych.Lane           // the last accepted voucher's nonce and amount
	latest   *paych.SignedVoucher // nil: none accepted yet
	redeemed uint64               // the nonce last redeemed on chain
	busy     bool                 // a voucher on the lane is being served
}

// NewPaywall returns a paywall.
func NewPaywall(o PaywallOptions) (*Paywall, error) {
	switch {
	case o.ChainID == "":
		return nil, errors.New("new paywall: missing chain id")
	case len(o.Key) != ed25519.PrivateKeySize:
		return nil, fmt.Errorf("new paywall: key is %d bytes, want %d", len(o.Key), ed25519.PrivateKeySize)
	case o.Price == nil:
		return nil, errors.New("new paywall: missing price")
	case o.Channels == nil:
		return nil, errors.New("new paywall: missing channel source")
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 8 << 20
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Paywall{o: o, payee: tx.AddressFromPubKey(o.Key.Public().(ed25519.PublicKey)), log: log.With("component", "paywall"),
		chans: map[paych.ChannelID]*payeeChannel{}}
	// Restored vouchers are re-checked against the channel when it is
	// first read; until then they only set the lanes' positions.
	p.restore = o.Accepted
	return p, nil
}

// Payee returns the address vouchers must pay.
func (p *Paywall) Payee() tx.Address { return p.payee }

// Rejection is a refused payment or message: the HTTP status, a stable
// code (the Code… constants) and a message for the client.
type Rejection struct {
	Status  int
	Code    string
	Message string
}

func (e *Rejection) Error() string { return e.Code + ": " + e.Message }

func refuse(status int, code, format string, args ...any) *Rejection {
	return &Rejection{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Claim is a voucher accepted for one request, holding its lane until
// Settle.
type Claim struct {
	v     paych.SignedVoucher
	delta tx.Amount
}

// Check checks voucher v for a request of price bound to reqHash and, if
// it passes, holds its lane until Settle. It is the paywall's check
// without HTTP.
func (p *Paywall) Check(ctx context.Context, v *paych.SignedVoucher, price tx.Amount, reqHash paych.RequestHash) (*Claim, *Rejection) {
	if v.ChainID != p.o.ChainID {
		return nil, refuse(http.StatusBadRequest, CodeWrongNetwork, "voucher is for chain %q, this is %q", v.ChainID, p.o.ChainID)
	}
	if v.RequestHash != reqHash {
		return nil, refuse(http.StatusBadRequest, CodeRequestMismatch, "voucher is bound to request %s, this request is %s", v.RequestHash, reqHash)
	}
	if v.Expiry != 0 && (p.o.Height == nil || p.o.Height() > v.Expiry) {
		return nil, refuse(http.StatusPaymentRequired, CodeVoucherExpired, "voucher expired at height %d", v.Expiry)
	}
	// The signature first, outside the lock: it is the expensive part, and
	// nothing below trusts a voucher that fails it.
	if !v.Verify() {
		return nil, refuse(http.StatusBadRequest, CodeBadSignature, "voucher signature does not verify for its public key and contents")
	}
	cl, perr := p.admit(ctx, v, price)
	if perr != nil && perr.Code == CodeChannelExhausted {
		// The channel may have been topped up since it was read.
		if _, perr := p.channel(ctx, v.Channel, true); perr != nil {
			return nil, perr
		}
		cl, perr = p.admit(ctx, v, price)
	}
	return cl, perr
}

// CheckBatch is Check for many vouchers at once (e.g. a facilitator's
// verify endpoint, or a payee draining a queue): the signatures are
// checked together with paych.VerifyBatch, two to three times as fast as
// one by one, then each voucher is admitted in order. claims[i] or
// errs[i] answers vs[i]; two vouchers on one lane in a batch make the
// second lane_busy.
func (p *Paywall) CheckBatch(ctx context.Context, vs []paych.SignedVoucher, price tx.Amount, reqHashes []paych.RequestHash) ([]*Claim, []*Rejection) {
	claims, errs := make([]*Claim, len(vs)), make([]*Rejection, len(vs))
	ok := paych.VerifyBatch(vs)
	for i := range vs {
		v := &vs[i]
		switch {
		case v.ChainID != p.o.ChainID:
			errs[i] = refuse(http.StatusBadRequest, CodeWrongNetwork, "voucher is for chain %q, this is %q", v.ChainID, p.o.ChainID)
		case i >= len(reqHashes) || v.RequestHash != reqHashes[i]:
			errs[i] = refuse(http.StatusBadRequest, CodeRequestMismatch, "voucher %d is bound to another request", i)
		case v.Expiry != 0 && (p.o.Height == nil || p.o.Height() > v.Expiry):
			errs[i] = refuse(http.StatusPaymentRequired, CodeVoucherExpired, "voucher expired at height %d", v.Expiry)
		case !ok[i]:
			errs[i] = refuse(http.StatusBadRequest, CodeBadSignature, "voucher signature does not verify for its public key and contents")
		default:
			claims[i], errs[i] = p.admit(ctx, v, price)
		}
	}
	return claims, errs
}

// admit checks a voucher whose signature verified against the channel
// and lane state and holds its lane.
func (p *Paywall) admit(ctx context.Context, v *paych.SignedVoucher, price tx.Amount) (*Claim, *Rejection) {
	c, perr := p.channel(ctx, v.Channel, false)
	if perr != nil {
		return nil, perr
	}
	if perr := p.seedLane(ctx, c, v.Channel, v.Lane); perr != nil {
		return nil, perr
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	l := c.lanes[v.Lane]
	if l == nil {
		l = &payeeLane{pos: paych.Lane{Lane: v.Lane}}
		c.lanes[v.Lane] = l
	}
	switch {
	case l.busy:
		return nil, refuse(http.StatusConflict, CodeLaneBusy, "lane %d of channel %s carries another payment: use one lane per concurrent call", v.Lane, v.Channel)
	case v.Signer() != c.ch.From:
		return nil, refuse(http.StatusBadRequest, CodeBadSignature, "voucher is signed by %s, channel %s takes vouchers from %s", v.Signer(), c.ch.ID, c.ch.From)
	case v.Nonce == l.pos.Nonce:
		return nil, refuse(http.StatusPaymentRequired, CodeReplayedVoucher, "lane %d of channel %s is already at nonce %d", v.Lane, v.Channel, v.Nonce)
	case v.Nonce < l.pos.Nonce:
		return nil, refuse(http.StatusPaymentRequired, CodeStaleVoucher, "nonce %d is below lane %d's nonce %d", v.Nonce, v.Lane, l.pos.Nonce)
	case v.Amount < l.pos.Redeemed || v.Amount-l.pos.Redeemed < price:
		return nil, refuse(http.StatusPaymentRequired, CodeInsufficientPayment, "voucher adds %s to lane %d's %s, the price is %s",
			tx.Amount(max(int64(v.Amount)-int64(l.pos.Redeemed), 0)), v.Lane, l.pos.Redeemed, price)
	}
	// The ledger's own rule, so that what is accepted here is redeemable.
	delta, err := c.ch.CheckVoucher(v, p.o.ChainID, l.pos, 0)
	if err != nil {
		return nil, refuse(http.StatusPaymentRequired, CodeInsufficientPayment, "%v", err)
	}
	if total := c.accepted + c.pending + delta; total > c.ch.Balance || total < delta {
		return nil, refuse(http.StatusPaymentRequired, CodeChannelExhausted, "channel %s would owe %s, over its balance %s: top it up",
			c.ch.ID, total, c.ch.Balance)
	}
	l.busy = true
	c.pending += delta
	return &Claim{v: *v, delta: delta}, nil
}

// channel returns the payee's copy of channel id, reading it from the
// ledger the first time (or again with refresh).
func (p *Paywall) channel(ctx context.Context, id paych.ChannelID, refresh bool) (*payeeChannel, *Rejection) {
	p.mu.Lock()
	c := p.chans[id]
	p.mu.Unlock()
	if c != nil && !refresh {
		return c, nil
	}
	ch, err := p.o.Channels.Channel(ctx, id)
	switch {
	case errors.Is(err, ErrUnknownChannel):
		return nil, refuse(http.StatusPaymentRequired, CodeUnknownChannel, "channel %s does not exist", id)
	case err != nil:
		p.log.Warn("channel lookup failed", "channel", id.String(), "err", err)
		return nil, refuse(http.StatusServiceUnavailable, CodeChannelLookup, "could not read channel %s from the ledger, retry", id)
	case ch.To != p.payee:
		return nil, refuse(http.StatusPaymentRequired, CodeUnknownChannel, "channel %s pays %s, not this payee %s", id, ch.To, p.payee)
	case ch.State != paych.ChannelOpen:
		return nil, refuse(http.StatusPaymentRequired, CodeChannelClosed, "channel %s is %s", id, ch.State)
	case ch.SettleDelay < p.o.MinSettleDelay:
		return nil, refuse(http.StatusPaymentRequired, CodeUnknownChannel, "channel %s settles in %d blocks, this payee needs %d", id, ch.SettleDelay, p.o.MinSettleDelay)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.chans[id]; old != nil {
		old.ch = ch // a top-up raised the balance
		return old, nil
	}
	c = &payeeChannel{ch: ch, lanes: map[uint32]*payeeLane{}}
	for i := range p.restore {
		if v := p.restore[i]; v.Channel == id {
			if l := c.lanes[v.Lane]; l == nil || v.Nonce > l.pos.Nonce {
				if l != nil {
					c.accepted -= l.pos.Redeemed
				}
				c.lanes[v.Lane] = &payeeLane{pos: paych.Lane{Lane: v.Lane, Nonce: v.Nonce, Redeemed: v.Amount}, latest: &v}
				c.accepted += v.Amount
			}
		}
	}
	p.chans[id] = c
	return c, nil
}

// seedLane reads a lane the paywall has no record of from the ledger, if
// the channel source can tell.
func (p *Paywall) seedLane(ctx context.Context, c *payeeChannel, id paych.ChannelID, lane uint32) *Rejection {
	ls, ok := p.o.Channels.(LaneSource)
	if !ok {
		return nil
	}
	p.mu.Lock()
	known := c.lanes[lane] != nil
	p.mu.Unlock()
	if known {
		return nil
	}
	pos, err := ls.Lane(ctx, id, lane)
	if err != nil {
		p.log.Warn("lane lookup failed", "channel", id.String(), "lane", lane, "err", err)
		return refuse(http.StatusServiceUnavailable, CodeChannelLookup, "could not read lane %d of channel %s from the ledger, retry", lane, id)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c.lanes[lane] == nil {
		pos.Lane = lane
		c.lanes[lane] = &payeeLane{pos: pos, redeemed: pos.Nonce}
		c.accepted += pos.Redeemed
	}
	return nil
}

// Accepted returns the latest accepted voucher of every lane, to save
// and pass back as PaywallOptions.Accepted after a restart.
func (p *Paywall) Accepted() []paych.SignedVoucher {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []paych.SignedVoucher
	for _, c := range p.chans {
		for _, l := range c.lanes {
			if l.latest != nil {
				out = append(out, *l.latest)
			}
		}
	}
	for _, v := range p.restore {
		if p.chans[v.Channel] == nil {
			out = append(out, v)
		}
	}
	return out
}

// Settle ends a claim: kept (the handler succeeded) moves the lane to the
// voucher; otherwise the voucher is dropped and the lane stays.
func (p *Paywall) Settle(cl *Claim, kept bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.chans[cl.v.Channel]
	l := c.lanes[cl.v.Lane]
	l.busy = false
	c.pending -= cl.delta
	if kept {
		l.pos = paych.Lane{Lane: cl.v.Lane, Nonce: cl.v.Nonce, Redeemed: cl.v.Amount}
		v := cl.v
		l.latest = &v
		c.accepted += cl.delta
	}
}

// Earned returns what the payee accepted on channel id.
func (p *Paywall) Earned(id paych.ChannelID) tx.Amount {
	p.mu.Lock()
	defer p.mu.Unlock()
	if c := p.chans[id]; c != nil {
		return c.accepted
	}
	return 0
}

// Unredeemed returns the latest accepted voucher of every lane not yet
// redeemed, in channel and lane order.
func (p *Paywall) Unredeemed() []paych.SignedVoucher {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []paych.SignedVoucher
	for _, c := range p.chans {
		for _, l := range c.lanes {
			if l.latest != nil && l.latest.Nonce > l.redeemed {
				out = append(out, *l.latest)
			}
		}
	}
	for _, v := range p.restore {
		if p.chans[v.Channel] == nil {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if c := bytes.Compare(out[i].Channel[:], out[j].Channel[:]); c != 0 {
			return c < 0
		}
		return out[i].Lane < out[j].Lane
	})
	return out
}

// MarkRedeemed records that vs were redeemed on chain.
func (p *Paywall) MarkRedeemed(vs []paych.SignedVoucher) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range vs {
		if p.chans[vs[i].Channel] == nil {
			p.restore = slices.DeleteFunc(p.restore, func(v paych.SignedVoucher) bool {
				return v.Channel == vs[i].Channel && v.Lane == vs[i].Lane && v.Nonce <= vs[i].Nonce
			})
		}
		if c := p.chans[vs[i].Channel]; c != nil {
			if l := c.lanes[vs[i].Lane]; l != nil && vs[i].Nonce > l.redeemed {
				l.redeemed = vs[i].Nonce
			}
		}
	}
}

// Wrap returns next behind the paywall.
func (p *Paywall) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		price := p.o.Price(r)
		if price.IsZero() {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, p.o.MaxBody+1))
		if err != nil || int64(len(body)) > p.o.MaxBody {
			writeJSONError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body over %d bytes or unreadable", p.o.MaxBody))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		reqHash := RequestHashOf(r.Method, r.URL.RequestURI(), body)
		hdr := r.Header.Get(HeaderPaymentSignature)
		if hdr == "" {
			p.requirePayment(w, r, price, reqHash, refuse(http.StatusPaymentRequired, CodePaymentRequired, "this resource costs %s: pay with a %s voucher", price, Scheme))
			return
		}
		v, err := DecodePaymentSignature(hdr)
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, CodeMalformedPayment, err.Error())
			return
		}
		cl, perr := p.Check(r.Context(), &v, price, reqHash)
		if perr != nil {
			if perr.Status == http.StatusPaymentRequired {
				p.requirePayment(w, r, price, reqHash, perr)
			} else {
				writeJSONError(w, perr.Status, perr.Code, perr.Message)
			}
			return
		}
		rec := &recorder{header: http.Header{}, status: http.StatusOK}
		settled := false
		defer func() {
			if !settled {
				p.Settle(cl, false) // a panicking handler is not paid either
			}
		}()
		next.ServeHTTP(rec, r)
		kept := rec.status < 500
		p.Settle(cl, kept)
		settled = true
		rcpt := PaymentReceipt{Success: kept, Network: p.o.ChainID, Payer: v.Signer(), Payee: p.payee, Channel: v.Channel,
			Lane: v.Lane, Nonce: v.Nonce, Amount: v.Amount, Paid: cl.delta, VoucherHash: VoucherHash(&v), RequestHash: reqHash,
			ResponseHash: sha256.Sum256(rec.body.Bytes()), Status: rec.status}
		if !kept {
			rcpt.Paid = 0
		}
		rcpt.Sign(p.o.Key)
		h := w.Header()
		for k, vs := range rec.header {
			h[k] = vs
		}
		h.Set(HeaderPaymentResponse, rcpt.Encode())
		h.Set("Content-Length", strconv.Itoa(rec.body.Len()))
		w.WriteHeader(rec.status)
		w.Write(rec.body.Bytes())
	})
}

func (p *Paywall) requirePayment(w http.ResponseWriter, r *http.Request, price tx.Amount, reqHash paych.RequestHash, perr *Rejection) {
	pr := PaymentRequired{X402Version: X402Version, Error: perr.Code, Message: perr.Message,
		Resource: Resource{URL: r.URL.RequestURI(), Method: r.Method},
		Accepts: []Requirements{{Scheme: Scheme, Network: p.o.ChainID, Amount: price, Asset: Asset, PayTo: p.payee,
			MaxTimeoutSeconds: 60, Extra: Terms{RequestHash: reqHash, MinSettleDelay: p.o.MinSettleDelay}}}}
	w.Header().Set(HeaderPaymentRequired, pr.Encode())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusPaymentRequired)
	json.NewEncoder(w).Encode(&pr)
}

// ErrorBody is the JSON of a refused request that is not a 402.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	var b ErrorBody
	b.Error.Code, b.Error.Message = code, msg
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(&b)
}

// recorder buffers a handler's response: the receipt signs its hash.
type recorder struct {
	header http.Header
	body   bytes.Buffer
	status int
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(s int) {
	if !r.wrote {
		r.status, r.wrote = s, true
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}
