package abciapp

import (
	"crypto/ed25519"
	"runtime"
	"sync"

	cmted "github.com/cometbft/cometbft/crypto/ed25519"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/tx"
)

// batchVerifier implements ledger.SigVerifier with CometBFT's ed25519
// (curve25519-voi, ZIP-215 rules, the same as tx.VerifySignature), split
// into one batch per core.
type batchVerifier struct {
	workers int
}

var _ ledger.SigVerifier = batchVerifier{}

// minPerWorker keeps small batches on one goroutine.
const minPerWorker = 64

func (batchVerifier) Verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != ed25519.PublicKeySize {
		return false
	}
	return cmted.PubKey(pub).VerifySignature(msg, sig)
}

func (v batchVerifier) VerifyBatch(items []ledger.SigItem) []bool {
	ok := make([]bool, len(items))
	workers := v.workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if n := (len(items) + minPerWorker - 1) / minPerWorker; n < workers {
		workers = n
	}
	if workers <= 1 {
		verifyChunk(items, ok)
		return ok
	}
	var wg sync.WaitGroup
	per := (len(items) + workers - 1) / workers
	for lo := 0; lo < len(items); lo += per {
		hi := min(lo+per, len(items))
		wg.Add(1)
		go func() {
			defer wg.Done()
			verifyChunk(items[lo:hi], ok[lo:hi])
		}()
	}
	wg.Wait()
	return ok
}

func verifyChunk(items []ledger.SigItem, ok []bool) {
	if len(items) == 1 {
		ok[0] = batchVerifier{}.Verify(items[0].PubKey, items[0].Msg, items[0].Sig)
		return
	}
	bv := cmted.NewBatchVerifier()
	// Items the batch verifier refuses up front (bad key or signature
	// length) are invalid; the rest are checked together.
	idx := make([]int, 0, len(items))
	for i, it := range items {
		if len(it.PubKey) != ed25519.PublicKeySize {
			continue
		}
		if err := bv.Add(cmted.PubKey(it.PubKey), it.Msg, it.Sig); err != nil {
			continue
		}
		idx = append(idx, i)
	}
	if len(idx) == 0 {
		return
	}
	// Verify falls back to one-by-one checks when the batch fails, so each
	// entry of valid is exact.
	_, valid := bv.Verify()
	for k, i := range idx {
		ok[i] = valid[k]
	}
}

// verifiedCache remembers the hashes of txs whose signatures CheckTx
// verified, so FinalizeBlock and rechecks need not verify them again. It
// holds two generations of at most max entries each: when the current one
// is full it becomes the old one and the previous old one is dropped.
// Not safe for concurrent use: App's mutex guards it.
type verifiedCache struct {
	max      int
	cur, old map[tx.Hash]struct{}
}

func newVerifiedCache(max int) *verifiedCache {
	return &verifiedCache{max: max, cur: make(map[tx.Hash]struct{}), old: make(map[tx.Hash]struct{})}
}

func (c *verifiedCache) has(h tx.Hash) bool {
	if _, ok := c.cur[h]; ok {
		return true
	}
	_, ok := c.old[h]
	return ok
}

func (c *verifiedCache) add(h tx.Hash) {
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[tx.Hash]struct{}, c.max/4)
	}
	c.cur[h] = struct{}{}
}

func (c *verifiedCache) remove(h tx.Hash) {
	delete(c.cur, h)
	delete(c.old, h)
}

func (c *verifiedCache) len() int { return len(c.cur) + len(c.old) }
