package market_test

import (
	"testing"

	"github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

const (
	invalid      = module.ReasonInvalid
	notFound     = module.ReasonNotFound
	unauthorized = module.ReasonUnauthorized
)

func TestCreateBidRejections(t *testing.T) {
	p := testParams()
	p.MaxBidsPerOrder = 3
	h := newHarness(t, genesis(t, 8, &p))
	for i := 1; i <= 5; i++ {
		h.OK(i, provider(i))
	}
	h.OK(0, createDeployment(0, 1, 10_000, group("g", 100)))
	h.OK(0, createDeployment(0, 2, 10_000, group("g", 100)))
	h.OK(0, &market.MsgCloseDeployment{ID: did(0, 2)})
	o := oid(0, 1, 1, 1)
	h.OK(1, createBid(1, o, 100))
	h.OK(2, createBid(2, o, 1))

	usagePrices := createBid(3, o, 50)
	usagePrices.UnitPrices = market.UnitPrices{CPU: 1}
	lowDeposit := createBid(3, o, 50)
	lowDeposit.Deposit = 499
	tests := []struct {
		name string
		from int
		msg  *market.MsgCreateBid
		want module.Reason
	}{
		{"deposit below the minimum", 3, lowDeposit, invalid},
		{"provider not registered", 6, createBid(6, o, 50), notFound},
		{"order does not exist", 3, createBid(3, oid(0, 9, 1, 1), 50), notFound},
		{"order of another group does not exist", 3, createBid(3, oid(0, 1, 2, 1), 50), notFound},
		{"order closed", 3, createBid(3, oid(0, 2, 1, 1), 50), invalid},
		{"second bid by the same provider", 1, createBid(1, o, 99), invalid},
		{"price above the max", 3, createBid(3, o, 101), invalid},
		{"unit prices on a per-block group", 3, usagePrices, invalid},
		{"signed by another account", 4, createBid(3, o, 50), unauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.T = t
			h.reject(tt.want, tt.from, tt.msg)
		})
	}
	h.T = t
	h.OK(3, createBid(3, o, 100)) // the max price itself is fine; the third bid fills the order
	h.reject(invalid, 4, createBid(4, o, 10))
	if n := len(h.order(o).Bidders); n != 3 {
		t.Errorf("order has %d bidders, want 3", n)
	}
	// A closed bid still counts: closing one does not make room.
	h.OK(2, &market.MsgCloseBid{ID: o.Bid(addr(2))})
	h.reject(invalid, 5, createBid(5, o, 10))
}

func TestCreateLeaseRejections(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 4, &p))
	h.OK(1, provider(1))
	h.OK(2, provider(2))
	h.OK(0, createDeployment(0, 1, 10_000, group("g", 100)))
	o := oid(0, 1, 1, 1)
	h.OK(1, createBid(1, o, 100))
	h.OK(2, createBid(2, o, 100))
	h.reject(unauthorized, 3, &market.MsgCreateLease{Bid: o.Bid(addr(1))})
	h.reject(notFound, 0, &market.MsgCreateLease{Bid: o.Bid(addr(3))})
	h.OK(0, &market.MsgCreateLease{Bid: o.Bid(addr(1))})
	h.reject(invalid, 0, &market.MsgCreateLease{Bid: o.Bid(addr(2))}) // lost
	h.reject(invalid, 0, &market.MsgCreateLease{Bid: o.Bid(addr(1))}) // active
	h.OK(0, &market.MsgCloseGroup{ID: did(0, 1).Group(1)})
	h.reject(invalid, 0, &market.MsgCreateLease{Bid: o.Bid(addr(1))}) // order closed
}

func TestLeaseOnClosedOrder(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 2, &p))
	h.OK(1, provider(1))
	h.OK(0, createDeployment(0, 1, 10_000, group("g", 100)))
	o := oid(0, 1, 1, 1)
	h.OK(1, createBid(1, o, 100))
	h.OK(0, &market.MsgPauseGroup{ID: did(0, 1).Group(1)})
	h.reject(invalid, 0, &market.MsgCreateLease{Bid: o.Bid(addr(1))})
	if st := h.order(o).State; st != market.OrderClosed {
		t.Errorf("order of a paused group is %s", st)
	}
}

func TestDuplicateDSeq(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 2, &p))
	h.OK(0, createDeployment(0, 5, 10_000, group("g", 100)))
	h.reject(invalid, 0, createDeployment(0, 5, 10_000, group("g", 100)))
	h.OK(1, createDeployment(1, 5, 10_000, group("g", 100))) // unique per owner only
	h.OK(0, &market.MsgCloseDeployment{ID: did(0, 5)})
	h.reject(invalid, 0, createDeployment(0, 5, 10_000, group("g", 100))) // not even after a close
	h.reject(invalid, 0, createDeployment(0, 6, 999, group("g", 100)))    // below min deposit
	var ds []market.Deployment
	h.Query("/market/deployments/"+addr(0).String(), &ds)
	if len(ds) != 1 || ds[0].ID.DSeq != 5 {
		t.Errorf("deployments of owner 0: %+v", ds)
	}
}

func TestBidTimeout(t *testing.T) {
	p := testParams()
	p.BidTimeoutBlocks = 5
	h := newHarness(t, genesis(t, 3, &p))
	h.OK(1, provider(1))
	h.OK(2, provider(2))
	h.OK(0, createDeployment(0, 1, 10_000, group("g", 100)))
	o := oid(0, 1, 1, 1)
	h.OK(1, createBid(1, o, 100)) // block 4: expires at 9
	h.OK(2, createBid(2, o, 100)) // block 5: expires at 10
	before := h.Balance(addr(1))
	h.AdvanceTo(8)
	if b := h.bid(o.Bid(addr(1))); b.State != market.BidOpen {
		t.Fatalf("bid is %s at block 8, want open", b.State)
	}
	res := h.Block() // 9
	ev := events(market.EventBidClosed, res.Events)
	if len(ev) != 1 || attr(ev[0], "id") != o.Bid(addr(1)).String() || attr(ev[0], "reason") != "timeout" {
		t.Fatalf("block 9 bid_closed events %+v", ev)
	}
	if got := h.Balance(addr(1)); got != before+500 {
		t.Errorf("provider 1 has %s after the timeout, want the deposit back: %s", got, before+500)
	}
	h.OK(0, &market.MsgCreateLease{Bid: o.Bid(addr(2))}) // block 10: leased before its EndBlock timeout
	h.AdvanceTo(30)
	if b := h.bid(o.Bid(addr(2))); b.State != market.BidActive {
		t.Errorf("leased bid is %s, want active", b.State)
	}
	if b := h.bid(o.Bid(addr(1))); b.State != market.BidClosed || b.ClosedAt != 9 {
		t.Errorf("timed out bid %+v", b)
	}
}

// TestBidTimeoutBounded: more bids expiring in one block than
// EndBlockLimit are closed over the next blocks, in bid order.
func TestBidTimeoutBounded(t *testing.T) {
	p := testParams()
	p.BidTimeoutBlocks, p.EndBlockLimit, p.MaxBidsPerOrder = 2, 3, 20
	h := newHarness(t, genesis(t, 9, &p))
	var txs [][]byte
	for i := 1; i <= 8; i++ {
		txs = append(txs, h.Sign(i, provider(i)))
	}
	h.blockOK(txs...)
	h.OK(0, createDeployment(0, 1, 10_000, group("g", 100)))
	txs = txs[:0]
	for i := 1; i <= 8; i++ {
		txs = append(txs, h.Sign(i, createBid(i, oid(0, 1, 1, 1), 100)))
	}
	h.blockOK(txs...) // block 3: all expire at 5
	var closed []string
	for h.Height < 9 {
		for _, e := range events(market.EventBidClosed, h.Block().Events) {
			closed = append(closed, attr(e, "provider"))
		}
		if n := len(closed); h.Height == 5 && n != 3 || h.Height == 6 && n != 6 {
			t.Fatalf("block %d: %d bids closed so far, want 3 per block", h.Height, n)
		}
	}
	if len(closed) != 8 {
		t.Fatalf("%d bids closed, want 8", len(closed))
	}
	for i, c := range closed {
		if c != addr(i+1).String() {
			t.Errorf("closed #%d is %s, want provider %d", i, c, i+1)
		}
	}
}

func TestDeleteProvider(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 2, &p))
	h.OK(1, provider(1))
	h.reject(invalid, 1, provider(1))
	h.OK(0, createDeployment(0, 1, 10_000, group("g", 100)))
	h.OK(1, createBid(1, oid(0, 1, 1, 1), 100))
	h.reject(invalid, 1, &market.MsgDeleteProvider{Owner: addr(1)}) // open bid
	h.OK(0, &market.MsgCreateLease{Bid: oid(0, 1, 1, 1).Bid(addr(1))})
	h.reject(invalid, 1, &market.MsgDeleteProvider{Owner: addr(1)}) // active lease
	upd := market.MsgUpdateProvider(*provider(1, attrs("tier", "gold")...))
	h.OK(1, &upd)
	var pr market.ProviderResult
	h.Query("/market/provider/"+addr(1).String(), &pr)
	if pr.ActiveLeases != 1 || len(pr.Attributes) != 1 || pr.CreatedAt != 1 {
		t.Errorf("provider after update %+v", pr)
	}
	h.OK(0, &market.MsgCloseDeployment{ID: did(0, 1)})
	h.OK(1, &market.MsgDeleteProvider{Owner: addr(1)})
	h.reject(notFound, 1, &market.MsgDeleteProvider{Owner: addr(1)})
	var ps []market.Provider
	h.Query("/market/providers", &ps)
	if len(ps) != 0 {
		t.Errorf("providers after delete %+v", ps)
	}
}

// TestAuthorization: every message acts only for its signer, and
// ownership checks come on top.
func TestAuthorization(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 4, &p))
	h.OK(1, provider(1))
	h.OK(0, createDeployment(0, 1, 10_000, group("g", 100)))
	o := oid(0, 1, 1, 1)
	h.OK(1, createBid(1, o, 100))
	lid := o.Bid(addr(1))
	h.OK(0, &market.MsgCreateLease{Bid: lid})
	upd := market.MsgUpdateProvider(*provider(1))
	tests := []struct {
		name string
		from int
		msg  tx.Msg
	}{
		{"create provider for another", 2, provider(1)},
		{"update another's provider", 2, &upd},
		{"delete another's provider", 2, &market.MsgDeleteProvider{Owner: addr(1)}},
		{"sign as another auditor", 2, &market.MsgSignProviderAttributes{Auditor: addr(3), Provider: addr(1), Attributes: attrs("tier", "b")}},
		{"delete another auditor's signature", 2, &market.MsgDeleteProviderAttributes{Auditor: addr(3), Provider: addr(1)}},
		{"create a deployment for another", 2, createDeployment(0, 2, 10_000, group("g", 1))},
		{"update another's deployment", 2, &market.MsgUpdateDeployment{ID: did(0, 1), Hash: market.ManifestHash{7}}},
		{"deposit from another's balance", 2, &market.MsgDepositDeployment{ID: did(0, 1), Depositor: addr(0), Amount: 1}},
		{"close another's deployment", 2, &market.MsgCloseDeployment{ID: did(0, 1)}},
		{"close another's group", 2, &market.MsgCloseGroup{ID: did(0, 1).Group(1)}},
		{"pause another's group", 2, &market.MsgPauseGroup{ID: did(0, 1).Group(1)}},
		{"start another's group", 2, &market.MsgStartGroup{ID: did(0, 1).Group(1)}},
		{"bid as another provider", 2, createBid(1, o, 1)},
		{"close another provider's bid", 2, &market.MsgCloseBid{ID: lid}},
		{"tenant closes the provider's bid", 0, &market.MsgCloseBid{ID: lid}},
		{"lease another's order", 1, &market.MsgCreateLease{Bid: lid}},
		{"close a lease as a stranger", 2, &market.MsgCloseLease{ID: lid, Sender: addr(2)}},
		{"close a lease in another's name", 2, &market.MsgCloseLease{ID: lid, Sender: addr(0)}},
		{"withdraw another provider's lease", 0, &market.MsgWithdrawLease{ID: lid}},
		{"report usage for another provider", 0, &market.MsgReportUsage{ID: lid, Seq: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.T = t
			h.reject(unauthorized, tt.from, tt.msg)
		})
	}
	h.T = t
	if l := h.lease(lid); l.State != market.LeaseActive {
		t.Errorf("lease is %s after the rejected messages", l.State)
	}
	h.reject(invalid, 0, &market.MsgCloseLease{ID: lid, Sender: addr(0), Reason: market.ReasonUnstable}) // owner with a provider's reason
}
