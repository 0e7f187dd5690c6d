package yuma

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
)

// MaxUIDs is the largest subnet an epoch accepts: uids are u16 on chain.
const MaxUIDs = 1 << 16

// Entry is one cell of a sparse row: the column's uid and a raw u16 value.
type Entry struct {
	UID   uint16
	Value uint16
}

// Input is the chain state one epoch reads (yuma.md §2). n = len(Stake);
// every other per-uid slice has length n or is nil where documented.
type Input struct {
	// Stake is σ_i, the stake weight of each uid in base units.
	Stake []uint64
	// ValidatorPermit is the permit stored by the previous epoch. nil
	// means none is stored yet: this epoch's top-K by stake is used.
	ValidatorPermit []bool
	// Weights[i] is the row uid i set: raw u16 weights, in any uid order,
	// no uid twice. nil (or a nil row) means no weights.
	Weights [][]Entry
	// Bonds[i] is validator i's stored u16 bond row from the previous
	// epoch (Output.Bonds). nil means no bonds.
	Bonds [][]Entry

	// Block is the current block.
	Block uint64
	// LastUpdate is the block at which each uid last set (or revealed)
	// weights. nil means every validator is active and no weight is
	// outdated.
	LastUpdate []uint64
	// RegisteredAt is the block at which each uid's current holder
	// registered. nil turns off the registration masks (steps 7, 8, 15).
	RegisteredAt []uint64
	// LastEpochBlock is the block of the previous epoch: bond columns of
	// uids registered after it are reset (step 15).
	LastEpochBlock uint64
	// CommitBlock is, with commit-reveal on, each uid's earliest unexpired
	// commit block, NoCommit for none; nil when commit-reveal is off.
	CommitBlock []uint64

	// HasOwner says whether the subnet owner's hotkey holds OwnerUID.
	HasOwner bool
	OwnerUID uint16

	// Emission is E, the amount this epoch distributes, in base units.
	Emission uint64
}

// NoCommit marks a uid without an unexpired commit in Input.CommitBlock.
const NoCommit = ^uint64(0)

// Output is what one epoch produces (yuma.md §7 step 19). Ratios are u16
// storage values, floor(x·65535).
type Output struct {
	StakeWeight []uint16 // s, normalized stake after the threshold
	Active      []bool
	// ValidatorPermit are the new permits, to be stored for the next
	// epoch's Input.ValidatorPermit.
	ValidatorPermit []bool
	Consensus       []uint16
	ValidatorTrust  []uint16
	// Rank and Trust (R_j and R_j/P_j) are no longer stored by subtensor
	// but are cheap and kept for the metagraph.
	Rank      []uint16
	Trust     []uint16
	Incentive []uint16
	Dividends []uint16
	// Bonds[i] is the bond row to store for uid i: sorted by uid, zero
	// cells left out, nil for uids without a new permit.
	Bonds [][]Entry

	// MinerEmission (from incentive) and ValidatorEmission (from dividends,
	// or from stake in the fallback of step 17) are in base units;
	// Emission is their sum per uid. The three sum, with Undistributed, to
	// exactly Input.Emission: each amount is floor(share·E) and the units
	// left by flooring go one each to the largest fractional remainders,
	// ties to miner shares before validator shares, then to lower uids.
	MinerEmission     []uint64
	ValidatorEmission []uint64
	Emission          []uint64
	// Undistributed is E when nothing can be paid (no stake at all), else 0.
	Undistributed uint64
}

// Validate checks the shape of the input: slice lengths, uids in range and
// no uid twice in a row.
func (in *Input) Validate() error {
	n := len(in.Stake)
	if n > MaxUIDs {
		return fmt.Errorf("stake: %d uids, want at most %d: %w", n, MaxUIDs, ErrInvalid)
	}
	lens := []struct {
		name string
		l    int
	}{
		{"validator_permit", len(in.ValidatorPermit)}, {"weights", len(in.Weights)}, {"bonds", len(in.Bonds)},
		{"last_update", len(in.LastUpdate)}, {"registered_at", len(in.RegisteredAt)}, {"commit_block", len(in.CommitBlock)},
	}
	for _, l := range lens {
		if l.l != 0 && l.l != n {
			return fmt.Errorf("%s: length %d, want %d (or none): %w", l.name, l.l, n, ErrInvalid)
		}
	}
	if in.HasOwner && int(in.OwnerUID) >= n {
		return fmt.Errorf("owner_uid: %d out of range [0,%d): %w", in.OwnerUID, n, ErrInvalid)
	}
	seen := make([]int32, n)
	for _, m := range []struct {
		name string
		rows [][]Entry
	}{{"weights", in.Weights}, {"bonds", in.Bonds}} {
		clear(seen)
		for i, row := range m.rows {
			for _, e := range row {
				if int(e.UID) >= n {
					return fmt.Errorf("%s[%d]: uid %d out of range [0,%d): %w", m.name, i, e.UID, n, ErrInvalid)
				}
				if seen[e.UID] == int32(i+1) {
					return fmt.Errorf("%s[%d]: uid %d given twice: %w", m.name, i, e.UID, ErrInvalid)
				}
				seen[e.UID] = int32(i + 1)
			}
		}
	}
	return nil
}

// Epoch runs one Yuma Consensus epoch. It fails only on invalid params or
// input (wrapping ErrInvalid); it never panics on valid input.
func Epoch(in Input, p Params) (Output, error) {
	if err := p.Validate(); err != nil {
		return Output{}, err
	}
	if err := in.Validate(); err != nil {
		return Output{}, err
	}
	return compute(&in, p).output(), nil
}

// state holds an epoch's intermediate values in I32F32, for output and for
// tests that check them exactly.
//
// Matrix cells, stakes and weights are ratios in [0, 1] (at most 2^32), so
// sums over at most MaxUIDs rows stay below 2^48: the hot loops add with
// plain + where subtensor saturates, which gives the same result because
// saturation cannot be reached.
type state struct {
	n         int
	in        *Input
	stake     []int64 // s
	active    []bool
	permit    []bool // permits used by this epoch
	newPermit []bool
	act       []int64 // a, normalized active stake
	consensus []int64
	vtrust    []int64
	rank      []int64
	trust     []int64
	incentive []int64
	dividends []int64
	rows      []int   // uid of each matrix row: validators with a permit or bonds
	bonds     []int64 // len(rows)×n: new bonds as ratios to store (v2: column max-upscaled)

	miner, validator []uint64
	undistributed    uint64
}

func compute(in *Input, p Params) *state {
	n := len(in.Stake)
	st := &state{n: n, in: in}
	owner := -1
	if in.HasOwner {
		owner = int(in.OwnerUID)
	}

	// §3: activity and stake.
	st.active = make([]bool, n)
	for i := range st.active {
		st.active[i] = in.LastUpdate == nil || !(satAddU(in.LastUpdate[i], p.ActivityCutoff) < in.Block)
	}
	st.stake = normalizeStake(in.Stake, p.StakeThreshold, owner)
	st.newPermit = topKNonzero(st.stake, int(p.MaxValidators))
	if owner >= 0 {
		st.newPermit[owner] = true
	}
	st.permit = slices.Clone(in.ValidatorPermit)
	if st.permit == nil {
		st.permit = slices.Clone(st.newPermit)
	}
	if owner >= 0 {
		st.permit[owner] = true
	}
	st.act = make([]int64, n)
	for i := range st.act {
		if st.active[i] && st.permit[i] {
			st.act[i] = st.stake[i]
		}
	}
	normalize(st.act)

	// Matrix rows: validators with a permit (their weights count) or with
	// stored bonds (their bonds decay and still earn dividends).
	for i := range n {
		if st.permit[i] || (in.Bonds != nil && len(in.Bonds[i]) > 0) {
			st.rows = append(st.rows, i)
		}
	}
	R := len(st.rows)

	// §4: weights, masked and row-normalized.
	W := make([]int64, R*n)
	if in.Weights != nil {
		for r, i := range st.rows {
			if !st.permit[i] {
				continue // step 5
			}
			row := W[r*n : (r+1)*n]
			var sum uint64
			for _, e := range in.Weights[i] {
				j := int(e.UID)
				switch {
				case j == i && i != owner: // step 6
				case in.LastUpdate != nil && in.RegisteredAt != nil && in.LastUpdate[i] <= in.RegisteredAt[j]: // step 7
				case in.CommitBlock != nil && in.RegisteredAt != nil && in.CommitBlock[i] < in.RegisteredAt[j]: // step 8
				default:
					row[j] = int64(e.Value)
					sum += uint64(e.Value)
				}
			}
			if sum > 0 { // step 9
				d := newDivider(sum)
				for _, e := range in.Weights[i] {
					if v := row[e.UID]; v != 0 {
						row[e.UID] = d.div(uint64(v))
					}
				}
			}
		}
	}

	// §5: consensus, clipping, trust, incentive.
	st.consensus = consensus(W, st.rows, st.act, n, u16Ratio(p.Kappa))
	st.vtrust = make([]int64, n)
	st.rank = make([]int64, n)
	prerank := make([]int64, n)
	for r, i := range st.rows {
		a := st.act[i]
		row := W[r*n : (r+1)*n]
		var vt int64
		for j, w := range row {
			if w == 0 {
				continue
			}
			wc := clip(w, st.consensus[j])
			vt += wc
			if a != 0 {
				st.rank[j] += mulPos(a, wc)
				prerank[j] += mulPos(a, w)
			}
		}
		st.vtrust[i] = vt
	}
	st.incentive = slices.Clone(st.rank)
	normalize(st.incentive)
	st.trust = make([]int64, n)
	for j, pr := range prerank {
		if pr != 0 {
			st.trust[j] = divFix(st.rank[j], pr)
		}
	}

	// §6: bonds and dividends.
	if p.Yuma3 {
		st.bondsV3(W, p)
	} else {
		st.bondsV2(W, p)
	}

	// §7: emission.
	st.emission()
	return st
}

// clip is min(w, c), dropping the weight when consensus is not positive.
func clip(w, c int64) int64 {
	if c <= 0 {
		return 0
	}
	return min(w, c)
}

// bondWeight is Wb = W + β·(W̄ − W) (step 14); non-positive values drop.
func bondWeight(w, c, beta int64) int64 {
	wc := clip(w, c)
	switch beta {
	case 0:
		return w
	case one:
		return wc
	}
	v := satAdd(w, mulFix(beta, wc-w))
	return max(v, 0)
}

// resetColumns marks the bond columns of uids registered since the last
// epoch (step 15), or returns nil when none can be.
func (st *state) resetColumns() []bool {
	if st.in.RegisteredAt == nil {
		return nil
	}
	reset := make([]bool, st.n)
	for j, reg := range st.in.RegisteredAt {
		reset[j] = satAddU(st.in.LastEpochBlock, 1) <= reg
	}
	return reset
}

// bondsV2 is §6a: stake-scaled, column-normalized bonds. It consumes W.
func (st *state) bondsV2(W []int64, p Params) {
	n, in := st.n, st.in
	beta := u16Ratio(p.BondsPenalty)
	alpha := emaAlpha(p.BondsMovingAverage)

	// B_old: stored u16 as raw numbers, masked, column-normalized.
	B := make([]int64, len(W))
	reset := st.resetColumns()
	if in.Bonds != nil {
		colRaw := make([]uint64, n)
		for r, i := range st.rows {
			for _, e := range in.Bonds[i] {
				if reset != nil && reset[e.UID] {
					continue
				}
				B[r*n+int(e.UID)] = int64(e.Value)
				colRaw[e.UID] += uint64(e.Value)
			}
		}
		div := make([]divider, n)
		for j, s := range colRaw {
			div[j] = newDivider(s)
		}
		for r, i := range st.rows {
			for _, e := range in.Bonds[i] {
				if k := r*n + int(e.UID); B[k] != 0 {
					B[k] = div[e.UID].div(uint64(B[k]))
				}
			}
		}
	}

	// ΔB = Wb ∘ a, column-normalized; it overwrites W, which is not
	// needed any more.
	dB := W
	col := make([]int64, n)
	for r, i := range st.rows {
		a := st.act[i]
		row := dB[r*n : (r+1)*n]
		if a == 0 {
			clear(row)
			continue
		}
		for j, w := range row {
			if w == 0 {
				continue
			}
			v := mulPos(bondWeight(w, st.consensus[j], beta), a)
			row[j] = v
			col[j] += v // at most n·1.0: no overflow
		}
	}
	colNormalize(dB, col, n)

	// B_ema = α·ΔB + (1−α)·B_old, column-normalized.
	clear(col)
	for r := range st.rows {
		row, drow := B[r*n:(r+1)*n], dB[r*n:(r+1)*n]
		for j, d := range drow {
			if d == 0 && row[j] == 0 {
				continue
			}
			v := mulPos(alpha, d) + mulPos(one-alpha, row[j])
			row[j] = v
			col[j] += v
		}
	}
	colNormalize(B, col, n)

	// D_i = Σ_j B_ij·I_j, normalized.
	st.dividends = make([]int64, n)
	for r, i := range st.rows {
		var d int64
		for j, b := range B[r*n : (r+1)*n] {
			if b != 0 && st.incentive[j] != 0 {
				d += mulPos(st.incentive[j], b)
			}
		}
		st.dividends[i] = d
	}
	normalize(st.dividends)

	// Storage: column max-upscale.
	clear(col)
	for r := range st.rows {
		for j, b := range B[r*n : (r+1)*n] {
			col[j] = max(col[j], b)
		}
	}
	colNormalize(B, col, n)
	st.bonds = B
}

// bondsV3 is §6b: absolute per-pair bonds, optionally with liquid alpha.
func (st *state) bondsV3(W []int64, p Params) {
	n, in := st.n, st.in
	beta := u16Ratio(p.BondsPenalty)

	B := make([]int64, len(W))
	reset := st.resetColumns()
	if in.Bonds != nil {
		for r, i := range st.rows {
			for _, e := range in.Bonds[i] {
				if reset != nil && reset[e.UID] {
					continue
				}
				B[r*n+int(e.UID)] = u16Ratio(e.Value)
			}
		}
	}

	liquid := p.LiquidAlpha.Enabled && slices.ContainsFunc(st.consensus, func(c int64) bool { return c != 0 })
	alpha := emaAlpha(p.BondsMovingAverage)
	lo, hi := u16Ratio(p.LiquidAlpha.AlphaLow), u16Ratio(p.LiquidAlpha.AlphaHigh)
	steep := divFix(int64(p.LiquidAlpha.Steepness)<<fracBits, -100*one)
	for r := range st.rows {
		for j, w := range W[r*n : (r+1)*n] {
			k := r*n + j
			old := B[k]
			if w == 0 && old == 0 {
				continue // both terms are zero
			}
			wb := bondWeight(w, st.consensus[j], beta)
			var v int64
			if liquid {
				a := liquidAlpha(st.consensus[j], wb, old, lo, hi, steep)
				v = min(mulPos(one-a, old)+mulPos(a, wb), one)
			} else {
				v = min(mulPos(alpha, wb)+mulPos(one-alpha, old), one)
			}
			B[k] = max(v, 0)
		}
	}

	// B̂ = colnorm(B); D_i = a_i · Σ_j B̂_ij·I_j, normalized.
	col := make([]int64, n)
	for r := range st.rows {
		for j, b := range B[r*n : (r+1)*n] {
			col[j] += b
		}
	}
	div := make([]divider, n)
	for j, s := range col {
		div[j] = newDivider(uint64(s))
	}
	st.dividends = make([]int64, n)
	for r, i := range st.rows {
		var t int64
		for j, b := range B[r*n : (r+1)*n] {
			if b != 0 && st.incentive[j] != 0 {
				t += mulPos(div[j].div(uint64(b)), st.incentive[j])
			}
		}
		st.dividends[i] = mulFix(t, st.act[i])
	}
	normalize(st.dividends)
	st.bonds = B
}

// liquidAlpha is the per-pair EMA rate of §6c (subtensor's alpha_sigmoid);
// steep is −steepness/100.
func liquidAlpha(c, w, b, lo, hi, steep int64) int64 {
	var x int64
	if w >= b {
		x = clampFix(w-c, 0, one) // buying
	} else {
		x = clampFix(b-w, 0, one) // selling
	}
	sig := divFix(one, satAdd(one, expFix(mulFix(steep, x-half))))
	return clampFix(satAdd(lo, mulFix(sig, hi-lo)), lo, hi)
}

// emaAlpha is α = 1 − BMA/1e6, with BMA/1e6 rounded down to I32F32 first.
func emaAlpha(bma uint64) int64 {
	return one - ratioFix(bma, 1_000_000)
}

// emission splits E (§7) into st.miner and st.validator.
func (st *state) emission() {
	n, E := st.n, st.in.Emission
	st.miner = make([]uint64, n)
	st.validator = make([]uint64, n)
	var sum int64
	for j := range n {
		sum = satAdd(sum, satAdd(st.incentive[j], st.dividends[j]))
	}
	var left uint64
	switch {
	case sum != 0:
		alloc, l := apportion(E, slices.Concat(st.incentive, st.dividends))
		copy(st.miner, alloc[:n])
		copy(st.validator, alloc[n:])
		left = l
	case !isZero(st.act):
		st.validator, left = apportion(E, st.act)
	default:
		st.validator, left = apportion(E, st.stake) // all zero: nothing is paid
	}
	st.undistributed = left
}

// apportion splits E in proportion to x (non-negative) by largest
// remainders. It returns the shares and what is left, E when Σx = 0.
func apportion(E uint64, x []int64) ([]uint64, uint64) {
	out := make([]uint64, len(x))
	var X uint64
	for _, v := range x {
		X += uint64(v)
	}
	if X == 0 {
		return out, E
	}
	rem := make([]uint64, len(x))
	var paid uint64
	for i, v := range x {
		hi, lo := bits.Mul64(E, uint64(v))
		out[i], rem[i] = bits.Div64(hi, lo, X) // hi < X since v ≤ X
		paid += out[i]
	}
	left := E - paid // < number of positive remainders
	if left == 0 {
		return out, 0
	}
	idx := make([]int, 0, len(x))
	for i, r := range rem {
		if r != 0 {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(rem[b], rem[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	for _, i := range idx[:left] {
		out[i]++
	}
	return out, 0
}

// normalizeStake is step 2: the threshold, then σ/Σσ in I64F64 truncated
// to I32F32, which equals floor(σ·2^32/Σσ). If Σσ overflows 64 bits every
// stake is shifted right until it fits.
func normalizeStake(sigma []uint64, theta uint64, owner int) []int64 {
	v := make([]uint64, len(sigma))
	var hi, lo, c uint64
	for i, s := range sigma {
		if s < theta && i != owner {
			s = 0
		}
		v[i] = s
		lo, c = bits.Add64(lo, s, 0)
		hi += c
	}
	if hi != 0 {
		shift := uint(bits.Len64(hi))
		lo = 0
		for i := range v {
			v[i] >>= shift
			lo += v[i]
		}
	}
	out := make([]int64, len(v))
	if lo == 0 {
		return out
	}
	for i, s := range v {
		out[i] = ratioFix(s, lo)
	}
	return out
}

// topKNonzero is subtensor's is_topk_nonzero: nonzero entries, minus the
// lowest n−k by a stable ascending sort (so lower uids lose ties).
func topKNonzero(s []int64, k int) []bool {
	n := len(s)
	out := make([]bool, n)
	for i, v := range s {
		out[i] = v != 0
	}
	if n < k {
		return out
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(s[a], s[b]) })
	for _, i := range idx[:n-k] {
		out[i] = false
	}
	return out
}

// normalize divides x by its sum in place; a zero sum leaves x unchanged.
func normalize(x []int64) {
	var sum int64
	for _, v := range x {
		sum = satAdd(sum, v)
	}
	if sum == 0 {
		return
	}
	for i, v := range x {
		x[i] = divFix(v, sum)
	}
}

func isZero(x []int64) bool {
	var sum int64
	for _, v := range x {
		sum = satAdd(sum, v)
	}
	return sum == 0
}

// colNormalize divides each cell of the row-major matrix M (n columns) by
// its column sum; zero columns stay zero.
// Cells and sums are non-negative.
func colNormalize(M, col []int64, n int) {
	div := make([]divider, n)
	for j, s := range col {
		div[j] = newDivider(uint64(s))
	}
	for r := 0; r < len(M); r += n {
		for j, v := range M[r : r+n] {
			if v != 0 && col[j] != 0 {
				M[r+j] = div[j].div(uint64(v))
			}
		}
	}
}

func satAddU(a, b uint64) uint64 {
	s, c := bits.Add64(a, b, 0)
	if c != 0 {
		return ^uint64(0)
	}
	return s
}

// output converts the state to storage units.
func (st *state) output() Output {
	n := st.n
	u16s := func(x []int64) []uint16 {
		out := make([]uint16, len(x))
		for i, v := range x {
			out[i] = toU16(v)
		}
		return out
	}
	o := Output{
		StakeWeight:       u16s(st.stake),
		Active:            st.active,
		ValidatorPermit:   st.newPermit,
		Consensus:         u16s(st.consensus),
		ValidatorTrust:    u16s(st.vtrust),
		Rank:              u16s(st.rank),
		Trust:             u16s(st.trust),
		Incentive:         u16s(st.incentive),
		Dividends:         u16s(st.dividends),
		Bonds:             make([][]Entry, n),
		MinerEmission:     st.miner,
		ValidatorEmission: st.validator,
		Emission:          make([]uint64, n),
		Undistributed:     st.undistributed,
	}
	for i := range n {
		o.Emission[i] = st.miner[i] + st.validator[i]
	}
	for r, i := range st.rows {
		if !st.newPermit[i] {
			continue
		}
		var row []Entry
		for j, b := range st.bonds[r*n : (r+1)*n] {
			if v := toU16(b); v != 0 {
				row = append(row, Entry{UID: uint16(j), Value: v})
			}
		}
		o.Bonds[i] = row
	}
	return o
}
