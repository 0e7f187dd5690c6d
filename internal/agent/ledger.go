package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/ledger"
	lagents "github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

// DefaultTxTimeout bounds waiting for one tx to be committed.
const DefaultTxTimeout = 30 * time.Second

// Key is an account key; *wallet.Key implements it.
type Key interface {
	PrivateKey() ed25519.PrivateKey
	Address() tx.Address
}

// ErrTxRejected is wrapped by the errors of txs the ledger refused.
var ErrTxRejected = errors.New("tx rejected")

// TxError is a tx the ledger refused, with its stable reason code.
type TxError struct {
	Code uint32
	Log  string
}

func (e *TxError) Error() string { return fmt.Sprintf("%s (code %d)", e.Log, e.Code) }
func (e *TxError) Unwrap() error { return ErrTxRejected }

// codeNotFound is the ledger's reason code of a missing object.
const codeNotFound = 13

// LedgerChain is an agent's view of the ledger over a chain.Client: it
// reads channels (a Paywall's ChannelSource), opens channels for a payer
// and redeems a payee's vouchers, signing txs with one account key, one
// tx at a time.
type LedgerChain struct {
	c       chain.Client
	key     Key
	Timeout time.Duration // per tx; 0: DefaultTxTimeout
	// Owner, when set, funds the channels this key opens and tops up,
	// through the spend permission Owner granted it (MsgGrantSpend): the
	// ledger enforces the owner's caps even if the agent host is
	// compromised, and the owner gets the rest back at collect.
	Owner tx.Address

	mu sync.Mutex // serializes txs: each reads the account's next nonce
}

var _ ChannelSource = (*LedgerChain)(nil)

// NewLedgerChain returns a LedgerChain over c signing with key.
func NewLedgerChain(c chain.Client, key Key) *LedgerChain { return &LedgerChain{c: c, key: key} }

// Address returns the account's address.
func (l *LedgerChain) Address() tx.Address { return l.key.Address() }

func (l *LedgerChain) query(ctx context.Context, path string, v any) error {
	r, err := l.c.Query(ctx, path, nil)
	if err != nil {
		return fmt.Errorf("query %s: %w", path, err)
	}
	if r.Code == codeNotFound {
		return fmt.Errorf("query %s: %w: %s", path, errNotFound, r.Log)
	}
	if r.Code != 0 {
		return fmt.Errorf("query %s: %s (code %d)", path, r.Log, r.Code)
	}
	if err := json.Unmarshal(r.Value, v); err != nil {
		return fmt.Errorf("query %s: decode: %w", path, err)
	}
	return nil
}

var errNotFound = errors.New("not found")

// Channel implements ChannelSource with /paych/channel/<id>.
func (l *LedgerChain) Channel(ctx context.Context, id paych.ChannelID) (paych.Channel, error) {
	var r paych.ChannelResult
	err := l.query(ctx, "/paych/channel/"+id.String(), &r)
	if errors.Is(err, errNotFound) {
		return paych.Channel{}, fmt.Errorf("channel %s: %w", id, ErrUnknownChannel)
	}
	return r.Channel, err
}

// Lane returns the ledger's redeemed position of a lane.
func (l *LedgerChain) Lane(ctx context.Context, id paych.ChannelID, lane uint32) (paych.Lane, error) {
	var r paych.Lane
	err := l.query(ctx, fmt.Sprintf("/paych/lane/%s/%d", id, lane), &r)
	return r, err
}

// Height returns the latest block height.
func (l *LedgerChain) Height(ctx context.Context) (uint64, error) {
	st, err := l.c.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("chain status: %w", err)
	}
	return uint64(max(st.LatestHeight, 0)), nil
}

// ChainID returns the chain's id.
func (l *LedgerChain) ChainID(ctx context.Context) (string, error) {
	st, err := l.c.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("chain status: %w", err)
	}
	return st.ChainID, nil
}

// OpenChannel opens a channel from the account to payee with deposit and
// settleDelay blocks, and returns it.
func (l *LedgerChain) OpenChannel(ctx context.Context, payee tx.Address, deposit tx.Amount, settleDelay uint64) (paych.Channel, error) {
	l.mu.Lock()
	var next struct {
		Seq uint64 `json:"seq"`
	}
	err := l.query(ctx, "/paych/next/"+l.Address().String(), &next)
	if err == nil {
		err = l.sendLocked(ctx, &paych.MsgOpenChannel{From: l.Address(), To: payee, Deposit: deposit, SettleDelay: settleDelay, Owner: l.Owner})
	}
	l.mu.Unlock()
	if err != nil {
		return paych.Channel{}, fmt.Errorf("open channel to %s: %w", payee, err)
	}
	return l.Channel(ctx, paych.ChannelIDFor(l.Address(), payee, next.Seq))
}

// TopUp adds amount to channel id (from Owner's account when set).
func (l *LedgerChain) TopUp(ctx context.Context, id paych.ChannelID, amount tx.Amount) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.sendLocked(ctx, &paych.MsgTopUp{Sender: l.Address(), Channel: id, Amount: amount, Owner: l.Owner}); err != nil {
		return fmt.Errorf("top up channel %s: %w", id, err)
	}
	return nil
}

// GrantSpend lets agent spend this (the owner's) account within limits:
// the on-chain half of a budget.
func (l *LedgerChain) GrantSpend(ctx context.Context, agent tx.Address, limits lagents.SpendLimits) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.sendLocked(ctx, &lagents.MsgGrantSpend{Owner: l.Address(), Agent: agent, SpendLimits: limits}); err != nil {
		return fmt.Errorf("grant spend to %s: %w", agent, err)
	}
	return nil
}

// Redeem implements RedeemChain: one MsgRedeem per paych.MaxRedeemVouchers.
func (l *LedgerChain) Redeem(ctx context.Context, vs []paych.SignedVoucher) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(vs) > 0 {
		n := min(len(vs), paych.MaxRedeemVouchers)
		if err := l.sendLocked(ctx, &paych.MsgRedeem{Payee: l.Address(), Vouchers: vs[:n]}); err != nil {
			return fmt.Errorf("redeem %d vouchers: %w", n, err)
		}
		vs = vs[n:]
	}
	return nil
}

// Settle starts a channel's settle window.
func (l *LedgerChain) Settle(ctx context.Context, id paych.ChannelID) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sendLocked(ctx, &paych.MsgSettle{Sender: l.Address(), Channel: id})
}

func (l *LedgerChain) sendLocked(ctx context.Context, msgs ...tx.Msg) error {
	var params ledger.Params
	if err := l.query(ctx, "/params", &params); err != nil {
		return err
	}
	st, err := l.c.Status(ctx)
	if err != nil {
		return fmt.Errorf("chain status: %w", err)
	}
	var acct ledger.Account
	if err := l.query(ctx, "/account/"+l.Address().String(), &acct); err != nil {
		return fmt.Errorf("account %s (fund it first): %w", l.Address(), err)
	}
	t, err := tx.Builder{ChainID: st.ChainID, Nonce: acct.Nonce, Fee: params.MinFee, Msgs: msgs}.Sign(l.key.PrivateKey())
	if err != nil {
		return err
	}
	raw, err := t.Encode()
	if err != nil {
		return err
	}
	to := l.Timeout
	if to <= 0 {
		to = DefaultTxTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	res, err := l.c.BroadcastCommit(cctx, raw)
	if err != nil {
		return fmt.Errorf("broadcast: %w", err)
	}
	if res.Code != 0 {
		return &TxError{Code: res.Code, Log: res.Log}
	}
	return nil
}
