package tensor

import "math"

// Exp returns e^x rounded to float32. Unlike math.Exp, whose amd64 assembly
// uses FMA only on CPUs that have it, every operation here is an explicitly
// rounded float64 operation, so the result is the same on every CPU and
// architecture. The polynomial error (< 1e-11 relative) is far below float32
// precision.
func Exp(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > 88.72284:
		return float32(math.Inf(1))
	case x < -103.97208:
		return 0
	}
	const (
		log2e = 1.44269504088896338700e+00
		ln2Hi = 6.93147180369123816490e-01
		ln2Lo = 1.90821492927058770002e-10
	)
	xd := float64(x)
	k := math.Floor(float64(xd*log2e) + 0.5)
	r := xd - float64(k*ln2Hi)
	r -= float64(k * ln2Lo)
	// Taylor series of degree 9 on |r| <= ln2/2, Horner order.
	p := 1.0 / 362880
	p = float64(p*r) + 1.0/40320
	p = float64(p*r) + 1.0/5040
	p = float64(p*r) + 1.0/720
	p = float64(p*r) + 1.0/120
	p = float64(p*r) + 1.0/24
	p = float64(p*r) + 1.0/6
	p = float64(p*r) + 0.5
	p = float64(p*r) + 1
	p = float64(p*r) + 1
	return float32(p * math.Float64frombits(uint64(int64(k)+1023)<<52))
}
