package chaintest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/chain"
)

func newTwin(t *testing.T, o Options) *Client {
	t.Helper()
	if o.App == nil {
		o.App = kvstore.NewInMemoryApplication()
	}
	c, err := New(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestTwinConformance(t *testing.T) {
	t.Run("Immediate", func(t *testing.T) {
		c := newTwin(t, Options{ChainID: "twin-immediate"})
		RunConformance(t, c, "twin-immediate", KVStoreFixture("imm"))
	})
	t.Run("ManualWithTicker", func(t *testing.T) {
		c := newTwin(t, Options{ChainID: "twin-ticker", Mode: Manual})
		ctx, cancel := context.WithCancel(context.Background())
		tick := time.NewTicker(10 * time.Millisecond)
		done := make(chan error, 1)
		go func() { done <- c.Run(ctx, tick.C) }()
		t.Cleanup(func() {
			cancel()
			tick.Stop()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
		RunConformance(t, c, "twin-ticker", KVStoreFixture("tick"))
	})
}

func TestTwinManualBlocks(t *testing.T) {
	ctx := context.Background()
	c := newTwin(t, Options{Mode: Manual, MempoolSize: 2})
	for i, tx := range []string{"a=1", "b=2"} {
		r, err := c.BroadcastSync(ctx, []byte(tx))
		if err != nil || r.Code != 0 {
			t.Fatalf("tx %d: %+v, %v", i, r, err)
		}
	}
	if _, err := c.BroadcastSync(ctx, []byte("c=3")); !errors.Is(err, chain.ErrMempoolFull) {
		t.Fatalf("third tx into a 2-tx mempool: %v, want ErrMempoolFull", err)
	}
	if got := c.Height(); got != 0 {
		t.Fatalf("height before any block = %d", got)
	}
	b, err := c.NextBlock(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := chain.Block{
		ChainID: DefaultChainID, Height: 1, Time: DefaultGenesisTime.Add(DefaultBlockStep),
		Txs: [][]byte{[]byte("a=1"), []byte("b=2")},
	}
	opts := cmp.FilterPath(func(p cmp.Path) bool {
		n := p.Last().String()
		return n == ".Hash" || n == ".AppHash" || n == ".ProposerAddress" || n == ".LastBlockHash"
	}, cmp.Ignore())
	if diff := cmp.Diff(want, b, opts); diff != "" {
		t.Errorf("NextBlock (-want +got):\n%s", diff)
	}
	if c.Pending() != 0 {
		t.Errorf("pending after block = %d", c.Pending())
	}
	res, err := c.TxResults(1)
	if err != nil || len(res) != 2 || res[1].Index != 1 || res[1].Height != 1 {
		t.Errorf("TxResults(1) = %+v, %v", res, err)
	}
	q, err := c.Query(ctx, "", []byte("b"))
	if err != nil || string(q.Value) != "2" {
		t.Errorf("Query(b) = %+v, %v", q, err)
	}
	// An empty block still advances the chain.
	if b2, err := c.NextBlock(ctx); err != nil || b2.Height != 2 || !bytes.Equal(b2.LastBlockHash, b.Hash) {
		t.Errorf("empty NextBlock = %+v, %v", b2, err)
	}
}

// Two twins fed the same txs agree on every block and app hash: the twin is
// deterministic, so service tests built on it are too.
func TestTwinDeterministic(t *testing.T) {
	ctx := context.Background()
	run := func() []chain.Block {
		c := newTwin(t, Options{ChainID: "det"})
		var out []chain.Block
		for i := range 5 {
			r, err := c.BroadcastCommit(ctx, []byte(fmt.Sprintf("k%d=v%d", i, i)))
			if err != nil || !r.OK() {
				t.Fatalf("tx %d: %+v, %v", i, r, err)
			}
			b, err := c.Block(ctx, r.Height)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, b)
		}
		return out
	}
	a, b := run(), run()
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("two identical runs differ (-first +second):\n%s", diff)
	}
}

// A persistent app keeps its state across twins, as across node restarts.
func TestTwinRestartPersistentApp(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	app := kvstore.NewPersistentApplication(dir)
	c := newTwin(t, Options{App: app})
	for i := range 3 {
		if _, err := c.BroadcastCommit(ctx, []byte(fmt.Sprintf("k%d=v", i))); err != nil {
			t.Fatal(err)
		}
	}
	before, _ := c.Status(ctx)
	c.Close()
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}

	app2 := kvstore.NewPersistentApplication(dir)
	t.Cleanup(func() { app2.Close() })
	c2 := newTwin(t, Options{App: app2})
	after, err := c2.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.LatestHeight != before.LatestHeight || !bytes.Equal(after.LatestAppHash, before.LatestAppHash) {
		t.Errorf("after restart height %d app hash %X, want %d %X", after.LatestHeight, after.LatestAppHash, before.LatestHeight, before.LatestAppHash)
	}
	r, err := c2.BroadcastCommit(ctx, []byte("k9=v"))
	if err != nil || r.Height != before.LatestHeight+1 {
		t.Errorf("first commit after restart = height %d, %v; want %d", r.Height, err, before.LatestHeight+1)
	}
	if q, err := c2.Query(ctx, "", []byte("k1")); err != nil || string(q.Value) != "v" {
		t.Errorf("Query(k1) after restart = %+v, %v", q, err)
	}
}

func TestTwinClosed(t *testing.T) {
	ctx := context.Background()
	c := newTwin(t, Options{Mode: Manual})
	sub, err := c.Subscribe(ctx, chain.QueryNewBlock)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() {
		_, err := c.BroadcastCommit(ctx, []byte("x=1"))
		waited <- err
	}()
	for c.Pending() == 0 { // bounded: the goroutine above submits at once
		time.Sleep(time.Millisecond)
	}
	c.Close()
	if err := <-waited; !errors.Is(err, chain.ErrClosed) {
		t.Errorf("pending BroadcastCommit after Close: %v, want ErrClosed", err)
	}
	for range sub { // must end
	}
	if _, err := c.Status(ctx); !errors.Is(err, chain.ErrClosed) {
		t.Errorf("Status after Close: %v, want ErrClosed", err)
	}
}

func TestNewNeedsApp(t *testing.T) {
	if _, err := New(context.Background(), Options{}); err == nil {
		t.Error("New without an app succeeded")
	}
}
