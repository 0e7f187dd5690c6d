// Package account signs and sends deai transactions for one key over a
// chain.Client, and reads the ledger's JSON queries: the piece every
// daemon that acts on chain shares (miners and validators, the provider
// and the tenant, agents). A tx reads the account's next nonce, is signed
// with the chain's minimum fee, and is waited for until it is committed; a
// nonce another process of the same account used meanwhile is retried.
package account

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

// DefaultTimeout bounds waiting for one tx to be committed.
const DefaultTimeout = 30 * time.Second

// Key signs txs; *wallet.Key implements it.
type Key interface {
	PrivateKey() ed25519.PrivateKey
	Address() tx.Address
}

// ErrTxRejected is wrapped by every TxError.
var ErrTxRejected = errors.New("tx rejected")

// TxError is a tx the ledger refused, with its stable reason code (the
// abciapp code table) and the ledger's message.
type TxError struct {
	Code uint32
	Log  string
}

func (e *TxError) Error() string { return fmt.Sprintf("%s (code %d)", e.Log, e.Code) }

// Unwrap makes errors.Is(err, ErrTxRejected) true.
func (e *TxError) Unwrap() error { return ErrTxRejected }

// QueryError is a query the ledger answered with a non-zero code.
type QueryError struct {
	Path string
	Code uint32
	Log  string
}

func (e *QueryError) Error() string {
	return fmt.Sprintf("query %s: %s (code %d)", e.Path, e.Log, e.Code)
}

// NotFound reports whether err is the ledger's "not found" answer.
func NotFound(err error) bool {
	var qe *QueryError
	return errors.As(err, &qe) && qe.Code == uint32(module.ReasonNotFound)
}

// Account sends txs for one key, one at a time. It is safe for concurrent
// use.
type Account struct {
	c   chain.Client
	key Key
	// Timeout bounds each wait for a commit; zero means DefaultTimeout.
	Timeout time.Duration

	mu sync.Mutex // serializes txs: each reads the account's next nonce
}

// New returns an Account of key over c.
func New(c chain.Client, key Key) *Account { return &Account{c: c, key: key} }

// Address is the account's address.
func (a *Account) Address() tx.Address { return a.key.Address() }

// Client is the chain client the account uses.
func (a *Account) Client() chain.Client { return a.c }

// Query decodes the JSON answer of a ledger query into v.
func (a *Account) Query(ctx context.Context, path string, v any) error {
	return Query(ctx, a.c, path, v)
}

// Query decodes the JSON answer of a ledger query into v.
func Query(ctx context.Context, c chain.Client, path string, v any) error {
	r, err := c.Query(ctx, path, nil)
	if err != nil {
		return fmt.Errorf("query %s: %w", path, err)
	}
	if r.Code != 0 {
		return &QueryError{Path: path, Code: r.Code, Log: r.Log}
	}
	if err := json.Unmarshal(r.Value, v); err != nil {
		return fmt.Errorf("query %s: decode: %w", path, err)
	}
	return nil
}

// Send signs msgs in one tx and waits for its block. A refusal is a
// *TxError. A nonce refused as already used (another process of the same
// account had a tx in flight, e.g. across a daemon restart, or sent the
// same bytes) is re-signed with a fresh nonce, up to four times.
func (a *Account) Send(ctx context.Context, msgs ...tx.Msg) (chain.TxResult, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	wait := 250 * time.Millisecond
	for attempt := 0; ; attempt++ {
		res, err := a.sendOnce(ctx, msgs)
		var te *TxError
		// Only the account's own nonce (the ante handler's "next nonce
		// is" refusal): a message's own bad_nonce, such as a payment
		// channel voucher already redeemed, is final.
		usedNonce := errors.As(err, &te) && te.Code == uint32(module.ReasonBadNonce) && res.Height == 0 &&
			strings.Contains(te.Log, "next nonce is") ||
			// The other process sent the very same bytes (same nonce,
			// same message): ours is another tx and needs the next nonce.
			errors.Is(err, chain.ErrTxInCache)
		if attempt >= 4 || !usedNonce {
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

func (a *Account) sendOnce(ctx context.Context, msgs []tx.Msg) (chain.TxResult, error) {
	var params ledger.Params
	if err := a.Query(ctx, "/params", &params); err != nil {
		return chain.TxResult{}, err
	}
	st, err := a.c.Status(ctx)
	if err != nil {
		return chain.TxResult{}, fmt.Errorf("chain status: %w", err)
	}
	var acct ledger.Account
	if err := a.Query(ctx, "/account/"+a.key.Address().String(), &acct); err != nil {
		return chain.TxResult{}, fmt.Errorf("account %s (fund it first): %w", a.key.Address(), err)
	}
	t, err := tx.Builder{ChainID: st.ChainID, Nonce: acct.Nonce, Fee: params.MinFee, Msgs: msgs}.Sign(a.key.PrivateKey())
	if err != nil {
		return chain.TxResult{}, err
	}
	raw, err := t.Encode()
	if err != nil {
		return chain.TxResult{}, err
	}
	to := a.Timeout
	if to <= 0 {
		to = DefaultTimeout
	}
	cctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	res, err := a.c.BroadcastCommit(cctx, raw)
	if err != nil {
		return res, fmt.Errorf("broadcast: %w", err)
	}
	if res.Code != 0 {
		return res, &TxError{Code: res.Code, Log: res.Log}
	}
	return res, nil
}
