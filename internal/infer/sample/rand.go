package sample

import "math"

// rng is xoshiro256** (Blackman and Vigna), seeded by splitmix64 as its
// authors recommend. Fixed here so that a seed means the same stream on
// every platform and Go version.
type rng struct{ s [4]uint64 }

func newRNG(seed uint64) rng {
	var r rng
	for i := range r.s {
		seed += 0x9e3779b97f4a7c15
		z := seed
		z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
		z = (z ^ z>>27) * 0x94d049bb133111eb
		r.s[i] = z ^ z>>31
	}
	return r
}

func rotl(x uint64, k uint) uint64 { return x<<k | x>>(64-k) }

func (r *rng) uint64() uint64 {
	s := &r.s
	out := rotl(s[1]*5, 7) * 9
	t := s[1] << 17
	s[2] ^= s[0]
	s[3] ^= s[1]
	s[1] ^= s[2]
	s[0] ^= s[3]
	s[2] ^= t
	s[3] = rotl(s[3], 45)
	return out
}

// float64 returns a uniform value in [0, 1) with 53 random bits.
func (r *rng) float64() float64 { return float64(r.uint64()>>11) * 0x1p-53 }

// expNeg is e^x for x <= 0, computed the same way everywhere: Cody-Waite
// reduction x = k·ln2 + r with |r| <= ln2/2, a degree-13 Taylor polynomial
// for e^r (error below 1e-16 relative), and an exact scaling by 2^k. Each
// product is converted explicitly so that no platform fuses it into an FMA.
func expNeg(x float64) float64 {
	const (
		ln2Hi  = 6.93147180369123816490e-01
		ln2Lo  = 1.90821492927058770002e-10
		log2e  = 1.44269504088896338700e+00
		minArg = -745.2
	)
	switch {
	case x != x || x < minArg:
		return 0
	case x > 0:
		x = 0 // callers pass l - max; guard rounding
	}
	k := math.Floor(float64(x*log2e) + 0.5)
	r := x - float64(k*ln2Hi)
	r -= float64(k * ln2Lo)
	p := 1.0 / 6227020800 // 1/13!
	for _, c := range [...]float64{1.0 / 479001600, 1.0 / 39916800, 1.0 / 3628800, 1.0 / 362880, 1.0 / 40320,
		1.0 / 5040, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1, 1} {
		p = float64(p*r) + c
	}
	return math.Ldexp(p, int(k))
}
