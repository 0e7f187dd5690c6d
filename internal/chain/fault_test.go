package chain_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/chain/chaintest"
)

// helperCommand re-executes this test binary as a kvstore validator on home
// (see TestMain). The integrator's tests swap in `deai node start --home`.
func helperCommand(t *testing.T) chaintest.CommandFunc {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return func(_ int, home string) *exec.Cmd {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), helperEnv+"="+home)
		return cmd
	}
}

func maxOf(hs []int64) int64 { return slices.Max(hs) }

// Four validators as four processes: kill one and the others go on; bring
// it back and it catches up to the same blocks; kill two and the chain
// halts; bring one back and it resumes.
func TestFourValidatorFaults(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 4 validator processes; run without -short")
	}
	net, err := chain.InitTestnet(chain.TestnetOptions{
		N: 4, OutDir: t.TempDir(), ChainID: "faults", BasePort: freePorts(t, 4),
		BlockTime: 200 * time.Millisecond, ProposeTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	cl := chaintest.NewCluster(t, net, helperCommand(t))
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
	commit := func(i int, tx string) chain.TxResult {
		t.Helper()
		rc, err := cl.Dial(ctx, i)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		r, err := rc.BroadcastCommit(ctx, []byte(tx))
		if err != nil || !r.OK() {
			t.Fatalf("commit %q via node%d: %+v, %v", tx, i, r, err)
		}
		return r
	}

	for i := range 4 {
		cl.Start(i)
	}
	for i := range 4 {
		wait(i, 3)
	}
	commit(0, "phase=all-up")

	t.Log("kill node3: the other three keep committing")
	cl.Kill(3)
	h := maxOf(cl.Heights(ctx))
	for i := range 3 {
		wait(i, h+3)
	}
	commit(1, "phase=three-up") // changes the app hash while node3 is down

	t.Log("restart node3: it catches up and agrees")
	cl.Start(3)
	target := wait(0, 0) + 2
	for i := range 4 {
		wait(i, target)
	}
	if err := cl.SameBlock(ctx, target, 0, 1, 2, 3); err != nil {
		t.Fatal(err)
	}
	rc3, err := cl.Dial(ctx, 3)
	if err != nil {
		t.Fatal(err)
	}
	q, err := rc3.Query(ctx, "", []byte("phase"))
	rc3.Close()
	if err != nil || string(q.Value) != "three-up" {
		t.Errorf("node3 after catching up: phase = %q, %v; want three-up", q.Value, err)
	}

	t.Log("kill node2 and node3: below 2/3 of the power, the chain halts")
	cl.Kill(2)
	cl.Kill(3)
	atKill := maxOf(cl.Heights(ctx))
	// Let in-flight votes and block gossip between the survivors settle,
	// then watch for many block times and propose timeouts.
	time.Sleep(3 * time.Second)
	settled := cl.Heights(ctx)
	if maxOf(settled) > atKill+1 {
		t.Fatalf("heights %v after losing half the power; were at most %d at the kill", settled, atKill)
	}
	time.Sleep(5 * time.Second)
	if later := cl.Heights(ctx); !slices.Equal(later, settled) {
		t.Fatalf("chain advanced without 2/3 of the power: heights %v, then %v", settled, later)
	}

	t.Log("restart node2: the chain resumes")
	cl.Start(2)
	resume := maxOf(settled) + 2
	for _, i := range []int{0, 1, 2} {
		wait(i, resume)
	}
	if err := cl.SameBlock(ctx, resume, 0, 1, 2); err != nil {
		t.Fatal(err)
	}
	commit(2, "phase=resumed")
}

type committedTx struct {
	tx     []byte
	key    string
	value  string
	result chain.TxResult
}

// Crash safety: a validator under continuous tx load is killed with
// SIGKILL and restarted from the same home. Every tx reported committed
// before the kill is still in its block and in the app state, and no height
// is lost.
func TestCrashSafetyUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a validator process under load; run without -short")
	}
	net, err := chain.InitTestnet(chain.TestnetOptions{
		N: 1, OutDir: t.TempDir(), ChainID: "crash", BasePort: freePorts(t, 1), BlockTime: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	cl := chaintest.NewCluster(t, net, helperCommand(t))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl.Start(0)
	rc, err := cl.Dial(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}

	const senders, wantBeforeKill = 8, 300
	var (
		mu        sync.Mutex // guards committed
		committed []committedTx
	)
	loadCtx, stopLoad := context.WithCancel(ctx)
	enough := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; loadCtx.Err() == nil; k++ {
				key, value := fmt.Sprintf("crash-%d-%d", g, k), fmt.Sprintf("v%d", k)
				tx := []byte(key + "=" + value)
				r, err := rc.BroadcastCommit(loadCtx, tx)
				if err != nil {
					return // the node is gone or the test is over
				}
				if !r.OK() {
					t.Errorf("tx %s: code %d %s", key, r.Code, r.Log)
					return
				}
				mu.Lock()
				committed = append(committed, committedTx{tx: tx, key: key, value: value, result: r})
				if len(committed) >= wantBeforeKill {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		}()
	}
	select {
	case <-enough:
	case <-ctx.Done():
		t.Fatalf("only %d txs committed before the deadline", len(committed))
	}
	st, err := rc.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cl.Kill(0) // the senders are still submitting
	stopLoad()
	wg.Wait()
	rc.Close()

	mu.Lock()
	done := slices.Clone(committed)
	mu.Unlock()
	lastSeen := st.LatestHeight
	for _, c := range done {
		lastSeen = max(lastSeen, c.result.Height)
	}
	t.Logf("%d txs committed up to height %d before kill -9", len(done), lastSeen)

	cl.Start(0)
	if _, err := cl.WaitHeight(ctx, 0, lastSeen); err != nil {
		t.Fatalf("height after restart: %v (had reached %d)", err, lastSeen)
	}
	rc2, err := cl.Dial(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rc2.Close()
	blocks := map[int64]chain.Block{}
	for _, c := range done {
		q, err := rc2.Query(ctx, "", []byte(c.key))
		if err != nil {
			t.Fatal(err)
		}
		if string(q.Value) != c.value {
			t.Errorf("%s = %q after restart, want %q", c.key, q.Value, c.value)
		}
		b, ok := blocks[c.result.Height]
		if !ok {
			if b, err = rc2.Block(ctx, c.result.Height); err != nil {
				t.Fatal(err)
			}
			blocks[c.result.Height] = b
		}
		if int(c.result.Index) >= len(b.Txs) || !bytes.Equal(b.Txs[c.result.Index], c.tx) {
			t.Errorf("%s: not at index %d of block %d after restart", c.key, c.result.Index, c.result.Height)
		}
	}
	if r, err := rc2.BroadcastCommit(ctx, []byte("after=crash")); err != nil || r.Height <= lastSeen {
		t.Errorf("commit after restart = %+v, %v; want a height above %d", r, err, lastSeen)
	}
}
