package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/chain/chaintest"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

// These tests run the real deai binary as separate OS processes: the same
// program a user runs, killed with SIGKILL where the issue asks for it.

var deaiBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "deai-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	deaiBin = filepath.Join(dir, "deai")
	if out, err := exec.Command("go", "build", "-o", deaiBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build deai: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const e2ePass = "e2e passphrase"

// deai runs the binary to completion and returns its stdout.
func deai(t *testing.T, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(deaiBin, args...)
	cmd.Env = append(os.Environ(), "DEAI_PASSPHRASE="+e2ePass)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("deai %v: %v\n%s", args, err, stderr.String())
	}
	return out
}

// freeBase finds a base port such that base+10i and base+10i+1 are free for
// n nodes.
func freeBase(t *testing.T, n int) int {
	t.Helper()
	for try := 0; try < 50; try++ {
		base := 30000 + (os.Getpid()*7+try*211)%20000
		ok := true
		for i := 0; i < n && ok; i++ {
			for _, p := range []int{base + 10*i, base + 10*i + 1} {
				l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
				if err != nil {
					ok = false
					break
				}
				l.Close()
			}
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

func nodeStart(_ int, home string) *exec.Cmd {
	return exec.Command(deaiBin, "node", "start", "--home", home)
}

// cluster builds a chaintest.Cluster over homes made by the CLI.
func cluster(t *testing.T, homes []string) *chaintest.Cluster {
	t.Helper()
	var net chain.Testnet
	for _, h := range homes {
		info, err := chain.ReadHomeInfo(h)
		if err != nil {
			t.Fatal(err)
		}
		net.ChainID = info.ChainID
		net.Nodes = append(net.Nodes, info)
	}
	return chaintest.NewCluster(t, net, nodeStart)
}

func devKey(t *testing.T, home string) *wallet.Key {
	t.Helper()
	ks, err := wallet.Open(node.KeysDir(home))
	if err != nil {
		t.Fatal(err)
	}
	k, err := ks.Load(node.DevKeyName, []byte(e2ePass))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func queryJSON(ctx context.Context, t *testing.T, c chain.Client, path string, v any) {
	t.Helper()
	r, err := c.Query(ctx, path, nil)
	if err != nil || r.Code != 0 {
		t.Fatalf("query %s: %+v, %v", path, r, err)
	}
	if err := json.Unmarshal(r.Value, v); err != nil {
		t.Fatalf("query %s: %v", path, err)
	}
}

func signTransfer(t *testing.T, priv ed25519.PrivateKey, chainID string, nonce uint64, to tx.Address, amt tx.Amount) []byte {
	t.Helper()
	x, err := tx.Transfer(priv, chainID, nonce, ledger.DefaultParams().MinFee, to, amt)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := x.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestLedgerFourValidators: `deai testnet init` + four `deai node start`
// processes. Kill -9 one: blocks continue. Restart it: it catches up and all
// app hashes agree at the same height. Kill two: the chain halts. Bring one
// back: it resumes.
func TestLedgerFourValidators(t *testing.T) {
	if testing.Short() {
		t.Skip("starts four validator processes; runs in the full suite")
	}
	out := t.TempDir()
	var tn node.Testnet
	if err := json.Unmarshal(deai(t, "testnet", "init", "--validators", "4", "--out", out,
		"--base-port", strconv.Itoa(freeBase(t, 4)), "--block-time", "200ms", "-o", "json"), &tn); err != nil {
		t.Fatal(err)
	}
	var homes []string
	for _, n := range tn.Nodes {
		homes = append(homes, n.Home)
	}
	cl := cluster(t, homes)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	wait := func(i int, h int64) int64 {
		t.Helper()
		got, err := cl.WaitHeight(ctx, i, h)
		if err != nil {
			t.Fatalf("%v (heights %v)", err, cl.Heights(ctx))
		}
		return got
	}
	key0 := devKey(t, homes[0])
	to, err := tx.ParseAddress(tn.Nodes[1].DevAddress)
	if err != nil {
		t.Fatal(err)
	}
	nonce := uint64(0)
	send := func(via int) {
		t.Helper()
		rc, err := cl.Dial(ctx, via)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		r, err := rc.BroadcastCommit(ctx, signTransfer(t, key0.PrivateKey(), tn.ChainID, nonce, to, tx.UnitsPerDEAI))
		if err != nil || !r.OK() {
			t.Fatalf("transfer via node%d: %+v, %v", via, r, err)
		}
		nonce++
	}
	balances := func(i int) (tx.Amount, tx.Amount) {
		t.Helper()
		rc, err := cl.Dial(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		var b0, b1 ledger.Balance
		queryJSON(ctx, t, rc, "/balance/"+tn.Nodes[0].DevAddress, &b0)
		queryJSON(ctx, t, rc, "/balance/"+tn.Nodes[1].DevAddress, &b1)
		return b0.Balance, b1.Balance
	}

	for i := range 4 {
		cl.Start(i)
	}
	for i := range 4 {
		wait(i, 3)
	}
	send(0)

	t.Log("kill -9 node3: the others keep committing")
	cl.Kill(3)
	h := slices.Max(cl.Heights(ctx))
	for i := range 3 {
		wait(i, h+3)
	}
	send(1)

	t.Log("restart node3: it catches up and agrees")
	cl.Start(3)
	target := wait(0, 0) + 2
	for i := range 4 {
		wait(i, target)
	}
	if err := cl.SameBlock(ctx, target, 0, 1, 2, 3); err != nil {
		t.Fatal(err)
	}
	a0, a1 := balances(0)
	if b0, b1 := balances(3); b0 != a0 || b1 != a1 {
		t.Errorf("node3 balances %v/%v, node0 %v/%v: want equal", b0, b1, a0, a1)
	}

	t.Log("kill -9 node2 and node3: below 2/3 of the power, the chain halts")
	cl.Kill(2)
	cl.Kill(3)
	atKill := slices.Max(cl.Heights(ctx))
	time.Sleep(3 * time.Second) // in-flight votes settle
	settled := cl.Heights(ctx)
	if slices.Max(settled) > atKill+1 {
		t.Fatalf("heights %v after losing half the power; were at most %d at the kill", settled, atKill)
	}
	time.Sleep(4 * time.Second) // many block times and propose timeouts
	if later := cl.Heights(ctx); !slices.Equal(later, settled) {
		t.Fatalf("chain advanced without 2/3 of the power: %v, then %v", settled, later)
	}

	t.Log("restart node2: the chain resumes")
	cl.Start(2)
	resume := slices.Max(settled) + 2
	for _, i := range []int{0, 1, 2} {
		wait(i, resume)
	}
	if err := cl.SameBlock(ctx, resume, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	send(2)
	rc, err := cl.Dial(ctx, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var sup ledger.Supply
	queryJSON(ctx, t, rc, "/supply", &sup)
	if !sup.Conserved() || sup.Burned != 3*ledger.DefaultParams().MinFee {
		t.Errorf("supply %+v: want conserved with three fees burned", sup)
	}
}

type sentTx struct {
	sender int
	nonce  uint64
	raw    []byte
	res    chain.TxResult
}

// TestLedgerCrashSafety: under continuous transfer load, kill -9 the node
// and restart it from the same home. Every tx reported committed before the
// kill is there, supply is conserved, and no nonce is reused.
func TestLedgerCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a node process under load; runs in the full suite")
	}
	home := t.TempDir()
	base := freeBase(t, 1)
	deai(t, "init", "--home", home, "--block-time", "100ms",
		"--p2p-addr", fmt.Sprintf("tcp://127.0.0.1:%d", base), "--rpc-addr", fmt.Sprintf("tcp://127.0.0.1:%d", base+1))
	cl := cluster(t, []string{home})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl.Start(0)
	rc, err := cl.Dial(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, err := rc.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}

	// Fund the senders in one multi-message tx from the dev key.
	const senders = 12
	dev := devKey(t, home)
	keys := make([]ed25519.PrivateKey, senders)
	var msgs []tx.Msg
	for i := range keys {
		var seed [32]byte
		binary.BigEndian.PutUint64(seed[:], uint64(1000+i))
		k, err := wallet.FromSeed(seed[:])
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k.PrivateKey()
		msgs = append(msgs, &tx.MsgSend{From: dev.Address(), To: k.Address(), Amount: 1000 * tx.UnitsPerDEAI})
	}
	fund, err := tx.Builder{ChainID: st.ChainID, Nonce: 0, Fee: ledger.DefaultParams().MinFee, Msgs: msgs}.Sign(dev.PrivateKey())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := fund.Encode()
	if r, err := rc.BroadcastCommit(ctx, raw); err != nil || !r.OK() {
		t.Fatalf("fund senders: %+v, %v", r, err)
	}
	sink := dev.Address()

	const wantBeforeKill = 250
	var (
		mu   sync.Mutex // guards sent
		sent []sentTx
	)
	loadCtx, stopLoad := context.WithCancel(ctx)
	enough := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for s := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := uint64(0); loadCtx.Err() == nil; n++ {
				raw := signTransfer(t, keys[s], st.ChainID, n, sink, 1)
				r, err := rc.BroadcastCommit(loadCtx, raw)
				if err != nil {
					return // the node was killed or the test is over
				}
				if !r.OK() {
					t.Errorf("sender %d nonce %d: code %d %s", s, n, r.Code, r.Log)
					return
				}
				mu.Lock()
				sent = append(sent, sentTx{sender: s, nonce: n, raw: raw, res: r})
				if len(sent) >= wantBeforeKill {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-enough:
	case <-ctx.Done():
		t.Fatalf("only %d txs committed before the deadline", len(sent))
	}
	cl.Kill(0) // senders are still submitting
	stopLoad()
	wg.Wait()
	rc.Close()
	mu.Lock()
	done := slices.Clone(sent)
	mu.Unlock()
	var top int64
	perSender := make([]uint64, senders)
	for _, s := range done {
		top = max(top, s.res.Height)
		perSender[s.sender] = max(perSender[s.sender], s.nonce+1)
	}
	t.Logf("%d transfers committed up to height %d before kill -9", len(done), top)

	cl.Start(0)
	if _, err := cl.WaitHeight(ctx, 0, top+1); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	rc2, err := cl.Dial(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	for _, s := range done {
		var rec ledger.TxRecord
		queryJSON(ctx, t, rc2, "/tx/"+tx.HashOf(s.raw).String(), &rec)
		if rec.Height != s.res.Height || rec.Code != 0 {
			t.Errorf("sender %d nonce %d: record %+v after restart, want height %d code 0", s.sender, s.nonce, rec, s.res.Height)
		}
	}
	var sup ledger.Supply
	queryJSON(ctx, t, rc2, "/supply", &sup)
	if !sup.Conserved() {
		t.Errorf("supply not conserved after kill -9: %+v", sup)
	}
	for s, k := range keys {
		var acct ledger.Account
		queryJSON(ctx, t, rc2, "/account/"+tx.AddressFromPubKey(k.Public().(ed25519.PublicKey)).String(), &acct)
		if acct.Nonce < perSender[s] {
			t.Errorf("sender %d: next nonce %d after restart, but nonce %d was reported committed", s, acct.Nonce, perSender[s]-1)
		}
		// Replaying a committed tx is refused: its nonce is used.
		if perSender[s] > 0 {
			for _, d := range done {
				if d.sender == s && d.nonce == 0 {
					r, err := rc2.BroadcastSync(ctx, d.raw)
					if err != nil || r.Code != 5 { // ReasonBadNonce
						t.Errorf("replay of sender %d nonce 0: %+v, %v; want bad nonce (5)", s, r, err)
					}
				}
			}
		}
		// And the next nonce works.
		if r, err := rc2.BroadcastCommit(ctx, signTransfer(t, k, st.ChainID, acct.Nonce, sink, 1)); err != nil || !r.OK() {
			t.Errorf("sender %d next nonce %d after restart: %+v, %v", s, acct.Nonce, r, err)
		}
	}
}
