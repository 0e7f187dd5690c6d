package yuma

import "math/bits"

// The epoch works in I32F32: signed Q32.32 numbers held in an int64, as in
// subtensor (substrate_fixed). Multiplication and division go through a
// 128-bit intermediate (math/bits), truncate like the fixed crate does
// (multiplication towards minus infinity, division towards zero) and
// saturate instead of overflowing.

const (
	fracBits = 32
	one      = int64(1) << fracBits // 1.0
	half     = one >> 1             // 0.5
	maxFix   = int64(^uint64(0) >> 1)
	minFix   = -maxFix - 1
	u16Max   = 65535
)

// mulFix returns a·b rounded towards minus infinity, saturated.
func mulFix(a, b int64) int64 {
	if a >= 0 && b >= 0 {
		return mulPos(a, b)
	}
	return mulFixSigned(a, b)
}

// mulPos is mulFix for a, b ≥ 0, small enough to inline in hot loops.
func mulPos(a, b int64) int64 {
	hi, lo := bits.Mul64(uint64(a), uint64(b))
	if hi>>(fracBits-1) != 0 {
		return maxFix
	}
	return int64(hi<<(64-fracBits) | lo>>fracBits)
}

func mulFixSigned(a, b int64) int64 {
	neg := (a < 0) != (b < 0)
	hi, lo := bits.Mul64(absU(a), absU(b))
	// |a·b| >> 32 as a 96-bit number; it fits in 63 bits when hi < 2^31.
	q := hi<<(64-fracBits) | lo>>fracBits
	exact := lo<<(64-fracBits) == 0
	if hi>>(fracBits-1) != 0 {
		if neg {
			return minFix
		}
		return maxFix
	}
	if !neg {
		return int64(q)
	}
	if !exact {
		q++ // floor of a negative number
	}
	return -int64(q)
}

// divFix returns a/b truncated towards zero, saturated; b must not be zero.
func divFix(a, b int64) int64 {
	neg := (a < 0) != (b < 0)
	ua, ub := absU(a), absU(b)
	hi, lo := ua>>(64-fracBits), ua<<fracBits
	if hi >= ub {
		if neg {
			return minFix
		}
		return maxFix
	}
	q, _ := bits.Div64(hi, lo, ub)
	if q > uint64(maxFix) {
		if neg {
			return minFix
		}
		return maxFix
	}
	if neg {
		return -int64(q)
	}
	return int64(q)
}

// ratioFix returns num/den as I32F32, rounded down and saturated: exactly
// the I32F32 quotient of the integers num and den (den > 0).
func ratioFix(num, den uint64) int64 {
	hi, lo := num>>(64-fracBits), num<<fracBits
	if hi >= den {
		return maxFix
	}
	q, _ := bits.Div64(hi, lo, den)
	if q > uint64(maxFix) {
		return maxFix
	}
	return int64(q)
}

// toU16 stores a ratio as u16: floor(x·65535), clamped to [0, 65535]
// (subtensor's fixed_proportion_to_u16).
func toU16(x int64) uint16 {
	if x <= 0 {
		return 0
	}
	if x >= one {
		return u16Max
	}
	return uint16((uint64(x) * u16Max) >> fracBits)
}

// u16Ratio reads a u16 parameter as a ratio: v/65535 in I32F32.
func u16Ratio(v uint16) int64 { return int64(uint64(v) << fracBits / u16Max) }

func absU(x int64) uint64 {
	if x < 0 {
		return uint64(-x) // -minFix wraps to 2^63, which is its magnitude
	}
	return uint64(x)
}

func satAdd(a, b int64) int64 {
	s := a + b
	if (s > a) != (b > 0) {
		if b > 0 {
			return maxFix
		}
		return minFix
	}
	return s
}

func clampFix(v, lo, hi int64) int64 { return max(min(v, hi), lo) }

// ln2by8Q58 is ln(2)/8 in Q6.58, rounded to nearest.
const ln2by8Q58 = 24973259072661437

// expFix returns e^x for x in I32F32, with x first clamped to [-20, 20] as
// subtensor's exp_safe does; it is within a few units in the last place
// of the exact value. It reduces x = K·ln2/8 + r with r in [0, ln2/8),
// evaluates the Taylor polynomial of e^r to degree 11 (the remainder is
// below 2^-62) in Q2.62, multiplies by 2^((K mod 8)/8) and shifts by
// floor(K/8).
func expFix(x int64) int64 {
	x = clampFix(x, -20*one, 20*one)
	x58 := x << 26 // |x| ≤ 20 fits Q6.58
	K := x58 / ln2by8Q58
	if x58%ln2by8Q58 < 0 {
		K-- // floor division
	}
	r := uint64(x58-K*ln2by8Q58) << 4 // Q2.62, below ln2/8
	// Horner with the coefficients 1/k! in Q2.62.
	s := uint64(115532457973) // 1/11!
	s = hornerQ62(s, r, 1270857037706)
	s = hornerQ62(s, r, 12708570377060)
	s = hornerQ62(s, r, 114377133393536)
	s = hornerQ62(s, r, 915017067148291)
	s = hornerQ62(s, r, 6405119470038039)
	s = hornerQ62(s, r, 38430716820228233)
	s = hornerQ62(s, r, 192153584101141163)
	s = hornerQ62(s, r, 768614336404564651)
	s = hornerQ62(s, r, 2305843009213693952)
	s = hornerQ62(s, r, 1<<62)
	s = hornerQ62(s, r, 1<<62)
	s = mulQ62(s, pow2Eighths(K&7))
	// s is Q2.62; the result is s·2^k in Q32.32 with k = floor(K/8) in [-29, 28].
	return int64(s >> uint(30-(K>>3)))
}

// hornerQ62 returns c + s·r in Q2.62.
func hornerQ62(s, r, c uint64) uint64 { return c + mulQ62(s, r) }

func mulQ62(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi<<2 | lo>>62
}

// pow2Eighths returns 2^(j/8) in Q2.62 for j in [0, 8).
func pow2Eighths(j int64) uint64 {
	switch j {
	case 1:
		return 5029079263719320435
	case 2:
		return 5484249825272419512
	case 3:
		return 5980616842327661685
	case 4:
		return 6521908912666391106
	case 5:
		return 7112192101001162095
	case 6:
		return 7755900482342532474
	case 7:
		return 8457869449776733335
	}
	return 1 << 62
}

// divider computes floor(v·2^32/s) for a fixed s > 0 (I32F32 division of
// v by s for v, s ≥ 0), exactly like ratioFix and divFix but with a
// multiplication by a precomputed reciprocal instead of a hardware divide:
// the estimate floor(N·m/2^64) with m = ceil(2^64/s) is q or q+1, and one
// comparison corrects it.
type divider struct{ s, m uint64 }

func newDivider(s uint64) divider {
	if s <= 1 {
		return divider{s: s}
	}
	q, r := bits.Div64(1, 0, s)
	if r != 0 {
		q++
	}
	return divider{s: s, m: q}
}

func (d divider) div(v uint64) int64 {
	if v>>(64-fracBits) != 0 || d.m == 0 {
		return ratioFix(v, d.s)
	}
	N := v << fracBits
	q, _ := bits.Mul64(N, d.m)
	if hi, lo := bits.Mul64(q, d.s); hi != 0 || lo > N {
		q--
	}
	if q > uint64(maxFix) {
		return maxFix
	}
	return int64(q)
}
