package ledger_test

import (
	"crypto/ed25519"
	"encoding/binary"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/tx"
)

// BenchmarkFinalizeBlock measures the pure state machine (MemKV, no DB, no
// signature checks: all flagged verified) on 1000-transfer blocks,
// FinalizeBlock plus Commit plus applying the write set.
func BenchmarkFinalizeBlock(b *testing.B) {
	const senders, perBlock = 1000, 1000
	keys := make([]ed25519.PrivateKey, senders)
	g := ledger.DefaultGenesis(chainID)
	for i := range keys {
		var seed [32]byte
		binary.BigEndian.PutUint64(seed[:], uint64(i)+7)
		keys[i] = ed25519.NewKeyFromSeed(seed[:])
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: tx.AddressFromPubKey(keys[i].Public().(ed25519.PublicKey)), Balance: 1e12})
	}
	h := newHarness(b, ledger.Config{}, g)
	h.block()
	txs := make([][]byte, b.N*perBlock)
	for i := range txs {
		x, err := tx.Transfer(keys[i%senders], chainID, uint64(i/senders), fee, addr(0), 1)
		if err != nil {
			b.Fatal(err)
		}
		txs[i], _ = x.Encode()
	}
	verified := make([]bool, perBlock)
	for i := range verified {
		verified[i] = true
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h.height++
		res, err := h.l.FinalizeBlock(ledger.Block{Height: h.height, Txs: txs[i*perBlock : (i+1)*perBlock], Verified: verified})
		if err != nil || !res.TxResults[perBlock-1].OK() {
			b.Fatalf("block %d: %v %+v", i, err, res.TxResults[perBlock-1])
		}
		ws, _ := h.l.Commit()
		h.kv.Apply(ws)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*perBlock), "ns/tx")
}
