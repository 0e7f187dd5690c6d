package agent_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/deai-network/deai/internal/abciapp/abciapptest"
	"github.com/deai-network/deai/internal/agent"
	"github.com/deai-network/deai/internal/chain/chaintest"
	"github.com/deai-network/deai/internal/ledger"
	lagents "github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

func walletKey(t testing.TB, b byte) *wallet.Key {
	t.Helper()
	k, err := wallet.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// twin is the real ledger (bank, agents, paych) behind the in-memory
// chain twin: every tx is committed in its own block.
func twin(t testing.TB, funded ...*wallet.Key) *chaintest.Client {
	t.Helper()
	return abciapptest.Twin(t, []ledger.Module{lagents.New(), paych.New()}, abciapptest.Accounts(funded)...)
}

// TestLedgerEndToEnd: a payer opens a channel on the real ledger, pays
// for calls through the 402 flow (some of which fail and are not paid),
// the payee's Redeemer redeems the latest vouchers, and the ledger's
// channel shows exactly what the payer's budget was charged.
func TestLedgerEndToEnd(t *testing.T) {
	ctx := context.Background()
	payerKey, payeeKey := walletKey(t, 1), walletKey(t, 2)
	c := twin(t, payerKey, payeeKey)
	payerChain, payeeChain := agent.NewLedgerChain(c, payerKey), agent.NewLedgerChain(c, payeeKey)

	const price, deposit = 7, 10_000
	ch, err := payerChain.OpenChannel(ctx, payeeKey.Address(), deposit, 900)
	if err != nil {
		t.Fatal(err)
	}
	if ch.From != payerKey.Address() || ch.To != payeeKey.Address() || ch.Balance != deposit {
		t.Fatalf("opened %+v", ch)
	}

	var calls atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1)%4 == 0 {
			http.Error(w, "flaky", http.StatusBadGateway) // every fourth call fails
			return
		}
		io.WriteString(w, "data")
	})
	wall, err := agent.NewPaywall(agent.PaywallOptions{ChainID: chaintest.DefaultChainID, Key: payeeKey.PrivateKey(), Channels: payeeChain,
		Price: func(*http.Request) tx.Amount { return price }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(wall.Wrap(h))
	defer srv.Close()

	budget, err := agent.NewBudget(agent.BudgetOptions{Policy: agent.Policy{Total: 1000, MaxPerCall: 10,
		Allow: map[tx.Address]tx.Amount{payeeKey.Address(): 500}}})
	if err != nil {
		t.Fatal(err)
	}
	payer, err := agent.NewPayer(agent.PayerOptions{Key: payerKey.PrivateKey(), ChainID: chaintest.DefaultChainID, Channel: ch.ID,
		Payee: payeeKey.Address(), Deposit: ch.Balance, Budget: budget, Lanes: 2})
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &agent.Client{Payer: payer, MaxPrice: 10}}
	red := &agent.Redeemer{Paywall: wall, Chain: payeeChain}
	ok := 0
	for i := range 20 {
		resp, err := client.Post(srv.URL+"/data", "text/plain", strings.NewReader("q"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 200 {
			ok++
		}
		if i == 9 { // redeem half way, then again at the end
			if n, err := red.RedeemOnce(ctx); err != nil || n != 1 {
				t.Fatalf("redeem: %d, %v", n, err)
			}
		}
	}
	if ok != 15 {
		t.Fatalf("%d calls served, want 15", ok)
	}
	if _, err := red.RedeemOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := red.RedeemOnce(ctx); n != 0 || err != nil {
		t.Errorf("redeem with nothing new: %d, %v", n, err)
	}
	got, err := payeeChain.Channel(ctx, ch.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := tx.Amount(ok * price)
	if got.Redeemed != want || budget.Usage().Spent != want || wall.Earned(ch.ID) != want {
		t.Errorf("ledger redeemed %s, budget spent %s, payee earned %s; want %s each", got.Redeemed, budget.Usage().Spent, wall.Earned(ch.ID), want)
	}
	lane, err := payeeChain.Lane(ctx, ch.ID, 0)
	if err != nil || lane.Redeemed != want || lane.Nonce != 19 {
		t.Errorf("lane 0 on chain %+v (%v), want nonce 19 (the 20th call failed; failed calls burn a nonce) and %s", lane, err, want)
	}

	// A restarted payee that lost its memory reads lane positions from
	// the ledger: old vouchers are refused, not served again.
	fresh, err := agent.NewPaywall(agent.PaywallOptions{ChainID: chaintest.DefaultChainID, Key: payeeKey.PrivateKey(), Channels: payeeChain,
		Price: func(*http.Request) tx.Amount { return price }})
	if err != nil {
		t.Fatal(err)
	}
	reqHash := agent.RequestHashOf("POST", "/data", []byte("q"))
	for _, tt := range []struct {
		nonce  uint64
		amount tx.Amount
		code   string
	}{{19, want, agent.CodeReplayedVoucher}, {5, 35, agent.CodeStaleVoucher}} {
		v, _ := paych.Voucher{ChainID: chaintest.DefaultChainID, Channel: ch.ID, Nonce: tt.nonce, Amount: tt.amount, RequestHash: reqHash}.Sign(payerKey.PrivateKey())
		_, perr := fresh.Check(ctx, &v, price, reqHash)
		if perr == nil || perr.Code != tt.code {
			t.Errorf("nonce %d after a restart: %v, want %s", tt.nonce, perr, tt.code)
		}
	}
}

// TestRestoreAccepted: vouchers saved from Paywall.Accepted and passed
// to a new paywall are redeemed, and the ones already redeemed are
// recognised as such.
func TestRestoreAccepted(t *testing.T) {
	ctx := context.Background()
	payerKey, payeeKey := walletKey(t, 1), walletKey(t, 2)
	c := twin(t, payerKey, payeeKey)
	payeeChain := agent.NewLedgerChain(c, payeeKey)
	ch, err := agent.NewLedgerChain(c, payerKey).OpenChannel(ctx, payeeKey.Address(), 10_000, 900)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(lane uint32, nonce uint64, amt tx.Amount) paych.SignedVoucher {
		v, _ := paych.Voucher{ChainID: chaintest.DefaultChainID, Channel: ch.ID, Lane: lane, Nonce: nonce, Amount: amt}.Sign(payerKey.PrivateKey())
		return v
	}
	// Lane 0 was redeemed before the restart, lane 1 was not.
	if err := payeeChain.Redeem(ctx, []paych.SignedVoucher{sign(0, 3, 30)}); err != nil {
		t.Fatal(err)
	}
	wall, err := agent.NewPaywall(agent.PaywallOptions{ChainID: chaintest.DefaultChainID, Key: payeeKey.PrivateKey(), Channels: payeeChain,
		Price: func(*http.Request) tx.Amount { return 1 }, Accepted: []paych.SignedVoucher{sign(0, 3, 30), sign(1, 2, 20)}})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(wall.Accepted()); got != 2 {
		t.Fatalf("%d accepted after restore, want 2", got)
	}
	red := &agent.Redeemer{Paywall: wall, Chain: payeeChain}
	if n, err := red.RedeemOnce(ctx); err != nil || n != 1 {
		t.Fatalf("redeem restored: %d, %v; want 1 (lane 0 was already redeemed)", n, err)
	}
	if n, err := red.RedeemOnce(ctx); err != nil || n != 0 {
		t.Errorf("second redeem: %d, %v", n, err)
	}
	got, _ := payeeChain.Channel(ctx, ch.ID)
	if got.Redeemed != 50 {
		t.Errorf("redeemed %s, want 50udeai", got.Redeemed)
	}
}

// TestOwnerFundedChannel: the agent opens channels from its owner's
// account through a spend permission, and the ledger refuses what is
// beyond it, whatever the agent host does.
func TestOwnerFundedChannel(t *testing.T) {
	ctx := context.Background()
	owner, agentKey, payee := walletKey(t, 1), walletKey(t, 3), walletKey(t, 2)
	c := twin(t, owner, agentKey, payee)
	if err := agent.NewLedgerChain(c, owner).GrantSpend(ctx, agentKey.Address(), lagents.SpendLimits{Allowance: 5000, PeriodBlocks: 1000,
		TotalCap: 5000, Allowlist: []tx.Address{payee.Address()}}); err != nil {
		t.Fatal(err)
	}
	ac := agent.NewLedgerChain(c, agentKey)
	ac.Owner = owner.Address()
	ch, err := ac.OpenChannel(ctx, payee.Address(), 4000, 900)
	if err != nil {
		t.Fatal(err)
	}
	if ch.Funder != owner.Address() || ch.From != agentKey.Address() || ch.Balance != 4000 {
		t.Errorf("channel %+v, want funded by the owner", ch)
	}
	if err := ac.TopUp(ctx, ch.ID, 1001); !errors.Is(err, agent.ErrTxRejected) {
		t.Errorf("top-up beyond the permission: %v, want a rejected tx", err)
	}
	if err := ac.TopUp(ctx, ch.ID, 1000); err != nil {
		t.Errorf("top-up within the permission: %v", err)
	}
	if _, err := ac.OpenChannel(ctx, owner.Address(), 1000, 900); !errors.Is(err, agent.ErrTxRejected) {
		t.Errorf("channel to a counterparty off the allowlist: %v, want a rejected tx", err)
	}
}
