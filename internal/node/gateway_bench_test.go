package node_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/gateway"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wire"
)

// fastBackend answers completions at once, streamed (8 chunks, usage,
// [DONE]) or not, so that the benchmarks measure the gateway and the
// miner's wrapper, not an engine.
func fastBackend() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !bytes.Contains(body, []byte(`"stream":true`)) {
			garbageBackend().ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for range 8 {
			io.WriteString(w, `data: {"id":"c","object":"text_completion","choices":[{"index":0,"text":" the"}]}`+"\n\n") //nolint:errcheck // bench
		}
		io.WriteString(w, `data: {"id":"c","object":"text_completion","choices":[],"usage":{"prompt_tokens":4,"completion_tokens":8,"total_tokens":12}}`+"\n\n") //nolint:errcheck // bench
		io.WriteString(w, "data: [DONE]\n\n")                                                                                                                    //nolint:errcheck // bench
	})
}

// benchGateway is a gateway without rate or stream limits in front of
// two fast miners, with a funded key.
func benchGateway(b *testing.B) (*settleNet, *gateway.Gateway, *httptest.Server) {
	b.Helper()
	n := newSettleNetWith(b, fastBackend())
	g, err := gateway.New(gateway.Options{Key: n.gwKey, Network: &gateway.LedgerNetwork{Client: n.e.c, Netuids: []uint16{1}}, Chain: n.e.c,
		Keys: map[string]tx.Address{"sk-user": n.user.Address()}, RatePerSecond: -1, MaxStreams: -1,
		Client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, DisableCompression: true}}})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	b.Cleanup(srv.Close)
	hash := n.e.send(n.user, &tx.MsgSend{From: n.user.Address(), To: g.Address(), Amount: 900 * tx.UnitsPerDEAI})
	benchPost(b, srv.URL+"/v1/deposits", `{"tx_hash":"`+hash+`"}`)
	return n, g, srv
}

var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 512, MaxConnsPerHost: 0, DisableCompression: true}}

func benchPost(b *testing.B, url, body string) []byte {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer sk-user")
	resp, err := benchClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("%s: %d %s", url, resp.StatusCode, out)
	}
	return out
}

func percentile(ds []time.Duration, p float64) time.Duration {
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

// BenchmarkGatewayAddedLatency times the same non-cached completion sent
// to a miner directly (signed with the gateway's hotkey) and through the
// gateway, alternately; the metrics are the differences of the p50 and
// p99 latencies.
func BenchmarkGatewayAddedLatency(b *testing.B) {
	n, _, srv := benchGateway(b)
	ms, err := (&gateway.LedgerNetwork{Client: n.e.c, Netuids: []uint16{1}}).Models(b.Context())
	if err != nil || len(ms) != 1 || len(ms[0].Miners) == 0 {
		b.Fatalf("models %v, err %v", ms, err)
	}
	mn := ms[0].Miners[0]
	body := `{"model":"tiny","prompt":"Once","max_tokens":8,"temperature":0.8}`
	direct := func() {
		mb := []byte(`{"max_tokens":8,"prompt":"Once","temperature":0.8}`)
		req, _ := http.NewRequest(http.MethodPost, mn.Endpoint+"/v1/completions", bytes.NewReader(mb))
		req.Header.Set("Content-Type", "application/json")
		wire.Sign(req, mb, n.gwKey, mn.Hotkey)
		resp, err := benchClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // bench
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("direct: %d", resp.StatusCode)
		}
	}
	viaGW := func() { benchPost(b, srv.URL+"/v1/completions", body) }
	direct()
	viaGW()
	var dd, gd []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		direct()
		t1 := time.Now()
		viaGW()
		dd, gd = append(dd, t1.Sub(t0)), append(gd, time.Since(t1))
	}
	b.StopTimer()
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(us(percentile(dd, 0.5)), "direct-p50-µs")
	b.ReportMetric(us(percentile(gd, 0.5)), "gateway-p50-µs")
	b.ReportMetric(us(percentile(gd, 0.5)-percentile(dd, 0.5)), "added-p50-µs")
	b.ReportMetric(us(percentile(gd, 0.99)-percentile(dd, 0.99)), "added-p99-µs")
}

// BenchmarkGatewayCacheHit is deterministic requests answered from the
// cache, from parallel clients.
func BenchmarkGatewayCacheHit(b *testing.B) {
	_, _, srv := benchGateway(b)
	body := `{"model":"tiny","prompt":"Once","max_tokens":8,"temperature":0}`
	benchPost(b, srv.URL+"/v1/completions", body)
	b.SetParallelism(8)
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer sk-user")
			resp, err := benchClient.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body) //nolint:errcheck // bench
			resp.Body.Close()
			if resp.Header.Get(gateway.HeaderCache) != "hit" {
				b.Errorf("status %d, not a cache hit", resp.StatusCode)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkGateway200Streams opens 200 streams at once; every one must
// end with [DONE]. An op is all 200.
func BenchmarkGateway200Streams(b *testing.B) {
	_, _, srv := benchGateway(b)
	body := `{"model":"tiny","prompt":"Once","max_tokens":8,"stream":true}`
	for b.Loop() {
		var wg sync.WaitGroup
		errs := make(chan string, 200)
		for range 200 {
			wg.Go(func() {
				req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/completions", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer sk-user")
				resp, err := benchClient.Do(req)
				if err != nil {
					errs <- err.Error()
					return
				}
				out, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !bytes.HasSuffix(bytes.TrimSpace(out), []byte("data: [DONE]")) {
					errs <- string(out)
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			b.Fatalf("a stream failed: %s", e)
		}
	}
}
