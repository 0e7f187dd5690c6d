package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// BenchmarkMatVec measures y = W·x per weight type, SIMD and pure Go, for a
// 768x288 matrix (a 15M-shape FFN matrix) on one thread.
func BenchmarkMatVec(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	const rows, cols = 768, 288
	w := randVec(r, rows*cols, 0.05)
	x := randVec(r, cols*8, 1)
	for _, ty := range []Type{F32, F16, Q8_0, Q4_0, Q4_K, Q6_K} {
		c := cols
		if ty == Q4_K || ty == Q6_K {
			c = 256
		}
		data, _ := Quantize(ty, nil, w[:rows*c])
		m, err := NewMatrix(ty, rows, c, data)
		if err != nil {
			b.Fatal(err)
		}
		for _, simd := range []bool{true, false} {
			if simd && !useAVX2 {
				continue
			}
			b.Run(fmt.Sprintf("%s/simd=%v", ty, simd), func(b *testing.B) {
				saved := useAVX2
				useAVX2 = simd
				defer func() { useAVX2 = saved }()
				var v Vec
				dst := make([]float32, rows)
				b.SetBytes(int64(len(data)))
				for i := 0; i < b.N; i++ {
					v.Set(x[:c])
					MatVec(nil, dst, m, &v)
				}
				b.ReportMetric(float64(rows*c)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
			})
		}
	}
}

// BenchmarkDotF32 measures the f32 dot kernel at the row lengths of the
// benchmarked models.
func BenchmarkDotF32(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 2))
	for _, n := range []int{64, 172, 288, 768} {
		a, c := randVec(r, n, 1), randVec(r, n, 1)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			var s float32
			for i := 0; i < b.N; i++ {
				s += DotF32(a, c)
			}
			_ = s
		})
	}
}

func BenchmarkExp(b *testing.B) {
	var s float32
	for i := 0; i < b.N; i++ {
		s += Exp(float32(i%64) * -0.1)
	}
	_ = s
}

// BenchmarkMatVecThreads measures the pool's scaling on a 32000x288 Q8_0
// matrix (the 15M shape's output layer).
func BenchmarkMatVecThreads(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 3))
	const rows, cols = 32000, 288
	w := randVec(r, rows*cols, 0.05)
	x := randVec(r, cols, 1)
	data, _ := Quantize(Q8_0, nil, w)
	m, _ := NewMatrix(Q8_0, rows, cols, data)
	for _, threads := range []int{1, 2} {
		b.Run(fmt.Sprintf("t%d", threads), func(b *testing.B) {
			p := NewPool(threads)
			defer p.Close()
			var v Vec
			dst := make([]float32, rows)
			b.SetBytes(int64(len(data)))
			for i := 0; i < b.N; i++ {
				v.Set(x)
				MatVec(p, dst, m, &v)
			}
		})
	}
}

func BenchmarkQuantizeQ8_0(b *testing.B) {
	r := rand.New(rand.NewPCG(4, 4))
	x := randVec(r, 768, 1)
	dst := make([]byte, 768/32*BlockQ8_0)
	b.SetBytes(int64(len(x) * 4))
	for i := 0; i < b.N; i++ {
		QuantizeQ8_0(dst, x)
	}
}

// BenchmarkMatMul measures the batched product of 64 vectors with a 768x288
// matrix (15M-shape FFN up) per weight type on one thread.
func BenchmarkMatMul(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 5))
	const rows, cols, nv = 768, 288, 64
	w := randVec(r, rows*cols, 0.05)
	vs := make([]Vec, nv)
	for i := range vs {
		vs[i].Set(randVec(r, cols, 1))
	}
	for _, ty := range []Type{F32, Q8_0, Q4_0} {
		data, _ := Quantize(ty, nil, w)
		m, _ := NewMatrix(ty, rows, cols, data)
		b.Run(ty.String(), func(b *testing.B) {
			p := NewPool(1)
			defer p.Close()
			dst := make([]float32, nv*rows)
			for i := 0; i < b.N; i++ {
				for j := range vs {
					vs[j].Set(vs[j].X)
				}
				MatMul(p, dst, m, vs, rows)
			}
			b.ReportMetric(float64(rows*cols*nv)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}
