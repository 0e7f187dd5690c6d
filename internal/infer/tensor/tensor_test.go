package tensor

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func randVec(r *rand.Rand, n int, scale float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64()) * scale
	}
	return x
}

func TestF16RoundTrip(t *testing.T) {
	// Every finite f16 value converts to f32 and back unchanged.
	for h := 0; h < 1<<16; h++ {
		f := F16ToF32(uint16(h))
		if f != f { // NaN
			if g := F16ToF32(F32ToF16(f)); g == g {
				t.Fatalf("NaN %#x lost", h)
			}
			continue
		}
		if got := F32ToF16(f); got != uint16(h) {
			t.Fatalf("F32ToF16(F16ToF32(%#x)=%g) = %#x", h, f, got)
		}
	}
	tests := []struct {
		in   float32
		want uint16
	}{
		{1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {1e-8, 0}, {5.9604645e-08, 1},
		{float32(math.Inf(-1)), 0xfc00}, {1.0009765625 + 0.00048828125, 0x3c02}, // tie to even
	}
	for _, tc := range tests {
		if got := F32ToF16(tc.in); got != tc.want {
			t.Errorf("F32ToF16(%g) = %#x, want %#x", tc.in, got, tc.want)
		}
	}
	if got := BF16ToF32(F32ToBF16(1.5)); got != 1.5 {
		t.Errorf("bf16 1.5 -> %g", got)
	}
	if got := F32ToBF16(1 + 1.0/256); got != 0x3f80 { // tie to even
		t.Errorf("F32ToBF16 tie = %#x", got)
	}
}

func TestTypeSizes(t *testing.T) {
	got := map[string][2]int{}
	for _, ty := range []Type{F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K, Q8_K} {
		got[ty.String()] = [2]int{ty.BlockSize(), ty.BlockBytes()}
	}
	want := map[string][2]int{"F32": {1, 4}, "F16": {1, 2}, "BF16": {1, 2}, "Q8_0": {32, 34}, "Q4_0": {32, 18},
		"Q4_K": {256, 144}, "Q6_K": {256, 210}, "Q8_K": {256, 292}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sizes (-want +got):\n%s", diff)
	}
	if _, err := Q8_0.RowBytes(33); err == nil {
		t.Error("RowBytes(33) for Q8_0: want error")
	}
	if ty, err := ParseType("q4_k"); err != nil || ty != Q4_K {
		t.Errorf("ParseType(q4_k) = %v, %v", ty, err)
	}
}

// TestQuantizeError bounds the round-trip error of each quantizer relative to
// the RMS of the input: these are the tolerances the engine relies on.
func TestQuantizeError(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x := randVec(r, 4096, 1)
	tests := []struct {
		ty     Type
		maxRel float64 // max |x - deq(q(x))| / rms(x)
	}{
		{F32, 0}, {F16, 2.5e-3}, {BF16, 0.02}, {Q8_0, 0.02}, {Q8_K, 0.02}, {Q6_K, 0.08}, {Q4_0, 0.3}, {Q4_K, 0.35},
	}
	for _, tc := range tests {
		t.Run(tc.ty.String(), func(t *testing.T) {
			q, err := Quantize(tc.ty, nil, x)
			if err != nil {
				t.Fatal(err)
			}
			if rb, _ := tc.ty.RowBytes(len(x)); len(q) != rb {
				t.Fatalf("len %d, want %d", len(q), rb)
			}
			y := make([]float32, len(x))
			if err := Dequantize(tc.ty, q, y); err != nil {
				t.Fatal(err)
			}
			var maxErr, ss float64
			for i := range x {
				maxErr = max(maxErr, math.Abs(float64(x[i]-y[i])))
				ss += float64(x[i]) * float64(x[i])
			}
			rel := maxErr / math.Sqrt(ss/float64(len(x)))
			if rel > tc.maxRel {
				t.Errorf("max error %.4g × rms, want ≤ %g", rel, tc.maxRel)
			}
		})
	}
}

// TestQuantizeZero: an all-zero block must not produce NaN.
func TestQuantizeZero(t *testing.T) {
	x := make([]float32, 256)
	for _, ty := range []Type{Q8_0, Q4_0, Q4_K, Q6_K, Q8_K} {
		q, err := Quantize(ty, nil, x)
		if err != nil {
			t.Fatal(err)
		}
		y := make([]float32, 256)
		_ = Dequantize(ty, q, y)
		for i, v := range y {
			if v != 0 {
				t.Fatalf("%s: y[%d] = %g", ty, i, v)
			}
		}
	}
}

// withGo runs f with the assembly kernels switched off.
func withGo(f func()) {
	saved, savedV, saved5 := useAVX2, useVNNI, useAVX512
	useAVX2, useVNNI, useAVX512 = false, false, false
	defer func() { useAVX2, useVNNI, useAVX512 = saved, savedV, saved5 }()
	f()
}

// withAVX2 runs f with the AVX-512 kernels switched off.
func withAVX2(f func()) {
	savedV, saved5 := useVNNI, useAVX512
	useVNNI, useAVX512 = false, false
	defer func() { useVNNI, useAVX512 = savedV, saved5 }()
	f()
}

// TestKernelsSIMDEqualsGo: the assembly and Go kernels are bit-identical.
func TestKernelsSIMDEqualsGo(t *testing.T) {
	if !useAVX2 {
		t.Log("no AVX2 on this CPU: comparing the Go kernels with themselves")
	}
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 31, 32, 33, 64, 172, 288, 768, 1000, 4096} {
		a, b := randVec(r, n, 1), randVec(r, n, 3)
		simd := DotF32(a, b)
		var ref float32
		withGo(func() { ref = DotF32(a, b) })
		if math.Float32bits(simd) != math.Float32bits(ref) {
			t.Errorf("DotF32 n=%d: simd %g != go %g", n, simd, ref)
		}
	}
	for _, nb := range []int{1, 2, 9, 24, 64} {
		w := randVec(r, nb*32, 0.1)
		x := randVec(r, nb*32, 2)
		qx, _ := Quantize(Q8_0, nil, x)
		for _, ty := range []Type{Q8_0, Q4_0} {
			qw, _ := Quantize(ty, nil, w)
			var fn func(w, x []byte, nb int) float32 = dotQ8_0
			if ty == Q4_0 {
				fn = dotQ4_0
			}
			simd := fn(qw, qx, nb)
			var ref float32
			withGo(func() { ref = fn(qw, qx, nb) })
			if math.Float32bits(simd) != math.Float32bits(ref) {
				t.Errorf("%s nb=%d: simd %g != go %g", ty, nb, simd, ref)
			}
		}
	}
	// Extreme int8 values: -128 in the weights must not saturate.
	w := make([]byte, BlockQ8_0)
	x := make([]byte, BlockQ8_0)
	w[0], w[1], x[0], x[1] = 0x00, 0x3c, 0x00, 0x3c // d = 1
	for j := 0; j < 32; j++ {
		w[2+j] = 0x80
		x[2+j] = 0x81 // -127
	}
	simd := dotQ8_0(w, x, 1)
	var ref float32
	withGo(func() { ref = dotQ8_0(w, x, 1) })
	if simd != ref || ref != 32*128*127 {
		t.Errorf("extreme block: simd %g go %g want %d", simd, ref, 32*128*127)
	}
}

// TestDotAccuracy checks each quantized matmul against float64 on the
// dequantized weights: the error comes only from quantizing the activations.
func TestDotAccuracy(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	const rows, cols = 8, 512
	w := randVec(r, rows*cols, 0.05)
	x := randVec(r, cols, 1)
	for _, tc := range []struct {
		ty  Type
		tol float64 // relative to Σ|w·x|
	}{{F32, 1e-6}, {F16, 1e-6}, {BF16, 1e-6}, {Q8_0, 0.01}, {Q4_0, 0.01}, {Q4_K, 0.01}, {Q6_K, 0.01}} {
		t.Run(tc.ty.String(), func(t *testing.T) {
			data, err := Quantize(tc.ty, nil, w)
			if err != nil {
				t.Fatal(err)
			}
			m, err := NewMatrix(tc.ty, rows, cols, data)
			if err != nil {
				t.Fatal(err)
			}
			var v Vec
			v.Set(x)
			got := make([]float32, rows)
			MatVec(nil, got, m, &v)
			row := make([]float32, cols)
			for i := 0; i < rows; i++ {
				m.Row(i, row)
				var want, mag float64
				for c := range row {
					want += float64(row[c]) * float64(x[c])
					mag += math.Abs(float64(row[c]) * float64(x[c]))
				}
				if d := math.Abs(float64(got[i]) - want); d > tc.tol*mag {
					t.Errorf("row %d: got %g want %g (diff %g > %g)", i, got[i], want, d, tc.tol*mag)
				}
			}
		})
	}
}

// TestMatMulThreads: results are bit-identical for 1, 2 and 3 threads, for
// MatVec and MatMul, and MatMul equals MatVec per vector.
func TestMatMulThreads(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const rows, cols, nv = 300, 512, 6
	w := randVec(r, rows*cols, 0.05)
	xs := make([][]float32, nv)
	for i := range xs {
		xs[i] = randVec(r, cols, 1)
	}
	for _, ty := range []Type{F32, Q8_0, Q4_0, Q4_K, Q6_K} {
		data, _ := Quantize(ty, nil, w)
		m, err := NewMatrix(ty, rows, cols, data)
		if err != nil {
			t.Fatal(err)
		}
		var results [][]float32
		for _, threads := range []int{1, 2, 3} {
			p := NewPool(threads)
			vs := make([]Vec, nv)
			for i := range vs {
				vs[i].Set(xs[i])
			}
			batch := make([]float32, nv*rows)
			MatMul(p, batch, m, vs, rows)
			single := make([]float32, nv*rows)
			for i := range xs {
				var v Vec
				v.Set(xs[i])
				MatVec(p, single[i*rows:(i+1)*rows], m, &v)
			}
			p.Close()
			if diff := cmp.Diff(single, batch); diff != "" {
				t.Fatalf("%s threads=%d: MatMul != MatVec:\n%s", ty, threads, diff)
			}
			results = append(results, batch)
		}
		for i := 1; i < len(results); i++ {
			if diff := cmp.Diff(results[0], results[i]); diff != "" {
				t.Errorf("%s: thread count changes results:\n%s", ty, diff)
			}
		}
	}
}

func TestNewMatrixErrors(t *testing.T) {
	tests := []struct {
		name       string
		ty         Type
		rows, cols int
		n          int
	}{
		{"short data", F32, 2, 4, 31},
		{"bad cols", Q8_0, 1, 33, 1000},
		{"zero rows", F32, 0, 4, 16},
		{"unsupported", Q5_K, 1, 256, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewMatrix(tc.ty, tc.rows, tc.cols, make([]byte, tc.n)); err == nil {
				t.Error("want error")
			}
		})
	}
}

func TestExp(t *testing.T) {
	worst := 0.0
	for x := float32(-104); x < 89; x += 0.001 {
		got := float64(Exp(x))
		want := math.Exp(float64(x))
		if want == 0 || math.IsInf(want, 0) {
			continue
		}
		if float32(want) == 0 || math.IsInf(float64(float32(want)), 0) {
			continue
		}
		ulp := float64(math.Nextafter32(float32(want), float32(math.Inf(1))) - float32(want))
		worst = max(worst, math.Abs(got-want)/ulp)
	}
	if worst > 1 {
		t.Errorf("Exp worst error %.3g ulp, want ≤ 1", worst)
	}
	for _, tc := range []struct{ in, want float32 }{{0, 1}, {-200, 0}, {100, float32(math.Inf(1))}} {
		if got := Exp(tc.in); got != tc.want {
			t.Errorf("Exp(%g) = %g, want %g", tc.in, got, tc.want)
		}
	}
	if n := Exp(float32(math.NaN())); n == n {
		t.Error("Exp(NaN) is not NaN")
	}
}

// TestMatVecSIMDEqualsGo: the row-loop assembly kernels used by MatVec give
// the same bits as the Go kernels.
func TestMatVecSIMDEqualsGo(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, shape := range [][2]int{{37, 64}, {20, 288}, {5, 172}, {9, 512}} {
		rows, cols := shape[0], shape[1]
		w := randVec(r, rows*cols, 0.1)
		x := randVec(r, cols, 1)
		for _, ty := range []Type{F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K} {
			if cols%ty.BlockSize() != 0 {
				continue
			}
			data, _ := Quantize(ty, nil, w)
			m, err := NewMatrix(ty, rows, cols, data)
			if err != nil {
				t.Fatal(err)
			}
			simd := make([]float32, rows)
			ref := make([]float32, rows)
			var v Vec
			v.Set(x)
			MatVec(nil, simd, m, &v)
			withGo(func() {
				var v Vec
				v.Set(x)
				MatVec(nil, ref, m, &v)
			})
			if diff := cmp.Diff(ref, simd); diff != "" {
				t.Errorf("%s %dx%d: simd differs from go:\n%s", ty, rows, cols, diff)
			}
		}
	}
}

func TestAxpySIMDEqualsGo(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 8, 13, 48, 64, 100} {
		x := randVec(r, n, 1)
		y0 := randVec(r, n, 1)
		simd := append([]float32(nil), y0...)
		ref := append([]float32(nil), y0...)
		Axpy(0.37, x, simd)
		withGo(func() { Axpy(0.37, x, ref) })
		if diff := cmp.Diff(ref, simd); diff != "" {
			t.Errorf("n=%d:\n%s", n, diff)
		}
		if want := y0[n-1] + float32(0.37*x[n-1]); ref[n-1] != want {
			t.Errorf("n=%d: y[n-1] = %g, want %g", n, ref[n-1], want)
		}
	}
}

// TestQuantizeQ8_0SIMDEqualsGo covers the assembly quantizer, including
// ties, zero blocks, tiny scales (f16 subnormals) and huge values.
func TestQuantizeQ8_0SIMDEqualsGo(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	var xs [][]float32
	for _, scale := range []float32{1, 1e-3, 1e-6, 1e-9, 3e4, 1e30, 1e-40} {
		xs = append(xs, randVec(r, 32*40, scale))
	}
	for _, nb := range []int{1, 15, 16, 17, 33} {
		xs = append(xs, randVec(r, 32*nb, 2))
	}
	// Values whose x*id lands within an ulp of .5, on both sides.
	near := make([]float32, 32*4)
	for i := range near {
		near[i] = float32(i%32-16)*0.5 + float32(i/32-2)*1e-6
	}
	near[0], near[32], near[64], near[96] = 127, -127, 63.5, -0.0
	xs = append(xs, near)
	ties := make([]float32, 64)
	for i := range ties {
		ties[i] = float32(i-32) * 0.5 // x*id lands on .5 often
	}
	ties[31] = 127
	xs = append(xs, ties, make([]float32, 64))
	// Non-finite values anywhere: the Go path's results.
	for _, bad := range []float32{float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())} {
		x := randVec(r, 32*5, 1)
		x[77] = bad
		xs = append(xs, x)
	}
	for i, x := range xs {
		simd := make([]byte, len(x)/32*BlockQ8_0)
		avx2 := make([]byte, len(simd))
		ref := make([]byte, len(simd))
		QuantizeQ8_0(simd, x)
		withAVX2(func() { QuantizeQ8_0(avx2, x) })
		quantizeQ8_0Go(ref, x)
		if diff := cmp.Diff(ref, simd); diff != "" {
			t.Errorf("case %d:\n%s", i, diff)
		}
		if diff := cmp.Diff(ref, avx2); diff != "" {
			t.Errorf("case %d (AVX2):\n%s", i, diff)
		}
	}
}

func TestSoftmaxSIMDEqualsGo(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{1, 3, 4, 7, 8, 9, 64, 129, 1000} {
		for _, scale := range []float32{0.1, 5, 60} {
			x := randVec(r, n, scale)
			if n > 2 {
				x[1] = -1e30 // underflows to 0
				x[2] = float32(math.Inf(-1))
			}
			simd := append([]float32(nil), x...)
			ref := append([]float32(nil), x...)
			Softmax(simd)
			withGo(func() { Softmax(ref) })
			if diff := cmp.Diff(ref, simd); diff != "" {
				t.Errorf("n=%d scale=%g:\n%s", n, scale, diff)
			}
			var sum float64
			for _, v := range ref {
				sum += float64(v)
			}
			if math.Abs(sum-1) > 1e-5 {
				t.Errorf("n=%d: sum %g", n, sum)
			}
		}
	}
}

func TestAttentionKernelsSIMDEqualsGo(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, hd := range []int{4, 8, 16} {
		for _, n := range []int{1, 7, 8, 9, 64, 100} {
			const stride = 128
			q := randVec(r, hd, 1)
			kT := randVec(r, hd*stride, 1)
			simd := make([]float32, n)
			ref := make([]float32, n)
			ScoresT(q, kT, stride, 2.828427, simd)
			withGo(func() { ScoresT(q, kT, stride, 2.828427, ref) })
			if diff := cmp.Diff(ref, simd); diff != "" {
				t.Errorf("ScoresT hd=%d n=%d:\n%s", hd, n, diff)
			}
			// Sequential reference for one position.
			var s float32
			for i := range q {
				s += float32(q[i] * kT[i*stride+n-1])
			}
			if ref[n-1] != s/2.828427 {
				t.Errorf("ScoresT hd=%d n=%d: %g != %g", hd, n, ref[n-1], s/2.828427)
			}
			a := randVec(r, n, 1)
			v := randVec(r, n*32, 1)
			os, or := make([]float32, hd), make([]float32, hd)
			AccumRows(a, v, 32, os)
			withGo(func() { AccumRows(a, v, 32, or) })
			if diff := cmp.Diff(or, os); diff != "" {
				t.Errorf("AccumRows hd=%d n=%d:\n%s", hd, n, diff)
			}
		}
	}
}

// TestMatMulTailsEqualMatVec: batched F32 rows with a tail (cols % 32 != 0)
// and odd vector counts equal MatVec bit for bit, SIMD and Go.
func TestMatMulTailsEqualMatVec(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 20))
	for _, cols := range []int{32, 40, 172, 64} {
		const rows, nv = 21, 5
		w := randVec(r, rows*cols, 0.1)
		m, _ := NewMatrix(F32, rows, cols, func() []byte { b, _ := Quantize(F32, nil, w); return b }())
		vs := make([]Vec, nv)
		for i := range vs {
			vs[i].Set(randVec(r, cols, 1))
		}
		batch := make([]float32, nv*rows)
		MatMul(nil, batch, m, vs, rows)
		single := make([]float32, nv*rows)
		withGo(func() {
			for i := range vs {
				MatVec(nil, single[i*rows:(i+1)*rows], m, &vs[i])
			}
		})
		if diff := cmp.Diff(single, batch); diff != "" {
			t.Errorf("cols=%d:\n%s", cols, diff)
		}
	}
}
