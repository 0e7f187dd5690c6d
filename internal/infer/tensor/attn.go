package tensor

// ScoresT computes out[t] = (Σ_{i<len(q)} q[i]·kT[i·stride+t]) / div for
// t < len(out): attention scores against a transposed K cache (row i holds
// element i of every position). Each sum runs in order of i from zero, so
// the result equals a sequential dot product of q with position t's key.
func ScoresT(q, kT []float32, stride int, div float32, out []float32) {
	n, hd := len(out), len(q)
	if n == 0 {
		return
	}
	_ = kT[(hd-1)*stride+n-1]
	t := 0
	if useAVX2 && hd > 0 && n >= 8 {
		t = n - n%8
		scoresTAVX2(&q[0], &kT[0], hd, stride, t, &out[0], div)
	}
	for ; t < n; t++ {
		var s float32
		for i, qv := range q {
			s += float32(qv * kT[i*stride+t])
		}
		out[t] = s / div
	}
}

// AccumRows sets o = Σ_t a[t]·v[t·stride : t·stride+len(o)], accumulated in
// t order from zero (the attention output of one head).
func AccumRows(a, v []float32, stride int, o []float32) {
	n := len(a)
	clear(o)
	if n == 0 {
		return
	}
	_ = v[(n-1)*stride+len(o)-1]
	if useAVX2 && len(o) == 8 {
		accumV8AVX2(&a[0], &v[0], n, stride, &o[0])
		return
	}
	for t, at := range a {
		row := v[t*stride : t*stride+len(o)]
		for i, vv := range row {
			o[i] += float32(at * vv)
		}
	}
}
