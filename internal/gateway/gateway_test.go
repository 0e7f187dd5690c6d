package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

type staticNetwork []Model

func (s staticNetwork) Models(context.Context) ([]Model, error) { return s, nil }

func testKey(t *testing.T, seed byte) *wallet.Key {
	t.Helper()
	k, err := wallet.FromSeed(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

const pinned = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

// stubMiner counts requests, announces each on arrived and blocks until
// release is closed, then answers 500.
type stubMiner struct {
	srv     *httptest.Server
	hits    atomic.Int64
	arrived chan struct{}
	release chan struct{}
}

func newStubMiner(t *testing.T) *stubMiner {
	s := &stubMiner{arrived: make(chan struct{}, 16), release: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.hits.Add(1)
		s.arrived <- struct{}{}
		<-s.release
		http.Error(w, "down", http.StatusInternalServerError)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func newTestGateway(t *testing.T, miners []Miner, o Options) (*Gateway, *httptest.Server) {
	t.Helper()
	o.Key = testKey(t, 9)
	o.Network = staticNetwork{{ID: "tiny", Netuid: 1, Task: "text-generation", Digest: pinned, Miners: miners}}
	if o.Keys == nil {
		o.Keys = map[string]tx.Address{"sk-user": testKey(t, 8).Address()}
	}
	g, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	return g, srv
}

func post(t *testing.T, url, key, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatalf("%s: status %d, body not JSON: %v", url, resp.StatusCode, err)
	}
	return resp.StatusCode, v
}

// TestBadInput: each bad request gets its status and an OpenAI error
// object, and no miner sees it.
func TestBadInput(t *testing.T) {
	stub := newStubMiner(t)
	close(stub.release)
	miners := []Miner{{Hotkey: testKey(t, 3).Address(), Endpoint: stub.srv.URL, Digest: pinned}}
	g, srv := newTestGateway(t, miners, Options{MaxBody: 1024})
	g.accts.endDeposit("h", testKey(t, 8).Address(), 1_000_000, true)
	tests := []struct {
		name, key, body, code string
		status                int
	}{
		{"missing key", "", `{"model":"tiny","prompt":"x"}`, "invalid_api_key", 401},
		{"invalid key", "sk-nope", `{"model":"tiny","prompt":"x"}`, "invalid_api_key", 401},
		{"unknown model", "sk-user", `{"model":"gpt-9","prompt":"x"}`, "model_not_found", 404},
		{"malformed JSON", "sk-user", `{"model":"tiny",`, "invalid_json", 400},
		{"not an object", "sk-user", `[1,2]`, "invalid_json", 400},
		{"oversize body", "sk-user", `{"model":"tiny","prompt":"` + strings.Repeat("x", 2000) + `"}`, "request_too_large", 413},
		{"negative max_tokens", "sk-user", `{"model":"tiny","prompt":"x","max_tokens":-1}`, "invalid_value", 400},
		{"wrong type", "sk-user", `{"model":"tiny","prompt":"x","max_tokens":"many"}`, "invalid_value", 400},
		{"missing model", "sk-user", `{"prompt":"x"}`, "invalid_value", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, v := post(t, srv.URL+"/v1/completions", tt.key, tt.body)
			e, _ := v["error"].(map[string]any)
			if status != tt.status || e == nil || e["code"] != tt.code || e["message"] == "" || e["type"] == nil {
				t.Errorf("status %d, body %v; want %d with code %q", status, v, tt.status, tt.code)
			}
		})
	}
	if n := stub.hits.Load(); n != 0 {
		t.Errorf("the miner saw %d requests", n)
	}
}

// TestTooManyStreams: with a cap of one stream per key, a second stream
// while the first is open gets 429; the first, which then fails at the
// miner, is not charged.
func TestTooManyStreams(t *testing.T) {
	stub := newStubMiner(t)
	user := testKey(t, 8).Address()
	miners := []Miner{{Hotkey: testKey(t, 3).Address(), Endpoint: stub.srv.URL, Digest: pinned}}
	g, srv := newTestGateway(t, miners, Options{MaxStreams: 1, MaxAttempts: 1})
	g.accts.endDeposit("h", user, 1_000_000, true)
	body := `{"model":"tiny","prompt":"x","stream":true,"max_tokens":5}`
	first := make(chan int, 1)
	go func() {
		s, _ := post(t, srv.URL+"/v1/completions", "sk-user", body)
		first <- s
	}()
	<-stub.arrived // the first stream holds its slot
	status, v := post(t, srv.URL+"/v1/completions", "sk-user", body)
	if e, _ := v["error"].(map[string]any); status != 429 || e["code"] != "too_many_streams" {
		t.Errorf("second stream: %d %v, want 429 too_many_streams", status, v)
	}
	close(stub.release)
	if s := <-first; s != http.StatusBadGateway {
		t.Errorf("first stream: status %d, want 502 (its only miner failed)", s)
	}
	if u := g.accts.usage(user); u.Spent != 0 || u.Held != 0 || u.Balance != 1_000_000 {
		t.Errorf("usage after a failed request: %+v; want nothing spent or held", u)
	}
}

// TestRouterPinnedDigestAndBreaker: a miner publishing another digest is
// never picked, and a miner that failed BreakerThreshold times is skipped
// until the cooldown ends.
func TestRouterPinnedDigestAndBreaker(t *testing.T) {
	now := time.Unix(1000, 0)
	r := newRouter("eu", 2, time.Minute, func() time.Time { return now })
	good, rogue, other := testKey(t, 3).Address(), testKey(t, 4).Address(), testKey(t, 5).Address()
	ms := []Miner{
		{Hotkey: rogue, Digest: "bbbb", Incentive: 1, Trust: 1, Region: "eu"},
		{Hotkey: good, Digest: pinned, Incentive: 0.5, Region: "eu"},
		{Hotkey: other, Digest: pinned, Incentive: 0.5, Region: "us"},
	}
	for range 20 {
		m, ok := r.pick(ms, pinned, nil)
		if !ok || m.Hotkey == rogue {
			t.Fatalf("picked %v %v", m.Hotkey, ok)
		}
		if m.Hotkey != good {
			t.Errorf("picked %s, want the preferred region's miner", m.Hotkey)
		}
		r.done(m.Hotkey, true, 10*time.Millisecond)
	}
	for range 2 {
		m, _ := r.pick(ms, pinned, map[tx.Address]bool{other: true})
		r.done(m.Hotkey, false, 0)
	}
	if m, ok := r.pick(ms, pinned, nil); !ok || m.Hotkey != other {
		t.Fatalf("with good's breaker open picked %v %v, want other", m.Hotkey, ok)
	}
	r.done(other, true, 10*time.Millisecond)
	now = now.Add(2 * time.Minute)
	if m, ok := r.pick(ms, pinned, nil); !ok || m.Hotkey != good {
		t.Errorf("after the cooldown picked %v %v, want good (half-open trial)", m.Hotkey, ok)
	}
}
