package ledger_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

const fee = tx.Amount(1000)

func TestLifecycle(t *testing.T) {
	h := newHarness(t, ledger.Config{}, genesis(2))
	raw := transfer(t, 0, 0, fee, addr(1), 5*tx.UnitsPerDEAI)
	if r := h.l.CheckTx(raw, ledger.SigUnchecked); !r.OK() {
		t.Fatalf("CheckTx: %d %s", r.Code, r.Log)
	}
	res := h.block(raw)
	if len(res.TxResults) != 1 || !res.TxResults[0].OK() {
		t.Fatalf("results = %+v", res.TxResults)
	}
	if !bytes.Equal(res.AppHash, h.l.AppHash()) || h.l.Height() != 1 {
		t.Fatalf("height %d app hash %x, block said %x", h.l.Height(), h.l.AppHash(), res.AppHash)
	}
	if got, want := h.balance(0), tx.Amount(995*tx.UnitsPerDEAI-1000); got != want {
		t.Errorf("sender balance %d, want %d", got, want)
	}
	if got, want := h.balance(1), tx.Amount(1005*tx.UnitsPerDEAI); got != want {
		t.Errorf("recipient balance %d, want %d", got, want)
	}
	acct, err := h.l.Account(addr(0))
	if err != nil || acct.Nonce != 1 || !bytes.Equal(acct.PubKey, key(0).Public().(ed25519.PublicKey)) {
		t.Errorf("account = %+v, %v", acct, err)
	}
	var types []string
	for _, e := range res.TxResults[0].Events {
		types = append(types, e.Type)
	}
	if got, want := strings.Join(types, ","), "pubkey_set,fee_burn,nonce,transfer"; got != want {
		t.Errorf("events %s, want %s", got, want)
	}

	rec, err := h.l.Tx(tx.HashOf(raw))
	if err != nil || rec.Height != 1 || rec.Index != 0 || rec.Code != 0 || len(rec.Events) != 4 || rec.Tx == nil || rec.Tx.Nonce != 0 {
		t.Fatalf("tx record = %+v, %v", rec, err)
	}
	blk, err := h.l.Block(1)
	if err != nil || blk.TimeUnixNano != 1e9 || !bytes.Equal(blk.AppHash, res.AppHash) || len(blk.Txs) != 1 || blk.Txs[0] != tx.HashOf(raw) {
		t.Fatalf("block = %+v, %v", blk, err)
	}
	s, err := h.l.Supply()
	if err != nil || !s.Conserved() || s.Burned != fee || s.Accounts != 2 {
		t.Fatalf("supply = %+v, %v", s, err)
	}
	// A transfer to a fresh address creates it.
	res = h.block(transfer(t, 1, 0, fee, addr(9), 1))
	if ev := res.TxResults[0].Events; ev[len(ev)-2].Type != "account_created" {
		t.Errorf("no account_created event: %+v", ev)
	}
}

func TestQueryJSON(t *testing.T) {
	h := newHarness(t, ledger.Config{}, genesis(2))
	raw := transfer(t, 0, 0, fee, addr(1), 7)
	h.block(raw)
	for _, tt := range []struct {
		path, want string
		reason     module.Reason
	}{
		{"/balance/" + addr(1).String(), `{"address":"` + addr(1).String() + `","balance":"1000000007","denom":"udeai"}`, 0},
		{"/balance/" + addr(5).String(), `"balance":"0"`, 0},
		{"/account/" + addr(0).String(), `"nonce":1`, 0},
		{"/account/" + addr(5).String(), "", module.ReasonNotFound},
		{"/account/deai1nope", "", module.ReasonBadQuery},
		{"/account", "", module.ReasonBadQuery},
		{"/tx/" + tx.HashOf(raw).String(), `"type":"bank/send"`, 0},
		{"/tx/" + strings.ToLower(tx.HashOf(raw).String()), `"height":1`, 0},
		{"/tx/" + tx.HashOf([]byte("x")).String(), "", module.ReasonNotFound},
		{"/tx/zz", "", module.ReasonBadQuery},
		{"/block/1", `"height":1`, 0},
		{"/block/latest", `"height":1`, 0},
		{"/block/2", "", module.ReasonNotFound},
		{"/block/x", "", module.ReasonBadQuery},
		{"/params", `{"denom":"udeai","min_fee":"1000","max_tx_bytes":16384,"max_memo_bytes":256}`, 0},
		{"/params/x", "", module.ReasonBadQuery},
		{"/supply", `"burned":"1000"`, 0},
		{"/bank/account/" + addr(0).String(), `"nonce":1`, 0},
		{"/nope", "", module.ReasonBadQuery},
		{"", "", module.ReasonBadQuery},
	} {
		t.Run(tt.path, func(t *testing.T) {
			b, err := h.l.Query(tt.path)
			if got := module.ReasonOf(err); got != tt.reason {
				t.Fatalf("reason %v (%v), want %v", got, err, tt.reason)
			}
			if err == nil && !strings.Contains(string(b), tt.want) {
				t.Errorf("got %s, want it to contain %s", b, tt.want)
			}
			if err == nil && !json.Valid(b) {
				t.Errorf("invalid JSON %s", b)
			}
		})
	}
}

// badInputs are the rejected-tx cases of the issue, each with the reason
// CheckTx must give. Account 0 has 1000 DEAI and next nonce 0.
func badInputs(t *testing.T) []struct {
	name string
	raw  []byte
	want module.Reason
	log  string
} {
	good := transfer(t, 0, 0, fee, addr(1), 1)
	badSig := append([]byte(nil), good...)
	badSig[len(badSig)-5] ^= 0x40
	return []struct {
		name string
		raw  []byte
		want module.Reason
		log  string
	}{
		{"malformed bytes", []byte("definitely not a tx"), module.ReasonMalformed, "malformed"},
		{"empty", nil, module.ReasonMalformed, "malformed"},
		{"truncated", good[:len(good)-1], module.ReasonMalformed, "malformed"},
		{"oversize", append(append([]byte(nil), good...), make([]byte, tx.MaxTxBytes)...), module.ReasonOversize, "limit"},
		{"wrong chain id", func() []byte {
			x, _ := tx.Transfer(key(0), "other-chain", 0, fee, addr(1), 1)
			b, _ := x.Encode()
			return b
		}(), module.ReasonWrongChainID, `"other-chain"`},
		{"bad signature", badSig, module.ReasonBadSignature, "signature"},
		{"signed by another key", func() []byte {
			// sender key 1 claims to move key 0's funds
			return mustSign(t, 1, &tx.Tx{ChainID: chainID, Nonce: 0, Fee: fee, Msgs: []tx.Msg{&tx.MsgSend{From: addr(0), To: addr(1), Amount: 1}}})
		}(), module.ReasonUnauthorized, "signed by"},
		{"replayed nonce", nil /* filled by the caller after a committed tx */, module.ReasonBadNonce, "replayed"},
		{"future nonce", transfer(t, 0, 5, fee, addr(1), 1), module.ReasonBadNonce, "out-of-order"},
		{"insufficient funds", transfer(t, 0, 0, fee, addr(1), 1001*tx.UnitsPerDEAI), module.ReasonInsufficientFunds, "insufficient funds"},
		{"unfunded sender", transfer(t, 7, 0, fee, addr(1), 1), module.ReasonInsufficientFunds, "insufficient funds"},
		{"amount overflow", transfer(t, 0, 0, fee, addr(1), tx.MaxAmount), module.ReasonOverflow, "overflow"},
		{"zero amount", mustSign(t, 0, &tx.Tx{ChainID: chainID, Fee: fee, Msgs: []tx.Msg{&tx.MsgSend{From: addr(0), To: addr(1)}}}), module.ReasonZeroAmount, "zero amount"},
		{"fee below minimum", transfer(t, 0, 0, fee-1, addr(1), 1), module.ReasonFeeTooLow, "below the minimum"},
		{"memo over param", mustSign(t, 0, &tx.Tx{ChainID: chainID, Fee: fee, Memo: strings.Repeat("m", 200), Msgs: []tx.Msg{&tx.MsgSend{From: addr(0), To: addr(1), Amount: 1}}}), module.ReasonOversize, "memo"},
		{"unknown message type", func() []byte {
			x := &tx.Tx{ChainID: chainID, Fee: fee, Msgs: []tx.Msg{unknownMsg{}}}
			return mustSign(t, 0, x)
		}(), module.ReasonUnknownMsg, "unknown message"},
	}
}

type unknownMsg struct{}

func (unknownMsg) Type() tx.MsgType             { return 0x7f01 }
func (unknownMsg) AppendBody(dst []byte) []byte { return append(dst, 1, 2, 3) }
func (unknownMsg) ValidateBasic() error         { return nil }

func TestCheckTxRejects(t *testing.T) {
	g := genesis(2)
	g.Params.MaxMemoBytes = 100
	for _, tt := range badInputs(t) {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, ledger.Config{}, g)
			raw := tt.raw
			if raw == nil && tt.want == module.ReasonBadNonce {
				raw = transfer(t, 0, 0, fee, addr(1), 1)
				h.block(raw)
			}
			before, _ := h.l.Query("/account/" + addr(0).String())
			r := h.l.CheckTx(raw, ledger.SigUnchecked)
			if r.Code != tt.want {
				t.Fatalf("code %d (%v) %q, want %d (%v)", r.Code, r.Code, r.Log, tt.want, tt.want)
			}
			if !strings.Contains(r.Log, tt.log) {
				t.Errorf("log %q does not mention %q", r.Log, tt.log)
			}
			if len(r.Events) != 0 {
				t.Errorf("rejected tx has events %+v", r.Events)
			}
			after, _ := h.l.Query("/account/" + addr(0).String())
			if !bytes.Equal(before, after) {
				t.Errorf("account changed: %s -> %s", before, after)
			}
			// The check state is untouched: the next valid tx still passes.
			acct, _ := h.l.Account(addr(0))
			if r := h.l.CheckTx(transfer(t, 0, acct.Nonce, fee, addr(1), 1), ledger.SigUnchecked); !r.OK() {
				t.Errorf("valid tx after rejection: %d %s", r.Code, r.Log)
			}
			// In a block the same tx fails with the same reason and changes nothing.
			hash := h.l.AppHash()
			supplyBefore, _ := h.l.Supply()
			res := h.block(raw)
			if got := res.TxResults[0].Code; got != tt.want {
				t.Errorf("in a block: code %v, want %v", got, tt.want)
			}
			supplyAfter, _ := h.l.Supply()
			charged := tt.want == module.ReasonUnauthorized // fails in a message, after the fee
			if !charged && supplyAfter != supplyBefore {
				t.Errorf("supply changed: %+v -> %+v", supplyBefore, supplyAfter)
			}
			if bytes.Equal(hash, h.l.AppHash()) {
				t.Error("app hash did not move to the next height")
			}
		})
	}
}

func TestCheckStateQueuesNonces(t *testing.T) {
	h := newHarness(t, ledger.Config{}, genesis(2))
	for n := uint64(0); n < 5; n++ {
		if r := h.l.CheckTx(transfer(t, 0, n, fee, addr(1), 1), ledger.SigUnchecked); !r.OK() {
			t.Fatalf("nonce %d: %s", n, r.Log)
		}
	}
	if r := h.l.CheckTx(transfer(t, 0, 2, fee, addr(1), 1), ledger.SigUnchecked); r.Code != module.ReasonBadNonce {
		t.Fatalf("replay in check state: %v", r.Code)
	}
	// Committed state is unaffected by CheckTx; a commit resets the check state.
	if a, _ := h.l.Account(addr(0)); a.Nonce != 0 {
		t.Fatalf("CheckTx leaked into committed state: nonce %d", a.Nonce)
	}
	h.block(transfer(t, 0, 0, fee, addr(1), 1))
	if r := h.l.CheckTx(transfer(t, 0, 1, fee, addr(1), 1), ledger.SigValid); !r.OK() {
		t.Fatalf("after commit, nonce 1: %s", r.Log)
	}
	if r := h.l.CheckTx(transfer(t, 0, 3, fee, addr(1), 1), ledger.SigValid); r.Code != module.ReasonBadNonce {
		t.Fatalf("after commit, nonce 3: %v", r.Code)
	}
}

func TestFailedMessagePaysFee(t *testing.T) {
	h := newHarness(t, ledger.Config{}, genesis(2))
	// Two messages: the second is signed by 0 but sends from 1: unauthorized.
	raw := mustSign(t, 0, &tx.Tx{ChainID: chainID, Fee: fee, Msgs: []tx.Msg{
		&tx.MsgSend{From: addr(0), To: addr(1), Amount: 10},
		&tx.MsgSend{From: addr(1), To: addr(0), Amount: 10},
	}})
	res := h.block(raw)
	r := res.TxResults[0]
	if r.Code != module.ReasonUnauthorized || !strings.Contains(r.Log, "message 1") {
		t.Fatalf("result %+v", r)
	}
	if got, want := h.balance(0), tx.Amount(1000*tx.UnitsPerDEAI)-fee; got != want {
		t.Errorf("balance %d, want %d: fee only, first message undone", got, want)
	}
	if a, _ := h.l.Account(addr(0)); a.Nonce != 1 {
		t.Errorf("nonce %d, want 1", a.Nonce)
	}
	for _, e := range r.Events {
		if e.Type == "transfer" {
			t.Errorf("undone message left event %+v", e)
		}
	}
	if s, _ := h.l.Supply(); !s.Conserved() {
		t.Errorf("supply %+v", s)
	}
}

func TestTxIndexKeepsSuccess(t *testing.T) {
	h := newHarness(t, ledger.Config{}, genesis(2))
	raw := transfer(t, 0, 0, fee, addr(1), 1)
	h.block(raw)
	res := h.block(raw)
	if res.TxResults[0].Code != module.ReasonBadNonce {
		t.Fatalf("replay in a block: %v", res.TxResults[0].Code)
	}
	rec, err := h.l.Tx(tx.HashOf(raw))
	if err != nil || rec.Code != 0 || rec.Height != 1 {
		t.Fatalf("record %+v, %v: want the first, successful inclusion", rec, err)
	}
}

// countingVerifier counts signature checks.
type countingVerifier struct {
	single, batched, batches int
}

func (c *countingVerifier) Verify(pub ed25519.PublicKey, msg, sig []byte) bool {
	c.single++
	return ledger.DefaultVerifier{}.Verify(pub, msg, sig)
}

func (c *countingVerifier) VerifyBatch(items []ledger.SigItem) []bool {
	c.batches++
	c.batched += len(items)
	return ledger.DefaultVerifier{}.VerifyBatch(items)
}

func TestSignaturesVerifiedOnce(t *testing.T) {
	cv := &countingVerifier{}
	h := newHarness(t, ledger.Config{Verifier: cv}, genesis(3))
	a := transfer(t, 0, 0, fee, addr(1), 1)
	b := transfer(t, 1, 0, fee, addr(2), 1)
	c := transfer(t, 2, 0, fee, addr(0), 1)
	if r := h.l.CheckTx(a, ledger.SigUnchecked); !r.OK() {
		t.Fatal(r.Log)
	}
	if r := h.l.CheckTx(a, ledger.SigValid); r.Code != module.ReasonBadNonce { // recheck-style call: no verification
		t.Fatal(r.Code)
	}
	if cv.single != 1 {
		t.Fatalf("CheckTx verified %d times, want 1", cv.single)
	}
	// A caller that found the signature invalid: the ledger trusts it, but
	// stateless failures still come first.
	if r := h.l.CheckTx(b, ledger.SigInvalid); r.Code != module.ReasonBadSignature {
		t.Fatalf("SigInvalid: %v", r.Code)
	}
	other, _ := tx.Transfer(key(1), "other-chain", 0, fee, addr(2), 1)
	ob, _ := other.Encode()
	if r := h.l.CheckTx(ob, ledger.SigInvalid); r.Code != module.ReasonWrongChainID {
		t.Fatalf("SigInvalid with wrong chain: %v", r.Code)
	}
	if cv.single != 1 {
		t.Fatalf("CheckTx verified %d times, want 1", cv.single)
	}
	h.height++
	res, err := h.l.FinalizeBlock(ledger.Block{Height: h.height, Txs: [][]byte{a, b, c}, Verified: []bool{true}})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res.TxResults {
		if !r.OK() {
			t.Errorf("tx %d: %s", i, r.Log)
		}
	}
	if cv.batches != 1 || cv.batched != 2 || cv.single != 1 {
		t.Errorf("FinalizeBlock: %d batches of %d sigs, %d single; want 1 batch of 2 (the unverified), no single", cv.batches, cv.batched, cv.single)
	}
}

func TestBadSignatureInBlock(t *testing.T) {
	h := newHarness(t, ledger.Config{}, genesis(2))
	raw := transfer(t, 0, 0, fee, addr(1), 1)
	raw[len(raw)-1] ^= 1
	res := h.block(raw)
	if res.TxResults[0].Code != module.ReasonBadSignature {
		t.Fatalf("code %v", res.TxResults[0].Code)
	}
	if a, _ := h.l.Account(addr(0)); a.Nonce != 0 || a.Balance != 1000*tx.UnitsPerDEAI {
		t.Errorf("bad-signature tx changed the account: %+v", a)
	}
}

// blocks returns a deterministic random workload: n blocks of transfers
// among accounts 0..k-1, including some failing txs.
func blocks(t testing.TB, seed uint64, n, k int) [][][]byte {
	rng := rand.New(rand.NewPCG(seed, seed))
	nonces := make([]uint64, k)
	var out [][][]byte
	for b := 0; b < n; b++ {
		var txs [][]byte
		for i := 0; i < 1+rng.IntN(20); i++ {
			from, to := rng.IntN(k), rng.IntN(k+2) // k, k+1: fresh accounts
			amt := tx.Amount(1 + rng.Uint64N(3*tx.UnitsPerDEAI))
			f := fee + tx.Amount(rng.IntN(100))
			nonce := nonces[from]
			if rng.IntN(10) == 0 {
				nonce += 3 // fails: out of order
			} else if rng.IntN(20) == 0 {
				amt = 2000 * tx.UnitsPerDEAI // fails: insufficient funds
			} else {
				nonces[from]++
			}
			txs = append(txs, transfer(t, from, nonce, f, addr(to), amt))
		}
		out = append(out, txs)
	}
	return out
}

func TestDeterminism(t *testing.T) {
	work := blocks(t, 1, 30, 5)
	a := newHarness(t, ledger.Config{}, genesis(5))
	b := newHarness(t, ledger.Config{}, genesis(5))
	for i, txs := range work {
		ra, rb := a.block(txs...), b.block(txs...)
		if !bytes.Equal(ra.AppHash, rb.AppHash) {
			t.Fatalf("height %d: app hashes differ", i+1)
		}
		for j := range ra.TxResults {
			if ra.TxResults[j].Code != rb.TxResults[j].Code || ra.TxResults[j].Log != rb.TxResults[j].Log {
				t.Fatalf("height %d tx %d: results differ", i+1, j)
			}
		}
	}
	// A different workload gives a different hash.
	c := newHarness(t, ledger.Config{}, genesis(5))
	for _, txs := range blocks(t, 2, 30, 5) {
		c.block(txs...)
	}
	if bytes.Equal(a.l.AppHash(), c.l.AppHash()) {
		t.Error("different blocks, same app hash")
	}
}

func TestConservation(t *testing.T) {
	h := newHarness(t, ledger.Config{}, genesis(6))
	var ok, failed int
	for _, txs := range blocks(t, 3, 40, 6) {
		for _, r := range h.block(txs...).TxResults {
			if r.OK() {
				ok++
			} else {
				failed++
			}
		}
		s, err := h.l.Supply()
		if err != nil || !s.Conserved() {
			t.Fatalf("height %d: supply %+v, %v", h.height, s, err)
		}
	}
	s, _ := h.l.Supply()
	if s.Genesis != 6000*tx.UnitsPerDEAI || s.Burned == 0 || ok == 0 || failed == 0 {
		t.Fatalf("supply %+v, %d ok, %d failed", s, ok, failed)
	}
	t.Logf("%d ok, %d failed, supply %+v", ok, failed, s)
}

func TestRestart(t *testing.T) {
	h := newHarness(t, ledger.Config{}, genesis(3))
	for _, txs := range blocks(t, 4, 5, 3) {
		h.block(txs...)
	}
	l2, err := ledger.New(ledger.Config{KV: h.kv})
	if err != nil {
		t.Fatal(err)
	}
	if l2.Height() != h.l.Height() || !bytes.Equal(l2.AppHash(), h.l.AppHash()) || l2.ChainID() != chainID || l2.Params() != h.l.Params() {
		t.Fatalf("reloaded height %d hash %x, want %d %x", l2.Height(), l2.AppHash(), h.l.Height(), h.l.AppHash())
	}
	for _, p := range []string{"/supply", "/block/5", "/account/" + addr(0).String()} {
		a, err1 := h.l.Query(p)
		b, err2 := l2.Query(p)
		if err1 != nil || err2 != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: %s (%v) vs %s (%v)", p, a, err1, b, err2)
		}
	}
	if _, err := l2.InitChain(genesis(3), 1); err == nil {
		t.Error("InitChain accepted on a chain with blocks")
	}
}

func TestRestartContinuesIdentically(t *testing.T) {
	work := blocks(t, 6, 8, 3)
	ref := newHarness(t, ledger.Config{}, genesis(3))
	for _, txs := range work {
		ref.block(txs...)
	}
	h := newHarness(t, ledger.Config{}, genesis(3))
	for i, txs := range work {
		if i == 4 {
			l, err := ledger.New(ledger.Config{KV: h.kv})
			if err != nil {
				t.Fatal(err)
			}
			h.l = l
		}
		h.block(txs...)
	}
	if !bytes.Equal(h.l.AppHash(), ref.l.AppHash()) {
		t.Fatal("restart changed the app hash")
	}
}

func TestCrashBeforeCommitReplays(t *testing.T) {
	work := blocks(t, 7, 3, 3)
	h := newHarness(t, ledger.Config{}, genesis(3))
	h.block(work[0]...)
	// Finalize block 2 but "crash" before Commit: nothing reaches the kv.
	if _, err := h.l.FinalizeBlock(ledger.Block{Height: 2, TimeUnixNano: 2e9, Txs: work[1]}); err != nil {
		t.Fatal(err)
	}
	l, err := ledger.New(ledger.Config{KV: h.kv})
	if err != nil {
		t.Fatal(err)
	}
	if l.Height() != 1 {
		t.Fatalf("after crash height %d, want 1", l.Height())
	}
	h.l, h.height = l, 1
	h.block(work[1]...)
	h.block(work[2]...)
	ref := newHarness(t, ledger.Config{}, genesis(3))
	for _, txs := range work {
		ref.block(txs...)
	}
	if !bytes.Equal(h.l.AppHash(), ref.l.AppHash()) {
		t.Fatal("replayed chain diverged")
	}
}

func TestInitChainTwiceBeforeFirstCommit(t *testing.T) {
	h := newHarness(t, ledger.Config{}, genesis(2))
	first, err := h.l.InitChain(genesis(2), 1)
	if err != nil {
		t.Fatal(err)
	}
	l2, _ := ledger.New(ledger.Config{KV: h.kv})
	second, err := l2.InitChain(genesis(2), 1)
	if err != nil || !bytes.Equal(first, second) {
		t.Fatalf("genesis hash not reproducible: %x vs %x, %v", first, second, err)
	}
	other, _ := l2.InitChain(genesis(3), 1)
	if bytes.Equal(first, other) {
		t.Fatal("different genesis, same hash")
	}
}

func TestLifecycleMisuse(t *testing.T) {
	l, _ := ledger.New(ledger.Config{KV: newHarness(t, ledger.Config{}, genesis(1)).kv})
	if r := l.CheckTx(transfer(t, 0, 0, fee, addr(1), 1), ledger.SigUnchecked); r.Code != module.ReasonInternal {
		t.Errorf("CheckTx before genesis: %v", r.Code)
	}
	if _, err := l.FinalizeBlock(ledger.Block{Height: 1}); err == nil {
		t.Error("FinalizeBlock before genesis")
	}
	h := newHarness(t, ledger.Config{}, genesis(1))
	if _, err := h.l.Commit(); err == nil {
		t.Error("Commit without FinalizeBlock")
	}
	if _, err := h.l.FinalizeBlock(ledger.Block{Height: 2}); err == nil {
		t.Error("FinalizeBlock at the wrong height")
	}
	if _, err := h.l.FinalizeBlock(ledger.Block{Height: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.l.FinalizeBlock(ledger.Block{Height: 1}); err == nil {
		t.Error("FinalizeBlock twice")
	}
	if _, err := ledger.New(ledger.Config{}); err == nil {
		t.Error("nil KV accepted")
	}
}

func TestGenesisValidation(t *testing.T) {
	dup := genesis(1)
	dup.Accounts = append(dup.Accounts, dup.Accounts[0])
	overflow := genesis(0)
	overflow.Accounts = []ledger.GenesisAccount{{Address: addr(0), Balance: tx.MaxAmount}, {Address: addr(1), Balance: 1}}
	tests := []struct {
		name string
		mod  func(*ledger.Genesis)
		want string
	}{
		{"bad chain id", func(g *ledger.Genesis) { g.ChainID = "has space" }, "chain id"},
		{"empty chain id", func(g *ledger.Genesis) { g.ChainID = "" }, "no chain id"},
		{"wrong denom", func(g *ledger.Genesis) { g.Params.Denom = "uatom" }, "denom"},
		{"tx limit too big", func(g *ledger.Genesis) { g.Params.MaxTxBytes = 1 << 20 }, "max_tx_bytes"},
		{"tx limit too small", func(g *ledger.Genesis) { g.Params.MaxTxBytes = 10 }, "max_tx_bytes"},
		{"memo limit too big", func(g *ledger.Genesis) { g.Params.MaxMemoBytes = 1000 }, "max_memo_bytes"},
		{"duplicate account", func(g *ledger.Genesis) { *g = dup }, "duplicate"},
		{"zero balance", func(g *ledger.Genesis) { g.Accounts[0].Balance = 0 }, "zero balance"},
		{"supply overflow", func(g *ledger.Genesis) { *g = overflow }, "overflow"},
		{"unknown module section", func(g *ledger.Genesis) { g.Modules = map[string]json.RawMessage{"stake": []byte("{}")} }, "unknown module"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := genesis(1)
			tt.mod(&g)
			l, _ := ledger.New(ledger.Config{KV: stateKV()})
			if _, err := l.InitChain(g, 1); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestGenesisJSON(t *testing.T) {
	g := genesis(2)
	b, err := g.JSON()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ledger.ParseGenesis(b)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := back.JSON()
	if !bytes.Equal(b, b2) {
		t.Errorf("round trip differs:\n%s\n%s", b, b2)
	}
	if !strings.Contains(string(b), `"balance": "1000000000"`) || !strings.Contains(string(b), addr(0).String()) {
		t.Errorf("unexpected JSON:\n%s", b)
	}
	if _, err := ledger.ParseGenesis([]byte(`{"chain_id":"x","typo":1}`)); err == nil {
		t.Error("unknown field accepted")
	}
	if _, err := ledger.ParseGenesis([]byte(`{"chain_id":"x"} {}`)); err == nil {
		t.Error("trailing data accepted")
	}
}

func TestReasonOfClassifies(t *testing.T) {
	err := module.Errorf(module.ReasonBadNonce, "x")
	if errs.KindOf(err) != errs.Conflict || module.ReasonOf(err) != module.ReasonBadNonce {
		t.Errorf("kind %v reason %v", errs.KindOf(err), module.ReasonOf(err))
	}
	if module.ReasonOf(errors.New("plain")) != module.ReasonInternal {
		t.Error("plain error is not internal")
	}
	if module.ReasonOf(errs.E("op", errs.NotExist, "x")) != module.ReasonNotFound {
		t.Error("NotExist kind does not map to not found")
	}
	seen := map[string]bool{}
	for _, r := range module.Reasons() {
		if seen[r.String()] || strings.HasPrefix(r.String(), "reason_") {
			t.Errorf("reason %d has name %q", r, r)
		}
		seen[r.String()] = true
	}
}
