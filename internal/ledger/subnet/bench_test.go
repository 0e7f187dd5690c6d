package subnet_test

import (
	"fmt"
	"testing"

	"github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

// BenchmarkEpochBlock times a whole epoch block through the ledger: the
// module reads every uid's neuron, stake, weights and bonds, runs
// yuma.Epoch, stores the results and mints every uid's emission. The
// yuma package's BenchmarkEpoch times the math alone.
func BenchmarkEpochBlock(b *testing.B) {
	for _, c := range []struct{ uids, validators, perRow int }{{256, 64, 256}, {4096, 256, 1024}} {
		b.Run(fmt.Sprintf("uids=%d/validators=%d/weights=%d", c.uids, c.validators, c.perRow), func(b *testing.B) {
			h := newHarness(b, genesis(b, c.uids+1, nil))
			netuid := h.createSubnet(0)
			h.setParams(0, netuid, func(p *subnet.Params) {
				fastParams(p)
				p.MaxUIDs, p.MaxValidators = uint16(c.uids), uint16(c.validators)
				p.MinBurn, p.MaxBurn = 1, 1000 // cheap registrations
			})
			var txs [][]byte
			for i := 1; i <= c.uids; i++ {
				txs = append(txs, h.sign(i, register(i, netuid)))
			}
			h.blockOK(txs...)
			txs = txs[:0]
			for v := 1; v <= c.validators; v++ {
				txs = append(txs, h.sign(v, stake(v, v, netuid, tx.Amount(v)*tx.UnitsPerDEAI)))
			}
			h.blockOK(txs...)
			h.advanceTo(int64(h.info(netuid).NextEpoch)) // hands out the permits
			txs = txs[:0]
			for v := 1; v <= c.validators; v++ {
				uids, ws := make([]uint16, c.perRow), make([]uint16, c.perRow)
				for k := range uids {
					uids[k] = uint16((v*7 + k*13) % c.uids)
					ws[k] = uint16(1 + (v*k)%1000)
				}
				uids, ws = dedup(uids, ws)
				txs = append(txs, h.sign(v, weights(v, netuid, uids, ws)))
			}
			h.blockOK(txs...)
			tempo := int64(h.info(netuid).Tempo)
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				next := int64(h.info(netuid).NextEpoch)
				h.advanceTo(next - 1)
				b.StartTimer()
				res := h.block()
				b.StopTimer()
				if len(epochs(res)) != 1 {
					b.Fatalf("block %d ran no epoch (tempo %d)", h.height, tempo)
				}
			}
		})
	}
}

// dedup drops repeated uids, keeping the first weight.
func dedup(uids, ws []uint16) ([]uint16, []uint16) {
	seen := map[uint16]bool{}
	var u, w []uint16
	for k, id := range uids {
		if !seen[id] {
			seen[id] = true
			u, w = append(u, id), append(w, ws[k])
		}
	}
	return u, w
}
