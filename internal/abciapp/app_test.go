package abciapp_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/deai-network/deai/internal/abciapp"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/tx"
)

const (
	chainID = "deai-test"
	fee     = tx.Amount(1000)
)

var ctx = context.Background()

func key(i int) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{byte(i + 1)}, ed25519.SeedSize))
}

func addr(i int) tx.Address { return tx.AddressFromPubKey(key(i).Public().(ed25519.PublicKey)) }

func genesisJSON(t testing.TB, n int) []byte {
	g := ledger.DefaultGenesis(chainID)
	for i := 0; i < n; i++ {
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: addr(i), Balance: 1000 * tx.UnitsPerDEAI})
	}
	b, err := g.JSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func transfer(t testing.TB, from int, nonce uint64, f tx.Amount, to tx.Address, amt tx.Amount) []byte {
	t.Helper()
	x, err := tx.Transfer(key(from), chainID, nonce, f, to, amt)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := x.Encode()
	return b
}

// node drives an App through the block lifecycle like CometBFT does.
type node struct {
	t      testing.TB
	db     dbm.DB
	app    *abciapp.App
	height int64
}

func newNode(t testing.TB, db dbm.DB) *node {
	t.Helper()
	app, err := abciapp.New(abciapp.Options{DB: db})
	if err != nil {
		t.Fatal(err)
	}
	info, err := app.Info(ctx, &abci.RequestInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return &node{t: t, db: db, app: app, height: info.LastBlockHeight}
}

// started returns a node after InitChain with n funded accounts.
func started(t testing.TB, n int) *node {
	t.Helper()
	nd := newNode(t, dbm.NewMemDB())
	res, err := nd.app.InitChain(ctx, &abci.RequestInitChain{ChainId: chainID, InitialHeight: 1, AppStateBytes: genesisJSON(t, n)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.AppHash) != 32 {
		t.Fatalf("genesis app hash %x", res.AppHash)
	}
	return nd
}

func (nd *node) checkTx(raw []byte) *abci.ResponseCheckTx {
	nd.t.Helper()
	r, err := nd.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_New})
	if err != nil {
		nd.t.Fatalf("CheckTx returned a Go error: %v", err)
	}
	return r
}

// block runs PrepareProposal, ProcessProposal, FinalizeBlock and Commit.
func (nd *node) block(txs ...[]byte) *abci.ResponseFinalizeBlock {
	nd.t.Helper()
	nd.height++
	when := time.Unix(1_700_000_000+nd.height, 0)
	pp, err := nd.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: txs, MaxTxBytes: 4 << 20, Height: nd.height, Time: when})
	if err != nil {
		nd.t.Fatal(err)
	}
	proc, err := nd.app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: pp.Txs, Height: nd.height, Time: when})
	if err != nil || proc.Status != abci.ResponseProcessProposal_ACCEPT {
		nd.t.Fatalf("ProcessProposal: %v %v", proc.GetStatus(), err)
	}
	return nd.finalizeAndCommit(pp.Txs, when)
}

// rawBlock finalizes and commits txs as they are (no proposal filtering).
func (nd *node) rawBlock(txs ...[]byte) *abci.ResponseFinalizeBlock {
	nd.t.Helper()
	nd.height++
	return nd.finalizeAndCommit(txs, time.Unix(1_700_000_000+nd.height, 0))
}

func (nd *node) finalizeAndCommit(txs [][]byte, when time.Time) *abci.ResponseFinalizeBlock {
	nd.t.Helper()
	fb, err := nd.app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Txs: txs, Height: nd.height, Time: when})
	if err != nil {
		nd.t.Fatal(err)
	}
	if len(fb.TxResults) != len(txs) {
		nd.t.Fatalf("%d results for %d txs", len(fb.TxResults), len(txs))
	}
	if _, err := nd.app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		nd.t.Fatal(err)
	}
	return fb
}

func (nd *node) query(path string) *abci.ResponseQuery {
	nd.t.Helper()
	r, err := nd.app.Query(ctx, &abci.RequestQuery{Path: path})
	if err != nil {
		nd.t.Fatal(err)
	}
	return r
}

func (nd *node) info() *abci.ResponseInfo {
	nd.t.Helper()
	r, err := nd.app.Info(ctx, &abci.RequestInfo{})
	if err != nil {
		nd.t.Fatal(err)
	}
	return r
}

func (nd *node) balance(i int) tx.Amount {
	nd.t.Helper()
	var b ledger.Balance
	r := nd.query("/balance/" + addr(i).String())
	if r.Code != 0 {
		nd.t.Fatalf("balance query: %d %s", r.Code, r.Log)
	}
	if err := json.Unmarshal(r.Value, &b); err != nil {
		nd.t.Fatal(err)
	}
	return b.Balance
}

func (nd *node) supply() ledger.Supply {
	nd.t.Helper()
	var s ledger.Supply
	r := nd.query("/supply")
	if err := json.Unmarshal(r.Value, &s); r.Code != 0 || err != nil {
		nd.t.Fatalf("supply: %d %s %v", r.Code, r.Log, err)
	}
	return s
}

func TestBlockLifecycle(t *testing.T) {
	nd := started(t, 2)
	raw := transfer(t, 0, 0, fee, addr(1), 3*tx.UnitsPerDEAI)
	if r := nd.checkTx(raw); r.Code != abciapp.CodeOK {
		t.Fatalf("CheckTx: %d %s", r.Code, r.Log)
	}
	fb := nd.block(raw)
	if r := fb.TxResults[0]; r.Code != 0 || len(r.Events) != 4 {
		t.Fatalf("tx result %+v", r)
	}
	ev := fb.TxResults[0].Events[3]
	if ev.Type != "transfer" || ev.Attributes[0].Key != "sender" || ev.Attributes[0].Value != addr(0).String() || ev.Attributes[2].Value != "3000000udeai" {
		t.Errorf("transfer event %+v", ev)
	}
	info := nd.info()
	if info.LastBlockHeight != 1 || !bytes.Equal(info.LastBlockAppHash, fb.AppHash) || info.AppVersion != abciapp.AppVersion {
		t.Fatalf("info %+v, block app hash %x", info, fb.AppHash)
	}
	if got, want := nd.balance(0), tx.Amount(997*tx.UnitsPerDEAI)-fee; got != want {
		t.Errorf("sender %d, want %d", got, want)
	}
	if got, want := nd.balance(1), tx.Amount(1003*tx.UnitsPerDEAI); got != want {
		t.Errorf("recipient %d, want %d", got, want)
	}
	var rec ledger.TxRecord
	r := nd.query("/tx/" + tx.HashOf(raw).String())
	if err := json.Unmarshal(r.Value, &rec); err != nil || r.Code != 0 || rec.Height != 1 || rec.Code != 0 || rec.Tx.Sender != addr(0).String() {
		t.Fatalf("tx query: %d %s %s", r.Code, r.Log, r.Value)
	}
	var blk ledger.BlockRecord
	r = nd.query("/block/1")
	if err := json.Unmarshal(r.Value, &blk); err != nil || blk.Height != 1 || blk.TimeUnixNano != 1_700_000_001e9 || !bytes.Equal(blk.AppHash, fb.AppHash) {
		t.Fatalf("block query: %s", r.Value)
	}
	if r := nd.query("/params"); r.Code != 0 || !strings.Contains(string(r.Value), `"min_fee":"1000"`) {
		t.Errorf("params: %s", r.Value)
	}
	if s := nd.supply(); !s.Conserved() || s.Burned != fee {
		t.Errorf("supply %+v", s)
	}
	if r.Height != 1 {
		t.Errorf("query height %d", r.Height)
	}
}

func TestQueryCodes(t *testing.T) {
	nd := started(t, 1)
	nd.block()
	if r, _ := nd.app.Query(ctx, &abci.RequestQuery{Path: "/params", Height: 1}); r.Code != 0 {
		t.Errorf("query at the latest height: %d %s", r.Code, r.Log)
	}
	if r, _ := nd.app.Query(ctx, &abci.RequestQuery{Path: "/params", Height: 7}); r.Code != abciapp.CodeBadQuery {
		t.Errorf("historical query: code %d, want bad_query", r.Code)
	}
	for _, tt := range []struct {
		path string
		code uint32
	}{
		{"/account/" + addr(0).String(), abciapp.CodeOK},
		{"/account/" + addr(5).String(), abciapp.CodeNotFound},
		{"/balance/" + addr(5).String(), abciapp.CodeOK},
		{"/tx/" + tx.HashOf(nil).String(), abciapp.CodeNotFound},
		{"/block/1", abciapp.CodeOK},
		{"/block/9", abciapp.CodeNotFound},
		{"/supply", abciapp.CodeOK},
		{"/params", abciapp.CodeOK},
		{"/account/not-an-address", abciapp.CodeBadQuery},
		{"/tx/123", abciapp.CodeBadQuery},
		{"/block/one", abciapp.CodeBadQuery},
		{"/balance", abciapp.CodeBadQuery},
		{"/nothing/here", abciapp.CodeBadQuery},
		{"", abciapp.CodeBadQuery},
	} {
		t.Run(tt.path, func(t *testing.T) {
			r := nd.query(tt.path)
			if r.Code != tt.code {
				t.Fatalf("code %d (%s) %q, want %d", r.Code, abciapp.CodeName(r.Code), r.Log, tt.code)
			}
			if r.Code != 0 && (r.Codespace != abciapp.Codespace || r.Log == "") {
				t.Errorf("codespace %q log %q", r.Codespace, r.Log)
			}
			if r.Code == 0 && !json.Valid(r.Value) {
				t.Errorf("invalid JSON %s", r.Value)
			}
		})
	}
}

// TestCheckTxBadInputs: each bad input of the issue is rejected by CheckTx
// with its stable code and a clear log, and leaves the state untouched.
func TestCheckTxBadInputs(t *testing.T) {
	good := func(t *testing.T) []byte { return transfer(t, 0, 0, fee, addr(1), 1) }
	sign := func(t *testing.T, x *tx.Tx) []byte {
		if err := x.Sign(key(0)); err != nil {
			t.Fatal(err)
		}
		b, _ := x.Encode()
		return b
	}
	tests := []struct {
		name  string
		setup bool // commit a transfer with nonce 0 first
		raw   func(t *testing.T) []byte
		code  uint32
		log   string
	}{
		{"malformed bytes", false, func(t *testing.T) []byte { return []byte{0xde, 0xad, 0xbe, 0xef} }, abciapp.CodeMalformed, "malformed tx"},
		{"empty tx", false, func(t *testing.T) []byte { return nil }, abciapp.CodeMalformed, "malformed tx"},
		{"trailing bytes", false, func(t *testing.T) []byte { return append(good(t), 0) }, abciapp.CodeMalformed, "trailing"},
		{"oversize", false, func(t *testing.T) []byte { return append(good(t), make([]byte, 20_000)...) }, abciapp.CodeOversize, "limit is 16384"},
		{"wrong chain id", false, func(t *testing.T) []byte {
			x, _ := tx.Transfer(key(0), "deai-other", 0, fee, addr(1), 1)
			b, _ := x.Encode()
			return b
		}, abciapp.CodeWrongChainID, `signed for chain "deai-other"`},
		{"bad signature", false, func(t *testing.T) []byte {
			b := good(t)
			b[len(b)-10] ^= 0xff
			return b
		}, abciapp.CodeBadSignature, "signature does not verify"},
		{"replayed nonce", true, good, abciapp.CodeBadNonce, "replayed nonce 0"},
		{"out-of-order nonce", false, func(t *testing.T) []byte { return transfer(t, 0, 1, fee, addr(1), 1) }, abciapp.CodeBadNonce, "out-of-order nonce 1"},
		{"insufficient funds", false, func(t *testing.T) []byte { return transfer(t, 0, 0, fee, addr(1), 1000*tx.UnitsPerDEAI) }, abciapp.CodeInsufficientFunds, "insufficient funds"},
		{"amount overflow", false, func(t *testing.T) []byte { return transfer(t, 0, 0, fee, addr(1), tx.MaxAmount-fee+1) }, abciapp.CodeOverflow, "overflow"},
		{"zero amount", false, func(t *testing.T) []byte {
			return sign(t, &tx.Tx{ChainID: chainID, Fee: fee, Msgs: []tx.Msg{&tx.MsgSend{From: addr(0), To: addr(1), Amount: 0}}})
		}, abciapp.CodeZeroAmount, "zero amount"},
		{"fee below minimum", false, func(t *testing.T) []byte { return transfer(t, 0, 0, fee-1, addr(1), 1) }, abciapp.CodeFeeTooLow, "fee 999udeai is below the minimum 1000udeai"},
		{"unauthorized sender", false, func(t *testing.T) []byte {
			return sign(t, &tx.Tx{ChainID: chainID, Fee: fee, Msgs: []tx.Msg{&tx.MsgSend{From: addr(1), To: addr(0), Amount: 1}}})
		}, abciapp.CodeUnauthorized, "signed by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nd := started(t, 2)
			next := uint64(0)
			if tt.setup {
				nd.block(good(t))
				next = 1
			} else {
				nd.block()
			}
			before := nd.info().LastBlockAppHash
			b0, b1, s0 := nd.balance(0), nd.balance(1), nd.supply()
			acct0 := nd.query("/account/" + addr(0).String()).Value

			r := nd.checkTx(tt.raw(t))
			if r.Code != tt.code {
				t.Fatalf("code %d (%s) %q, want %d (%s)", r.Code, abciapp.CodeName(r.Code), r.Log, tt.code, abciapp.CodeName(tt.code))
			}
			if r.Codespace != abciapp.Codespace || !strings.Contains(r.Log, tt.log) {
				t.Errorf("codespace %q, log %q; want it to contain %q", r.Codespace, r.Log, tt.log)
			}
			if got := nd.info().LastBlockAppHash; !bytes.Equal(got, before) {
				t.Error("app hash changed")
			}
			if nd.balance(0) != b0 || nd.balance(1) != b1 || nd.supply() != s0 {
				t.Error("balances or supply changed")
			}
			if got := nd.query("/account/" + addr(0).String()).Value; !bytes.Equal(got, acct0) {
				t.Errorf("account changed: %s -> %s", acct0, got)
			}
			// The check state is untouched too: the right next tx is admitted.
			if r := nd.checkTx(transfer(t, 0, next, fee, addr(1), 1)); r.Code != 0 {
				t.Errorf("valid tx after the rejection: %d %s", r.Code, r.Log)
			}
		})
	}
}

func TestCheckTxQueuesAndRechecks(t *testing.T) {
	nd := started(t, 2)
	a, b, c := transfer(t, 0, 0, fee, addr(1), 1), transfer(t, 0, 1, fee, addr(1), 1), transfer(t, 0, 2, fee, addr(1), 1)
	for _, raw := range [][]byte{a, b, c} {
		if r := nd.checkTx(raw); r.Code != 0 {
			t.Fatalf("CheckTx: %s", r.Log)
		}
	}
	nd.block(a, b) // c stays in the mempool
	for raw, want := range map[*[]byte]uint32{&a: abciapp.CodeBadNonce, &b: abciapp.CodeBadNonce, &c: abciapp.CodeOK} {
		r, err := nd.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: *raw, Type: abci.CheckTxType_Recheck})
		if err != nil || r.Code != want {
			t.Errorf("recheck: code %d %q, want %d", r.Code, r.Log, want)
		}
	}
}

// Recheck trusts the signature check of the CheckTx that admitted the tx.
func TestRecheckDoesNotVerify(t *testing.T) {
	nd := started(t, 2)
	raw := transfer(t, 0, 0, fee, addr(1), 1)
	raw[len(raw)-1] ^= 1
	if r := nd.checkTx(raw); r.Code != abciapp.CodeBadSignature {
		t.Fatalf("new: %d", r.Code)
	}
	r, _ := nd.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw, Type: abci.CheckTxType_Recheck})
	if r.Code != abciapp.CodeOK {
		t.Fatalf("recheck verified the signature again: %d %s", r.Code, r.Log)
	}
	// FinalizeBlock still verifies what CheckTx did not vouch for.
	if fb := nd.rawBlock(raw); fb.TxResults[0].Code != abciapp.CodeBadSignature {
		t.Fatalf("in block: %d", fb.TxResults[0].Code)
	}
}

func TestProposals(t *testing.T) {
	nd := started(t, 2)
	good := transfer(t, 0, 0, fee, addr(1), 1)
	wrongChain := func() []byte {
		x, _ := tx.Transfer(key(0), "deai-other", 0, fee, addr(1), 1)
		b, _ := x.Encode()
		return b
	}()
	malformed := []byte("garbage")
	oversize := append(append([]byte(nil), good...), make([]byte, 17_000)...)

	pp, err := nd.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: [][]byte{malformed, good, oversize, wrongChain}, MaxTxBytes: 1 << 20})
	if err != nil || len(pp.Txs) != 1 || !bytes.Equal(pp.Txs[0], good) {
		t.Fatalf("PrepareProposal kept %d txs, %v", len(pp.Txs), err)
	}
	second := transfer(t, 0, 1, fee, addr(1), 1)
	pp, _ = nd.app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: [][]byte{good, second}, MaxTxBytes: int64(len(good) + 3)})
	if len(pp.Txs) != 1 {
		t.Errorf("MaxTxBytes not respected: %d txs", len(pp.Txs))
	}
	for name, txs := range map[string][][]byte{
		"malformed": {good, malformed},
		"oversize":  {oversize},
		"unknown message": {func() []byte {
			b := append([]byte(nil), good...)
			// message type sits after version, chain id, pubkey, nonce, fee, memo, count
			off := 1 + 1 + len(chainID) + 32 + 8 + 8 + 2 + 1
			b[off], b[off+1] = 0x7f, 0x7f
			return b
		}()},
	} {
		r, err := nd.app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: txs, Height: 1})
		if err != nil || r.Status != abci.ResponseProcessProposal_REJECT {
			t.Errorf("%s: status %v, %v; want REJECT", name, r.GetStatus(), err)
		}
	}
	// Txs that decode but fail on state or signature are executed, not rejected.
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 1
	r, _ := nd.app.ProcessProposal(ctx, &abci.RequestProcessProposal{Txs: [][]byte{good, wrongChain, bad}, Height: 1})
	if r.Status != abci.ResponseProcessProposal_ACCEPT {
		t.Errorf("status %v, want ACCEPT", r.Status)
	}
	fb := nd.rawBlock(good, wrongChain, bad, malformed)
	var codes []uint32
	for _, r := range fb.TxResults {
		codes = append(codes, r.Code)
	}
	if want := []uint32{0, abciapp.CodeWrongChainID, abciapp.CodeBadSignature, abciapp.CodeMalformed}; !equal(codes, want) {
		t.Errorf("codes %v, want %v", codes, want)
	}
}

func equal(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// workload returns n blocks of random transfers among k accounts, some of
// which fail (bad nonce, insufficient funds, bad signature).
func workload(t testing.TB, seed uint64, n, k int) [][][]byte {
	rng := rand.New(rand.NewPCG(seed, 7))
	nonces := make([]uint64, k)
	var out [][][]byte
	for b := 0; b < n; b++ {
		var txs [][]byte
		for i := 0; i < rng.IntN(25); i++ {
			from, to := rng.IntN(k), rng.IntN(k+3)
			amt := tx.Amount(1 + rng.Uint64N(5*tx.UnitsPerDEAI))
			nonce := nonces[from]
			switch rng.IntN(15) {
			case 0:
				nonce += 2
			case 1:
				amt = 5000 * tx.UnitsPerDEAI
			default:
				nonces[from]++
			}
			raw := transfer(t, from, nonce, fee+tx.Amount(rng.IntN(500)), addr(to), amt)
			if rng.IntN(40) == 0 {
				raw[len(raw)-3] ^= 1 // bad signature; the nonce stays unused
				nonces[from] = nonce
			}
			txs = append(txs, raw)
		}
		out = append(out, txs)
	}
	return out
}

func TestDeterminism(t *testing.T) {
	work := workload(t, 1, 40, 6)
	a, b := started(t, 6), started(t, 6)
	for i, txs := range work {
		// a sees every tx in its mempool first (verified-cache hits); b
		// only in blocks (batch verification).
		for _, raw := range txs {
			a.checkTx(raw)
		}
		fa, fbb := a.rawBlock(txs...), b.rawBlock(txs...)
		if !bytes.Equal(fa.AppHash, fbb.AppHash) {
			t.Fatalf("height %d: app hashes differ", i+1)
		}
		for j := range fa.TxResults {
			if fa.TxResults[j].Code != fbb.TxResults[j].Code {
				t.Fatalf("height %d tx %d: codes %d vs %d", i+1, j, fa.TxResults[j].Code, fbb.TxResults[j].Code)
			}
		}
		if ia, ib := a.info(), b.info(); !bytes.Equal(ia.LastBlockAppHash, ib.LastBlockAppHash) || ia.LastBlockHeight != ib.LastBlockHeight {
			t.Fatalf("height %d: Info differs", i+1)
		}
	}
}

func TestConservation(t *testing.T) {
	nd := started(t, 8)
	var ok, failed int
	for _, txs := range workload(t, 2, 60, 8) {
		for _, r := range nd.rawBlock(txs...).TxResults {
			if r.Code == 0 {
				ok++
			} else {
				failed++
			}
		}
	}
	s := nd.supply()
	if !s.Conserved() || s.Genesis != 8000*tx.UnitsPerDEAI || s.Minted != 0 {
		t.Fatalf("supply %+v not conserved", s)
	}
	// Cross-check the supply's total against per-account balance queries.
	var sum tx.Amount
	for i := 0; i < 11; i++ {
		sum += nd.balance(i)
	}
	if sum != s.TotalBalances || ok == 0 || failed == 0 {
		t.Fatalf("balances sum %d, supply total %d (%d ok, %d failed)", sum, s.TotalBalances, ok, failed)
	}
}

func TestRestart(t *testing.T) {
	for _, backend := range []string{"memdb", "goleveldb"} {
		t.Run(backend, func(t *testing.T) {
			var db dbm.DB = dbm.NewMemDB()
			if backend == "goleveldb" {
				var err error
				dir := t.TempDir()
				if db, err = dbm.NewGoLevelDB("app", dir); err != nil {
					t.Fatal(err)
				}
				defer func() { db.Close() }()
				reopen := func() {
					db.Close()
					if db, err = dbm.NewGoLevelDB("app", dir); err != nil {
						t.Fatal(err)
					}
				}
				testRestart(t, &db, reopen)
				return
			}
			testRestart(t, &db, func() {})
		})
	}
}

func testRestart(t *testing.T, db *dbm.DB, reopen func()) {
	work := workload(t, 3, 12, 4)
	nd := newNode(t, *db)
	if _, err := nd.app.InitChain(ctx, &abci.RequestInitChain{ChainId: chainID, AppStateBytes: genesisJSON(t, 4)}); err != nil {
		t.Fatal(err)
	}
	for _, txs := range work[:8] {
		nd.rawBlock(txs...)
	}
	before := nd.info()
	paths := []string{"/supply", "/block/8", "/params", "/account/" + addr(1).String(), "/balance/" + addr(2).String()}
	answers := map[string][]byte{}
	for _, p := range paths {
		answers[p] = nd.query(p).Value
	}

	reopen()
	re := newNode(t, *db)
	after := re.info()
	if after.LastBlockHeight != 8 || !bytes.Equal(after.LastBlockAppHash, before.LastBlockAppHash) {
		t.Fatalf("after restart: height %d hash %x; want 8 %x", after.LastBlockHeight, after.LastBlockAppHash, before.LastBlockAppHash)
	}
	for _, p := range paths {
		if got := re.query(p); got.Code != 0 || !bytes.Equal(got.Value, answers[p]) {
			t.Errorf("%s: %s, want %s", p, got.Value, answers[p])
		}
	}
	for _, txs := range work[8:] {
		re.rawBlock(txs...)
	}
	ref := started(t, 4)
	for _, txs := range work {
		ref.rawBlock(txs...)
	}
	if !bytes.Equal(re.info().LastBlockAppHash, ref.info().LastBlockAppHash) {
		t.Fatal("restarted chain diverged from an uninterrupted one")
	}
}

// A crash between FinalizeBlock and Commit loses only memory: Info reports
// the previous block and replaying it gives the same app hash.
func TestCrashBetweenFinalizeAndCommit(t *testing.T) {
	work := workload(t, 4, 3, 4)
	db := dbm.NewMemDB()
	nd := newNode(t, db)
	nd.app.InitChain(ctx, &abci.RequestInitChain{ChainId: chainID, AppStateBytes: genesisJSON(t, 4)})
	nd.rawBlock(work[0]...)
	fb, err := nd.app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Txs: work[1], Height: 2, Time: time.Unix(1_700_000_002, 0)})
	if err != nil {
		t.Fatal(err)
	}
	re := newNode(t, db) // the old App is abandoned without Commit
	if info := re.info(); info.LastBlockHeight != 1 {
		t.Fatalf("height after crash %d, want 1", info.LastBlockHeight)
	}
	replayed := re.rawBlock(work[1]...)
	if !bytes.Equal(replayed.AppHash, fb.AppHash) {
		t.Fatal("replayed block has a different app hash")
	}
	// A crash before the first Commit repeats InitChain on an empty store.
	db2 := dbm.NewMemDB()
	first := newNode(t, db2)
	g1, _ := first.app.InitChain(ctx, &abci.RequestInitChain{ChainId: chainID, AppStateBytes: genesisJSON(t, 4)})
	second := newNode(t, db2)
	if second.info().LastBlockHeight != 0 {
		t.Fatal("genesis persisted before the first commit")
	}
	g2, err := second.app.InitChain(ctx, &abci.RequestInitChain{ChainId: chainID, AppStateBytes: genesisJSON(t, 4)})
	if err != nil || !bytes.Equal(g1.AppHash, g2.AppHash) {
		t.Fatalf("second InitChain: %v", err)
	}
}

func TestInitChain(t *testing.T) {
	nd := newNode(t, dbm.NewMemDB())
	if _, err := nd.app.InitChain(ctx, &abci.RequestInitChain{ChainId: "other", AppStateBytes: genesisJSON(t, 1)}); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("chain id mismatch: %v", err)
	}
	if _, err := nd.app.InitChain(ctx, &abci.RequestInitChain{ChainId: chainID, AppStateBytes: []byte(`{"chain_id":`)}); err == nil {
		t.Error("bad JSON accepted")
	}
	// Empty app state: default genesis under CometBFT's chain id.
	if _, err := nd.app.InitChain(ctx, &abci.RequestInitChain{ChainId: "deai-empty"}); err != nil {
		t.Fatal(err)
	}
	nd.block()
	if r := nd.query("/params"); r.Code != 0 {
		t.Errorf("params: %s", r.Log)
	}
	// A chain id left empty in app_state comes from CometBFT.
	nd2 := newNode(t, dbm.NewMemDB())
	if _, err := nd2.app.InitChain(ctx, &abci.RequestInitChain{ChainId: chainID, AppStateBytes: []byte(`{"params":{"denom":"udeai","min_fee":"0","max_tx_bytes":4096,"max_memo_bytes":0},"accounts":[]}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := abciapp.New(abciapp.Options{}); err == nil {
		t.Error("nil DB accepted")
	}
}

func TestCodeTable(t *testing.T) {
	want := map[uint32]string{0: "ok", 1: "malformed", 2: "oversize", 3: "wrong_chain_id", 4: "bad_signature",
		5: "bad_nonce", 6: "insufficient_funds", 7: "overflow", 8: "zero_amount", 9: "fee_too_low",
		10: "unknown_message", 11: "unauthorized", 12: "invalid", 13: "not_found", 14: "bad_query", 15: "internal", 16: "rate_limited"}
	for code, name := range want {
		if got := abciapp.CodeName(code); got != name {
			t.Errorf("code %d is %q, want %q (codes are stable)", code, got, name)
		}
	}
}
