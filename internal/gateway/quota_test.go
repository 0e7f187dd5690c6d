package gateway

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
	"github.com/deai-network/deai/internal/wire"
)

// A signingMiner's receipt counts these tokens for every answer.
const answerPrompt, answerCompletion = 4, 6

// signingMiner answers every request at once with a completion and a valid
// receipt for answerPrompt+answerCompletion tokens, after gate (if set)
// returns; gate sees the request's context.
func signingMiner(t *testing.T, k *wallet.Key, gate func(*http.Request)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if gate != nil {
			gate(r)
			if r.Context().Err() != nil {
				return
			}
		}
		resp := fmt.Appendf(nil, `{"object":"text_completion","choices":[{"index":0,"text":"from %s"}],"usage":{"prompt_tokens":%d,"completion_tokens":%d}}`,
			k.Address(), answerPrompt, answerCompletion)
		rc := wireReceipt(t, k, body, resp)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Deai-Receipt", rc)
		w.Write(resp) //nolint:errcheck // test
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestLoadKeysQuotas(t *testing.T) {
	a := testKey(t, 8).Address()
	tests := []struct {
		name, line string
		want       Quota
		wantErr    string
	}{
		{"plain", "sk-a " + a.String(), Quota{}, ""},
		{"all", "sk-a " + a.String() + " tokens_per_day=1000 max_spend=2deai rpm=30 streams=2",
			Quota{TokensPerDay: 1000, MaxSpend: 2 * tx.UnitsPerDEAI, RPM: 30, Streams: 2}, ""},
		{"udeai", "sk-a " + a.String() + " max_spend=15udeai", Quota{MaxSpend: 15}, ""},
		{"unknown field", "sk-a " + a.String() + " tpm=5", Quota{}, `unknown field "tpm"`},
		{"no value", "sk-a " + a.String() + " rpm=", Quota{}, "want NAME=VALUE"},
		{"not a pair", "sk-a " + a.String() + " rpm", Quota{}, "want NAME=VALUE"},
		{"zero", "sk-a " + a.String() + " rpm=0", Quota{}, "positive integer"},
		{"negative", "sk-a " + a.String() + " tokens_per_day=-3", Quota{}, "positive integer"},
		{"bare amount", "sk-a " + a.String() + " max_spend=100", Quota{}, "max_spend"},
		{"twice", "sk-a " + a.String() + " rpm=1 rpm=2", Quota{}, "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "keys")
			if err := os.WriteFile(path, []byte("# keys\n\n"+tt.line+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			keys, quotas, err := LoadKeys(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), ":3:") {
					t.Fatalf("err %v, want one naming line 3 and containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if keys["sk-a"] != a {
				t.Errorf("keys = %v", keys)
			}
			if diff := cmp.Diff(tt.want, quotas["sk-a"]); diff != "" {
				t.Errorf("quota (-want +got):\n%s", diff)
			}
		})
	}
}

// TestQuotas: a key's daily token quota and spend cap refuse requests
// with 429 and OpenAI's codes; concurrent requests cannot jointly exceed
// them, because each holds its worst case until settled; the token quota
// renews with the UTC day, the spend cap does not; a restart replays what
// each key used.
func TestQuotas(t *testing.T) {
	miner := testKey(t, 3)
	user := testKey(t, 8).Address()
	gates := make(chan chan struct{}, 64)
	srv := signingMiner(t, miner, func(r *http.Request) {
		ch := make(chan struct{})
		gates <- ch
		select {
		case <-ch:
		case <-r.Context().Done():
		}
	})
	miners := []Miner{{Hotkey: miner.Address(), Endpoint: srv.URL, Digest: pinned}}
	var mu sync.Mutex // guards now
	now := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	small := `{"model":"tiny","prompt":"hi","max_tokens":10}`
	big := `{"model":"tiny","prompt":"hi","max_tokens":60}`
	hold := uint64(10 + len(small)) // a small request's worst case, in tokens and (price 1) base units
	store := &memStore{}
	o := Options{Now: clock, Store: store, MaxAttempts: 1,
		Keys:   map[string]tx.Address{"sk-tok": user, "sk-cap": user},
		Quotas: map[string]Quota{"sk-tok": {TokensPerDay: 2 * hold}, "sk-cap": {MaxSpend: tx.Amount(2 * hold)}}}
	g, gsrv := newTestGateway(t, miners, o)
	g.accts.endDeposit("h", user, 1_000_000, true)
	wantCode := map[string]string{"sk-tok": "rate_limit_exceeded", "sk-cap": "insufficient_quota"}
	refused := func(t *testing.T, key, body string) {
		t.Helper()
		status, v := post(t, gsrv.URL+"/v1/completions", key, body)
		if e, _ := v["error"].(map[string]any); status != http.StatusTooManyRequests || e["code"] != wantCode[key] {
			t.Errorf("%s: %d %v, want 429 %s", key, status, v, wantCode[key])
		}
	}
	answered := func(t *testing.T, key, body string) {
		t.Helper()
		done := make(chan int, 1)
		go func() { s, _ := post(t, gsrv.URL+"/v1/completions", key, body); done <- s }()
		close(<-gates)
		if s := <-done; s != http.StatusOK {
			t.Errorf("%s: status %d, want 200", key, s)
		}
	}
	for _, key := range []string{"sk-tok", "sk-cap"} {
		t.Run(key, func(t *testing.T) {
			// Two requests in flight hold the whole quota: a third is
			// refused before any miner sees it.
			done := make(chan int, 2)
			for range 2 {
				go func() { s, _ := post(t, gsrv.URL+"/v1/completions", key, small); done <- s }()
			}
			held := []chan struct{}{<-gates, <-gates}
			refused(t, key, small)
			for _, ch := range held {
				close(ch)
			}
			for range 2 {
				if s := <-done; s != http.StatusOK {
					t.Errorf("held request: status %d", s)
				}
			}
			// Settled, they used 10 each of what they held: a small request
			// fits again, a big one (60 + its body) no longer does.
			answered(t, key, small)
			refused(t, key, big)
		})
	}
	mu.Lock()
	now = now.Add(24 * time.Hour)
	mu.Unlock()
	answered(t, "sk-tok", big) // a new day, a new token quota
	refused(t, "sk-cap", big)  // a spend cap is for good

	g2, err := New(Options{Key: testKey(t, 9), Network: g.o.Network, Now: clock, Store: store, Keys: o.Keys, Quotas: o.Quotas})
	if err != nil {
		t.Fatal(err)
	}
	used := 3 * (answerPrompt + answerCompletion)
	got := map[string][2]uint64{}
	for _, key := range []string{"sk-tok", "sk-cap"} {
		ks := g2.accts.keys[key]
		got[key] = [2]uint64{ks.dayTokens, uint64(ks.spent)}
	}
	want := map[string][2]uint64{"sk-tok": {answerPrompt + answerCompletion, uint64(used + answerPrompt + answerCompletion)}, "sk-cap": {0, uint64(used)}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("after a restart, [today's tokens, spent] per key (-want +got):\n%s", diff)
	}
}

// wireReceipt is the header value of k's receipt for one exchange.
func wireReceipt(t *testing.T, k *wallet.Key, req, resp []byte) string {
	t.Helper()
	r := wire.Receipt{Netuid: 1, RequestHash: sha256.Sum256(req), ResponseHash: sha256.Sum256(resp), ModelDigest: pinned,
		PromptTokens: answerPrompt, CompletionTokens: answerCompletion, TimeUnixMs: 1}
	if err := r.Sign(k); err != nil {
		t.Error(err)
		return ""
	}
	h, err := r.EncodeHeader()
	if err != nil {
		t.Error(err)
	}
	return h
}

func TestParsePrices(t *testing.T) {
	got, err := ParsePrices([]string{"stories260K=10udeai", "big@abc=0.5deai", "free=0udeai"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]tx.Amount{"stories260K": 10, "big@abc": tx.UnitsPerDEAI / 2, "free": 0}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("prices (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"stories260K", "=10udeai", "m=10", "m=", "m=-1udeai", "m=1udeai m=2udeai"} {
		if _, err := ParsePrices(strings.Fields(bad)); err == nil {
			t.Errorf("ParsePrices(%q): no error", bad)
		}
	}
}

// TestPricePerModel: a request is charged its model's price per token.
func TestPricePerModel(t *testing.T) {
	miner := testKey(t, 3)
	user := testKey(t, 8).Address()
	srv := signingMiner(t, miner, nil)
	g, gsrv := newTestGateway(t, []Miner{{Hotkey: miner.Address(), Endpoint: srv.URL, Digest: pinned}},
		Options{Prices: map[string]tx.Amount{"tiny": 7}})
	g.accts.endDeposit("h", user, 1_000_000, true)
	if s, v := post(t, gsrv.URL+"/v1/completions", "sk-user", `{"model":"tiny","prompt":"hi","max_tokens":10}`); s != 200 {
		t.Fatalf("status %d %v", s, v)
	}
	if u := g.accts.usage(user); u.Spent != 7*(answerPrompt+answerCompletion) || u.Held != 0 {
		t.Errorf("usage %+v, want spent 7 per token", u)
	}
}

// TestQuotaRPM: a key's rpm replaces the gateway-wide rate for that key
// only.
func TestQuotaRPM(t *testing.T) {
	miner := testKey(t, 3)
	user := testKey(t, 8).Address()
	srv := signingMiner(t, miner, nil)
	now := time.Unix(1000, 0)
	g, gsrv := newTestGateway(t, []Miner{{Hotkey: miner.Address(), Endpoint: srv.URL, Digest: pinned}}, Options{Now: func() time.Time { return now },
		Keys: map[string]tx.Address{"sk-slow": user, "sk-user": user}, Quotas: map[string]Quota{"sk-slow": {RPM: 2}}})
	g.accts.endDeposit("h", user, 1_000_000, true)
	body := `{"model":"tiny","prompt":"hi","max_tokens":10}`
	var got []int
	for _, key := range []string{"sk-slow", "sk-slow", "sk-slow", "sk-user", "sk-user", "sk-user"} {
		s, _ := post(t, gsrv.URL+"/v1/completions", key, body)
		got = append(got, s)
	}
	if diff := cmp.Diff([]int{200, 200, 429, 200, 200, 200}, got); diff != "" {
		t.Errorf("statuses with the clock stopped (-want +got):\n%s", diff)
	}
}
