package tensor

// SwiGLU sets g[i] = silu(g[i])·u[i] for i < len(g), with silu(x) =
// x·(1/(1+Exp(-x))), each operation rounded to float32 in that order. The
// AVX2 path computes Exp four lanes at a time with the same operations, so
// both give the same bits.
func SwiGLU(g, u []float32) {
	u = u[:len(g)]
	if useAVX512 {
		for len(g) >= 16 {
			done := swigluAVX512(&g[0], &u[0], len(g)-len(g)%16)
			g, u = g[done:], u[done:]
			if len(g) >= 16 {
				// A block with an input the lanes do not handle.
				swigluGo(g[:16], u[:16])
				g, u = g[16:], u[16:]
			}
		}
	}
	swigluGo(g, u)
}

func swigluGo(g, u []float32) {
	var e [256]float32
	for len(g) > 0 {
		n := min(len(g), len(e))
		body := 0
		if useAVX2 && n >= 4 {
			body = n - n%4
			expNegAVX2(&g[0], body, &e[0])
		}
		for i := range n {
			x := g[i]
			if i >= body || !(-x <= 88.72284) {
				e[i] = Exp(-x)
			}
			g[i] = float32(x*(1/(1+e[i]))) * u[i]
		}
		g, u = g[n:], u[n:]
	}
}
