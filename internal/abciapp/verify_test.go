package abciapp

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/tx"
)

func sigItems(n int, bad map[int]bool) []ledger.SigItem {
	items := make([]ledger.SigItem, n)
	for i := range items {
		priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(i%7 + 1)}, 32))
		msg := []byte(fmt.Sprintf("message %d", i))
		sig := ed25519.Sign(priv, msg)
		if bad[i] {
			sig[0] ^= 1
		}
		items[i] = ledger.SigItem{PubKey: priv.Public().(ed25519.PublicKey), Msg: msg, Sig: sig}
	}
	return items
}

// The batch verifier must agree exactly with tx.VerifySignature, the rule
// of the in-memory ledger, whatever the batch size and worker count.
func TestBatchVerifierAgrees(t *testing.T) {
	for _, n := range []int{1, 2, 63, 64, 65, 300} {
		for _, workers := range []int{1, 2, 4} {
			bad := map[int]bool{0: true, n / 2: true, n - 1: true}
			items := sigItems(n, bad)
			items[n/3].PubKey = items[n/3].PubKey[:31] // wrong key length
			items[n/4].Sig = items[n/4].Sig[:10]       // wrong signature length
			got := batchVerifier{workers: workers}.VerifyBatch(items)
			for i, it := range items {
				if want := tx.VerifySignature(it.PubKey, it.Msg, it.Sig); got[i] != want {
					t.Fatalf("n=%d workers=%d item %d: batch says %v, single says %v", n, workers, i, got[i], want)
				}
			}
			if all := (batchVerifier{workers: workers}).VerifyBatch(sigItems(n, nil)); !allTrue(all) {
				t.Fatalf("n=%d workers=%d: valid batch rejected", n, workers)
			}
		}
	}
}

func allTrue(b []bool) bool {
	for _, v := range b {
		if !v {
			return false
		}
	}
	return true
}

func TestVerifiedCache(t *testing.T) {
	c := newVerifiedCache(2)
	h := func(i byte) tx.Hash { return tx.Hash{i} }
	c.add(h(1))
	c.add(h(2))
	c.add(h(3)) // 1 and 2 move to the old generation
	if !c.has(h(1)) || !c.has(h(3)) {
		t.Fatal("lost an entry one generation back")
	}
	c.add(h(4))
	c.add(h(5)) // the generation holding 1 and 2 is dropped
	if c.has(h(1)) || !c.has(h(5)) || c.len() > 4 {
		t.Fatalf("cache not bounded: len %d", c.len())
	}
	c.remove(h(5))
	if c.has(h(5)) {
		t.Fatal("remove did not remove")
	}
}

func TestPrefixEnd(t *testing.T) {
	for in, want := range map[string]string{"a": "b", "a\xff": "b", "\xff\xff": "", "ab": "ac"} {
		if got := string(prefixEnd([]byte(in))); got != want {
			t.Errorf("prefixEnd(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProtoSize(t *testing.T) {
	for n, want := range map[int]int64{0: 2, 127: 129, 128: 131, 16384: 16388} {
		if got := protoSize(n); got != want {
			t.Errorf("protoSize(%d) = %d, want %d", n, got, want)
		}
	}
}

// BenchmarkVerify gives the per-signature cost of single and batch
// verification (one worker, and all cores), for reading the CheckTx and
// FinalizeBlock numbers.
func BenchmarkVerify(b *testing.B) {
	items := sigItems(1000, nil)
	b.Run("single", func(b *testing.B) {
		cpu0 := cpuNow()
		for i := 0; i < b.N; i++ {
			it := items[i%len(items)]
			if !(batchVerifier{}).Verify(it.PubKey, it.Msg, it.Sig) {
				b.Fatal("invalid")
			}
		}
		b.ReportMetric(float64((cpuNow()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	})
	for _, w := range []int{1, 0} {
		b.Run(fmt.Sprintf("batch1000/workers=%d", w), func(b *testing.B) {
			cpu0 := cpuNow()
			for i := 0; i < b.N; i++ {
				(batchVerifier{workers: w}).VerifyBatch(items)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(items)), "ns/sig")
			b.ReportMetric(float64((cpuNow()-cpu0).Nanoseconds())/float64(b.N*len(items)), "cpu-ns/sig")
		})
	}
}
