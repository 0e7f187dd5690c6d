package account_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"
	"testing"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/deai-network/deai/internal/abciapp"
	"github.com/deai-network/deai/internal/chain/account"
	"github.com/deai-network/deai/internal/chain/chaintest"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

func twin(t *testing.T, funded ...*wallet.Key) *chaintest.Client {
	t.Helper()
	g := ledger.DefaultGenesis(chaintest.DefaultChainID)
	for _, k := range funded {
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: k.Address(), Balance: 1000 * tx.UnitsPerDEAI})
	}
	app, err := abciapp.New(abciapp.Options{DB: dbm.NewMemDB()})
	if err != nil {
		t.Fatal(err)
	}
	state, _ := json.Marshal(g)
	c, err := chaintest.New(t.Context(), chaintest.Options{App: app, AppState: state, Mode: chaintest.Immediate})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
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
