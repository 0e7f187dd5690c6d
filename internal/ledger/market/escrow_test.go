package market_test

import (
	"strconv"
	"testing"

	"github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

// leased sets up owner 0's deployment dseq with one group at price per
// block, provider 1's bid at that price and the lease; it returns the
// lease ID and the height the lease was created at.
func leased(h *harness, dseq uint64, deposit tx.Amount, price uint64) (market.LeaseID, int64) {
	h.T.Helper()
	if _, err := h.L.Query("/market/provider/" + addr(1).String()); err != nil {
		h.OK(1, provider(1))
	}
	h.OK(0, createDeployment(0, dseq, deposit, group("g", price)))
	o := oid(0, dseq, 1, 1)
	h.OK(1, createBid(1, o, tx.Amount(price)))
	h.OK(0, &market.MsgCreateLease{Bid: o.Bid(addr(1))})
	return o.Bid(addr(1)), h.Height
}

// TestEscrowRunsDry: the sweep settles every SettleEveryBlocks and again
// at the block the funds run out, where it pays what is left, closes the
// lease with reason 20000 and refunds nothing (nothing is left).
func TestEscrowRunsDry(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 3, &p))
	lid, L := leased(h, 1, 1000, 100)
	h.OK(2, &market.MsgDepositDeployment{ID: did(0, 1), Depositor: addr(2), Amount: 50}) // block L+1
	provBefore, ownerBefore, thirdBefore := h.Balance(addr(1)), h.Balance(addr(0)), h.Balance(addr(2))

	// The deposit settled one block (100) and left 950: 9 more whole
	// blocks, due at L+11, which is also the periodic L+1+10.
	h.AdvanceTo(L + 10)
	if l := h.lease(lid); l.Balance != 100 || l.State != market.LeaseActive {
		t.Fatalf("at %d the lease is %+v, want the 100 settled by the deposit", L+10, l)
	}
	e := h.escrow(did(0, 1))
	if e.SettledAt != uint64(L+1) || e.Funds != 950 || e.DryHeight != uint64(L+11) || *e.RunwayBlocks != 9 {
		t.Fatalf("escrow at %d: %+v", L+10, e)
	}
	res := h.Block() // L+11: 1000 owed since L+1, 950 left
	over := events(market.EventOverdrawn, res.Events)
	if len(over) != 1 || attr(over[0], "owed") != "1000udeai" || attr(over[0], "paid") != "950udeai" || attr(over[0], "shortfall") != "50udeai" {
		t.Fatalf("escrow_overdrawn events %+v", over)
	}
	closed := events(market.EventLeaseClosed, res.Events)
	if len(closed) != 1 || attr(closed[0], "reason") != "20000" || attr(closed[0], "state") != "insufficient_funds" || attr(closed[0], "paid") != "1050udeai" {
		t.Fatalf("lease_closed events %+v", closed)
	}
	if len(events(market.EventRefund, res.Events)) != 0 {
		t.Error("a dry account refunded something")
	}
	l := h.lease(lid)
	if l.State != market.LeaseInsufficientFunds || l.Reason != market.ReasonInsufficientFunds || l.Withdrawn != 1050 || l.Unsettled != 50 || l.ClosedAt != uint64(L+11) {
		t.Errorf("lease %+v", l)
	}
	d := h.deployment(did(0, 1))
	if d.State != market.DeploymentClosed || d.Groups[0].State != market.GroupInsufficientFunds || d.Escrow.State != market.AccountOverdrawn || d.Escrow.Transferred != 1050 {
		t.Errorf("deployment %+v", d)
	}
	if got := h.Balance(addr(1)); got != provBefore+1050+500 {
		t.Errorf("provider has %s, want %s (all funds and the bid deposit)", got, provBefore+1050+500)
	}
	if h.Balance(addr(0)) != ownerBefore || h.Balance(addr(2)) != thirdBefore {
		t.Error("a depositor got money back from a dry account")
	}
}

// TestOverdraftSplit: when two leases share a dry account, whole blocks
// go to both and the remainder in gseq order, at most one block's rate
// each.
func TestOverdraftSplit(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 3, &p))
	h.OK(1, provider(1))
	h.OK(2, provider(2))
	h.OK(0, createDeployment(0, 1, 1000, group("a", 30), group("b", 50)))
	a, b := oid(0, 1, 1, 1).Bid(addr(1)), oid(0, 1, 2, 1).Bid(addr(2))
	h.blockOK(h.Sign(1, createBid(1, a.Order(), 30)), h.Sign(2, createBid(2, b.Order(), 50)))
	h.blockOK(h.Sign(0, &market.MsgCreateLease{Bid: a}), h.Sign(0, &market.MsgCreateLease{Bid: b}))
	L := h.Height
	if e := h.escrow(did(0, 1)); e.DryHeight != uint64(L+13) || e.BlockRate != 80 {
		t.Fatalf("escrow %+v, want dry at %d", e, L+13) // 1000/80 = 12 whole blocks
	}
	h.AdvanceTo(L + 12)
	if h.deployment(did(0, 1)).State != market.DeploymentActive {
		t.Fatal("closed before the dry block")
	}
	h.Block()
	la, lb := h.lease(a), h.lease(b)
	if la.Withdrawn != 390 || la.Unsettled != 0 || lb.Withdrawn != 610 || lb.Unsettled != 40 {
		t.Errorf("lease a %+v\nlease b %+v\nwant 30·12+30 and 50·12+10", la, lb)
	}
}

// TestWithdrawFindsOverdraft: a provider's withdrawal in the dry block
// settles first, finds the overdraft and closes the deployment; the tx
// succeeds and pays what was left.
func TestWithdrawFindsOverdraft(t *testing.T) {
	p := testParams()
	p.SettleEveryBlocks = 1000
	h := newHarness(t, genesis(t, 2, &p))
	lid, L := leased(h, 1, 1000, 300)
	h.AdvanceTo(L + 3)
	before := h.Balance(addr(1))
	r := h.OK(1, &market.MsgWithdrawLease{ID: lid}) // L+4: 1200 owed, 1000 held
	if ev := events(market.EventLeaseClosed, r.Events); len(ev) != 1 || attr(ev[0], "reason") != "20000" {
		t.Fatalf("lease_closed %+v", ev)
	}
	if got := h.Balance(addr(1)); got != before-fee+1000+500 {
		t.Errorf("provider has %s, want %s", got, before-fee+1000+500)
	}
	h.reject(invalid, 1, &market.MsgWithdrawLease{ID: lid})
}

// TestDepositRescue: a deposit in the dry block that covers what is owed
// keeps the deployment alive; one that does not is refused, and the sweep
// closes the deployment at the end of that block.
func TestDepositRescue(t *testing.T) {
	p := testParams()
	p.SettleEveryBlocks = 1000
	h := newHarness(t, genesis(t, 3, &p))
	lid, L := leased(h, 1, 1000, 100)
	h.AdvanceTo(L + 10)
	h.OK(2, &market.MsgDepositDeployment{ID: did(0, 1), Depositor: addr(2), Amount: 200}) // L+11: owes 1100, holds 1200
	if e := h.escrow(did(0, 1)); e.Funds != 100 || e.DryHeight != uint64(L+13) {
		t.Fatalf("escrow after the rescue %+v", e)
	}
	h.AdvanceTo(L + 12)
	before := h.Balance(addr(2))
	r := h.reject(module.ReasonInsufficientFunds, 2, &market.MsgDepositDeployment{ID: did(0, 1), Depositor: addr(2), Amount: 50}) // L+13: owes 200, holds 150
	if r.Log == "" {
		t.Error("no reason in the log")
	}
	if got := h.Balance(addr(2)); got != before-fee {
		t.Errorf("refused depositor has %s, want only the fee spent: %s", got, before-fee)
	}
	if l := h.lease(lid); l.State != market.LeaseInsufficientFunds {
		t.Errorf("lease %+v after the dry block", l)
	}
}

// TestSweepBounded: with more accounts due in a block than EndBlockLimit,
// the rest are settled in the following blocks.
func TestSweepBounded(t *testing.T) {
	p := testParams()
	p.EndBlockLimit = 2
	h := newHarness(t, genesis(t, 2, &p))
	h.OK(1, provider(1))
	var txs [][]byte
	for d := uint64(1); d <= 5; d++ {
		txs = append(txs, h.Sign(0, createDeployment(0, d, 100_000, group("g", 10))))
	}
	h.blockOK(txs...)
	txs = txs[:0]
	for d := uint64(1); d <= 5; d++ {
		txs = append(txs, h.Sign(1, createBid(1, oid(0, d, 1, 1), 10)))
	}
	h.blockOK(txs...)
	txs = txs[:0]
	for d := uint64(1); d <= 5; d++ {
		txs = append(txs, h.Sign(0, &market.MsgCreateLease{Bid: oid(0, d, 1, 1).Bid(addr(1))}))
	}
	h.blockOK(txs...)
	L := h.Height
	settled := func() (n int) {
		for d := uint64(1); d <= 5; d++ {
			if h.escrow(did(0, d)).SettledAt > uint64(L) {
				n++
			}
		}
		return n
	}
	h.AdvanceTo(L + 9)
	if n := settled(); n != 0 {
		t.Fatalf("%d settled before the due block", n)
	}
	for k, want := range []int{2, 4, 5} {
		h.Block()
		if n := settled(); n != want {
			t.Errorf("block L+%d: %d accounts settled, want %d", 10+k, n, want)
		}
	}
}

func TestRunwayQuery(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 2, &p))
	_, L := leased(h, 1, 10_000, 100)
	var e market.EscrowResult
	h.Query("/market/escrow/"+did(0, 1).String()+"?height="+itoa(L+30), &e)
	// Right after the lease: settled at L, 30 blocks of accrual projected.
	if e.SettledAt != uint64(L) || e.Funds != 10_000 || e.AsOf != uint64(L+30) || e.FundsAt != 7000 || *e.RunwayBlocks != 70 || e.DryHeight != uint64(L+101) {
		t.Errorf("escrow %+v", e)
	}
	h.AdvanceTo(L + 20)
	h.Query("/market/escrow/"+did(0, 1).String()+"?height="+itoa(L+25), &e)
	if e.SettledAt != uint64(L+20) || e.Funds != 8000 || e.FundsAt != 7500 || *e.RunwayBlocks != 75 {
		t.Errorf("escrow %+v", e)
	}
	var d market.DeploymentResult
	h.Query("/market/deployment/"+did(0, 1).String(), &d)
	if d.Escrow.RunwayBlocks == nil || *d.Escrow.RunwayBlocks != 80 || len(d.Groups) != 1 || d.Groups[0].Order == nil {
		t.Errorf("deployment result %+v", d)
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
