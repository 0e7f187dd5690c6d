package agents_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

const (
	chainID = "deai-test"
	fee     = tx.Amount(1000)
	funds   = 10_000 * tx.UnitsPerDEAI
)

func key(i int) ed25519.PrivateKey {
	seed := bytes.Repeat([]byte{0x61}, ed25519.SeedSize)
	binary.BigEndian.PutUint32(seed, uint32(i))
	return ed25519.NewKeyFromSeed(seed)
}

func addr(i int) tx.Address { return tx.AddressFromPubKey(key(i).Public().(ed25519.PublicKey)) }

// testParams: 10 udeai per block of registration, up to 1000 blocks, 200
// expiries per block.
func testParams() agents.Params {
	return agents.Params{FeePerBlock: 10, MaxRegistrationBlocks: 1000, EndBlockLimit: 200}
}

// genesis funds accounts 0..n-1 with funds each; p, when not nil,
// replaces the module's default params.
func genesis(t testing.TB, n int, p *agents.Params) ledger.Genesis {
	t.Helper()
	g := ledger.DefaultGenesis(chainID)
	for i := range n {
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: addr(i), Balance: funds})
	}
	if p != nil {
		raw, err := json.Marshal(agents.Genesis{Params: *p})
		if err != nil {
			t.Fatal(err)
		}
		g.Modules = map[string]json.RawMessage{agents.Name: raw}
	}
	return g
}

// harness drives a ledger with the agents module through the block
// lifecycle (FinalizeBlock, Commit, apply the write set) and after every
// block checks the supply and the module's invariants.
type harness struct {
	t       testing.TB
	kv      *state.MemKV
	l       *ledger.Ledger
	height  int64
	pending map[int]uint64 // txs signed per account since the last block
	last    *ledger.BlockResult
	hashes  [][]byte // app hash of every block
	lagging bool     // EndBlock may be behind on expiries: skip that invariant
}

func newHarness(t testing.TB, g ledger.Genesis) *harness {
	t.Helper()
	h := &harness{t: t, kv: state.NewMemKV(), pending: map[int]uint64{}}
	l, err := ledger.New(ledger.Config{KV: h.kv, Modules: []ledger.Module{agents.New()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.InitChain(g, 1); err != nil {
		t.Fatal(err)
	}
	h.l = l
	return h
}

// sign signs msgs from account i with its next nonce.
func (h *harness) sign(i int, msgs ...tx.Msg) []byte {
	h.t.Helper()
	a, _ := h.l.Account(addr(i))
	x := &tx.Tx{ChainID: chainID, Nonce: a.Nonce + h.pending[i], Fee: fee, Msgs: msgs}
	if err := x.Sign(key(i)); err != nil {
		h.t.Fatal(err)
	}
	b, err := x.Encode()
	if err != nil {
		h.t.Fatal(err)
	}
	h.pending[i]++
	return b
}

// block finalizes and commits txs as the next block and checks the
// invariants.
func (h *harness) block(txs ...[]byte) *ledger.BlockResult {
	h.t.Helper()
	h.height++
	res, err := h.l.FinalizeBlock(ledger.Block{Height: h.height, TimeUnixNano: h.height * 1e9, Txs: txs})
	if err != nil {
		h.t.Fatal(err)
	}
	ws, err := h.l.Commit()
	if err != nil {
		h.t.Fatal(err)
	}
	h.kv.Apply(ws)
	clear(h.pending)
	h.last = res
	h.hashes = append(h.hashes, res.AppHash)
	h.supply()
	height := uint64(h.height)
	if h.lagging {
		height = 0
	}
	if err := agents.CheckInvariants(h.kv, height); err != nil {
		h.t.Fatalf("block %d: %v", h.height, err)
	}
	return res
}

// run delivers msgs from account i as one tx in a block of its own.
func (h *harness) run(i int, msgs ...tx.Msg) ledger.TxResult {
	h.t.Helper()
	return h.block(h.sign(i, msgs...)).TxResults[0]
}

// ok is run for a tx that must succeed.
func (h *harness) ok(i int, msgs ...tx.Msg) ledger.TxResult {
	h.t.Helper()
	r := h.run(i, msgs...)
	if !r.OK() {
		h.t.Fatalf("block %d: tx from %d failed: %v %s", h.height, i, r.Code, r.Log)
	}
	return r
}

// reject is run for a tx that must fail with reason want; it returns the
// log.
func (h *harness) reject(want module.Reason, i int, msgs ...tx.Msg) string {
	h.t.Helper()
	r := h.run(i, msgs...)
	if r.Code != want {
		h.t.Fatalf("block %d: code %v (%s), want %v", h.height, r.Code, r.Log, want)
	}
	return r.Log
}

// advanceTo commits empty blocks until the last committed height is height.
func (h *harness) advanceTo(height int64) {
	h.t.Helper()
	for h.height < height {
		h.block()
	}
}

func (h *harness) query(path string, v any) {
	h.t.Helper()
	b, err := h.l.Query(path)
	if err != nil {
		h.t.Fatalf("query %s: %v", path, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		h.t.Fatalf("query %s: %v\n%s", path, err, b)
	}
}

// queryErr returns the reason a query fails with (OK if it does not).
func (h *harness) queryErr(path string) module.Reason {
	_, err := h.l.Query(path)
	return module.ReasonOf(err)
}

func (h *harness) balance(a tx.Address) tx.Amount {
	h.t.Helper()
	b, err := h.l.Balance(a)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

// supply checks the bank's conservation invariant.
func (h *harness) supply() ledger.Supply {
	h.t.Helper()
	s, err := h.l.Supply()
	if err != nil {
		h.t.Fatal(err)
	}
	if !s.Conserved() {
		h.t.Fatalf("block %d: supply not conserved: %+v", h.height, s)
	}
	return s
}

// events returns the events of type typ.
func events(typ string, evs []ledger.Event) []ledger.Event {
	var out []ledger.Event
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

func attr(e ledger.Event, k string) string {
	for _, a := range e.Attrs {
		if a.Key == k {
			return a.Value
		}
	}
	return ""
}

var schema = agents.Digest{0x5c, 0x4e}

func spec(price tx.Amount, caps ...string) agents.ServiceSpec {
	return agents.ServiceSpec{Description: "summarizes text", Endpoint: "https://agent.example.com/v1", SchemaDigest: schema, Price: price, Capabilities: caps}
}

func register(owner int, name string, expiry uint64, price tx.Amount, caps ...string) *agents.MsgRegisterService {
	return &agents.MsgRegisterService{Owner: addr(owner), Name: name, ServiceSpec: spec(price, caps...), Expiry: expiry}
}

func ledgerAccount(a tx.Address, bal tx.Amount) ledger.GenesisAccount {
	return ledger.GenesisAccount{Address: a, Balance: bal}
}
