package tensor

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels. It is a pure function of the CPU; a
// test may switch it off to compare against the Go kernels.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasF16C

//go:noescape
func dotF32AVX2Body(a, b *float32, n int, s *[32]float32)

//go:noescape
func dotQ8_0AVX2(w, x *byte, nb int) float32

//go:noescape
func dotQ4_0AVX2(w, x *byte, nb int) float32

func dotF32AVX2(a, b []float32) float32 {
	n := len(a)
	body := n - n%32
	var s [32]float32
	if body > 0 {
		dotF32AVX2Body(&a[0], &b[0], body, &s)
	}
	return finishF32(&s, a[body:], b[body:])
}
