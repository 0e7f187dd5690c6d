package gateway

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
)

// scrape GETs url (a /metrics endpoint) and returns its samples by series
// ("name{labels}" as the text format writes it) with their values.
func scrape(t *testing.T, url string) map[string]string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	out := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		out[line[:i]] = line[i+1:]
	}
	return out
}

// TestMetrics: after a miss, a cache hit, an unknown model and a bad key,
// GET /metrics (no auth) reports each by route, model and status, the
// tokens of the one answered request and the cache lookups.
func TestMetrics(t *testing.T) {
	miner := testKey(t, 3)
	user := testKey(t, 8).Address()
	srv := signingMiner(t, miner, nil)
	reg := prometheus.NewRegistry()
	g, gsrv := newTestGateway(t, []Miner{{Hotkey: miner.Address(), Endpoint: srv.URL, Digest: pinned}}, Options{Metrics: reg})
	g.accts.endDeposit("h", user, 1_000_000, true)
	req := `{"model":"tiny","prompt":"hi","max_tokens":10,"temperature":0}`
	for range 2 {
		if s, v := post(t, gsrv.URL+"/v1/completions", "sk-user", req); s != 200 {
			t.Fatalf("status %d %v", s, v)
		}
	}
	if s, _ := post(t, gsrv.URL+"/v1/completions", "sk-user", `{"model":"nope","prompt":"hi"}`); s != 404 {
		t.Fatalf("unknown model: status %d", s)
	}
	if s, _ := post(t, gsrv.URL+"/v1/completions", "sk-wrong", req); s != 401 {
		t.Fatalf("bad key: status %d", s)
	}
	got := scrape(t, gsrv.URL+"/metrics")
	want := map[string]string{
		`deai_gateway_requests_total{code="200",model="tiny",route="POST /v1/completions"}`:      "2",
		`deai_gateway_requests_total{code="404",model="",route="POST /v1/completions"}`:          "1",
		`deai_gateway_requests_total{code="401",model="",route="POST /v1/completions"}`:          "1",
		`deai_gateway_request_duration_seconds_count{model="tiny",route="POST /v1/completions"}`: "2",
		`deai_gateway_tokens_total{kind="completion",model="tiny"}`:                              "6",
		`deai_gateway_tokens_total{kind="prompt",model="tiny"}`:                                  "4",
		`deai_gateway_cache_requests_total{result="hit"}`:                                        "1",
		`deai_gateway_cache_requests_total{result="miss"}`:                                       "1",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// Vouchers and settlements have series only once something happens.
	g.m.voucher(true, 50)
	g.m.voucher(false, 7)
	g.m.settled(true, 30)
	g.m.settled(false, 0)
	got = scrape(t, gsrv.URL+"/metrics")
	pick := map[string]string{}
	for _, k := range []string{
		`deai_gateway_vouchers_total{outcome="kept"}`, `deai_gateway_voucher_amount_total{outcome="kept"}`,
		`deai_gateway_vouchers_total{outcome="dropped"}`, `deai_gateway_voucher_amount_total{outcome="dropped"}`,
		`deai_gateway_settlements_total{outcome="ok"}`, `deai_gateway_settlements_total{outcome="failed"}`, `deai_gateway_settled_amount_total`,
	} {
		pick[k] = got[k]
	}
	if diff := cmp.Diff(map[string]string{
		`deai_gateway_vouchers_total{outcome="kept"}`: "1", `deai_gateway_voucher_amount_total{outcome="kept"}`: "50",
		`deai_gateway_vouchers_total{outcome="dropped"}`: "1", `deai_gateway_voucher_amount_total{outcome="dropped"}`: "7",
		`deai_gateway_settlements_total{outcome="ok"}`: "1", `deai_gateway_settlements_total{outcome="failed"}`: "1", `deai_gateway_settled_amount_total`: "30",
	}, pick); diff != "" {
		t.Errorf("payment series (-want +got):\n%s", diff)
	}
}

// TestNoMetrics: without Options.Metrics there is no /metrics route.
func TestNoMetrics(t *testing.T) {
	_, gsrv := newTestGateway(t, nil, Options{})
	resp, err := http.Get(gsrv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /metrics without a registry: status %d, want 404", resp.StatusCode)
	}
}
