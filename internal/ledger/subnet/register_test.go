package subnet_test

import (
	"math"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

func attr(e ledger.Event, k string) string {
	for _, a := range e.Attrs {
		if a.Key == k {
			return a.Value
		}
	}
	return ""
}

// registration returns the neuron_registered event of a tx result.
func registration(t testing.TB, r ledger.TxResult) ledger.Event {
	t.Helper()
	for _, e := range r.Events {
		if e.Type == subnet.EventRegistered {
			return e
		}
	}
	t.Fatalf("no %s event in %+v", subnet.EventRegistered, r.Events)
	return ledger.Event{}
}

func TestRegister(t *testing.T) {
	g := genesis(t, 3, nil)
	g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: addr(9), Balance: 50_000}) // below the 0.1 DEAI price
	h := newHarness(t, g)
	netuid := h.createSubnet(0)
	before, burned := h.balance(addr(1)), h.supply().Burned
	price := h.info(netuid).Burn // the price in the next block
	r := h.ok(1, register(1, netuid))
	ev := registration(t, r)
	if attr(ev, "uid") != "0" || attr(ev, "burn") != price.String() || attr(ev, "replaced") != "" {
		t.Errorf("event %+v, want uid 0 paying %s", ev, price)
	}
	if got := h.balance(addr(1)); got != before-price-fee {
		t.Errorf("balance %s, want %s", got, before-price-fee)
	}
	if s := h.supply(); s.Burned != burned+price+fee {
		t.Errorf("burned %s, want %s", s.Burned, burned+price+fee)
	}
	if ev := registration(t, h.ok(2, register(2, netuid))); attr(ev, "uid") != "1" {
		t.Errorf("second registration %+v, want uid 1", ev)
	}
	if info := h.info(netuid); info.N != 2 || info.Registrations != 2 {
		t.Errorf("info %+v", info)
	}

	tests := []struct {
		name string
		from int
		msg  *subnet.MsgRegister
		want module.Reason
	}{
		{"already registered", 1, register(1, netuid), module.ReasonInvalid},
		{"not enough balance", 9, register(9, netuid), module.ReasonInsufficientFunds},
		{"price above max burn", 0, &subnet.MsgRegister{Hotkey: addr(0), Netuid: netuid, MaxBurn: 1}, module.ReasonInvalid},
		{"unknown subnet", 0, register(0, 7), module.ReasonNotFound},
		{"hotkey is not the signer", 0, register(2, netuid), module.ReasonUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.t = t
			h.reject(tt.want, tt.from, tt.msg)
		})
	}
	h.t = t
	if h.info(netuid).N != 2 {
		t.Error("a rejected registration changed n")
	}
	h.supply()
}

func TestPriceDecay(t *testing.T) {
	p := subnet.DefaultParams()
	p.MinBurn, p.MaxBurn, p.BurnHalfLife = 1, 1e12, 360
	s := &subnet.Subnet{Params: p, Burn: 1_000_000, BurnBlock: 100}
	exact := map[uint64]tx.Amount{100: 1_000_000, 99: 1_000_000, 460: 500_000, 820: 250_000, 100 + 360*19: 1}
	for h, want := range exact {
		if got := s.Price(h); got != want {
			t.Errorf("Price(%d) = %s, want %s", h, got, want)
		}
	}
	for _, hl := range []uint64{1, 7, 360, 1000, 1_000_000} {
		s.Params.BurnHalfLife = hl
		for _, d := range []uint64{1, 2, 3, hl / 3, hl / 2, hl - 1, hl + 1, 3*hl + hl/5} {
			want := 1e6 * math.Pow(2, -float64(d)/float64(hl))
			got := float64(s.Price(100 + d))
			if want < 1 {
				want = 1
			}
			if math.Abs(got-want) > 1 {
				t.Errorf("half-life %d, %d blocks: price %v, want %.2f", hl, d, got, want)
			}
		}
	}
	s.Params.MinBurn, s.Params.MaxBurn, s.Params.BurnHalfLife = 600_000, 900_000, 360
	if got := s.Price(100); got != 900_000 {
		t.Errorf("clamped to max: %s", got)
	}
	if got := s.Price(460); got != 600_000 {
		t.Errorf("clamped to min: %s", got)
	}
}

// TestBurnBumpAndDecay follows the price through registrations: each pays
// the decayed price and multiplies it by 1.26 for the next.
func TestBurnBumpAndDecay(t *testing.T) {
	h := newHarness(t, genesis(t, 5, nil))
	netuid := h.createSubnet(0)
	created := uint64(h.height)
	base := subnet.DefaultModuleParams().InitialBurn
	price := func(at uint64, base tx.Amount, from uint64) tx.Amount {
		s := subnet.Subnet{Params: subnet.DefaultParams(), Burn: base, BurnBlock: from}
		return s.Price(at)
	}
	// Two registrations in one block: the second pays the bumped price.
	h.advanceTo(h.height + 9)
	res := h.block(h.sign(1, register(1, netuid)), h.sign(2, register(2, netuid)))
	at := uint64(h.height)
	p1 := price(at, base, created)
	p2 := p1 * 1260 / 1000
	if b := attr(registration(t, res.TxResults[0]), "burn"); b != p1.String() {
		t.Errorf("first registration paid %s, want %s", b, p1)
	}
	if b := attr(registration(t, res.TxResults[1]), "burn"); b != p2.String() {
		t.Errorf("second registration paid %s, want %s (×1.26)", b, p2)
	}
	// A half-life later the price has halved.
	next := p2 * 1260 / 1000
	h.advanceTo(int64(at) + 360 - 1)
	var bi subnet.BurnInfo
	h.query("/subnet/burn/1", &bi)
	if bi.Burn != next/2 {
		t.Errorf("price a half-life later %s, want %s", bi.Burn, next/2)
	}
	ev := registration(t, h.ok(3, register(3, netuid)))
	if attr(ev, "burn") != (next / 2).String() {
		t.Errorf("paid %s, want %s", attr(ev, "burn"), next/2)
	}
	// The owner raises min_burn: the price is clamped up at once.
	h.setParams(0, netuid, func(p *subnet.Params) { p.MinBurn = 5 * tx.UnitsPerDEAI })
	h.query("/subnet/burn/1", &bi)
	if bi.Burn != 5*tx.UnitsPerDEAI {
		t.Errorf("price after min_burn 5 DEAI: %s", bi.Burn)
	}
	if ev := registration(t, h.ok(4, register(4, netuid))); attr(ev, "burn") != tx.Amount(5*tx.UnitsPerDEAI).String() {
		t.Errorf("paid %s, want 5 DEAI", attr(ev, "burn"))
	}
	h.supply()
}

// pruneNet is a full three-uid subnet: the owner's uid 0 and accounts 1
// and 2, with immunity 20 blocks and a tempo of 10.
func pruneNet(t *testing.T, minNonImmune uint16) (*harness, uint16) {
	mp := subnet.DefaultModuleParams()
	mp.MinNonImmuneUIDs = minNonImmune
	h := newHarness(t, genesis(t, 8, &mp))
	netuid := h.createSubnet(0)
	h.setParams(0, netuid, func(p *subnet.Params) {
		fastParams(p)
		p.MaxUIDs, p.MaxValidators, p.ImmunityPeriod = 3, 3, 20
	})
	for i := range 3 {
		h.ok(i, register(i, netuid))
	}
	return h, netuid
}

func hotkeys(mg subnet.Metagraph) []tx.Address {
	var out []tx.Address
	for _, n := range mg.Neurons {
		out = append(out, n.Hotkey)
	}
	return out
}

func TestPruneLowestEmissionNonImmune(t *testing.T) {
	h, netuid := pruneNet(t, 0)
	// Stake on uid 1 only: without weights the epoch pays by stake, so uid
	// 1 earns and uid 2 (and the owner's uid 0) earn nothing.
	h.ok(1, stake(1, 1, netuid, 10*tx.UnitsPerDEAI))
	h.ok(1, weights(1, netuid, []uint16{1}, []uint16{1})) // a self-weight needs no permit
	h.advanceTo(30)
	mg := h.metagraph(netuid)
	if mg.Epoch == 0 || mg.Neurons[1].Emission == 0 || mg.Neurons[2].Emission != 0 || mg.Neurons[0].Emission != 0 {
		t.Fatalf("emissions after the epochs: %+v", mg.Neurons)
	}
	// Everyone is past immunity: the lowest emission loses, but never the
	// owner's uid (also at 0).
	ev := registration(t, h.ok(3, register(3, netuid)))
	if attr(ev, "uid") != "2" || attr(ev, "replaced") != addr(2).String() {
		t.Fatalf("registration %+v: want uid 2 replaced", ev)
	}
	mg = h.metagraph(netuid)
	if got := hotkeys(mg); got[2] != addr(3) || mg.Neurons[2].RegisteredAt != uint64(h.height) || mg.Neurons[2].Emission != 0 {
		t.Errorf("after pruning: %+v", mg.Neurons[2])
	}
	if _, err := h.l.Query("/subnet/1/neuron/" + addr(2).String()); module.ReasonOf(err) != module.ReasonNotFound {
		t.Errorf("pruned hotkey still registered: %v", err)
	}
	// uid 2 is now immune; uid 1 is the only non-immune candidate. Its
	// weights row goes with it.
	ev = registration(t, h.ok(4, register(4, netuid)))
	if attr(ev, "uid") != "1" {
		t.Fatalf("registration %+v: want uid 1 replaced", ev)
	}
	if n := h.metagraph(netuid).Neurons[1]; len(n.Weights) != 0 || len(n.Bonds) != 0 || n.Hotkey != addr(4) {
		t.Errorf("new holder of uid 1 inherited %+v", n)
	}
	// Everyone but the owner is immune: the lowest emission, then the
	// earliest registration (uid 2, registered before uid 1) goes.
	ev = registration(t, h.ok(5, register(5, netuid)))
	if attr(ev, "uid") != "2" || attr(ev, "replaced") != addr(3).String() {
		t.Fatalf("registration %+v: want immune uid 2 replaced", ev)
	}
	// The pruned validator's stake stays its staker's.
	var si subnet.StakeInfo
	h.query("/subnet/1/stake/"+addr(1).String(), &si)
	if si.Total != 10*tx.UnitsPerDEAI {
		t.Errorf("stake of the pruned hotkey %+v", si)
	}
	h.ok(1, &subnet.MsgRemoveStake{Staker: addr(1), Hotkey: addr(1), Netuid: netuid, Amount: 10 * tx.UnitsPerDEAI})
	h.supply()
}

func TestPruneKeepsMinNonImmune(t *testing.T) {
	// With the default MinNonImmuneUIDs (10), a small subnet never has
	// enough non-immune uids: an immune one is pruned when there is one.
	h, netuid := pruneNet(t, 10)
	h.advanceTo(40)
	if ev := registration(t, h.ok(3, register(3, netuid))); attr(ev, "uid") != "1" {
		t.Fatalf("no immune uid: %+v, want the earliest registered non-immune uid 1", ev)
	}
	if ev := registration(t, h.ok(4, register(4, netuid))); attr(ev, "uid") != "1" {
		t.Fatalf("%+v: want the immune uid 1 replaced, keeping non-immune uid 2", ev)
	}
}

func TestPruneOnlyOwner(t *testing.T) {
	h := newHarness(t, genesis(t, 2, nil))
	netuid := h.createSubnet(0)
	h.setParams(0, netuid, func(p *subnet.Params) { p.MaxUIDs, p.MaxValidators = 1, 1 })
	h.ok(0, register(0, netuid))
	r := h.reject(module.ReasonInvalid, 1, register(1, netuid))
	if !strings.Contains(r.Log, "owner") {
		t.Errorf("log %q", r.Log)
	}
}
