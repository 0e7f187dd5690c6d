package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAttendBlockEqualsPerQuery: AttendBlock with the queries in AVX-512
// lanes equals, bit for bit, Scores+Softmax+AccumRows per query in pure Go
// and with AVX2, for head sizes with and without a tail beyond the 32-wide
// body, 1 to 16 queries, several start positions, scores large enough that
// some exponentials underflow to zero, and a NaN (the per-query fallback).
func TestAttendBlockEqualsPerQuery(t *testing.T) {
	if !useAVX512 {
		t.Log("no AVX-512 on this CPU: only the per-query paths run")
	}
	r := rand.New(rand.NewPCG(31, 32))
	for _, hd := range []int{32, 40, 48, 64, 72, 96, 128, 36} {
		for _, nq := range []int{1, 2, 5, 16} {
			for _, pos0 := range []int{0, 1, 7, 40} {
				for _, scale := range []float32{1, 30} {
					name := fmt.Sprintf("hd=%d nq=%d pos0=%d scale=%g", hd, nq, pos0, scale)
					n := pos0 + nq
					qStride, kvStride, outStride := hd+8, hd*3+4, hd+16
					q := randVec(r, nq*qStride, scale)
					k := randVec(r, n*kvStride, 1)
					v := randVec(r, n*kvStride, 1)
					if pos0 == 7 {
						q[3] = 0
						k[kvStride+2] = float32(math.Copysign(0, -1))
					}
					div := float32(math.Sqrt(float64(hd)))
					var got, ref, ref2 []float32
					for _, path := range []string{"avx512", "avx2", "go"} {
						out := make([]float32, nq*outStride)
						var sc AttnScratch
						f := func() { AttendBlock(q, qStride, nq, hd, k, v, kvStride, pos0, div, out, outStride, &sc) }
						switch path {
						case "avx512":
							f()
							got = out
						case "avx2":
							withAVX2(f)
							ref2 = out
						default:
							withGo(f)
							ref = out
						}
					}
					if diff := cmp.Diff(ref, got); diff != "" {
						t.Errorf("%s: AVX-512 != Go:\n%.600s", name, diff)
					}
					if diff := cmp.Diff(ref, ref2); diff != "" {
						t.Errorf("%s: AVX2 != Go:\n%.600s", name, diff)
					}
				}
			}
		}
	}
	// A NaN key: the lanes path gives way to the per-query one.
	hd, nq, pos0 := 48, 4, 3
	q := randVec(r, nq*hd, 1)
	k := randVec(r, (pos0+nq)*hd, 1)
	v := randVec(r, (pos0+nq)*hd, 1)
	k[hd+5] = float32(math.NaN())
	a, b := make([]float32, nq*hd), make([]float32, nq*hd)
	var sc AttnScratch
	AttendBlock(q, hd, nq, hd, k, v, hd, pos0, 6.9, a, hd, &sc)
	withGo(func() { AttendBlock(q, hd, nq, hd, k, v, hd, pos0, 6.9, b, hd, &sc) })
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("NaN key: element %d: %x != %x", i, math.Float32bits(a[i]), math.Float32bits(b[i]))
		}
	}
}
