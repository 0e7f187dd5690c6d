package infer

import (
	"fmt"
	"os"
	"sync"
	"testing"
)

// benchModels lists the benchmarked models: stories260K and synthesized
// 15M and 110M shapes (written once per test binary into a temp dir).
var benchModels = []struct{ name, shape, typ string }{
	{"stories260K", "", ""},
	{"15M-f32", "15M", "f32"}, {"15M-q8_0", "15M", "q8_0"}, {"15M-q4_0", "15M", "q4_0"},
	{"110M-f32", "110M", "f32"}, {"110M-q8_0", "110M", "q8_0"}, {"110M-q4_0", "110M", "q4_0"},
}

var (
	benchDirOnce sync.Once
	benchDir     string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func benchPath(b *testing.B, shape, typ string) string {
	if shape == "" {
		return storiesPath()
	}
	benchDirOnce.Do(func() {
		var err error
		if benchDir, err = os.MkdirTemp("", "deai-infer-bench"); err != nil {
			b.Fatal(err)
		}
	})
	return synthFile(b, benchDir, shape, typ)
}

func argmax(l []float32) int {
	best := 0
	for i, v := range l {
		if v > l[best] {
			best = i
		}
	}
	return best
}

// BenchmarkGenerate measures single-token decoding (forward pass plus greedy
// pick) at positions 0..127 repeatedly, like llama-bench tg128.
func BenchmarkGenerate(b *testing.B) {
	for _, bm := range benchModels {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", bm.name, threads), func(b *testing.B) {
				m, err := Load(benchPath(b, bm.shape, bm.typ), Options{Threads: threads})
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				s := m.NewSession()
				defer s.Close()
				tok := 1
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					l, err := s.Forward(tok, i%128)
					if err != nil {
						b.Fatal(err)
					}
					tok = argmax(l)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
			})
		}
	}
}

// BenchmarkPrefill measures prompt processing of 128 tokens (llama-bench pp128).
func BenchmarkPrefill(b *testing.B) {
	const n = 128
	for _, bm := range benchModels {
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", bm.name, threads), func(b *testing.B) {
				m, err := Load(benchPath(b, bm.shape, bm.typ), Options{Threads: threads})
				if err != nil {
					b.Fatal(err)
				}
				defer m.Close()
				s := m.NewSession()
				defer s.Close()
				prompt := make([]int, n)
				for i := range prompt {
					prompt[i] = 3 + (i*37)%500
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := s.Prefill(prompt, 0); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tok/s")
			})
		}
	}
}
