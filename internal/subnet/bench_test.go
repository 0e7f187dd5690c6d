package subnet_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/serve"
	"github.com/deai-network/deai/internal/subnet"
	"github.com/deai-network/deai/internal/wire"
)

// BenchmarkMinerOverhead measures what a miner adds to a generation:
// "engine" calls the engine directly; "miner" sends the same request as a
// signed HTTP request over loopback to a miner on that engine (signing,
// verification, replay cache, stake check, receipt, JSON and HTTP);
// "miner-noop" is the miner over a backend that answers at once, i.e. the
// overhead alone. Each reports its p50 latency as p50-ns/op.
//
//	go test ./internal/subnet -run '^$' -bench MinerOverhead -benchtime 2000x
func BenchmarkMinerOverhead(b *testing.B) {
	eng := loadEngine(b)
	body := []byte(`{"prompt":"Once upon a time","max_tokens":8,"temperature":0}`)
	p50 := func(b *testing.B, d []time.Duration) {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		b.ReportMetric(float64(d[len(d)/2].Nanoseconds()), "p50-ns/op")
	}
	b.Run("engine", func(b *testing.B) {
		ds := make([]time.Duration, 0, b.N)
		for b.Loop() {
			start := time.Now()
			_, err := eng.backend.Complete(context.Background(), serve.CompletionRequest{Prompt: "Once upon a time", MaxTokens: 8},
				func(string) error { return nil })
			if err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(start))
		}
		p50(b, ds)
	})
	run := func(b *testing.B, backend http.Handler) {
		validator, minerKey := key(b, 1), key(b, 2)
		net := newMemNet(subnet.TaskTextGeneration)
		net.add(validator.Address(), 1000)
		m, err := subnet.NewMiner(subnet.MinerOptions{Netuid: 1, Key: minerKey, Chain: net.chain(minerKey.Address()), Backend: backend,
			Listener: listen(b), ModelDigest: eng.digest, MaxConcurrent: 64})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- m.Run(ctx) }()
		defer func() { cancel(); <-done }()
		mg, _ := net.chain(minerKey.Address()).Metagraph(ctx, 1)
		for {
			if n, ok := mg.Neuron(minerKey.Address()); ok && n.Serving.Endpoint != "" {
				break
			}
			time.Sleep(time.Millisecond)
			mg, _ = net.chain(minerKey.Address()).Metagraph(ctx, 1)
		}
		n, _ := mg.Neuron(minerKey.Address())
		url := n.Serving.Endpoint + "/v1/completions"
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
		ds := make([]time.Duration, 0, b.N)
		for b.Loop() {
			start := time.Now()
			req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
			wire.Sign(req, body, validator, minerKey.Address())
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			got, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatalf("status %d: %s", resp.StatusCode, got)
			}
			if _, err := wire.CheckResponse(resp, body, got, minerKey.Address()); err != nil {
				b.Fatal(err)
			}
			ds = append(ds, time.Since(start))
		}
		p50(b, ds)
	}
	b.Run("miner", func(b *testing.B) { run(b, eng.handler) })
	b.Run("miner-noop", func(b *testing.B) {
		run(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"choices":[{"text":"`+strings.Repeat("x", 32)+`"}],"usage":{"prompt_tokens":5,"completion_tokens":8}}`)
		}))
	})
}
