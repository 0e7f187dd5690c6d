package tensor

// AttnScratch is one thread's scratch for AttendBlock; the zero value is
// ready to use.
type AttnScratch struct {
	qT, s, o []float32
	masks    []uint16
}

// AttnBlockMax is the most queries AttendBlock takes at once.
const AttnBlockMax = 16

// AttendBlock computes the causal attention of one head for nq ≤ 16
// consecutive queries: query l (at q[l*qStride:][:hd]) is at position
// pos0+l and attends positions 0..pos0+l of the cache (position j's key at
// k[j*kvStride:][:hd], its value at v[j*kvStride:][:hd]); its output goes
// to out[l*outStride:][:hd]. Each query's result is, bit for bit, that of
// Scores (scores divided by div), Softmax and AccumRows on it alone. With
// AVX-512 the queries are computed together, one per vector lane: every
// score, maximum, exponential, sum and product is the same operation on the
// same operands in the same order, so only the speed differs.
func AttendBlock(q []float32, qStride, nq, hd int, k, v []float32, kvStride, pos0 int, div float32, out []float32, outStride int, sc *AttnScratch) {
	if nq <= 0 {
		return
	}
	if nq > AttnBlockMax {
		panic("tensor: AttendBlock of more than 16 queries")
	}
	n := pos0 + nq // positions read
	_ = q[(nq-1)*qStride+hd-1]
	_ = k[(n-1)*kvStride+hd-1]
	_ = v[(n-1)*kvStride+hd-1]
	_ = out[(nq-1)*outStride+hd-1]
	if cap(sc.s) < n*AttnBlockMax {
		sc.s = make([]float32, n*AttnBlockMax)
	}
	if useAVX512 && hd >= 32 && hd%8 == 0 && attendBlockAVX512(q, qStride, nq, hd, k, v, kvStride, pos0, div, out, outStride, sc) {
		return
	}
	for l := 0; l < nq; l++ {
		att := sc.s[:pos0+l+1]
		Scores(q[l*qStride:l*qStride+hd], k, kvStride, div, att)
		Softmax(att)
		AccumRows(att, v, kvStride, out[l*outStride:l*outStride+hd])
	}
}

// attendBlockAVX512 is AttendBlock with the queries in vector lanes; it
// reports false (having written nothing) if a score is NaN, where the
// per-query path is the definition.
func attendBlockAVX512(q []float32, qStride, nq, hd int, k, v []float32, kvStride, pos0 int, div float32, out []float32, outStride int, sc *AttnScratch) bool {
	n := pos0 + nq
	if cap(sc.qT) < hd*AttnBlockMax {
		sc.qT = make([]float32, hd*AttnBlockMax)
		sc.o = make([]float32, hd*AttnBlockMax)
	}
	if cap(sc.masks) < n {
		sc.masks = make([]uint16, n+64)
	}
	qT, o, masks := sc.qT[:hd*AttnBlockMax], sc.o[:hd*AttnBlockMax], sc.masks[:n]
	// qT[i*16+l] = q_l[i]; lanes without a query are zero.
	gatherQ16AVX512(&q[0], qStride, nq, hd, &qT[0])
	// masks[j]: the lanes whose query attends position j.
	valid := uint16(1<<nq - 1)
	for j := range masks {
		if j <= pos0 {
			masks[j] = valid
		} else {
			masks[j] = valid & (0xFFFF << (j - pos0))
		}
	}
	s := sc.s[:n*AttnBlockMax]
	scoresQ16AVX512(&qT[0], &k[0], hd, kvStride, n, &s[0], div)
	if !softmaxQ16AVX512(&s[0], n, &masks[0]) {
		return false
	}
	accumQ16AVX512(&s[0], &v[0], hd, kvStride, n, &masks[0], &o[0])
	scatterQ16AVX512(&o[0], hd, nq, &out[0], outStride)
	return true
}
