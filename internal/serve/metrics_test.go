package serve_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/deai-network/deai/internal/serve"
	"github.com/deai-network/deai/internal/serve/servetest"
)

// TestMetrics: after a completion, an unknown path and a bad request,
// GET /metrics shows each request by route and status and the tokens of
// the completion.
func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	b := &servetest.Backend{Model: serve.ModelInfo{ID: "fake", ContextLength: 64}, Pieces: []string{" a", " b", " c"}}
	s, err := serve.New(serve.Options{Backends: []serve.Backend{b}, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	post := func(path, body string) int {
		resp, err := http.Post(srv.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post("/v1/completions", `{"model":"fake","prompt":"hi","max_tokens":3}`); c != 200 {
		t.Fatalf("completion: %d", c)
	}
	if c := post("/v1/completions", `{"model":"fake","prompt":`); c != 400 {
		t.Fatalf("bad body: %d", c)
	}
	if c := post("/v1/nowhere", `{}`); c != 404 {
		t.Fatalf("unknown path: %d", c)
	}
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	text := string(raw)
	for _, want := range []string{
		`deai_serve_requests_total{code="200",route="POST /v1/completions"} 1`,
		`deai_serve_requests_total{code="400",route="POST /v1/completions"} 1`,
		`deai_serve_requests_total{code="404",route="/"} 1`,
		`deai_serve_request_duration_seconds_count{route="POST /v1/completions"} 2`,
		`deai_serve_tokens_total{kind="completion",model="fake"} 3`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s\n%s", want, grepDeai(text))
		}
	}
}

func grepDeai(text string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "deai_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
