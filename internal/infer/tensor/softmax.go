package tensor

// Softmax normalizes x in place: the maximum is subtracted, e = Exp(x-max),
// the sum is accumulated in index order and every element is divided by it.
// The AVX2 path gives the same bits (for inputs without NaN).
func Softmax(x []float32) {
	if len(x) == 0 {
		return
	}
	maxv := x[0]
	for _, v := range x[1:] {
		maxv = max(maxv, v)
	}
	var sum float32
	i := 0
	if useAVX2 && len(x) >= 4 && maxv == maxv {
		i = len(x) - len(x)%4
		sum = expSumAVX2(&x[0], i, maxv, 0)
	}
	for ; i < len(x); i++ {
		e := Exp(x[i] - maxv)
		x[i] = e
		sum += e
	}
	i = 0
	if useAVX2 && len(x) >= 8 {
		i = len(x) - len(x)%8
		divAVX2(&x[0], i, sum)
	}
	for ; i < len(x); i++ {
		x[i] /= sum
	}
}
