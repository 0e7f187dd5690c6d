package subnet

import (
	"math/big"
	"math/bits"

	"github.com/deai-network/deai/internal/tx"
)

// Registration pricing (subnet-protocol.md §5): the price decays with a
// half-life and each registration multiplies it, clamped to the subnet's
// [min_burn, max_burn]. Everything is integer arithmetic, so every node
// computes the same price.

// fracBits is the precision of the fractional exponent: a decay over r of
// HL blocks uses floor(r·2^fracBits/HL)/2^fracBits as the exponent.
const fracBits = 32

// halvingRoots[k] = floor(2^62 · 2^(−2^−(k+1))): the factor for bit k+1 of
// the binary expansion of a fractional exponent. It is computed with exact
// integer square roots, which are deterministic.
var halvingRoots = func() [fracBits]uint64 {
	var out [fracBits]uint64
	// y holds a value in Q124; start at 1/2 and take square roots.
	y := new(big.Int).Lsh(big.NewInt(1), 123)
	for k := range out {
		y.Sqrt(y.Lsh(y, 124)) // sqrt(v·2^124·2^124) = sqrt(v)·2^124
		out[k] = new(big.Int).Rsh(y, 62).Uint64()
	}
	return out
}()

// mulQ62 returns floor(a·b/2^62) for a ≤ 2^64−1 and b ≤ 2^62.
func mulQ62(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi<<2 | lo>>62
}

// decay returns base·2^(−blocks/halfLife), rounded down; a zero
// half-life (never valid in stored params) means no decay.
func decay(base tx.Amount, blocks, halfLife uint64) tx.Amount {
	if halfLife == 0 {
		return base
	}
	q, r := blocks/halfLife, blocks%halfLife
	if q >= 64 {
		return 0
	}
	v := uint64(base) >> q
	if r == 0 || v == 0 {
		return tx.Amount(v)
	}
	hi, lo := bits.Mul64(r, 1<<fracBits)
	f, _ := bits.Div64(hi, lo, halfLife) // < 2^fracBits since r < halfLife
	factor := uint64(1) << 62
	for k := range fracBits {
		if f&(1<<(fracBits-1-k)) != 0 {
			factor = mulQ62(factor, halvingRoots[k])
		}
	}
	return tx.Amount(mulQ62(v, factor))
}

func clampAmount(a, lo, hi tx.Amount) tx.Amount { return max(min(a, hi), lo) }

// Price returns the registration price of s at block height.
func (s *Subnet) Price(height uint64) tx.Amount {
	var elapsed uint64
	if height > s.BurnBlock {
		elapsed = height - s.BurnBlock
	}
	return clampAmount(decay(s.Burn, elapsed, s.Params.BurnHalfLife), s.Params.MinBurn, s.Params.MaxBurn)
}

// bump records a registration that paid price at height: the new base is
// price·burn_increase_mult/1000, clamped.
func (s *Subnet) bump(price tx.Amount, height uint64) {
	hi, lo := bits.Mul64(uint64(price), uint64(s.Params.BurnIncreaseMult))
	next := tx.MaxAmount
	if hi < 1000 {
		q, _ := bits.Div64(hi, lo, 1000)
		next = tx.Amount(q)
	}
	s.Burn = clampAmount(next, s.Params.MinBurn, s.Params.MaxBurn)
	s.BurnBlock = height
}

// rebase fixes the current price as the new base at height, so that a
// change of the decay or clamp parameters applies from now on only.
func (s *Subnet) rebase(height uint64) {
	s.Burn = s.Price(height)
	if height > s.BurnBlock {
		s.BurnBlock = height
	}
}
