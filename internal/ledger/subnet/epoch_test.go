package subnet_test

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

// epochs returns the subnet_epoch events of a block, by netuid.
func epochs(res *ledger.BlockResult) map[string]ledger.Event {
	out := map[string]ledger.Event{}
	for _, e := range res.Events {
		if e.Type == subnet.EventEpoch {
			out[attr(e, "netuid")] = e
		}
	}
	return out
}

func amount(t testing.TB, s string) tx.Amount {
	t.Helper()
	a, err := tx.ParseAmount(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestEpochEmission runs a subnet with two validators and three miners,
// one of which the validators ignore, over several tempos: epochs fire at
// the tempo boundaries only, the minted total follows the schedule exactly,
// the owner gets its cut, the ignored miner earns nothing and the two
// honest miners share the miner emission.
func TestEpochEmission(t *testing.T) {
	const tempo = 10
	mp := subnet.DefaultModuleParams()
	h := newHarness(t, genesis(t, 6, nil))
	netuid := h.createSubnet(0)
	created := h.height
	h.setParams(0, netuid, fastParams)
	ownerStart := h.balance(addr(0)) // the owner sends no more txs
	for i := 1; i <= 5; i++ {
		h.ok(i, register(i, netuid)) // validators 1, 2 at uids 0, 1; miners 3, 4, 5 at uids 2, 3, 4
	}
	h.ok(1, stake(1, 1, netuid, 60*tx.UnitsPerDEAI))
	h.ok(2, stake(2, 2, netuid, 40*tx.UnitsPerDEAI))

	var ownerCut, paid tx.Amount
	var lastEpoch int64
	step := func(txs ...[]byte) {
		t.Helper()
		res := h.block(txs...)
		for _, r := range res.TxResults {
			if !r.OK() {
				t.Fatalf("block %d: %v %s", h.height, r.Code, r.Log)
			}
		}
		ev, ran := epochs(res)["1"]
		if due := (h.height-created)%tempo == 0; ran != due {
			t.Fatalf("block %d: epoch ran %v, want %v", h.height, ran, due)
		}
		if ran {
			want := mp.BlockEmission * tx.Amount(h.height-max(lastEpoch, created-1))
			if got := amount(t, attr(ev, "emission")); got != want {
				t.Errorf("block %d: epoch paid %s, want %s", h.height, got, want)
			}
			cut := amount(t, attr(ev, "owner_cut"))
			if want := want * tx.Amount(mp.OwnerCut) / 65535; cut != want {
				t.Errorf("block %d: owner cut %s, want %s", h.height, cut, want)
			}
			ownerCut += cut
			paid += amount(t, attr(ev, "emission"))
			lastEpoch = h.height
		}
		// Minted so far plus what is pending is the schedule to date.
		s := h.supply()
		if sched := mp.BlockEmission * tx.Amount(h.height-created+1); s.Minted+h.info(netuid).PendingEmission != sched {
			t.Fatalf("block %d: minted %s + pending %s != schedule %s", h.height, s.Minted, h.info(netuid).PendingEmission, sched)
		}
	}
	for h.height < created+tempo {
		step()
	}
	// The first epoch handed out the permits; the validators now weight the
	// two honest miners and leave out uid 4.
	step(h.sign(1, weights(1, netuid, []uint16{2, 3}, []uint16{100, 100})),
		h.sign(2, weights(2, netuid, []uint16{2, 3, 4}, []uint16{50, 50, 0})))
	for h.height < created+6*tempo {
		step()
	}
	s := h.supply()
	if want := mp.BlockEmission * tx.Amount(lastEpoch-created+1); s.Minted != want || paid != want {
		t.Errorf("minted %s, epochs paid %s, want the schedule %s", s.Minted, paid, want)
	}
	if got := h.balance(addr(0)); got != ownerStart+ownerCut {
		t.Errorf("owner balance %s, want %s", got, ownerStart+ownerCut)
	}
	mg := h.metagraph(netuid)
	garbage, m1, m2 := mg.Neurons[4], mg.Neurons[2], mg.Neurons[3]
	if garbage.Incentive != 0 || garbage.Emission != 0 || garbage.Consensus != 0 {
		t.Errorf("ignored miner %+v: want no incentive", garbage)
	}
	if m1.Incentive < 32000 || m2.Incentive < 32000 || m1.Emission == 0 || diff(m1.Emission, m2.Emission) > 1 {
		t.Errorf("honest miners %+v and %+v: want equal halves", m1, m2)
	}
	v1, v2 := mg.Neurons[0], mg.Neurons[1]
	if !v1.ValidatorPermit || !v2.ValidatorPermit || v1.Dividends == 0 || v2.Dividends == 0 || v1.Dividends <= v2.Dividends {
		t.Errorf("validators %+v and %+v: want dividends by stake", v1, v2)
	}
	if len(v1.Bonds) == 0 || v1.ValidatorTrust == 0 || !v1.Active {
		t.Errorf("validator 1 %+v: want bonds, trust, active", v1)
	}
	// The last epoch's per-uid emission adds up to its E, half to miners.
	var total, miners tx.Amount
	for _, n := range mg.Neurons {
		total += n.Emission
	}
	miners = m1.Emission + m2.Emission
	E := mp.BlockEmission*tempo - mp.BlockEmission*tempo*tx.Amount(mp.OwnerCut)/65535
	if total != E || diff(miners, E/2) > 1 {
		t.Errorf("last epoch paid %s (miners %s), want %s (miners half)", total, miners, E)
	}
}

func diff(a, b tx.Amount) tx.Amount {
	if a > b {
		return a - b
	}
	return b - a
}

// TestEmissionSplitAndDeferral: subnets share the block emission (the
// remainder to the lowest netuid), and with one epoch per block the subnet
// waiting longest runs first while the other accrues a block more.
func TestEmissionSplitAndDeferral(t *testing.T) {
	mp := subnet.DefaultModuleParams()
	mp.MaxEpochsPerBlock = 1
	h := newHarness(t, genesis(t, 3, &mp))
	create := func(i int) []byte {
		return h.sign(i, &subnet.MsgCreateSubnet{Owner: addr(i), Name: "n" + strconv.Itoa(i), TaskType: subnet.TaskEmbedding, Digests: []subnet.Digest{digestA}})
	}
	h.block(create(0), create(1)) // block 1: subnets 1 and 2
	h.setParams(0, 1, fastParams)
	h.setParams(1, 2, fastParams)
	ran := map[int64][]string{}
	for h.height < 30 {
		var res *ledger.BlockResult
		if h.height == 14 {
			res = h.block(create(2)) // block 15: subnet 3, tempo 360
		} else {
			res = h.block()
		}
		for netuid := range epochs(res) {
			ran[h.height] = append(ran[h.height], netuid)
		}
		// Every block accrues exactly the block emission in total.
		var pending tx.Amount
		for netuid := uint16(1); netuid <= 2 || (netuid == 3 && h.height >= 15); netuid++ {
			pending += h.info(netuid).PendingEmission
		}
		if s := h.supply(); s.Minted+pending != mp.BlockEmission*tx.Amount(h.height) {
			t.Fatalf("block %d: minted %s + pending %s, want %s", h.height, s.Minted, pending, mp.BlockEmission*tx.Amount(h.height))
		}
	}
	want := map[int64]string{11: "1", 12: "2", 21: "1", 22: "2"}
	for height, netuid := range want {
		if len(ran[height]) != 1 || ran[height][0] != netuid {
			t.Errorf("block %d: epochs %v, want subnet %s", height, ran[height], netuid)
		}
	}
	if len(ran) != len(want) {
		t.Errorf("epochs ran at %v, want %v", ran, want)
	}
	// From block 15 on, 1 DEAI splits three ways: 333334 to subnet 1,
	// 333333 to the others.
	for netuid, want := range map[uint16]tx.Amount{1: 9 * 333334, 2: 8 * 333333, 3: 16 * 333333} {
		if got := h.info(netuid).PendingEmission; got != want {
			t.Errorf("subnet %d pending %s, want %s", netuid, got, want)
		}
	}
}

// TestRecycleUndistributed: a subnet without neurons pays its owner the cut
// and recycles the rest; the minted total still follows the schedule.
func TestRecycleUndistributed(t *testing.T) {
	mp := subnet.DefaultModuleParams()
	h := newHarness(t, genesis(t, 1, nil))
	netuid := h.createSubnet(0)
	h.setParams(0, netuid, fastParams)
	burned := h.supply().Burned
	h.advanceTo(11)
	s := h.supply()
	P := mp.BlockEmission * 11
	cut := P * tx.Amount(mp.OwnerCut) / 65535
	if s.Minted != P || s.Burned != burned+(P-cut) {
		t.Errorf("minted %s burned %s, want %s minted and %s recycled", s.Minted, s.Burned-burned, P, P-cut)
	}
	if b := h.balance(subnet.RecycleAccount); b != 0 {
		t.Errorf("recycle account holds %s", b)
	}
}

// TestDeterminism replays the same blocks on two fresh ledgers and compares
// every app hash.
func TestDeterminism(t *testing.T) {
	run := func() [][]byte {
		h := newHarness(t, genesis(t, 6, nil))
		netuid := h.createSubnet(0)
		h.setParams(0, netuid, func(p *subnet.Params) {
			fastParams(p)
			p.CommitReveal, p.Yuma3 = true, true
			p.LiquidAlpha.Enabled = true
			p.MaxUIDs, p.MaxValidators, p.ImmunityPeriod = 4, 2, 5
		})
		var txs [][]byte
		for i := range 5 {
			txs = append(txs, h.sign(i, register(i, netuid))) // the fifth prunes uid 1
		}
		h.blockOK(txs...)
		h.blockOK(h.sign(4, stake(4, 4, netuid, 9*tx.UnitsPerDEAI)), h.sign(2, stake(2, 2, netuid, 3*tx.UnitsPerDEAI)))
		h.advanceTo(12)
		salt := []byte("determinism-salt")
		for _, v := range []int{2, 4} {
			h.blockOK(h.sign(v, &subnet.MsgCommitWeights{Hotkey: addr(v), Netuid: netuid, Hash: subnet.CommitHash(netuid, addr(v), []uint16{0, 3}, []uint16{5, 9}, salt)}))
		}
		h.advanceTo(21)
		for _, v := range []int{2, 4} {
			h.blockOK(h.sign(v, &subnet.MsgRevealWeights{Hotkey: addr(v), Netuid: netuid, UIDs: []uint16{0, 3}, Weights: []uint16{5, 9}, Salt: salt}))
		}
		h.advanceTo(45)
		h.supply()
		return h.hashes
	}
	a, b := run(), run()
	if len(a) != len(b) {
		t.Fatalf("%d and %d blocks", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("block %d: app hashes differ", i+1)
		}
	}
}
