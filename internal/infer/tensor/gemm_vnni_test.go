package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// vnniMatrix is a random rows×cols matrix of type ty whose Q8_0 weights
// include -128 and ±127 and whose Q4_0 nibbles include 0 and 15.
func vnniMatrix(t *testing.T, r *rand.Rand, ty Type, rows, cols int) *Matrix {
	t.Helper()
	data, _ := Quantize(ty, nil, randVec(r, rows*cols, 0.05))
	nb := cols / 32
	for i := 0; i < rows; i++ {
		for b := 0; b < nb; b++ {
			if ty == Q8_0 {
				blk := data[(i*nb+b)*BlockQ8_0:]
				blk[2+(i+b)%32], blk[2+(i+b+7)%32], blk[2+(i+b+9)%32] = 0x80, 0x7f, 0x81
			} else {
				blk := data[(i*nb+b)*BlockQ4_0:]
				blk[2+(i+b)%16] = 0x0f
				blk[2+(i+b+3)%16] = 0xf0
			}
		}
	}
	m, err := NewMatrix(ty, rows, cols, data)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGemmVNNIEqualsMatVec: MatMul through the AVX-512 VNNI kernel, the
// AVX2 kernel and pure Go equals MatVec (pure Go) per vector bit for bit,
// for row counts and vector counts that are not multiples of the tile, one
// to 64 blocks per row, on 1 and 2 threads.
func TestGemmVNNIEqualsMatVec(t *testing.T) {
	if !useVNNI {
		t.Log("no AVX-512 VNNI on this CPU: only the AVX2 and Go paths run")
	}
	r := rand.New(rand.NewPCG(21, 22))
	for _, ty := range []Type{Q8_0, Q4_0} {
		for _, shape := range [][3]int{{4, 32, 8}, {5, 32, 9}, {8, 96, 16}, {13, 288, 17}, {48, 288, 31},
			{31, 768, 64}, {9, 2048, 12}, {100, 64, 128}, {4, 320, 15}} {
			rows, cols, nv := shape[0], shape[1], shape[2]
			m := vnniMatrix(t, r, ty, rows, cols)
			xs := make([][]float32, nv)
			for i := range xs {
				xs[i] = randVec(r, cols, 1)
				if i%3 == 0 {
					xs[i][i%cols] = 50 // a block whose other quants are small
				}
			}
			single := make([]float32, nv*rows)
			for i := range xs {
				var v Vec
				v.Set(xs[i])
				withGo(func() { MatVec(nil, single[i*rows:(i+1)*rows], m, &v) })
			}
			for _, path := range []string{"vnni", "avx2", "go"} {
				for _, threads := range []int{1, 2} {
					p := NewPool(threads)
					vs := make([]Vec, nv)
					for i := range vs {
						vs[i].Set(xs[i])
					}
					batch := make([]float32, nv*rows)
					switch path {
					case "vnni":
						MatMul(p, batch, m, vs, rows)
					case "avx2":
						withAVX2(func() { MatMul(p, batch, m, vs, rows) })
					default:
						withGo(func() { MatMul(p, batch, m, vs, rows) })
					}
					p.Close()
					if diff := cmp.Diff(single, batch); diff != "" {
						t.Errorf("%s %dx%d nv=%d %s threads=%d: MatMul != MatVec:\n%s", ty, rows, cols, nv, path, threads, diff)
					}
				}
			}
		}
	}
}

// TestGemmVNNIKernelEqualsGo compares the VNNI packers and kernel with their
// Go definitions on the same inputs, for odd block and group counts.
func TestGemmVNNIKernelEqualsGo(t *testing.T) {
	if !useVNNI {
		t.Skip("no AVX-512 VNNI on this CPU")
	}
	r := rand.New(rand.NewPCG(23, 24))
	for _, ty := range []Type{Q8_0, Q4_0} {
		for _, nb := range []int{1, 2, 3, 9, 24, 64} {
			for _, groups := range []int{1, 2, 3} {
				name := fmt.Sprintf("%s nb=%d groups=%d", ty, nb, groups)
				cols, nv := nb*32, groups*vnniT
				m := vnniMatrix(t, r, ty, 6, cols)
				vs := make([]Vec, nv)
				for i := range vs {
					vs[i].Set(randVec(r, cols, 1))
					vs[i].prepare(Q8_0)
				}
				var g, gg gemmBuf
				g.packActsVNNI(vs, nb, groups)
				withGo(func() { gg.packActsVNNI(vs, nb, groups) })
				if diff := cmp.Diff(gg.xa, g.xa); diff != "" {
					t.Fatalf("%s activations simd != go:\n%s", name, diff)
				}
				if diff := cmp.Diff(gg.dxa, g.dxa); diff != "" {
					t.Fatalf("%s activation scales simd != go:\n%s", name, diff)
				}
				for _, row := range []int{0, 2} {
					var sa, sg vnniTile
					sa.ensure(nb)
					sg.ensure(nb)
					m.packW4VNNI(row, &sa)
					withGo(func() { m.packW4VNNI(row, &sg) })
					if diff := cmp.Diff([]any{sg.w, sg.c, sg.d}, []any{sa.w, sa.c, sa.d}); diff != "" {
						t.Fatalf("%s packW4 row %d simd != go:\n%s", name, row, diff)
					}
					const stride = 7
					a := make([]float32, nv*stride)
					b := make([]float32, nv*stride)
					gemmTileVNNI(&sa, &g, nb, groups, a, stride, m.Data)
					gemmTileVNNIGo(&sg, gg.xa, gg.dxa, nb, groups, b, stride)
					if diff := cmp.Diff(b, a); diff != "" {
						t.Errorf("%s row %d gemm simd != go:\n%s", name, row, diff)
					}
					// The kernel's definition is the canonical dot product.
					for v := range vs {
						for i := 0; i < vnniR; i++ {
							var want float32
							if ty == Q4_0 {
								want = dotQ4_0Go(m.Data[(row+i)*m.rowBytes:(row+i+1)*m.rowBytes], vs[v].q8, nb)
							} else {
								want = dotQ8_0Go(m.Data[(row+i)*m.rowBytes:(row+i+1)*m.rowBytes], vs[v].q8, nb)
							}
							if b[v*stride+i] != want {
								t.Errorf("%s row %d vector %d: go kernel %g != dot %g", name, row+i, v, b[v*stride+i], want)
							}
						}
					}
				}
			}
		}
	}
}

// TestMatMulPackedReuse: consecutive MatMuls of the same vectors (the
// packed activations reused) and of the same Vec values after Set with new
// data (packed anew) equal MatVec, for both weight types and 1 and 2
// threads.
func TestMatMulPackedReuse(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	const cols, nv = 288, 20
	ms := []*Matrix{vnniMatrix(t, r, Q4_0, 12, cols), vnniMatrix(t, r, Q8_0, 9, cols), vnniMatrix(t, r, Q4_0, 16, cols)}
	for _, threads := range []int{1, 2} {
		p := NewPool(threads)
		vs := make([]Vec, nv)
		for round := 0; round < 3; round++ {
			xs := make([][]float32, nv)
			for i := range vs {
				xs[i] = randVec(r, cols, 1)
				vs[i].Set(xs[i])
			}
			for mi, m := range ms {
				got := make([]float32, nv*m.Rows)
				MatMul(p, got, m, vs, m.Rows)
				for i := range xs {
					var v Vec
					v.Set(xs[i])
					want := make([]float32, m.Rows)
					withGo(func() { MatVec(nil, want, m, &v) })
					if diff := cmp.Diff(want, got[i*m.Rows:(i+1)*m.Rows]); diff != "" {
						t.Fatalf("threads=%d round %d matrix %d vector %d:\n%s", threads, round, mi, i, diff)
					}
				}
			}
		}
		p.Close()
	}
}
