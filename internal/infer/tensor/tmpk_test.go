package tensor

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func BenchmarkTmpKernel(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, nb := range []int{9, 24, 64} {
		groups := 16
		cols := nb * 32
		data, _ := Quantize(Q4_0, nil, randVec(r, 4*cols, 0.05))
		m, _ := NewMatrix(Q4_0, 4, cols, data)
		vs := make([]Vec, groups*vnniT)
		for i := range vs {
			vs[i].Set(randVec(r, cols, 1))
			vs[i].prepare(Q8_0)
		}
		var g gemmBuf
		g.packActsVNNI(vs, nb, groups)
		var s vnniTile
		s.ensure(nb)
		m.packW4VNNI(0, &s)
		dst := make([]float32, groups*vnniT*4)
		b.Run(fmt.Sprint(nb), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				gemmTileVNNI(&s, &g, nb, groups, dst, 4, nil)
			}
			units := float64(nb * groups * 16)
			b.ReportMetric(b.Elapsed().Seconds()*3.35e9/float64(b.N)/units, "cyc/unit")
		})
		b.Run(fmt.Sprint("pack", nb), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				m.packW4VNNI(0, &s)
			}
			b.ReportMetric(b.Elapsed().Seconds()*3.35e9/float64(b.N)/float64(nb*4), "cyc/rowblock")
		})
	}
}

