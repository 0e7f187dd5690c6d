package chain_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/deai-network/deai/internal/chain"
)

// TestMetrics follows a real node: deai_block_height tracks the node's
// height, and every block after the first adds an interval and a txs
// sample.
func TestMetrics(t *testing.T) {
	info := initSingle(t, "metrics-chain")
	n, stop := startNode(t, info.Home)
	defer stop()
	reg := prometheus.NewRegistry()
	m, err := chain.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, n.Client()) }()
	deadline := time.Now().Add(30 * time.Second)
	for n.Height() < 5 && time.Now().Before(deadline) {
		time.Sleep(testBlockTime)
	}
	time.Sleep(testBlockTime) // let the last NewBlock event arrive
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, f := range fams {
		mt := f.GetMetric()[0]
		switch {
		case mt.GetGauge() != nil:
			got[f.GetName()] = mt.GetGauge().GetValue()
		case mt.GetHistogram() != nil:
			got[f.GetName()+"_count"] = float64(mt.GetHistogram().GetSampleCount())
		}
	}
	height := got["deai_block_height"]
	if height < 5 || height > float64(n.Height()) {
		t.Errorf("deai_block_height = %v, want 5..%d", height, n.Height())
	}
	// Run saw blocks from its subscription on: each one a txs sample, each
	// after the first an interval.
	if txs, iv := got["deai_block_txs_count"], got["deai_block_interval_seconds_count"]; txs < 2 || iv != txs-1 {
		t.Errorf("txs samples %v, interval samples %v: want at least 2, and one fewer intervals", txs, iv)
	}
}
