package market_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/tx"
)

// TestLifecycle runs a deployment from creation to close: two bids, a
// lease on the cheaper one, blocks accruing, a withdrawal, the owner's
// close and the refund, with every balance exact. The harness checks the
// supply and the escrow invariants after every block.
func TestLifecycle(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 3, &p))
	const tenant, prov, other = 0, 1, 2
	h.OK(prov, provider(prov))
	h.OK(other, provider(other))

	const deposit = tx.Amount(100_000)
	g := market.GroupSpec{Name: "web", Units: []market.ResourceUnit{unit(1, 2, 100)}} // max 200 per block
	r := h.OK(tenant, createDeployment(tenant, 7, deposit, g))                        // block 3
	ev := events(market.EventOrderCreated, r.Events)
	o := oid(tenant, 7, 1, 1)
	if len(ev) != 1 || attr(ev[0], "id") != o.String() || attr(ev[0], "max_price") != "200udeai" || attr(ev[0], "billing") != "per_block" {
		t.Fatalf("order_created events %+v", ev)
	}
	if got := h.Balance(market.EscrowAccount); got != deposit {
		t.Fatalf("escrow holds %s after the deposit, want %s", got, deposit)
	}

	h.OK(prov, createBid(prov, o, 150))   // block 4
	h.OK(other, createBid(other, o, 180)) // block 5
	var bids []market.Bid
	h.Query("/market/bids/"+o.String(), &bids)
	if len(bids) != 2 || bids[0].ID.Provider != addr(prov) || bids[1].Price != 180 {
		t.Fatalf("bids %+v", bids)
	}

	r = h.OK(tenant, &market.MsgCreateLease{Bid: o.Bid(addr(prov))}) // block 6
	if ev := events(market.EventLeaseCreated, r.Events); len(ev) != 1 || attr(ev[0], "price") != "150udeai" {
		t.Fatalf("lease_created events %+v", ev)
	}
	if b := h.bid(o.Bid(addr(other))); b.State != market.BidLost {
		t.Errorf("losing bid is %s, want lost", b.State)
	}
	if st := h.order(o).State; st != market.OrderActive {
		t.Errorf("order is %s, want active", st)
	}

	h.AdvanceTo(15)
	r = h.OK(prov, &market.MsgWithdrawLease{ID: o.Bid(addr(prov))}) // block 16: 10 blocks × 150
	if ev := events(market.EventLeaseWithdrawn, r.Events); len(ev) != 1 || attr(ev[0], "amount") != "1500udeai" {
		t.Fatalf("withdraw events %+v", ev)
	}
	l := h.lease(o.Bid(addr(prov)))
	if l.Balance != 0 || l.Withdrawn != 1500 || l.State != market.LeaseActive {
		t.Errorf("lease after withdraw %+v", l)
	}
	if e := h.escrow(did(tenant, 7)); e.Funds != deposit-1500 || e.SettledAt != 16 || e.BlockRate != 150 {
		t.Errorf("escrow after withdraw %+v", e)
	}

	h.AdvanceTo(20)
	r = h.OK(tenant, &market.MsgCloseDeployment{ID: did(tenant, 7)}) // block 21: 5 more blocks
	ev = events(market.EventLeaseClosed, r.Events)
	if len(ev) != 1 || attr(ev[0], "reason") != "1" || attr(ev[0], "paid") != "750udeai" || attr(ev[0], "state") != "closed" {
		t.Fatalf("lease_closed events %+v", ev)
	}
	if ev := events(market.EventRefund, r.Events); len(ev) != 1 || attr(ev[0], "amount") != "97750udeai" {
		t.Fatalf("refund events %+v", ev)
	}
	if ev := events(market.EventDeploymentClosed, r.Events); len(ev) != 1 || attr(ev[0], "reason") != "owner" {
		t.Fatalf("deployment_closed events %+v", ev)
	}

	want := map[int]tx.Amount{
		tenant: funds - 3*fee - deposit + 97750,        // create, lease, close; refund
		prov:   funds - 3*fee - 500 + 1500 + 750 + 500, // register, bid, withdraw; bid deposit back
		other:  funds - 2*fee - 500 + 500,
	}
	for i, w := range want {
		if got := h.Balance(addr(i)); got != w {
			t.Errorf("account %d: balance %s, want %s", i, got, w)
		}
	}
	if got := h.Balance(market.EscrowAccount); got != 0 {
		t.Errorf("escrow holds %s after everything closed", got)
	}
	d := h.deployment(did(tenant, 7))
	if d.State != market.DeploymentClosed || d.Groups[0].State != market.GroupClosed || d.Groups[0].Order.State != market.OrderClosed ||
		d.Escrow.State != market.AccountClosed || d.Escrow.Refunded != 97750 || d.Escrow.Transferred != 2250 {
		t.Errorf("deployment after close %+v", d)
	}
	if l := h.lease(o.Bid(addr(prov))); l.State != market.LeaseClosed || l.Reason != market.ReasonOwner || l.Withdrawn != 2250 || l.ClosedAt != 21 {
		t.Errorf("lease after close %+v", l)
	}
}

// TestTenantCloseLeaseReopensOrder: the owner closing a lease re-auctions
// the group with oseq+1; the provider closing one pauses the group until
// the owner starts it again.
func TestCloseLeaseByActor(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 2, &p))
	h.OK(1, provider(1))
	h.OK(0, createDeployment(0, 1, 50_000, group("g", 100)))
	o1 := oid(0, 1, 1, 1)
	h.OK(1, createBid(1, o1, 100))
	h.OK(0, &market.MsgCreateLease{Bid: o1.Bid(addr(1))})

	r := h.OK(0, &market.MsgCloseLease{ID: o1.Bid(addr(1)), Sender: addr(0)})
	o2 := oid(0, 1, 1, 2)
	if ev := events(market.EventOrderCreated, r.Events); len(ev) != 1 || attr(ev[0], "id") != o2.String() {
		t.Fatalf("closing as the owner made orders %+v, want %s", ev, o2)
	}
	if st := h.order(o1).State; st != market.OrderClosed {
		t.Errorf("first order is %s", st)
	}
	var open []market.Order
	h.Query("/market/orders?state=open", &open)
	if len(open) != 1 || open[0].ID != o2 {
		t.Errorf("open orders %+v, want only %s", open, o2)
	}

	h.OK(1, createBid(1, o2, 90))
	h.OK(0, &market.MsgCreateLease{Bid: o2.Bid(addr(1))})
	r = h.OK(1, &market.MsgCloseLease{ID: o2.Bid(addr(1)), Sender: addr(1), Reason: market.ReasonUnstable})
	if ev := events(market.EventLeaseClosed, r.Events); len(ev) != 1 || attr(ev[0], "reason") != "10000" || attr(ev[0], "reason_name") != "unstable" {
		t.Fatalf("lease_closed %+v", ev)
	}
	if len(events(market.EventOrderCreated, r.Events)) != 0 {
		t.Error("the provider's close re-opened the group")
	}
	d := h.deployment(did(0, 1))
	if d.Groups[0].State != market.GroupPaused || d.Groups[0].OSeq != 2 {
		t.Errorf("group after the provider's close %+v", d.Groups[0])
	}
	r = h.OK(0, &market.MsgStartGroup{ID: did(0, 1).Group(1)})
	if ev := events(market.EventOrderCreated, r.Events); len(ev) != 1 || attr(ev[0], "id") != oid(0, 1, 1, 3).String() {
		t.Errorf("start group made orders %+v", ev)
	}
	var leases []market.Lease
	h.Query("/market/leases/provider/"+addr(1).String(), &leases)
	if len(leases) != 2 || leases[0].Reason != market.ReasonOwner || leases[1].Reason != market.ReasonUnstable {
		t.Errorf("provider's leases %+v", leases)
	}
	h.Query("/market/leases/owner/"+addr(0).String()+"?state=active", &leases)
	if len(leases) != 0 {
		t.Errorf("active leases of the owner %+v, want none", leases)
	}
}

// TestCloseBidActivePausesGroup: a provider closing its active bid closes
// the lease with its reason and pauses the group; closing an open bid
// refunds the deposit.
func TestCloseBid(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 3, &p))
	h.OK(1, provider(1))
	h.OK(2, provider(2))
	h.OK(0, createDeployment(0, 1, 50_000, group("g", 100)))
	o := oid(0, 1, 1, 1)
	h.OK(2, createBid(2, o, 100))
	before := h.Balance(addr(2))
	r := h.OK(2, &market.MsgCloseBid{ID: o.Bid(addr(2))})
	if got := h.Balance(addr(2)); got != before-fee+500 {
		t.Errorf("after closing its open bid provider has %s, want %s", got, before-fee+500)
	}
	if ev := events(market.EventBidClosed, r.Events); len(ev) != 1 || attr(ev[0], "reason") != "provider" {
		t.Errorf("bid_closed %+v", ev)
	}
	h.OK(1, createBid(1, o, 100))
	h.OK(0, &market.MsgCreateLease{Bid: o.Bid(addr(1))})
	h.OK(1, &market.MsgCloseBid{ID: o.Bid(addr(1)), Reason: market.ReasonDecommission})
	l := h.lease(o.Bid(addr(1)))
	if l.State != market.LeaseClosed || l.Reason != market.ReasonDecommission {
		t.Errorf("lease %+v", l)
	}
	if g := h.deployment(did(0, 1)).Groups[0]; g.State != market.GroupPaused {
		t.Errorf("group is %s, want paused", g.State)
	}
	h.reject(invalid, 1, &market.MsgCloseBid{ID: o.Bid(addr(1))}) // already closed
}

func TestUpdateAndDeposit(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 3, &p))
	h.OK(0, createDeployment(0, 1, 5000, group("g", 100)))
	h.reject(invalid, 0, &market.MsgUpdateDeployment{ID: did(0, 1), Hash: manifest})
	h.OK(0, &market.MsgUpdateDeployment{ID: did(0, 1), Hash: market.ManifestHash{9}})
	if d := h.deployment(did(0, 1)); d.Hash != (market.ManifestHash{9}) {
		t.Errorf("hash %s after update", d.Hash)
	}
	h.OK(2, &market.MsgDepositDeployment{ID: did(0, 1), Depositor: addr(2), Amount: 3000})
	h.OK(0, &market.MsgDepositDeployment{ID: did(0, 1), Depositor: addr(0), Amount: 1000})
	h.OK(0, &market.MsgDepositDeployment{ID: did(0, 1), Depositor: addr(0), Amount: 1000}) // merges with the newest entry
	want := []market.Deposit{
		{Depositor: addr(0), Height: 1, Balance: 5000},
		{Depositor: addr(2), Height: 4, Balance: 3000},
		{Depositor: addr(0), Height: 5, Balance: 2000},
	}
	if diff := cmp.Diff(want, h.escrow(did(0, 1)).Deposits); diff != "" {
		t.Errorf("deposits (-want +got):\n%s", diff)
	}
	h.OK(0, &market.MsgCloseDeployment{ID: did(0, 1)})
	h.reject(invalid, 2, &market.MsgDepositDeployment{ID: did(0, 1), Depositor: addr(2), Amount: 3000})
	h.reject(invalid, 0, &market.MsgUpdateDeployment{ID: did(0, 1), Hash: market.ManifestHash{8}})
	if got := h.Balance(addr(2)); got != funds-2*fee {
		t.Errorf("third-party depositor has %s after the refund, want %s", got, funds-2*fee)
	}
}

// TestCloseGroups: closing one of two groups leaves the deployment active;
// closing the last closes it and refunds the escrow.
func TestCloseGroups(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 2, &p))
	h.OK(1, provider(1))
	h.OK(0, createDeployment(0, 1, 10_000, group("a", 10), group("b", 10)))
	h.OK(1, createBid(1, oid(0, 1, 2, 1), 10))
	h.OK(0, &market.MsgPauseGroup{ID: did(0, 1).Group(2)})
	if b := h.bid(oid(0, 1, 2, 1).Bid(addr(1))); b.State != market.BidClosed {
		t.Errorf("bid on a paused group's order is %s, want closed", b.State)
	}
	h.OK(0, &market.MsgCloseGroup{ID: did(0, 1).Group(1)})
	if d := h.deployment(did(0, 1)); d.State != market.DeploymentActive || d.Groups[0].State != market.GroupClosed {
		t.Errorf("after closing group 1: %+v", d)
	}
	h.reject(invalid, 0, &market.MsgPauseGroup{ID: did(0, 1).Group(1)})
	r := h.OK(0, &market.MsgCloseGroup{ID: did(0, 1).Group(2)})
	if ev := events(market.EventDeploymentClosed, r.Events); len(ev) != 1 || attr(ev[0], "reason") != "groups_closed" {
		t.Errorf("closing the last group: deployment_closed %+v", ev)
	}
	if got := h.Balance(addr(0)); got != funds-5*fee {
		t.Errorf("owner has %s, want everything back but fees: %s", got, funds-5*fee)
	}
}
