// Package ledgertest drives a real ledger through the block lifecycle for
// the ledger modules' tests: signed txs from numbered test accounts,
// FinalizeBlock, Commit, the write set applied, and after every block the
// supply invariant plus the module's own check. It is imported by tests
// only.
package ledgertest

import (
	"crypto/ed25519"
	"encoding/json"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// Options configure a Harness.
type Options struct {
	Modules []ledger.Module
	ChainID string
	Fee     tx.Amount
	// Key is the private key of test account i.
	Key func(i int) ed25519.PrivateKey
	// Check runs after every block (unless NoCheck is set); an error fails
	// the test.
	Check func(h *Harness) error
}

// Harness is a ledger under test.
type Harness struct {
	T       testing.TB
	KV      *state.MemKV
	L       *ledger.Ledger
	Height  int64               // last committed block
	Last    *ledger.BlockResult // of the last block
	Hashes  [][]byte            // app hash of every block
	NoCheck bool                // skip the per-block checks (benchmarks)
	o       Options
	pending map[int]uint64 // txs signed per account since the last block
}

// New starts a ledger with the modules at genesis g.
func New(t testing.TB, g ledger.Genesis, o Options) *Harness {
	t.Helper()
	h := &Harness{T: t, KV: state.NewMemKV(), o: o, pending: map[int]uint64{}}
	l, err := ledger.New(ledger.Config{KV: h.KV, Modules: o.Modules})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.InitChain(g, 1); err != nil {
		t.Fatal(err)
	}
	h.L = l
	return h
}

// Sign signs msgs from account i with its next nonce.
func (h *Harness) Sign(i int, msgs ...tx.Msg) []byte {
	h.T.Helper()
	k := h.o.Key(i)
	a, _ := h.L.Account(tx.AddressFromPubKey(k.Public().(ed25519.PublicKey)))
	x := &tx.Tx{ChainID: h.o.ChainID, Nonce: a.Nonce + h.pending[i], Fee: h.o.Fee, Msgs: msgs}
	if err := x.Sign(k); err != nil {
		h.T.Fatal(err)
	}
	b, err := x.Encode()
	if err != nil {
		h.T.Fatal(err)
	}
	h.pending[i]++
	return b
}

// Block finalizes and commits txs as the next block (time = height
// seconds) and runs the checks.
func (h *Harness) Block(txs ...[]byte) *ledger.BlockResult {
	h.T.Helper()
	h.Height++
	res, err := h.L.FinalizeBlock(ledger.Block{Height: h.Height, TimeUnixNano: h.Height * 1e9, Txs: txs})
	if err != nil {
		h.T.Fatal(err)
	}
	ws, err := h.L.Commit()
	if err != nil {
		h.T.Fatal(err)
	}
	h.KV.Apply(ws)
	clear(h.pending)
	h.Last = res
	h.Hashes = append(h.Hashes, res.AppHash)
	if !h.NoCheck {
		h.Supply()
		if h.o.Check != nil {
			if err := h.o.Check(h); err != nil {
				h.T.Fatalf("block %d: %v", h.Height, err)
			}
		}
	}
	return res
}

// Run delivers msgs from account i as one tx in a block of its own.
func (h *Harness) Run(i int, msgs ...tx.Msg) ledger.TxResult {
	h.T.Helper()
	return h.Block(h.Sign(i, msgs...)).TxResults[0]
}

// OK is Run for a tx that must succeed.
func (h *Harness) OK(i int, msgs ...tx.Msg) ledger.TxResult {
	h.T.Helper()
	r := h.Run(i, msgs...)
	if !r.OK() {
		h.T.Fatalf("block %d: tx from %d failed: %v %s", h.Height, i, r.Code, r.Log)
	}
	return r
}

// Reject is Run for a tx that must fail with reason want; it returns the
// log.
func (h *Harness) Reject(want module.Reason, i int, msgs ...tx.Msg) string {
	h.T.Helper()
	r := h.Run(i, msgs...)
	if r.Code != want {
		h.T.Fatalf("block %d: code %v (%s), want %v", h.Height, r.Code, r.Log, want)
	}
	return r.Log
}

// AdvanceTo commits empty blocks until the last committed height is
// height.
func (h *Harness) AdvanceTo(height int64) {
	h.T.Helper()
	for h.Height < height {
		h.Block()
	}
}

// Query decodes a query's JSON answer into v.
func (h *Harness) Query(path string, v any) {
	h.T.Helper()
	b, err := h.L.Query(path)
	if err != nil {
		h.T.Fatalf("query %s: %v", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		h.T.Fatalf("query %s: %v\n%s", path, err, b)
	}
}

// QueryErr returns the reason a query fails with (OK if it does not).
func (h *Harness) QueryErr(path string) module.Reason {
	_, err := h.L.Query(path)
	return module.ReasonOf(err)
}

// Balance is a's balance.
func (h *Harness) Balance(a tx.Address) tx.Amount {
	h.T.Helper()
	b, err := h.L.Balance(a)
	if err != nil {
		h.T.Fatal(err)
	}
	return b
}

// Supply checks the bank's conservation invariant.
func (h *Harness) Supply() ledger.Supply {
	h.T.Helper()
	s, err := h.L.Supply()
	if err != nil {
		h.T.Fatal(err)
	}
	if !s.Conserved() {
		h.T.Fatalf("block %d: supply not conserved: %+v", h.Height, s)
	}
	return s
}
