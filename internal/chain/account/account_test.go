package account_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/deai-network/deai/internal/abciapp/abciapptest"
	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/chain/account"
	"github.com/deai-network/deai/internal/chain/chaintest"
	"github.com/deai-network/deai/internal/ledger"
	lagents "github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

func twin(t *testing.T, funded ...*wallet.Key) *chaintest.Client {
	t.Helper()
	return abciapptest.Twin(t, nil, abciapptest.Accounts(funded)...)
}

func key(t *testing.T, b byte) *wallet.Key {
	k, err := wallet.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestSend: txs commit, a refusal is a TxError with the ledger's code, a
// missing account is NotFound, and two processes of one key sending at
// the same time both get through (the used nonce is retried).
func TestSend(t *testing.T) {
	alice, bob := key(t, 1), key(t, 2)
	c := twin(t, alice)
	ctx := t.Context()
	a := account.New(c, alice)
	if _, err := a.Send(ctx, &tx.MsgSend{From: alice.Address(), To: bob.Address(), Amount: 5}); err != nil {
		t.Fatal(err)
	}
	_, err := a.Send(ctx, &tx.MsgSend{From: alice.Address(), To: bob.Address(), Amount: 2000 * tx.UnitsPerDEAI})
	var te *account.TxError
	if !errors.As(err, &te) || !errors.Is(err, account.ErrTxRejected) || te.Code != 6 {
		t.Fatalf("overspend: %v, want TxError code 6 (insufficient_funds)", err)
	}
	var acct ledger.Account
	if err := a.Query(ctx, "/account/"+key(t, 9).Address().String(), &acct); !account.NotFound(err) {
		t.Fatalf("unknown account: %v, want NotFound", err)
	}

	other := account.New(c, alice) // a second process of the same key
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for _, acc := range []*account.Account{a, other} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if _, err := acc.Send(ctx, &tx.MsgSend{From: alice.Address(), To: bob.Address(), Amount: 1}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent send: %v", err)
	}
	if err := a.Query(ctx, "/account/"+bob.Address().String(), &acct); err != nil || acct.Balance != 15 {
		t.Fatalf("bob %+v, %v: want 15 udeai", acct, err)
	}
}

// counting counts the txs broadcast through it.
type counting struct {
	*chaintest.Client
	n atomic.Int64
}

func (c *counting) BroadcastCommit(ctx context.Context, raw []byte) (chain.TxResult, error) {
	c.n.Add(1)
	return c.Client.BroadcastCommit(ctx, raw)
}

// TestMessageBadNonceIsFinal: a message's own bad_nonce (a payment
// channel voucher already redeemed) is sent once, not retried as if the
// account's nonce had been taken.
func TestMessageBadNonceIsFinal(t *testing.T) {
	payer, payee := key(t, 1), key(t, 2)
	tc := abciapptest.Twin(t, []ledger.Module{lagents.New(), paych.New()}, payer, payee)
	c := &counting{Client: tc}
	ctx := t.Context()
	if _, err := account.New(c, payer).Send(ctx, &paych.MsgOpenChannel{From: payer.Address(), To: payee.Address(), Deposit: 1000, SettleDelay: 900}); err != nil {
		t.Fatal(err)
	}
	v, err := paych.Voucher{ChainID: chaintest.DefaultChainID, Channel: paych.ChannelIDFor(payer.Address(), payee.Address(), 0), Nonce: 1, Amount: 10}.Sign(payer.PrivateKey())
	if err != nil {
		t.Fatal(err)
	}
	a := account.New(c, payee)
	if _, err := a.Send(ctx, &paych.MsgRedeem{Payee: payee.Address(), Vouchers: []paych.SignedVoucher{v}}); err != nil {
		t.Fatal(err)
	}
	before := c.n.Load()
	_, err = a.Send(ctx, &paych.MsgRedeem{Payee: payee.Address(), Vouchers: []paych.SignedVoucher{v}})
	var te *account.TxError
	if !errors.As(err, &te) || te.Code != 5 {
		t.Fatalf("second redeem: %v, want bad_nonce (5)", err)
	}
	if n := c.n.Load() - before; n != 1 {
		t.Fatalf("the refused redeem was broadcast %d times, want once", n)
	}
}
