package subnet_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wire"
)

const (
	chainID = "deai-test"
	fee     = tx.Amount(1000)
	funds   = 10_000 * tx.UnitsPerDEAI
)

func key(i int) ed25519.PrivateKey {
	seed := bytes.Repeat([]byte{0x5a}, ed25519.SeedSize)
	binary.BigEndian.PutUint32(seed, uint32(i))
	return ed25519.NewKeyFromSeed(seed)
}

func addr(i int) tx.Address { return tx.AddressFromPubKey(key(i).Public().(ed25519.PublicKey)) }

// genesis funds accounts 0..n-1 with funds each; mp, when not nil,
// replaces the module's default params.
func genesis(t testing.TB, n int, mp *subnet.ModuleParams) ledger.Genesis {
	t.Helper()
	g := ledger.DefaultGenesis(chainID)
	for i := range n {
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: addr(i), Balance: funds})
	}
	if mp != nil {
		raw, err := json.Marshal(subnet.Genesis{Params: *mp})
		if err != nil {
			t.Fatal(err)
		}
		g.Modules = map[string]json.RawMessage{subnet.Name: raw}
	}
	return g
}

// harness drives a ledger with the subnet module through the block
// lifecycle: FinalizeBlock, Commit, apply the write set.
type harness struct {
	t       testing.TB
	kv      *state.MemKV
	l       *ledger.Ledger
	height  int64
	pending map[int]uint64 // txs signed per account since the last block
	hashes  [][]byte       // app hash of every block
	// hashOf, when set, gives the consensus block hash of each height
	// (the dispute committees' beacon); nil leaves it empty.
	hashOf func(height int64) []byte
}

func newHarness(t testing.TB, g ledger.Genesis) *harness {
	t.Helper()
	h := &harness{t: t, kv: state.NewMemKV(), pending: map[int]uint64{}}
	l, err := ledger.New(ledger.Config{KV: h.kv, Modules: []ledger.Module{subnet.New()}})
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

// block finalizes and commits txs as the next block and, outside
// benchmarks, checks the module's invariants (subnet.CheckInvariants).
func (h *harness) block(txs ...[]byte) *ledger.BlockResult {
	h.t.Helper()
	h.height++
	var hash []byte
	if h.hashOf != nil {
		hash = h.hashOf(h.height)
	}
	res, err := h.l.FinalizeBlock(ledger.Block{Height: h.height, TimeUnixNano: h.height * 1e9, Hash: hash, Txs: txs})
	if err != nil {
		h.t.Fatal(err)
	}
	ws, err := h.l.Commit()
	if err != nil {
		h.t.Fatal(err)
	}
	h.kv.Apply(ws)
	clear(h.pending)
	if _, bench := h.t.(*testing.B); !bench {
		if err := subnet.CheckInvariants(h.kv); err != nil {
			h.t.Fatalf("block %d: %v", h.height, err)
		}
	}
	h.hashes = append(h.hashes, res.AppHash)
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

// run delivers msgs from account i as one tx in a block of its own and
// returns its result.
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
		h.t.Fatalf("query %s: %v", path, err)
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

// supply checks the bank's conservation invariant and that the module's
// stake records add up to StakeAccount's balance, and returns the supply.
func (h *harness) supply() ledger.Supply {
	h.t.Helper()
	s, err := h.l.Supply()
	if err != nil {
		h.t.Fatal(err)
	}
	if !s.Conserved() {
		h.t.Fatalf("supply not conserved: %+v", s)
	}
	if err := subnet.CheckInvariants(h.kv); err != nil {
		h.t.Fatalf("block %d: %v", h.height, err)
	}
	return s
}

func (h *harness) info(netuid uint16) subnet.SubnetInfo {
	h.t.Helper()
	var info subnet.SubnetInfo
	h.query("/subnet/"+itoa(netuid), &info)
	return info
}

func (h *harness) metagraph(netuid uint16) subnet.Metagraph {
	h.t.Helper()
	var mg subnet.Metagraph
	h.query("/subnet/"+itoa(netuid)+"/metagraph", &mg)
	return mg
}

func itoa(v uint16) string { return strconv.FormatUint(uint64(v), 10) }

var digestA = subnet.Digest{0xaa, 1}

// createSubnet creates a subnet owned by account owner and returns its
// netuid.
func (h *harness) createSubnet(owner int) uint16 {
	h.t.Helper()
	r := h.ok(owner, &subnet.MsgCreateSubnet{Owner: addr(owner), Name: "test net", TaskType: subnet.TaskTextGeneration, Digests: []subnet.Digest{digestA}})
	for _, e := range r.Events {
		if e.Type == subnet.EventSubnetCreated {
			n, err := strconv.ParseUint(e.Attrs[0].Value, 10, 16)
			if err != nil {
				h.t.Fatal(err)
			}
			return uint16(n)
		}
	}
	h.t.Fatal("no subnet_created event")
	return 0
}

// setParams changes a subnet's params with edit, as its owner.
func (h *harness) setParams(owner int, netuid uint16, edit func(*subnet.Params)) {
	h.t.Helper()
	var p subnet.Params
	h.query("/subnet/"+itoa(netuid)+"/params", &p)
	edit(&p)
	h.ok(owner, &subnet.MsgSetSubnetParams{Owner: addr(owner), Netuid: netuid, Params: p})
}

// fastParams are test-friendly params: a tempo of 10 blocks, plain
// weights without a rate limit.
func fastParams(p *subnet.Params) {
	p.Tempo = 10
	p.ActivityCutoff = 1000
	p.WeightsRateLimit = 0
	p.CommitReveal = false
}

func register(i int, netuid uint16) *subnet.MsgRegister {
	return &subnet.MsgRegister{Hotkey: addr(i), Netuid: netuid}
}

func stake(staker, hotkey int, netuid uint16, amt tx.Amount) *subnet.MsgAddStake {
	return &subnet.MsgAddStake{Staker: addr(staker), Hotkey: addr(hotkey), Netuid: netuid, Amount: amt}
}

func weights(i int, netuid uint16, uids, ws []uint16) *subnet.MsgSetWeights {
	return &subnet.MsgSetWeights{Hotkey: addr(i), Netuid: netuid, UIDs: uids, Weights: ws}
}

// minerKey is account i's key as a wire.Signer, for signing receipts.
type minerKey int

func (k minerKey) Sign(msg []byte) []byte    { return ed25519.Sign(key(int(k)), msg) }
func (k minerKey) PubKey() ed25519.PublicKey { return key(int(k)).Public().(ed25519.PublicKey) }

// receiptAt returns the encoding of a receipt signed by account miner for
// request on netuid, claiming tokens digest tokens, signed at timeMs.
func receiptAt(miner int, netuid uint16, request []byte, tokens string, timeMs int64) []byte {
	r := wire.Receipt{
		Netuid: netuid, RequestHash: sha256.Sum256(request), ResponseHash: sha256.Sum256([]byte("response " + tokens)),
		ModelDigest: "sha256:" + digestA.String(), PromptTokens: 5, CompletionTokens: 7, TokensDigest: tokens, TimeUnixMs: timeMs,
	}
	if err := r.Sign(minerKey(miner)); err != nil {
		panic(err)
	}
	b, err := r.Encode()
	if err != nil {
		panic(err)
	}
	return b
}

// sampleReceipt is receiptAt with a fixed time (1 s after the epoch).
func sampleReceipt(miner int, netuid uint16, request []byte, tokens string) []byte {
	return receiptAt(miner, netuid, request, tokens, 1000)
}
