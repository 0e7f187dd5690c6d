package yuma

import (
	"fmt"
	"syscall"
	"testing"
)

// cpuNanos is this process's user+system CPU time. On a shared machine it
// is steadier than wall time, so benchmarks report it as cpu-ns/op too.
func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// splitmix64 is a tiny deterministic generator for test data.
type splitmix64 uint64

func (s *splitmix64) next() uint64 {
	*s += 0x9e3779b97f4a7c15
	z := uint64(*s)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// randomInput builds a subnet of n uids whose first v hold stake and set
// dense random weights on every uid, with random stored bonds.
func randomInput(n, v int, seed uint64) Input {
	g := splitmix64(seed)
	in := Input{Stake: make([]uint64, n), Weights: make([][]Entry, n), Bonds: make([][]Entry, n), Emission: 1_000_000_000}
	for i := range v {
		in.Stake[i] = 1 + g.next()%1_000_000_000_000
		row := make([]Entry, n)
		bonds := make([]Entry, n)
		for j := range n {
			row[j] = Entry{UID: uint16(j), Value: uint16(g.next())}
			bonds[j] = Entry{UID: uint16(j), Value: uint16(g.next())}
		}
		in.Weights[i], in.Bonds[i] = row, bonds
	}
	return in
}

func BenchmarkEpoch(b *testing.B) {
	for _, size := range []struct{ n, v int }{{256, 64}, {4096, 256}} {
		for _, y3 := range []bool{false, true} {
			in := randomInput(size.n, size.v, 1)
			p := DefaultParams()
			p.MaxValidators = uint16(size.v)
			p.Yuma3 = y3
			p.LiquidAlpha.Enabled = y3
			name := fmt.Sprintf("uids=%d/validators=%d/yuma3=%v", size.n, size.v, y3)
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				start := cpuNanos()
				for b.Loop() {
					if _, err := Epoch(in, p); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cpuNanos()-start)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}
