package tensor

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels. It is a pure function of the CPU; a
// test may switch it off to compare against the Go kernels.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasF16C

// useAVX512 selects the AVX-512 kernels (batched attention) and useVNNI
// the AVX-512 VNNI prompt GEMM (gemm_vnni.go); their results equal the
// other kernels' bit for bit. Like useAVX2 a test may switch them off.
var (
	useAVX512 = useAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512DQ &&
		cpu.X86.HasAVX512VL
	useVNNI = useAVX512 && cpu.X86.HasAVX512VNNI
)

//go:noescape
func dotF32AVX2Body(a, b *float32, n int) float32

//go:noescape
func dotQ8_0AVX2(w, x *byte, nb int) float32

//go:noescape
func dotQ4_0AVX2(w, x *byte, nb int) float32

func dotF32AVX2(a, b []float32) float32 {
	n := len(a)
	body := n - n%32
	var r float32
	if body > 0 {
		r = dotF32AVX2Body(&a[0], &b[0], body)
	}
	for i := body; i < n; i++ {
		r += float32(a[i] * b[i])
	}
	return r
}

//go:noescape
func rowsQ8_0AVX2(w, x *byte, nb, rowBytes int, dst *float32, rows int, xd *float32)

//go:noescape
func rowsQ4_0AVX2(w, x *byte, nb, rowBytes int, dst *float32, rows int, xd *float32)

//go:noescape
func rowsF32AVX2(w, x *float32, n, rowStride int, dst *float32, rows int)

// matVecRows computes dst[r] for rows [lo, hi) with a row-loop kernel and
// reports whether it could (AVX2, a supported type, rows a multiple of 32
// for F32).
func (m *Matrix) matVecRows(lo, hi int, v *Vec, dst []float32) bool {
	if !useAVX2 || hi <= lo {
		return false
	}
	_ = dst[hi-1]
	pairs := (hi - lo) / 2
	switch m.Type {
	case Q8_0:
		if pairs > 0 {
			rows2Q8_0AVX2(&m.Data[lo*m.rowBytes], &v.q8[0], m.Cols/QK8_0, m.rowBytes, &dst[lo], pairs, &v.q8d[0])
		}
		if (hi-lo)%2 == 1 {
			rowsQ8_0AVX2(&m.Data[(hi-1)*m.rowBytes], &v.q8[0], m.Cols/QK8_0, m.rowBytes, &dst[hi-1], 1, &v.q8d[0])
		}
	case Q4_0:
		if pairs > 0 {
			rows2Q4_0AVX2(&m.Data[lo*m.rowBytes], &v.q8[0], m.Cols/QK4_0, m.rowBytes, &dst[lo], pairs, &v.q8d[0])
		}
		if (hi-lo)%2 == 1 {
			rowsQ4_0AVX2(&m.Data[(hi-1)*m.rowBytes], &v.q8[0], m.Cols/QK4_0, m.rowBytes, &dst[hi-1], 1, &v.q8d[0])
		}
	case F32:
		if m.Cols%32 != 0 {
			return false
		}
		rowsF32AVX2(&m.f32[lo*m.Cols], &v.X[0], m.Cols, m.rowBytes, &dst[lo], hi-lo)
	case F16:
		if m.Cols%32 != 0 {
			return false
		}
		rowsF16AVX2(&m.Data[lo*m.rowBytes], &v.X[0], m.Cols, m.rowBytes, &dst[lo], hi-lo)
	case BF16:
		if m.Cols%32 != 0 {
			return false
		}
		rowsBF16AVX2(&m.Data[lo*m.rowBytes], &v.X[0], m.Cols, m.rowBytes, &dst[lo], hi-lo)
	default:
		return false
	}
	return true
}

//go:noescape
func mm4Q8_0AVX2(w *byte, nb int, x0, x1, x2, x3 *byte, d0, d1, d2, d3 *float32, out *[4]float32)

//go:noescape
func mm4Q4_0AVX2(w *byte, nb int, x0, x1, x2, x3 *byte, d0, d1, d2, d3 *float32, out *[4]float32)

//go:noescape
func mm2F32AVX2(w, x0, x1 *float32, n int, out *[2]float32)

// dotMulti computes row r times the first vectors of vs with a
// multi-vector kernel (4 for Q8_0/Q4_0, 2 for F32) into out and returns how
// many it did (0 if none applies).
func (m *Matrix) dotMulti(r int, vs []Vec, out *[4]float32) int {
	if !useAVX2 {
		return 0
	}
	switch m.Type {
	case Q8_0, Q4_0:
		if len(vs) < 4 {
			return 0
		}
		vs = vs[:4]
		w := &m.Data[r*m.rowBytes]
		// Direct calls (not a func value) keep out on the caller's stack.
		if m.Type == Q4_0 {
			mm4Q4_0AVX2(w, m.Cols/QK4_0, &vs[0].q8[0], &vs[1].q8[0], &vs[2].q8[0], &vs[3].q8[0],
				&vs[0].q8d[0], &vs[1].q8d[0], &vs[2].q8d[0], &vs[3].q8d[0], out)
		} else {
			mm4Q8_0AVX2(w, m.Cols/QK8_0, &vs[0].q8[0], &vs[1].q8[0], &vs[2].q8[0], &vs[3].q8[0],
				&vs[0].q8d[0], &vs[1].q8d[0], &vs[2].q8d[0], &vs[3].q8d[0], out)
		}
		return 4
	case F32:
		n := m.Cols
		body := n - n%32
		if len(vs) < 2 || body == 0 {
			return 0
		}
		w := m.f32[r*n : (r+1)*n]
		x0, x1 := vs[0].X[:n], vs[1].X[:n]
		var o [2]float32
		mm2F32AVX2(&w[0], &x0[0], &x1[0], body, &o)
		for i := body; i < n; i++ {
			o[0] += float32(w[i] * x0[i])
			o[1] += float32(w[i] * x1[i])
		}
		out[0], out[1] = o[0], o[1]
		return 2
	}
	return 0
}

//go:noescape
func axpyAVX2(a float32, x, y *float32, n int)

//go:noescape
func q4kDotAVX2(qs, q8 *byte, sc *[8]int16) int32

// dotQ4KAVX2 is dotQ4K with the integer part in assembly (same result).
func dotQ4KAVX2(w, x []byte, nb int) float32 {
	var acc float32
	var sc [8]int16
	for b := 0; b < nb; b++ {
		bw := w[b*BlockQ4_K : (b+1)*BlockQ4_K]
		bx := x[b*BlockQ8_K : (b+1)*BlockQ8_K]
		dx := q8KScale(bx)
		d := F16ToF32(uint16(bw[0])|uint16(bw[1])<<8) * dx
		dmin := F16ToF32(uint16(bw[2])|uint16(bw[3])<<8) * dx
		scales := bw[4:16]
		bs := bx[260:292]
		var msum int32
		for j := range 8 {
			s, m := scaleMinK4(j, scales)
			sc[j] = int16(s)
			b0 := int32(int16(uint16(bs[4*j]) | uint16(bs[4*j+1])<<8))
			b1 := int32(int16(uint16(bs[4*j+2]) | uint16(bs[4*j+3])<<8))
			msum += int32(m) * (b0 + b1)
		}
		isum := q4kDotAVX2(&bw[16], &bx[4], &sc)
		acc += float32(d * float32(isum))
		acc -= float32(dmin * float32(msum))
	}
	return acc
}

//go:noescape
func q6kDotAVX2(ql, qh, q8 *byte, sc *[16]int16) int32

// dotQ6KAVX2 is dotQ6K with the integer part in assembly (same result).
func dotQ6KAVX2(w, x []byte, nb int) float32 {
	var acc float32
	var sc [16]int16
	for b := 0; b < nb; b++ {
		bw := w[b*BlockQ6_K : (b+1)*BlockQ6_K]
		bx := x[b*BlockQ8_K : (b+1)*BlockQ8_K]
		d := F16ToF32(uint16(bw[208])|uint16(bw[209])<<8) * q8KScale(bx)
		bs := bx[260:292]
		var corr int32
		for k := range 16 {
			sc[k] = int16(int8(bw[192+k]))
			corr += int32(sc[k]) * int32(int16(uint16(bs[2*k])|uint16(bs[2*k+1])<<8))
		}
		isum := q6kDotAVX2(&bw[0], &bw[128], &bx[4], &sc) - 32*corr
		acc += float32(d * float32(isum))
	}
	return acc
}

//go:noescape
func rows2Q8_0AVX2(w, x *byte, nb, rowBytes int, dst *float32, pairs int, xd *float32)

//go:noescape
func rows2Q4_0AVX2(w, x *byte, nb, rowBytes int, dst *float32, pairs int, xd *float32)

//go:noescape
func quantQ8_0AVX2(x *float32, dst *byte, nb int) (finite bool)

//go:noescape
func expSumAVX2(x *float32, n int, maxv float32, sum float32) float32

//go:noescape
func divAVX2(x *float32, n int, d float32)

//go:noescape
func scoresTAVX2(q, kT *float32, hd, stride, n int, out *float32, div float32)

//go:noescape
func accumV8AVX2(a, v *float32, n, stride int, o *float32)

//go:noescape
func mm2F32RowsAVX2(w, x0, x1 *float32, n, rows, rowBytes int, d0, d1 *float32)

//go:noescape
func rowsF16AVX2(w *byte, x *float32, n, rowBytes int, dst *float32, rows int)

//go:noescape
func rowsBF16AVX2(w *byte, x *float32, n, rowBytes int, dst *float32, rows int)

//go:noescape
func gemmQ8x3x4AVX2(w *byte, dw *float32, x *byte, dx *float32, nb, groups int, dst *float32, stride int, ds *float32)

//go:noescape
func packW3Q8_0AVX2(w *byte, rowBytes, nb int, dst *byte, dw *float32)

//go:noescape
func packW3Q4_0AVX2(w *byte, rowBytes, nb int, dst *byte, dw *float32)

//go:noescape
func expNegAVX2(x *float32, n int, dst *float32)

//go:noescape
func scoresAVX2(q, k *float32, hd, stride, n int, out *float32, div float32)

//go:noescape
func accum32AVX2(a, v *float32, n, stride int, o *float32)

//go:noescape
func gemmQ4x3x4AVX2(w *byte, dw *float32, x *byte, dx *float32, nb, groups int, dst *float32, stride int, c *int32, ds *float32)

//go:noescape
func corrQ4AVX2(x *byte, n int, c *int32)

//go:noescape
func gemmVNNI4x8(w *byte, c *int32, d *float32, x *byte, dx *float32, nb, groups int, dst *float32, stride int, ds *float32, pf *byte, pfn int)

//go:noescape
func packW4Q8VNNI(src *byte, rowBytes, nb int, w *byte, c *int32, d *float32)

//go:noescape
func packW4Q4VNNI(src *byte, rowBytes, nb int, w *byte, c *int32, d *float32)

//go:noescape
func interleaveQ8VNNI(a, b *byte, nb int, dst *byte)

//go:noescape
func scoresQ16AVX512(qT, k *float32, hd, stride, n int, out *float32, div float32)

//go:noescape
func softmaxQ16AVX512(s *float32, n int, masks *uint16) (ok bool)

//go:noescape
func accumQ16AVX512(p, v *float32, hd, stride, n int, masks *uint16, o *float32)

//go:noescape
func swigluAVX512(gs, u *float32, n int) (done int)

//go:noescape
func quantQ8_0AVX512(x *float32, dst *byte, nb int) (finite bool)

//go:noescape
func gatherQ16AVX512(q *float32, qStride, nq, hd int, qT *float32)

//go:noescape
func scatterQ16AVX512(o *float32, hd, nq int, out *float32, outStride int)
