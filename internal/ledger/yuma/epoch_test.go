package yuma

import (
	"errors"
	"math/big"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func mustEpoch(t *testing.T, in Input, p Params) Output {
	t.Helper()
	out, err := Epoch(in, p)
	if err != nil {
		t.Fatalf("Epoch: %v", err)
	}
	return out
}

// fl is floor(a·b/c) on exact integers.
func fl(a, b, c int64) int64 {
	p := new(big.Int).Mul(big.NewInt(a), big.NewInt(b))
	q, _ := new(big.Int).DivMod(p, big.NewInt(c), new(big.Int))
	return q.Int64()
}

// TestHandComputed checks 2 validators × 3 miners against the spec's
// formulas evaluated by hand with exact integers (values in units of
// 2^-32). uid 0 (stake 3) weights miners 2 and 3 equally; uid 1 (stake 1)
// weights miners 2 and 4 equally.
func TestHandComputed(t *testing.T) {
	in := Input{
		Stake:    []uint64{3, 1, 0, 0, 0},
		Weights:  [][]Entry{{{2, 65535}, {3, 65535}}, {{4, 65535}, {2, 65535}}, nil, nil, nil},
		Emission: 1_000_000_000,
	}
	st := compute(&in, DefaultParams())
	const q = one / 4 // 0.25
	// s = a = (0.75, 0.25); W0 = (.5, .5, 0), W1 = (.5, 0, .5).
	// Consensus (κ ≈ 0.499992): miner 2: 0.5; miner 3: 0.5 backed by 0.75;
	// miner 4: 0.5 backed only by 0.25 < κ, so 0.
	// Clipped: W̄0 = (.5, .5, 0), W̄1 = (.5, 0, 0); VT = (1, .5).
	// R = (.375+.125, .375, 0) = (.5, .375, 0); I = R/0.875 = (4/7, 3/7, 0).
	// Trust: P = (.5, .375, .125) so T = (1, 1, 0).
	i2, i3 := fl(4, one, 7), fl(3, one, 7)
	// Bonds v2 from nothing: ΔB = W̄∘a = (.375, .375, 0 | .125, 0, 0),
	// colnorm → (.75, 1 | .25, 0); EMA with α = 1 − floor(0.9·2^32)/2^32.
	alpha := one - fl(9, one, 10)
	b02, b12, b03 := fl(alpha, 3, 4), fl(alpha, 1, 4), alpha
	// colnorm again: column 2 sums to b02+b12.
	b02n, b12n := fl(b02, one, b02+b12), fl(b12, one, b02+b12)
	// D = (I2·B02 + I3·1, I2·B12), normalized.
	d0 := fl(i2, b02n, one) + fl(i3, fl(b03, one, b03), one)
	d1 := fl(i2, b12n, one)
	want := map[string][]int64{
		"stake":     {3 * q, q, 0, 0, 0},
		"act":       {3 * q, q, 0, 0, 0},
		"consensus": {0, 0, 2 * q, 2 * q, 0},
		"vtrust":    {one, 2 * q, 0, 0, 0},
		"rank":      {0, 0, 2 * q, 3 * q / 2, 0},
		"incentive": {0, 0, i2, i3, 0},
		"trust":     {0, 0, one, one, 0},
		"dividends": {fl(d0, one, d0+d1), fl(d1, one, d0+d1), 0, 0, 0},
	}
	got := map[string][]int64{
		"stake": st.stake, "act": st.act, "consensus": st.consensus, "vtrust": st.vtrust,
		"rank": st.rank, "incentive": st.incentive, "trust": st.trust, "dividends": st.dividends,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fixed-point values (-want +got):\n%s", diff)
	}
	// Stored bonds: column max-upscaled, then floor(x·65535).
	out := st.output()
	wantBonds := [][]Entry{
		{{2, 65535}, {3, 65535}},
		{{2, uint16(fl(fl(b12n, one, b02n), 65535, one))}},
		nil, nil, nil,
	}
	if diff := cmp.Diff(wantBonds, out.Bonds); diff != "" {
		t.Errorf("bonds (-want +got):\n%s", diff)
	}
	// Emission: shares I_j/Σ·E and D_i/Σ·E, Σ = ΣI + ΣD, floors plus the
	// largest remainders.
	sum := i2 + i3 + st.dividends[0] + st.dividends[1]
	shares := []int64{st.dividends[0], st.dividends[1], i2, i3, 0}
	var total uint64
	for j, e := range out.Emission {
		lo := uint64(fl(1_000_000_000, shares[j], sum))
		if e != lo && e != lo+1 {
			t.Errorf("emission[%d] = %d, want %d or %d", j, e, lo, lo+1)
		}
		total += e
	}
	if total != in.Emission {
		t.Errorf("emissions sum to %d, want %d", total, in.Emission)
	}
	if out.MinerEmission[2]+out.MinerEmission[3] < 499_999_999 || out.MinerEmission[0] != 0 || out.ValidatorEmission[2] != 0 {
		t.Errorf("miner/validator split: miners %v validators %v", out.MinerEmission, out.ValidatorEmission)
	}
}

func TestNoWeights(t *testing.T) {
	out := mustEpoch(t, Input{Stake: []uint64{1, 1, 0}, Emission: 1001}, DefaultParams())
	zero := []uint16{0, 0, 0}
	for name, v := range map[string][]uint16{"consensus": out.Consensus, "incentive": out.Incentive, "dividends": out.Dividends} {
		if diff := cmp.Diff(zero, v); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	// Fallback: paid pro rata to active stake; the odd unit goes to uid 0.
	if diff := cmp.Diff([]uint64{501, 500, 0}, out.Emission); diff != "" {
		t.Errorf("emission (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint64{0, 0, 0}, out.MinerEmission); diff != "" {
		t.Errorf("miner emission (-want +got):\n%s", diff)
	}
}

func TestOnlySelfWeights(t *testing.T) {
	in := Input{
		Stake:    []uint64{3, 1, 0},
		Weights:  [][]Entry{{{0, 65535}}, {{1, 100}}, nil},
		Emission: 1000,
	}
	out := mustEpoch(t, in, DefaultParams())
	if diff := cmp.Diff([]uint16{0, 0, 0}, out.Incentive); diff != "" {
		t.Errorf("incentive (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint64{750, 250, 0}, out.Emission); diff != "" {
		t.Errorf("emission (-want +got):\n%s", diff)
	}
}

// TestOwnerSelfWeight: the owner's self-weight counts (owners weight their
// own uid to burn miner emission), and the owner holds a permit without
// stake.
func TestOwnerSelfWeight(t *testing.T) {
	in := Input{
		Stake:    []uint64{0, 5, 0},
		Weights:  [][]Entry{nil, {{0, 65535}}, nil},
		HasOwner: true, OwnerUID: 0,
		Emission: 1000,
	}
	out := mustEpoch(t, in, DefaultParams())
	if diff := cmp.Diff([]uint16{65535, 0, 0}, out.Incentive); diff != "" {
		t.Errorf("incentive (-want +got):\n%s", diff)
	}
	if !out.ValidatorPermit[0] {
		t.Error("owner has no permit")
	}
	in.Weights = [][]Entry{nil, {{1, 65535}}, nil} // non-owner self-weight is dropped
	out = mustEpoch(t, in, DefaultParams())
	if diff := cmp.Diff([]uint16{0, 0, 0}, out.Incentive); diff != "" {
		t.Errorf("incentive with non-owner self-weight (-want +got):\n%s", diff)
	}
}

func TestZeroTotalStake(t *testing.T) {
	in := Input{Stake: []uint64{0, 0, 0}, Weights: [][]Entry{{{1, 5}}, {{2, 5}}, nil}, Emission: 1000}
	out := mustEpoch(t, in, DefaultParams())
	if out.Undistributed != 1000 {
		t.Errorf("undistributed = %d, want 1000", out.Undistributed)
	}
	if diff := cmp.Diff([]uint64{0, 0, 0}, out.Emission); diff != "" {
		t.Errorf("emission (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{false, false, false}, out.ValidatorPermit); diff != "" {
		t.Errorf("permits (-want +got):\n%s", diff)
	}
}

func TestOneValidator(t *testing.T) {
	in := Input{Stake: []uint64{10, 0, 0}, Weights: [][]Entry{{{1, 65535}, {2, 21845}}, nil, nil}, Emission: 1000}
	out := mustEpoch(t, in, DefaultParams())
	// A lone validator holds all active stake: consensus is its own row.
	want := []uint16{0, toU16(ratioFix(3, 4)), toU16(ratioFix(1, 4))}
	if diff := cmp.Diff(want, out.Consensus); diff != "" {
		t.Errorf("consensus (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint16{65535, 0, 0}, out.Dividends); diff != "" {
		t.Errorf("dividends (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint64{500, 375, 125}, out.Emission); diff != "" {
		t.Errorf("emission (-want +got):\n%s", diff)
	}
}

// TestMedianTies: two validators with equal stake disagree. κ = 32767 is
// just under one half, so half the stake sets consensus and the higher
// weight wins; κ = 32768 needs more than half, so the lower one does.
func TestMedianTies(t *testing.T) {
	in := Input{Stake: []uint64{1, 1, 0, 0}, Weights: [][]Entry{{{2, 65535}}, {{2, 65535}, {3, 65535}}, nil, nil}}
	tests := []struct {
		kappa uint16
		want  []uint16
	}{
		{32767, []uint16{0, 0, 65535, 32767}},
		{32768, []uint16{0, 0, 32767, 0}},
		{0, []uint16{0, 0, 65535, 32767}},
		{65535, []uint16{0, 0, 32767, 0}},
	}
	for _, tc := range tests {
		p := DefaultParams()
		p.Kappa = tc.kappa
		out := mustEpoch(t, in, p)
		if diff := cmp.Diff(tc.want, out.Consensus); diff != "" {
			t.Errorf("kappa %d: consensus (-want +got):\n%s", tc.kappa, diff)
		}
	}
}

func TestInactiveValidator(t *testing.T) {
	p := DefaultParams()
	p.ActivityCutoff = 100
	// uid 1 last set weights at block 10, so at block 200 it is inactive:
	// its stake leaves a, its weights cannot move consensus, but its
	// stored bonds still earn (decaying) dividends on bonds v2.
	in := Input{
		Stake:      []uint64{1, 3, 0, 0},
		Weights:    [][]Entry{{{2, 65535}}, {{3, 65535}}, nil, nil},
		Bonds:      [][]Entry{{{2, 65535}}, {{2, 65535}}, nil, nil},
		Block:      200,
		LastUpdate: []uint64{150, 10, 0, 0},
		Emission:   1000,
	}
	out := mustEpoch(t, in, p)
	if diff := cmp.Diff([]bool{true, false, false, false}, out.Active); diff != "" {
		t.Errorf("active (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]uint16{0, 0, 65535, 0}, out.Consensus); diff != "" {
		t.Errorf("consensus (-want +got):\n%s", diff)
	}
	if out.Dividends[1] == 0 || out.Dividends[1] >= out.Dividends[0] {
		t.Errorf("dividends %v: want the inactive validator's share reduced but not zero", out.Dividends)
	}
}

func TestValidatorWithoutPermit(t *testing.T) {
	in := Input{
		Stake:           []uint64{1, 3, 0, 0},
		ValidatorPermit: []bool{true, false, false, false},
		Weights:         [][]Entry{{{2, 65535}}, {{3, 65535}}, nil, nil},
		Emission:        1000,
	}
	out := mustEpoch(t, in, DefaultParams())
	// uid 1's weights are ignored this epoch; it gets a permit for the next.
	if diff := cmp.Diff([]uint16{0, 0, 65535, 0}, out.Incentive); diff != "" {
		t.Errorf("incentive (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]bool{true, true, false, false}, out.ValidatorPermit); diff != "" {
		t.Errorf("new permits (-want +got):\n%s", diff)
	}
	// Permit loss clears the bond row.
	p := DefaultParams()
	p.MaxValidators = 1
	in.ValidatorPermit = []bool{true, true, false, false}
	in.Bonds = [][]Entry{{{2, 65535}}, {{2, 65535}}, nil, nil}
	out = mustEpoch(t, in, p)
	if out.Bonds[0] != nil || out.Bonds[1] == nil {
		t.Errorf("bonds %v: want uid 0's row cleared and uid 1's kept", out.Bonds)
	}
}

func TestAllWeightToOneMiner(t *testing.T) {
	for _, y3 := range []bool{false, true} {
		p := DefaultParams()
		p.Yuma3 = y3
		p.LiquidAlpha.Enabled = y3
		in := Input{
			Stake:    []uint64{5, 3, 2, 0, 0},
			Weights:  [][]Entry{{{4, 65535}}, {{4, 7}}, {{4, 1}}, nil, nil},
			Emission: 1_000_000_001,
		}
		out := mustEpoch(t, in, p)
		if diff := cmp.Diff([]uint16{0, 0, 0, 0, 65535}, out.Incentive); diff != "" {
			t.Errorf("yuma3=%v: incentive (-want +got):\n%s", y3, diff)
		}
		if out.MinerEmission[4] != 500_000_001 {
			t.Errorf("yuma3=%v: miner emission %d, want 500000001 (half, and the odd unit)", y3, out.MinerEmission[4])
		}
		// Dividends follow stake 5:3:2, to within the fixed-point rounding.
		for i, w := range []uint64{250_000_000, 150_000_000, 100_000_000, 0, 0} {
			if d := int64(out.ValidatorEmission[i]) - int64(w); d < -1 || d > 1 {
				t.Errorf("yuma3=%v: validator emission[%d] = %d, want %d ± 1", y3, i, out.ValidatorEmission[i], w)
			}
		}
	}
}

func TestRegistrationMasks(t *testing.T) {
	p := DefaultParams()
	// uid 3 registered at block 50. uid 0 (stake 3 of 4, enough for
	// consensus alone) weights it; uid 1 cannot move consensus alone.
	base := func() Input {
		return Input{
			Stake:          []uint64{3, 1, 0, 0},
			Weights:        [][]Entry{{{2, 65535}, {3, 65535}}, {{2, 65535}, {3, 65535}}, nil, nil},
			Bonds:          [][]Entry{{{3, 65535}}, {{3, 65535}}, nil, nil},
			Block:          60,
			LastUpdate:     []uint64{55, 55, 0, 0},
			RegisteredAt:   []uint64{0, 0, 0, 50},
			LastEpochBlock: 45,
			Emission:       1000,
		}
	}
	if st := compute(ptr(base()), p); st.consensus[3] != one/2 {
		t.Fatalf("control: consensus %v, want 0.5 on uid 3", st.consensus)
	}
	// Step 7: uid 0 last set weights (40) before uid 3 registered (50).
	in := base()
	in.LastUpdate[0] = 40
	if st := compute(&in, p); st.consensus[3] != 0 {
		t.Errorf("outdated: consensus %v, want uid 0's weight on uid 3 dropped", st.consensus)
	}
	// Step 8: uid 0's earliest unexpired commit (48) predates uid 3.
	in = base()
	in.CommitBlock = []uint64{48, NoCommit, NoCommit, NoCommit}
	st := compute(&in, p)
	if st.consensus[3] != 0 {
		t.Errorf("commit-reveal: consensus %v, want uid 0's weight on uid 3 dropped", st.consensus)
	}
	// Step 15: uid 3 registered after the last epoch (45), so its stored
	// bond column is reset; with consensus 0 on it no new bond forms.
	for i, row := range st.output().Bonds {
		for _, e := range row {
			if e.UID == 3 {
				t.Errorf("bonds[%d] keeps uid 3: %v", i, row)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

func TestPermits(t *testing.T) {
	p := DefaultParams()
	p.MaxValidators = 2
	tests := []struct {
		name  string
		stake []uint64
		owner int
		want  []bool
	}{
		{"top two", []uint64{5, 1, 3, 4}, -1, []bool{true, false, false, true}},
		{"ties: lower uids lose", []uint64{2, 2, 2, 0}, -1, []bool{false, true, true, false}},
		{"zero stake gets none", []uint64{0, 7, 0}, -1, []bool{false, true, false}},
		{"owner on top", []uint64{5, 1, 3, 4}, 1, []bool{true, true, false, true}},
	}
	for _, tc := range tests {
		in := Input{Stake: tc.stake, HasOwner: tc.owner >= 0, OwnerUID: uint16(max(tc.owner, 0))}
		out := mustEpoch(t, in, p)
		if diff := cmp.Diff(tc.want, out.ValidatorPermit); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestStakeThreshold(t *testing.T) {
	p := DefaultParams()
	p.StakeThreshold = 10
	in := Input{Stake: []uint64{9, 30, 10, 5}, HasOwner: true, OwnerUID: 3}
	out := mustEpoch(t, in, p)
	want := []uint16{0, toU16(ratioFix(30, 45)), toU16(ratioFix(10, 45)), toU16(ratioFix(5, 45))}
	if diff := cmp.Diff(want, out.StakeWeight); diff != "" {
		t.Errorf("stake weight (-want +got):\n%s", diff)
	}
}

func TestEmissionConservation(t *testing.T) {
	for seed := range uint64(12) {
		for _, variant := range []struct{ y3, la bool }{{false, false}, {true, false}, {true, true}} {
			in := randomInput(40, 9, seed)
			g := splitmix64(seed)
			in.Emission = g.next() >> (g.next() % 64)
			p := DefaultParams()
			p.MaxValidators = 6
			p.Yuma3, p.LiquidAlpha.Enabled = variant.y3, variant.la
			out := mustEpoch(t, in, p)
			var sum, miners, validators uint64
			for i := range out.Emission {
				sum += out.Emission[i]
				miners += out.MinerEmission[i]
				validators += out.ValidatorEmission[i]
			}
			if sum+out.Undistributed != in.Emission || miners+validators != sum {
				t.Errorf("seed %d %+v: Σ emission %d + undistributed %d (miners %d, validators %d), want %d",
					seed, variant, sum, out.Undistributed, miners, validators, in.Emission)
			}
		}
	}
}

// TestDeterministicAndPermutationInvariant runs the same input twice, and
// through a permutation of the uids, which must permute every output.
func TestDeterministicAndPermutationInvariant(t *testing.T) {
	for _, y3 := range []bool{false, true} {
		p := DefaultParams()
		p.MaxValidators = 12
		p.Yuma3, p.LiquidAlpha.Enabled = y3, y3
		in := randomInput(50, 16, 3)
		a, b := mustEpoch(t, in, p), mustEpoch(t, in, p)
		if diff := cmp.Diff(a, b); diff != "" {
			t.Fatalf("yuma3=%v: two runs differ:\n%s", y3, diff)
		}
		// perm[i] is the new uid of old uid i: reverse, then rotate.
		n := len(in.Stake)
		perm := make([]int, n)
		for i := range perm {
			perm[i] = (n - 1 - i + 7) % n
		}
		pin := Input{Stake: make([]uint64, n), Weights: make([][]Entry, n), Bonds: make([][]Entry, n), Emission: in.Emission}
		for i := range n {
			pin.Stake[perm[i]] = in.Stake[i]
			pin.Weights[perm[i]] = permRow(in.Weights[i], perm)
			pin.Bonds[perm[i]] = permRow(in.Bonds[i], perm)
		}
		c := mustEpoch(t, pin, p)
		back := unpermute(c, perm)
		if diff := cmp.Diff(a, back); diff != "" {
			t.Errorf("yuma3=%v: permuted run differs (-direct +permuted):\n%s", y3, diff)
		}
	}
}

func permRow(row []Entry, perm []int) []Entry {
	if row == nil {
		return nil
	}
	out := make([]Entry, len(row))
	for k, e := range row {
		out[len(row)-1-k] = Entry{UID: uint16(perm[e.UID]), Value: e.Value}
	}
	return out
}

// unpermute maps a permuted output back to the original uid order.
func unpermute(o Output, perm []int) Output {
	n := len(perm)
	u16 := func(x []uint16) []uint16 {
		out := make([]uint16, n)
		for i := range out {
			out[i] = x[perm[i]]
		}
		return out
	}
	u64 := func(x []uint64) []uint64 {
		out := make([]uint64, n)
		for i := range out {
			out[i] = x[perm[i]]
		}
		return out
	}
	bl := func(x []bool) []bool {
		out := make([]bool, n)
		for i := range out {
			out[i] = x[perm[i]]
		}
		return out
	}
	inv := make([]int, n)
	for i, p := range perm {
		inv[p] = i
	}
	bonds := make([][]Entry, n)
	for i := range bonds {
		row := o.Bonds[perm[i]]
		if row == nil {
			continue
		}
		bonds[i] = make([]Entry, len(row))
		for k, e := range row {
			bonds[i][k] = Entry{UID: uint16(inv[e.UID]), Value: e.Value}
		}
		slices.SortFunc(bonds[i], func(a, b Entry) int { return int(a.UID) - int(b.UID) })
	}
	return Output{
		StakeWeight: u16(o.StakeWeight), Active: bl(o.Active), ValidatorPermit: bl(o.ValidatorPermit),
		Consensus: u16(o.Consensus), ValidatorTrust: u16(o.ValidatorTrust), Rank: u16(o.Rank), Trust: u16(o.Trust),
		Incentive: u16(o.Incentive), Dividends: u16(o.Dividends), Bonds: bonds,
		MinerEmission: u64(o.MinerEmission), ValidatorEmission: u64(o.ValidatorEmission), Emission: u64(o.Emission),
		Undistributed: o.Undistributed,
	}
}

func TestInvalidInput(t *testing.T) {
	tests := []struct {
		name string
		in   Input
		p    Params
	}{
		{"weights length", Input{Stake: []uint64{1, 2}, Weights: [][]Entry{nil}}, DefaultParams()},
		{"uid out of range", Input{Stake: []uint64{1, 2}, Weights: [][]Entry{{{2, 1}}, nil}}, DefaultParams()},
		{"duplicate uid", Input{Stake: []uint64{1, 2}, Bonds: [][]Entry{nil, {{0, 1}, {0, 2}}}}, DefaultParams()},
		{"permit length", Input{Stake: []uint64{1}, ValidatorPermit: []bool{true, true}}, DefaultParams()},
		{"owner out of range", Input{Stake: []uint64{1}, HasOwner: true, OwnerUID: 1}, DefaultParams()},
		{"bma", Input{Stake: []uint64{1}}, Params{BondsMovingAverage: 2_000_000, MaxValidators: 1, LiquidAlpha: LiquidAlpha{AlphaLow: MinAlpha, AlphaHigh: MinAlpha}}},
		{"zero max validators", Input{Stake: []uint64{1}}, Params{LiquidAlpha: LiquidAlpha{AlphaLow: MinAlpha, AlphaHigh: MinAlpha}}},
	}
	for _, tc := range tests {
		if _, err := Epoch(tc.in, tc.p); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tc.name, err)
		}
	}
	if err := DefaultParams().Validate(); err != nil {
		t.Errorf("DefaultParams: %v", err)
	}
}

func TestStakeOverflowAndEmptySubnet(t *testing.T) {
	m := ^uint64(0)
	out := mustEpoch(t, Input{Stake: []uint64{m, m, 0}}, DefaultParams())
	if diff := cmp.Diff([]uint16{32767, 32767, 0}, out.StakeWeight); diff != "" {
		t.Errorf("stake weight with an overflowing sum (-want +got):\n%s", diff)
	}
	out = mustEpoch(t, Input{Emission: 7}, DefaultParams())
	if out.Undistributed != 7 || len(out.Emission) != 0 {
		t.Errorf("empty subnet: undistributed %d, emission %v; want 7 and none", out.Undistributed, out.Emission)
	}
}
