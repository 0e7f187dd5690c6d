package chain_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/chain/chaintest"
)

const testBlockTime = 100 * time.Millisecond

// initSingle makes a one-validator home with free ports.
func initSingle(t *testing.T, chainID string) chain.HomeInfo {
	t.Helper()
	base := freePorts(t, 1)
	info, err := chain.InitHome(chain.HomeOptions{
		Home:      filepath.Join(t.TempDir(), "home"),
		ChainID:   chainID,
		BlockTime: testBlockTime,
		P2PAddr:   "tcp://127.0.0.1:" + strconv.Itoa(base),
		RPCAddr:   "tcp://127.0.0.1:" + strconv.Itoa(base+1),
	})
	if err != nil {
		t.Fatal(err)
	}
	return info
}

// startNode runs a kvstore node on home until the test ends or stop is
// called; stop closes the node and then the app, in that order.
func startNode(t *testing.T, home string) (n *chain.Node, stop func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	app := kvstore.NewPersistentApplication(filepath.Join(home, "data"))
	n, err := chain.NewNode(ctx, chain.NodeOptions{Home: home, App: app, Logger: slog.New(slog.NewTextHandler(testWriter{t}, nil))})
	if err != nil {
		app.Close()
		t.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		app.Close()
		t.Fatal(err)
	}
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		if err := n.Stop(); err != nil {
			t.Errorf("stop node: %v", err)
		}
		if err := app.Close(); err != nil {
			t.Errorf("close app: %v", err)
		}
	}
	t.Cleanup(stop)
	return n, stop
}

// testWriter sends CometBFT's error records to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func TestNodeSingleValidator(t *testing.T) {
	info := initSingle(t, "single")
	n, stop := startNode(t, info.Home)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := n.Client()

	t.Run("BlocksAdvanceAtBlockTime", func(t *testing.T) {
		blocks, err := c.Subscribe(ctx, chain.QueryNewBlock)
		if err != nil {
			t.Fatal(err)
		}
		var times []time.Time
		for len(times) < 4 {
			select {
			case ev := <-blocks:
				times = append(times, ev.Block.Time)
			case <-ctx.Done():
				t.Fatal("no blocks")
			}
		}
		// A block's time is its predecessor's commit time, and the next
		// height starts timeout_commit after a commit: consecutive blocks
		// are at least the block time apart.
		for i := 2; i < len(times); i++ {
			if d := times[i].Sub(times[i-1]); d < testBlockTime {
				t.Errorf("blocks %d apart, below the block time %v", d, testBlockTime)
			}
		}
	})

	t.Run("LocalConformance", func(t *testing.T) {
		chaintest.RunConformance(t, c, "single", chaintest.KVStoreFixture("local"))
	})

	t.Run("RPCConformance", func(t *testing.T) {
		rc, err := chain.Dial(ctx, n.RPCAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		chaintest.RunConformance(t, rc, "single", chaintest.KVStoreFixture("rpc"))
		st, err := rc.Status(ctx)
		if err != nil || st.NodeID != info.NodeID || !bytes.Equal(st.ValidatorAddress, info.ValidatorAddress) {
			t.Errorf("RPC Status = node %q validator %X, %v; want %q %X", st.NodeID, st.ValidatorAddress, err, info.NodeID, info.ValidatorAddress)
		}
		if err := rc.Close(); err != nil {
			t.Error(err)
		}
		if _, err := rc.Status(ctx); !errors.Is(err, chain.ErrClosed) {
			t.Errorf("Status after Close: %v, want ErrClosed", err)
		}
	})

	// Restart in the same process from the same home: the databases must
	// have been closed (no "lock held by current process"), the height and
	// the state kept.
	r, err := c.BroadcastCommit(ctx, []byte("restart=kept"))
	if err != nil || !r.OK() {
		t.Fatalf("BroadcastCommit = %+v, %v", r, err)
	}
	stop()
	if _, err := c.Status(ctx); !errors.Is(err, chain.ErrClosed) {
		t.Errorf("Status on a stopped node: %v, want ErrClosed", err)
	}
	before := n.Height()

	n2, _ := startNode(t, info.Home)
	c2 := n2.Client()
	st, err := c2.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.LatestHeight < before {
		t.Errorf("after restart height %d, was %d", st.LatestHeight, before)
	}
	q, err := c2.Query(ctx, "", []byte("restart"))
	if err != nil || string(q.Value) != "kept" {
		t.Errorf("Query after restart = %q, %v; want kept", q.Value, err)
	}
	r2, err := c2.BroadcastCommit(ctx, []byte("after=restart"))
	if err != nil || !r2.OK() || r2.Height <= before {
		t.Errorf("commit after restart = %+v, %v; want a height above %d", r2, err, before)
	}
}

func TestNewNodeErrors(t *testing.T) {
	ctx := context.Background()
	app := kvstore.NewInMemoryApplication()
	tests := []struct {
		name string
		opts chain.NodeOptions
		want error
	}{
		{"no app", chain.NodeOptions{Home: t.TempDir()}, nil},
		{"empty home", chain.NodeOptions{Home: t.TempDir(), App: app}, chain.ErrNotInitialized},
		{"bad log level", chain.NodeOptions{Home: initSingle(t, "x").Home, App: app, LogLevel: "loud"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := chain.NewNode(ctx, tt.opts)
			if err == nil {
				n.Stop()
				t.Fatal("NewNode succeeded")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
}

// A node built but never started releases its databases on Stop, so the
// home can be opened again in the same process.
func TestNodeStopWithoutStart(t *testing.T) {
	info := initSingle(t, "nostart")
	for i := range 2 {
		app := kvstore.NewInMemoryApplication()
		n, err := chain.NewNode(context.Background(), chain.NodeOptions{Home: info.Home, App: app})
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		if err := n.Stop(); err != nil {
			t.Fatalf("round %d: stop: %v", i, err)
		}
	}
}

// The kv tx indexer opens a database CometBFT never closes; the node closes
// it so that a restart in the same process works.
func TestNodeRestartWithKVIndexer(t *testing.T) {
	base := freePorts(t, 1)
	info, err := chain.InitHome(chain.HomeOptions{
		Home: t.TempDir(), ChainID: "kvidx", BlockTime: testBlockTime, TxIndexer: "kv",
		P2PAddr: fmt.Sprintf("tcp://127.0.0.1:%d", base), RPCAddr: fmt.Sprintf("tcp://127.0.0.1:%d", base+1),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i := range 2 {
		n, stop := startNode(t, info.Home)
		if r, err := n.Client().BroadcastCommit(ctx, []byte(fmt.Sprintf("round%d=x", i))); err != nil || !r.OK() {
			t.Fatalf("round %d: %+v, %v", i, r, err)
		}
		stop()
	}
}
