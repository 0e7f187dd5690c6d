package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestGemmSIMDEqualsGo: the tiled batched Q8_0/Q4_0 kernel (assembly and
// pure Go) equals MatVec per vector bit for bit, for row counts that are not
// multiples of the tile and vector counts that are not multiples of the
// group, on 1 and 2 threads.
func TestGemmSIMDEqualsGo(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, ty := range []Type{Q8_0, Q4_0} {
		for _, shape := range [][3]int{{3, 32, 4}, {7, 64, 5}, {50, 288, 9}, {100, 768, 64}, {2, 96, 8}} {
			rows, cols, nv := shape[0], shape[1], shape[2]
			w := randVec(r, rows*cols, 0.05)
			data, _ := Quantize(ty, nil, w)
			if ty == Q8_0 {
				// A few -128 weights: the sign trick must not saturate.
				for i := 0; i < rows; i++ {
					data[i*(cols/32)*BlockQ8_0+2+i%32] = 0x80
				}
			}
			m, err := NewMatrix(ty, rows, cols, data)
			if err != nil {
				t.Fatal(err)
			}
			xs := make([][]float32, nv)
			for i := range xs {
				xs[i] = randVec(r, cols, 1)
			}
			single := make([]float32, nv*rows)
			for i := range xs {
				var v Vec
				v.Set(xs[i])
				withGo(func() { MatVec(nil, single[i*rows:(i+1)*rows], m, &v) })
			}
			for _, simd := range []bool{true, false} {
				for _, threads := range []int{1, 2} {
					name := fmt.Sprintf("%s %dx%d nv=%d simd=%v threads=%d", ty, rows, cols, nv, simd, threads)
					p := NewPool(threads)
					vs := make([]Vec, nv)
					for i := range vs {
						vs[i].Set(xs[i])
					}
					batch := make([]float32, nv*rows)
					if simd {
						MatMul(p, batch, m, vs, rows)
					} else {
						withGo(func() { MatMul(p, batch, m, vs, rows) })
					}
					p.Close()
					if diff := cmp.Diff(single, batch); diff != "" {
						t.Errorf("%s: MatMul != MatVec:\n%s", name, diff)
					}
				}
			}
		}
	}
}

// TestGemmKernelSIMDEqualsGo compares the packed-tile kernels directly.
func TestGemmKernelSIMDEqualsGo(t *testing.T) {
	if !useAVX2 {
		t.Log("no AVX2 on this CPU: comparing the Go kernels with themselves")
	}
	r := rand.New(rand.NewPCG(13, 14))
	for _, ty := range []Type{Q8_0, Q4_0} {
		const rows, cols, nv = 3, 256, 8
		nb := cols / 32
		data, _ := Quantize(ty, nil, randVec(r, rows*cols, 0.1))
		m, _ := NewMatrix(ty, rows, cols, data)
		vs := make([]Vec, nv)
		for i := range vs {
			vs[i].Set(randVec(r, cols, 1))
			vs[i].prepare(Q8_0)
		}
		var g, gg gemmBuf
		g.packActs(vs, nb, nv/gemmT, ty == Q4_0)
		withGo(func() { gg.packActs(vs, nb, nv/gemmT, ty == Q4_0) })
		if diff := cmp.Diff(gg.xc, g.xc); diff != "" {
			t.Fatalf("%s corrections simd != go:\n%s", ty, diff)
		}
		var sa, sg gemmScratch
		sa.ensure(nb)
		sg.ensure(nb)
		m.packW3(0, &sa)
		withGo(func() { m.packW3(0, &sg) })
		if diff := cmp.Diff([]any{sg.w, sg.dw}, []any{sa.w, sa.dw}); diff != "" {
			t.Fatalf("%s packW3 simd != go:\n%s", ty, diff)
		}
		a := make([]float32, nv*rows)
		b := make([]float32, nv*rows)
		gemmTile(&sa, &g, ty == Q4_0, nb, nv/gemmT, a, rows)
		withGo(func() { gemmTile(&sg, &g, ty == Q4_0, nb, nv/gemmT, b, rows) })
		if diff := cmp.Diff(b, a); diff != "" {
			t.Errorf("%s gemm simd != go:\n%s", ty, diff)
		}
	}
}

// TestSwiGLUSIMDEqualsGo: SwiGLU equals silu(g)·u computed with Exp, and
// the AVX-512, AVX2 and Go paths agree bit for bit, extremes and NaN
// included, for lengths with and without tails.
func TestSwiGLUSIMDEqualsGo(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{1, 3, 4, 7, 15, 16, 17, 33, 288, 768, 1000} {
		g := randVec(r, n, 4)
		u := randVec(r, n, 1)
		for i, v := range []float32{-200, -89, -88.8, -88.7, 88.8, 104, 200, 0, float32(math.Inf(1)), float32(math.Inf(-1)), -100, 30, -30} {
			if i < n && n > 16 {
				g[(i*37)%n] = v
			}
		}
		if n == 1000 {
			g[500] = float32(math.NaN())
		}
		want := make([]float32, n)
		for i, x := range g {
			want[i] = float32(x*(1/(1+Exp(-x)))) * u[i]
		}
		a := append([]float32(nil), g...)
		SwiGLU(a, u)
		b := append([]float32(nil), g...)
		withGo(func() { SwiGLU(b, u) })
		c := append([]float32(nil), g...)
		withAVX2(func() { SwiGLU(c, u) })
		for i := range want {
			if math.Float32bits(a[i]) != math.Float32bits(want[i]) || math.Float32bits(b[i]) != math.Float32bits(want[i]) ||
				math.Float32bits(c[i]) != math.Float32bits(want[i]) {
				t.Errorf("n=%d i=%d x=%g: simd %g go %g avx2 %g want %g", n, i, g[i], a[i], b[i], c[i], want[i])
			}
		}
	}
}

// TestScoresAccumSIMDEqualsGo: Scores and AccumRows for head sizes of 32
// and more (position-major cache) agree between AVX2 and Go bit for bit, and
// Scores equals DotF32 per position.
func TestScoresAccumSIMDEqualsGo(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	for _, hd := range []int{32, 40, 48, 64, 72, 128} {
		for _, n := range []int{1, 2, 9, 13, 64} {
			stride := hd + 24
			q := randVec(r, hd, 1)
			k := randVec(r, n*stride, 1)
			simd, ref := make([]float32, n), make([]float32, n)
			Scores(q, k, stride, 6.928203, simd)
			withGo(func() { Scores(q, k, stride, 6.928203, ref) })
			if diff := cmp.Diff(ref, simd); diff != "" {
				t.Errorf("Scores hd=%d n=%d:\n%s", hd, n, diff)
			}
			for p := range n {
				if want := DotF32(q, k[p*stride:p*stride+hd]) / 6.928203; simd[p] != want {
					t.Errorf("Scores hd=%d n=%d pos %d: %g != DotF32 %g", hd, n, p, simd[p], want)
				}
			}
			a := randVec(r, n, 1)
			os, or, ax := make([]float32, hd), make([]float32, hd), make([]float32, hd)
			AccumRows(a, k, stride, os)
			withGo(func() { AccumRows(a, k, stride, or) })
			for p := range n {
				Axpy(a[p], k[p*stride:p*stride+hd], ax)
			}
			if diff := cmp.Diff(or, os); diff != "" {
				t.Errorf("AccumRows hd=%d n=%d:\n%s", hd, n, diff)
			}
			if diff := cmp.Diff(ax, os); diff != "" {
				t.Errorf("AccumRows != Axpy hd=%d n=%d:\n%s", hd, n, diff)
			}
		}
	}
}
