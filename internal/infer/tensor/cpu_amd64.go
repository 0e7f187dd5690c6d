package tensor

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels. It is a pure function of the CPU; a
// test may switch it off to compare against the Go kernels.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasF16C

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
