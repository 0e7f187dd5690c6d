package agent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/chain/account"
	lagents "github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

// DefaultTxTimeout bounds waiting for one tx to be committed.
const DefaultTxTimeout = account.DefaultTimeout

// Key is an account key; *wallet.Key implements it.
type Key = account.Key

// ErrTxRejected is wrapped by the errors of txs the ledger refused.
var ErrTxRejected = account.ErrTxRejected

// TxError is a tx the ledger refused, with its stable reason code.
type TxError = account.TxError

// LedgerChain is an agent's view of the ledger over a chain.Client: it
// reads channels (a Paywall's ChannelSource), opens channels for a payer,
// redeems a payee's vouchers and sends any other tx (Send), signing with
// one account key, one tx at a time (chain/account).
type LedgerChain struct {
	acct *account.Account
	// Owner, when set, funds the channels this key opens and tops up,
	// through the spend permission Owner granted it (MsgGrantSpend): the
	// ledger enforces the owner's caps even if the agent host is
	// compromised, and the owner gets the rest back at collect.
	Owner tx.Address

	mu sync.Mutex // makes a channel's open and the read of its sequence one step
}

var _ ChannelSource = (*LedgerChain)(nil)

// NewLedgerChain returns a LedgerChain over c signing with key.
func NewLedgerChain(c chain.Client, key Key) *LedgerChain {
	return &LedgerChain{acct: account.New(c, key)}
}

// SetTimeout bounds each wait for a commit (0: DefaultTxTimeout).
func (l *LedgerChain) SetTimeout(d time.Duration) { l.acct.Timeout = d }

// Address returns the account's address.
func (l *LedgerChain) Address() tx.Address { return l.acct.Address() }

// Client is the chain client.
func (l *LedgerChain) Client() chain.Client { return l.acct.Client() }

// Query decodes a ledger query's JSON answer into v; a missing object
// wraps errNotFound.
func (l *LedgerChain) Query(ctx context.Context, path string, v any) error {
	err := l.acct.Query(ctx, path, v)
	if account.NotFound(err) {
		return fmt.Errorf("%w: %w", errNotFound, err)
	}
	return err
}

func (l *LedgerChain) query(ctx context.Context, path string, v any) error {
	return l.Query(ctx, path, v)
}

// Send signs msgs into one tx and waits for its block; a refusal is a
// *TxError.
func (l *LedgerChain) Send(ctx context.Context, msgs ...tx.Msg) (chain.TxResult, error) {
	return l.acct.Send(ctx, msgs...)
}

// IsNotFound reports whether err is the ledger's "not found" answer.
func IsNotFound(err error) bool { return errors.Is(err, errNotFound) }

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
	st, err := l.acct.Client().Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("chain status: %w", err)
	}
	return uint64(max(st.LatestHeight, 0)), nil
}

// ChainID returns the chain's id.
func (l *LedgerChain) ChainID(ctx context.Context) (string, error) {
	st, err := l.acct.Client().Status(ctx)
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
	if err := l.sendLocked(ctx, &paych.MsgTopUp{Sender: l.Address(), Channel: id, Amount: amount, Owner: l.Owner}); err != nil {
		return fmt.Errorf("top up channel %s: %w", id, err)
	}
	return nil
}

// GrantSpend lets agent spend this (the owner's) account within limits:
// the on-chain half of a budget.
func (l *LedgerChain) GrantSpend(ctx context.Context, agent tx.Address, limits lagents.SpendLimits) error {
	if err := l.sendLocked(ctx, &lagents.MsgGrantSpend{Owner: l.Address(), Agent: agent, SpendLimits: limits}); err != nil {
		return fmt.Errorf("grant spend to %s: %w", agent, err)
	}
	return nil
}

// Redeem implements RedeemChain: one MsgRedeem per paych.MaxRedeemVouchers.
func (l *LedgerChain) Redeem(ctx context.Context, vs []paych.SignedVoucher) error {
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
	return l.sendLocked(ctx, &paych.MsgSettle{Sender: l.Address(), Channel: id})
}

func (l *LedgerChain) sendLocked(ctx context.Context, msgs ...tx.Msg) error {
	_, err := l.acct.Send(ctx, msgs...)
	return err
}
