package subnet_test

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/deai-network/deai/internal/subnet"
)

// scrape GETs url (a /metrics endpoint) and returns the samples of the
// wanted series ("name{labels}" as the text format writes it).
func scrape(t *testing.T, url string, want map[string]string) map[string]string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	got := map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if i < 0 || strings.HasPrefix(line, "#") {
			continue
		}
		if _, ok := want[line[:i]]; ok {
			got[line[:i]] = line[i+1:]
		}
	}
	return got
}

// TestMetrics: a validator grades one miner for a tempo; the miner's
// GET /metrics (no signature needed) and the validator's registry report
// the requests, tokens, challenges and weights.
func TestMetrics(t *testing.T) {
	// An embedding backend that answers every request the same way, so
	// the miner's answers match the validator's reference.
	backend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.6,0.8]}],"usage":{"prompt_tokens":3,"completion_tokens":5}}`)) //nolint:errcheck // test
	})
	net := newMemNet(subnet.TaskEmbedding)
	net.mg.CommitReveal = false
	vkey, mk, stranger := key(t, 1), key(t, 10), key(t, 3)
	net.add(vkey.Address(), 1000)
	mreg, vreg := prometheus.NewRegistry(), prometheus.NewRegistry()
	url, _ := runMiner(t, subnet.MinerOptions{Netuid: 1, Key: mk, Chain: net.chain(mk.Address()), Backend: backend, ModelDigest: "d", Metrics: mreg})
	v, err := subnet.NewValidator(subnet.ValidatorOptions{Netuid: 1, Key: vkey, Chain: net.chain(vkey.Address()), Reference: backend,
		ChallengesPerTempo: 2, Metrics: vreg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A caller without stake is refused.
	if resp, _ := post(t, url+"/v1/embeddings", []byte(`{"input":"x"}`), stranger, mk.Address()); resp.StatusCode == 200 {
		t.Fatalf("stranger got 200")
	}

	miner := `hotkey="` + mk.Address().String() + `",netuid="1"`
	want := map[string]string{
		`deai_miner_requests_total{code="200",` + miner + `}`:                                          "2",
		`deai_miner_requests_total{code="403",` + miner + `}`:                                          "1",
		`deai_miner_request_duration_seconds_count{` + miner + `}`:                                     "3",
		`deai_miner_tokens_total{hotkey="` + mk.Address().String() + `",kind="prompt",netuid="1"}`:     "6",
		`deai_miner_tokens_total{hotkey="` + mk.Address().String() + `",kind="completion",netuid="1"}`: "10",
	}
	if diff := cmp.Diff(want, scrape(t, url+"/metrics", want)); diff != "" {
		t.Errorf("miner /metrics (-want +got)\n%s", diff)
	}

	vs := httptest.NewServer(promhttp.HandlerFor(vreg, promhttp.HandlerOpts{}))
	defer vs.Close()
	val := `hotkey="` + vkey.Address().String() + `",netuid="1"`
	want = map[string]string{
		`deai_validator_epochs_graded_total{` + val + `}`:               "1",
		`deai_validator_challenges_total{` + val + `,outcome="scored"}`: "2",
		`deai_validator_weight_sets_total{action="set",` + val + `}`:    "1",
		`deai_validator_epoch_duration_seconds_count{` + val + `}`:      "1",
	}
	if diff := cmp.Diff(want, scrape(t, vs.URL, want)); diff != "" {
		t.Errorf("validator metrics (-want +got)\n%s", diff)
	}
}
