package chain

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cometbft/cometbft/abci/example/kvstore"
	rpclocal "github.com/cometbft/cometbft/rpc/client/local"
)

// benchNode runs a kvstore node with ports picked by the OS.
func benchNode(b *testing.B, blockTime time.Duration) *Node {
	b.Helper()
	info, err := InitHome(HomeOptions{
		Home: b.TempDir(), ChainID: "bench", BlockTime: blockTime,
		RPCAddr: "tcp://127.0.0.1:0", P2PAddr: "tcp://127.0.0.1:0",
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	n, err := NewNode(ctx, NodeOptions{Home: info.Home, App: kvstore.NewInMemoryApplication()})
	if err != nil {
		b.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Stop() })
	return n
}

// BenchmarkBroadcastSync compares the two in-process submit paths: straight
// into the mempool (what Node.Client uses) and through CometBFT's
// rpc/client/local. Blocks are slow so that the mempool only grows.
func BenchmarkBroadcastSync(b *testing.B) {
	ctx := context.Background()
	var seq atomic.Int64
	nextTx := func() []byte {
		i := seq.Add(1)
		return []byte("k" + strconv.FormatInt(i, 10) + "=v")
	}
	b.Run("mempool", func(b *testing.B) {
		n := benchNode(b, time.Minute)
		mp := n.node.Mempool()
		b.ResetTimer()
		for range b.N {
			r, err := checkTxMempool(ctx, mp, nextTx())
			if err != nil || r.Code != 0 {
				b.Fatal(r, err)
			}
		}
	})
	b.Run("rpc-local", func(b *testing.B) {
		n := benchNode(b, time.Minute)
		lc := rpclocal.New(n.node)
		b.ResetTimer()
		for range b.N {
			r, err := lc.BroadcastTxSync(ctx, nextTx())
			if err != nil || r.Code != 0 {
				b.Fatal(r, err)
			}
		}
	})
}

// BenchmarkBroadcastCommit measures committed txs per second through the
// in-process client with many concurrent senders sharing one block
// subscription. 2048 senders keep blocks full: with fewer, throughput is
// bounded by senders × block rate, not by the client.
func BenchmarkBroadcastCommit(b *testing.B) {
	n := benchNode(b, 100*time.Millisecond)
	c := n.Client()
	ctx := context.Background()
	var seq atomic.Int64
	b.SetParallelism(1024)
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tx := []byte("k" + strconv.FormatInt(seq.Add(1), 10) + "=v")
			r, err := c.BroadcastCommit(ctx, tx)
			if err != nil || !r.OK() {
				b.Error(r, err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tx/s")
}
