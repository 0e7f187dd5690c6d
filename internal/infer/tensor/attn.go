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
	c := 0
	if useAVX2 {
		for ; c+32 <= len(o); c += 32 {
			accum32AVX2(&a[0], &v[c], n, stride, &o[c])
		}
		for ; c+8 <= len(o); c += 8 {
			accumV8AVX2(&a[0], &v[c], n, stride, &o[c])
		}
	}
	if c == len(o) {
		return
	}
	oc := o[c:]
	for t, at := range a {
		row := v[t*stride+c : t*stride+len(o)]
		for i, vv := range row {
			oc[i] += float32(at * vv)
		}
	}
}

// Scores computes out[t] = DotF32(q, k[t·stride : t·stride+len(q)]) / div
// for t < len(out): attention scores against a position-major K cache.
func Scores(q, k []float32, stride int, div float32, out []float32) {
	n, hd := len(out), len(q)
	if n == 0 {
		return
	}
	_ = k[(n-1)*stride+hd-1]
	if useAVX2 && hd >= 32 {
		scoresAVX2(&q[0], &k[0], hd, stride, n, &out[0], div)
		return
	}
	for t := range out {
		out[t] = DotF32(q, k[t*stride:t*stride+hd]) / div
	}
}
