package market_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/market"
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
	seed := bytes.Repeat([]byte{0x6d}, ed25519.SeedSize)
	binary.BigEndian.PutUint32(seed, uint32(i))
	return ed25519.NewKeyFromSeed(seed)
}

func addr(i int) tx.Address { return tx.AddressFromPubKey(key(i).Public().(ed25519.PublicKey)) }

// testParams are small, test-friendly params: deposits from 1000 udeai
// (bids from 500), a bid timeout of 20 blocks and a settlement at least
// every 10 blocks.
func testParams() market.Params {
	return market.Params{MinDeposit: 1000, BidMinDeposit: 500, MaxBidsPerOrder: 20, BidTimeoutBlocks: 20, SettleEveryBlocks: 10, EndBlockLimit: 200}
}

// genesis funds accounts 0..n-1 with funds each; p, when not nil,
// replaces the module's default params.
func genesis(t testing.TB, n int, p *market.Params) ledger.Genesis {
	t.Helper()
	g := ledger.DefaultGenesis(chainID)
	for i := range n {
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: addr(i), Balance: funds})
	}
	if p != nil {
		raw, err := json.Marshal(market.Genesis{Params: *p})
		if err != nil {
			t.Fatal(err)
		}
		g.Modules = map[string]json.RawMessage{market.Name: raw}
	}
	return g
}

// harness drives a ledger with the market module through the block
// lifecycle (FinalizeBlock, Commit, apply the write set) and after every
// block checks the supply and the module's invariants.
type harness struct {
	t       testing.TB
	kv      *state.MemKV
	l       *ledger.Ledger
	height  int64
	pending map[int]uint64 // txs signed per account since the last block
	noCheck bool           // skip the per-block invariant scan (benchmarks)
	last    *ledger.BlockResult
	hashes  [][]byte // app hash of every block
}

func newHarness(t testing.TB, g ledger.Genesis) *harness {
	t.Helper()
	h := &harness{t: t, kv: state.NewMemKV(), pending: map[int]uint64{}}
	l, err := ledger.New(ledger.Config{KV: h.kv, Modules: []ledger.Module{market.New()}})
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

// block finalizes and commits txs as the next block (time: height
// seconds) and checks the invariants.
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
	if !h.noCheck {
		h.supply()
		if _, err := market.CheckInvariants(h.kv); err != nil {
			h.t.Fatalf("block %d: %v", h.height, err)
		}
	}
	return res
}

// blockOK is block for txs that must all succeed.
func (h *harness) blockOK(txs ...[]byte) *ledger.BlockResult {
	h.t.Helper()
	res := h.block(txs...)
	for i, r := range res.TxResults {
		if !r.OK() {
			h.t.Fatalf("block %d: tx %d failed: %v %s", h.height, i, r.Code, r.Log)
		}
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

// reject is run for a tx that must fail with reason want.
func (h *harness) reject(want module.Reason, i int, msgs ...tx.Msg) ledger.TxResult {
	h.t.Helper()
	r := h.run(i, msgs...)
	if r.Code != want {
		h.t.Fatalf("block %d: code %v (%s), want %v", h.height, r.Code, r.Log, want)
	}
	return r
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

func (h *harness) deployment(id market.DeploymentID) market.DeploymentResult {
	h.t.Helper()
	var d market.DeploymentResult
	h.query("/market/deployment/"+id.String(), &d)
	return d
}

func (h *harness) lease(id market.LeaseID) market.Lease {
	h.t.Helper()
	var l market.Lease
	h.query("/market/lease/"+id.String(), &l)
	return l
}

func (h *harness) bid(id market.BidID) market.Bid {
	h.t.Helper()
	var b market.Bid
	h.query("/market/bid/"+id.String(), &b)
	return b
}

func (h *harness) order(id market.OrderID) market.Order {
	h.t.Helper()
	var o market.Order
	h.query("/market/order/"+id.String(), &o)
	return o
}

func (h *harness) escrow(id market.DeploymentID) market.EscrowResult {
	h.t.Helper()
	var e market.EscrowResult
	h.query("/market/escrow/"+id.String(), &e)
	return e
}

// events returns the events of type typ in a tx result or a block result
// (EndBlock events).
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

// unit returns a resource unit with 1 cpu, 1 GiB of memory and a 1 GiB
// ephemeral volume, count replicas at price per block each.
func unit(id, count uint32, price uint64) market.ResourceUnit {
	return market.ResourceUnit{ID: id, Count: count, Price: price, Resources: market.Resources{
		CPUMilli: 1000, MemoryBytes: 1 << 30,
		Storage: []market.Volume{{Name: "default", SizeBytes: 1 << 30}},
	}}
}

// group returns a per-block group of one unit at price per block.
func group(name string, price uint64) market.GroupSpec {
	return market.GroupSpec{Name: name, Units: []market.ResourceUnit{unit(1, 1, price)}}
}

// gpuGroup returns a group whose one unit wants one GPU matching alts.
func gpuGroup(name string, price uint64, alts ...string) market.GroupSpec {
	g := group(name, price)
	g.Units[0].Resources.GPU = market.GPU{Units: 1, Attributes: alts}
	return g
}

var manifest = market.ManifestHash{0xde, 0xa1}

func did(owner int, dseq uint64) market.DeploymentID {
	return market.DeploymentID{Owner: addr(owner), DSeq: dseq}
}

func createDeployment(owner int, dseq uint64, deposit tx.Amount, groups ...market.GroupSpec) *market.MsgCreateDeployment {
	return &market.MsgCreateDeployment{ID: did(owner, dseq), Groups: groups, Hash: manifest, Deposit: deposit}
}

func provider(i int, attrs ...market.Attribute) *market.MsgCreateProvider {
	return &market.MsgCreateProvider{Owner: addr(i), HostURI: "https://provider.example.com:8443", Attributes: attrs}
}

func createBid(p int, o market.OrderID, price tx.Amount) *market.MsgCreateBid {
	return &market.MsgCreateBid{Order: o, Provider: addr(p), Price: price, Deposit: 500}
}

func oid(owner int, dseq uint64, gseq, oseq uint32) market.OrderID {
	return did(owner, dseq).Group(gseq).Order(oseq)
}

func attrs(kv ...string) []market.Attribute {
	var out []market.Attribute
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, market.Attribute{Key: kv[i], Value: kv[i+1]})
	}
	return out
}
