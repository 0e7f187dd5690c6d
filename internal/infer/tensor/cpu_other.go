//go:build !amd64

package tensor

var useAVX2 = false

var useVNNI, useAVX512 = false, false

func dotF32AVX2(a, b []float32) float32      { return dotF32Go(a, b) }
func dotQ8_0AVX2(w, x *byte, nb int) float32 { panic("unreachable") }
func dotQ4_0AVX2(w, x *byte, nb int) float32 { panic("unreachable") }

func (m *Matrix) matVecRows(lo, hi int, v *Vec, dst []float32) bool { return false }

func (m *Matrix) dotMulti(r int, vs []Vec, out *[4]float32) int { return 0 }

func axpyAVX2(a float32, x, y *float32, n int) { panic("unreachable") }

func dotQ4KAVX2(w, x []byte, nb int) float32 { return dotQ4K(w, x, nb) }

func dotQ6KAVX2(w, x []byte, nb int) float32 { return dotQ6K(w, x, nb) }

func quantQ8_0AVX2(x *float32, dst *byte, nb int) (finite bool) { panic("unreachable") }

func expSumAVX2(x *float32, n int, maxv float32, sum float32) float32 { panic("unreachable") }

func divAVX2(x *float32, n int, d float32) { panic("unreachable") }

func scoresTAVX2(q, kT *float32, hd, stride, n int, out *float32, div float32) { panic("unreachable") }

func accumV8AVX2(a, v *float32, n, stride int, o *float32) { panic("unreachable") }

func mm2F32RowsAVX2(w, x0, x1 *float32, n, rows, rowBytes int, d0, d1 *float32) { panic("unreachable") }

func gemmQ8x3x4AVX2(w *byte, dw *float32, x *byte, dx *float32, nb, groups int, dst *float32, stride int, ds *float32) {
	panic("unreachable")
}

func packW3Q8_0AVX2(w *byte, rowBytes, nb int, dst *byte, dw *float32) { panic("unreachable") }

func packW3Q4_0AVX2(w *byte, rowBytes, nb int, dst *byte, dw *float32) { panic("unreachable") }

func expNegAVX2(x *float32, n int, dst *float32) { panic("unreachable") }

func scoresAVX2(q, k *float32, hd, stride, n int, out *float32, div float32) { panic("unreachable") }

func accum32AVX2(a, v *float32, n, stride int, o *float32) { panic("unreachable") }

func gemmQ4x3x4AVX2(w *byte, dw *float32, x *byte, dx *float32, nb, groups int, dst *float32, stride int, c *int32, ds *float32) {
	panic("unreachable")
}

func corrQ4AVX2(x *byte, n int, c *int32) { panic("unreachable") }

func gemmVNNI4x8(w *byte, c *int32, d *float32, x *byte, dx *float32, nb, groups int, dst *float32, stride int, ds *float32, pf *byte, pfn int) {
	panic("unreachable")
}

func packW4Q8VNNI(src *byte, rowBytes, nb int, w *byte, c *int32, d *float32) { panic("unreachable") }

func packW4Q4VNNI(src *byte, rowBytes, nb int, w *byte, c *int32, d *float32) { panic("unreachable") }

func interleaveQ8VNNI(a, b *byte, nb int, dst *byte) { panic("unreachable") }

func scoresQ16AVX512(qT, k *float32, hd, stride, n int, out *float32, div float32) {
	panic("unreachable")
}

func softmaxQ16AVX512(s *float32, n int, masks *uint16) (ok bool) { panic("unreachable") }

func accumQ16AVX512(p, v *float32, hd, stride, n int, masks *uint16, o *float32) {
	panic("unreachable")
}

func swigluAVX512(gs, u *float32, n int) (done int) { panic("unreachable") }

func quantQ8_0AVX512(x *float32, dst *byte, nb int) (finite bool) { panic("unreachable") }

func gatherQ16AVX512(q *float32, qStride, nq, hd int, qT *float32) { panic("unreachable") }

func scatterQ16AVX512(o *float32, hd, nq int, out *float32, outStride int) { panic("unreachable") }
