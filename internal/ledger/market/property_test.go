package market_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/tx"
)

// Accounts of the randomized runs: tenants 0–2, providers 3–5, auditor 6.
const (
	nTenants   = 3
	firstProv  = 3
	nProviders = 3
	auditor    = 6
)

// randomRun drives blocks of random market messages over small ID spaces
// (so that many hit real objects and many are refused). The harness checks
// after every block that the supply is conserved and that the escrow
// holds exactly the funds, lease balances and bid deposits its records
// say, every account's funds being deposited − transferred − refunded.
// It returns how often each message type succeeded and the events seen.
func randomRun(t *testing.T, seed uint64, blocks int) (*harness, map[tx.MsgType]int, map[string]int) {
	p := market.Params{MinDeposit: 1000, BidMinDeposit: 500, MaxBidsPerOrder: 3, BidTimeoutBlocks: 7, SettleEveryBlocks: 5, EndBlockLimit: 3}
	h := newHarness(t, genesis(t, 7, &p))
	r := rand.New(rand.NewPCG(seed, seed^0x6d61726b6574))
	seqs := map[market.LeaseID]uint64{}
	ok, evs := map[tx.MsgType]int{}, map[string]int{}

	tenant := func() int { return r.IntN(nTenants) }
	prov := func() int { return firstProv + r.IntN(nProviders) }
	var deps []market.DeploymentID
	nextDSeq := uint64(0)
	dep := func(t int) market.DeploymentID {
		if len(deps) > 0 && r.IntN(5) > 0 {
			return deps[len(deps)-1-r.IntN(min(len(deps), 6))]
		}
		return did(t, 1+r.Uint64N(nextDSeq+1))
	}
	// Pools of IDs seen in events, so most messages name real objects.
	var orders []market.OrderID
	usage := map[market.OrderID]bool{}
	var bids, leases []market.BidID
	pick := func(pool []market.BidID) (market.BidID, bool) {
		if len(pool) == 0 || r.IntN(5) == 0 {
			return market.BidID{}, false
		}
		return pool[len(pool)-1-r.IntN(min(len(pool), 8))], true // mostly recent ones
	}
	order := func(t int) market.OrderID {
		if len(orders) > 0 && r.IntN(5) > 0 {
			return orders[len(orders)-1-r.IntN(min(len(orders), 8))]
		}
		return dep(t).Group(1 + r.Uint32N(2)).Order(1 + r.Uint32N(4))
	}
	lease := func(pool []market.BidID) (int, market.LeaseID) {
		if id, ok := pick(pool); ok {
			return -1, id
		}
		t := tenant()
		return t, order(t).Bid(addr(prov()))
	}
	spec := func(name string) market.GroupSpec {
		g := group(name, 1+r.Uint64N(40))
		g.Units[0].Count = 1 + r.Uint32N(2)
		if r.IntN(3) == 0 {
			g.Billing = market.BillingUsage
		}
		if r.IntN(8) == 0 {
			g.Requirements.Attributes = attrs("tier", "gold")
		}
		if r.IntN(12) == 0 {
			g.Requirements.SignedBy.AnyOf = []string{addr(auditor).String()}
		}
		return g
	}
	gen := func() (int, tx.Msg) {
		switch k := r.IntN(100); {
		case k < 4:
			p := prov()
			m := provider(p)
			if r.IntN(2) == 0 {
				m.Attributes = attrs("tier", "gold")
			}
			if r.IntN(2) == 0 {
				return p, m
			}
			u := market.MsgUpdateProvider(*m)
			return p, &u
		case k < 5:
			p := prov()
			return p, &market.MsgDeleteProvider{Owner: addr(p)}
		case k < 7:
			return auditor, &market.MsgSignProviderAttributes{Auditor: addr(auditor), Provider: addr(prov()), Attributes: attrs("tier", "gold")}
		case k < 8:
			return auditor, &market.MsgDeleteProviderAttributes{Auditor: addr(auditor), Provider: addr(prov())}
		case k < 16:
			t := tenant()
			nextDSeq++
			id := did(t, nextDSeq)
			if r.IntN(10) == 0 {
				id = dep(t) // mostly a duplicate
			}
			groups := []market.GroupSpec{spec("a")}
			if r.IntN(2) == 0 {
				groups = append(groups, spec("b"))
			}
			return indexOf(id.Owner), &market.MsgCreateDeployment{ID: id, Groups: groups, Hash: manifest, Deposit: tx.Amount(950 + r.Uint64N(600))}
		case k < 19:
			d := r.IntN(7)
			return d, &market.MsgDepositDeployment{ID: dep(tenant()), Depositor: addr(d), Amount: tx.Amount(1 + r.Uint64N(500))}
		case k < 21:
			id := dep(tenant())
			return indexOf(id.Owner), &market.MsgUpdateDeployment{ID: id, Hash: market.ManifestHash{byte(r.Uint32())}}
		case k < 22:
			id := dep(tenant())
			return indexOf(id.Owner), &market.MsgCloseDeployment{ID: id}
		case k < 24:
			gid := dep(tenant()).Group(1 + r.Uint32N(2))
			t := indexOf(gid.Owner)
			switch r.IntN(3) {
			case 0:
				return t, &market.MsgCloseGroup{ID: gid}
			case 1:
				return t, &market.MsgPauseGroup{ID: gid}
			}
			return t, &market.MsgStartGroup{ID: gid}
		case k < 50:
			p := prov()
			o := order(tenant())
			b := createBid(p, o, tx.Amount(5+r.Uint64N(40)))
			if usage[o] != (r.IntN(10) == 0) { // mostly right, sometimes wrong
				b.UnitPrices = market.UnitPrices{CPU: tx.Amount(r.Uint64N(5)), Memory: tx.Amount(r.Uint64N(5)), GPU: 1}
			}
			return p, b
		case k < 52:
			_, id := lease(bids)
			return -1, &market.MsgCloseBid{ID: id}
		case k < 72:
			_, id := lease(bids)
			return indexOf(id.Owner), &market.MsgCreateLease{Bid: id}
		case k < 75:
			_, id := lease(leases)
			if r.IntN(2) == 0 {
				return indexOf(id.Owner), &market.MsgCloseLease{ID: id, Sender: id.Owner}
			}
			return -1, &market.MsgCloseLease{ID: id, Sender: id.Provider, Reason: market.ReasonUnstable}
		case k < 83:
			_, id := lease(leases)
			return -1, &market.MsgWithdrawLease{ID: id}
		default:
			_, id := lease(leases)
			seqs[id]++
			return -1, &market.MsgReportUsage{ID: id, Seq: seqs[id], CPUMilliSeconds: r.Uint64N(1200), MemoryMiBSeconds: r.Uint64N(1200), GPUSeconds: 0}
		}
	}
	for range blocks {
		var txs [][]byte
		var types []tx.MsgType
		for range r.IntN(7) {
			from, m := gen()
			switch m := m.(type) {
			case *market.MsgCloseBid:
				from = indexOf(m.ID.Provider)
			case *market.MsgCloseLease:
				if from < 0 {
					from = indexOf(m.Sender)
				}
			case *market.MsgWithdrawLease:
				from = indexOf(m.ID.Provider)
			case *market.MsgReportUsage:
				from = indexOf(m.ID.Provider)
			}
			txs = append(txs, h.Sign(from, m))
			types = append(types, m.Type())
		}
		res := h.Block(txs...)
		for i, tr := range res.TxResults {
			if tr.OK() {
				ok[types[i]]++
			}
			for _, e := range tr.Events {
				evs[e.Type+"/"+attr(e, "reason")]++
				switch e.Type {
				case market.EventDeploymentCreated:
					id, err := market.ParseDeploymentID(attr(e, "id"))
					if err != nil {
						t.Fatal(err)
					}
					deps = append(deps, id)
				case market.EventOrderCreated:
					id, err := market.ParseOrderID(attr(e, "id"))
					if err != nil {
						t.Fatal(err)
					}
					orders = append(orders, id)
					usage[id] = attr(e, "billing") == "usage"
				case market.EventBidCreated, market.EventLeaseCreated:
					id, err := market.ParseBidID(attr(e, "id"))
					if err != nil {
						t.Fatal(err)
					}
					if e.Type == market.EventBidCreated {
						bids = append(bids, id)
					} else {
						leases = append(leases, id)
					}
				}
			}
		}
		for _, e := range res.Events {
			evs[e.Type+"/"+attr(e, "reason")]++
		}
	}
	return h, ok, evs
}

func TestRandomized(t *testing.T) {
	blocks := 400
	if testing.Short() {
		blocks = 150
	}
	for _, seed := range []uint64{1, 2, 3} {
		h, ok, evs := randomRun(t, seed, blocks)
		// The run must have reached the interesting paths, or it proves little.
		for _, typ := range []tx.MsgType{market.TypeMsgCreateDeployment, market.TypeMsgCreateBid, market.TypeMsgCreateLease,
			market.TypeMsgWithdrawLease, market.TypeMsgReportUsage, market.TypeMsgCloseLease, market.TypeMsgDepositDeployment} {
			if ok[typ] == 0 {
				t.Errorf("seed %d: no %#04x succeeded (successes %v)", seed, uint16(typ), ok)
			}
		}
		for _, e := range []string{market.EventLeaseClosed + "/20000", market.EventBidClosed + "/timeout", market.EventBidClosed + "/lost"} {
			if evs[e] == 0 {
				t.Errorf("seed %d: no %s event", seed, e)
			}
		}
		tot, err := market.CheckInvariants(h.KV)
		if err != nil {
			t.Fatal(err)
		}
		var sum tx.Amount
		for i := range 7 {
			sum += h.Balance(addr(i))
		}
		s := h.Supply()
		if sum+tot.Escrow+s.Burned != s.Genesis {
			t.Errorf("seed %d: balances %s + escrow %s + burned %s != genesis %s", seed, sum, tot.Escrow, s.Burned, s.Genesis)
		}
		t.Logf("seed %d: successes %v; escrow %+v", seed, ok, tot)
	}
}

// TestReplayDeterministic replays the same random blocks on a fresh
// ledger and compares every app hash.
func TestReplayDeterministic(t *testing.T) {
	a, _, _ := randomRun(t, 7, 120)
	b, _, _ := randomRun(t, 7, 120)
	for i := range a.Hashes {
		if !bytes.Equal(a.Hashes[i], b.Hashes[i]) {
			t.Fatalf("block %d: app hash %x vs %x", i+1, a.Hashes[i], b.Hashes[i])
		}
	}
}

// indexOf returns the test account index of a.
func indexOf(a tx.Address) int {
	for i := range 7 {
		if addr(i) == a {
			return i
		}
	}
	panic("not a test account")
}
