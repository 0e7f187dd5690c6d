package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/cli"
)

const (
	testModel       = "../../../shared/models/stories260K.gguf"
	testModelSHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Run(t.Context(), args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// hfServer serves the test model like Hugging Face: a resolve URL that
// redirects to a CDN URL, with the LFS digest in X-Linked-Etag.
func hfServer(t *testing.T) *httptest.Server {
	t.Helper()
	content, err := os.ReadFile(testModel)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ggml-org/models/resolve/main/tinyllamas/stories260K.gguf", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Linked-Etag", `"`+testModelSHA256+`"`)
		http.Redirect(w, r, "/cdn/stories", http.StatusFound)
	})
	mux.HandleFunc("GET /cdn/stories", func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "stories", time.Time{}, bytes.NewReader(content))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestModelPull(t *testing.T) {
	srv := hfServer(t)
	home := t.TempDir()
	code, stdout, stderr := runCLI(t, "model", "pull", "ggml-org/models", "tinyllamas/stories260K.gguf", "--endpoint", srv.URL, "--home", home, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var res struct {
		Path         string
		SHA256       string
		DigestSource string `json:"digest_source"`
		Size         int64
		Verified     bool
	}
	if err := json.Unmarshal([]byte(stdout), &res); err != nil {
		t.Fatalf("stdout %q: %v", stdout, err)
	}
	want := filepath.Join(home, "models", "stories260K.gguf")
	if res.Path != want || res.Size != 1185376 || !res.Verified {
		t.Errorf("result %+v, want path %s, 1185376 bytes, verified", res, want)
	}
	// Not a terminal: plain progress lines ending at 100%.
	if !strings.Contains(stderr, "100%") || strings.Contains(stderr, "\r") {
		t.Errorf("progress on stderr = %q, want plain lines up to 100%%", stderr)
	}
}

func TestModelPullErrors(t *testing.T) {
	srv := hfServer(t)
	tests := []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"wrong sha256", []string{"--url", srv.URL + "/cdn/stories", "--sha256", strings.Repeat("0", 64)}, "sha256 mismatch"},
		{"not found", []string{"ggml-org/models", "missing.gguf", "--endpoint", srv.URL}, "404"},
		{"missing file argument", []string{"ggml-org/models"}, "accepts 2 arg(s)"},
		{"bad repo", []string{"models", "x.gguf", "--endpoint", srv.URL}, "want owner/name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, append([]string{"model", "pull", "--dir", t.TempDir()}, tt.args...)...)
			if code == 0 || !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("exit %d, stderr %q; want failure mentioning %q", code, stderr, tt.wantErr)
			}
		})
	}
}

// referenceStart is how greedy stories260K continues "Once upon a time".
const referenceStart = ", there was a little girl named Lily."

func TestRunGreedy(t *testing.T) {
	code, stdout, stderr := runCLI(t, "run", "--model", testModel, "--prompt", "Once upon a time", "-n", "20", "--temp", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.HasPrefix(stdout, referenceStart) {
		t.Errorf("stdout %q does not start with %q", stdout, referenceStart)
	}
	if strings.Contains(stdout, "Once upon a time") {
		t.Errorf("stdout %q echoes the prompt", stdout)
	}
	if !strings.Contains(stderr, "20 generated, finish length") {
		t.Errorf("summary on stderr = %q", stderr)
	}
	// The same seed gives the same sampled text.
	args := []string{"run", "--model", testModel, "--prompt", "Once upon a time", "-n", "30", "--temp", "0.9", "--seed", "7"}
	_, a, _ := runCLI(t, args...)
	_, b, _ := runCLI(t, args...)
	if a != b || a == "" {
		t.Errorf("seeded runs differ or are empty: %q vs %q", a, b)
	}
}

func TestModelInspect(t *testing.T) {
	code, stdout, stderr := runCLI(t, "model", "inspect", testModel, "-o", "json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Architecture                              string
		EmbeddingLength, Layers, Heads, VocabSize int
		KVHeads                                   int
		FileSize                                  int64
		TensorTypes                               map[string]int
		Digest                                    string `json:"digest"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("%q: %v", stdout, err)
	}
	if got.Architecture != "llama" || got.EmbeddingLength != 64 || got.Layers != 5 || got.Heads != 8 || got.KVHeads != 4 ||
		got.VocabSize != 512 || got.FileSize != 1185376 || got.TensorTypes["F32"] != 48 || got.Digest != testModelSHA256 {
		t.Errorf("inspect = %+v", got)
	}
	code, stdout, _ = runCLI(t, "model", "inspect", testModel)
	if code != 0 || !strings.Contains(stdout, "architecture   llama") || !strings.Contains(stdout, testModelSHA256) {
		t.Errorf("text output %q", stdout)
	}
}

func TestModelSynth(t *testing.T) {
	out := filepath.Join(t.TempDir(), "tiny.gguf")
	code, _, stderr := runCLI(t, "model", "synth", "--shape", "tiny", "--type", "q8_0", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	code, stdout, stderr := runCLI(t, "model", "inspect", out, "-o", "json")
	if code != 0 || !strings.Contains(stdout, `"Q8_0"`) {
		t.Errorf("inspect of the synthetic model: exit %d, %s %s", code, stdout, stderr)
	}
	if code, _, stderr := runCLI(t, "model", "synth", "--shape", "7T", "--out", out+"2"); code == 0 || !strings.Contains(stderr, "unknown shape") {
		t.Errorf("bad shape: exit %d, %q", code, stderr)
	}
}

// lineWaiter is a stderr that reports the first line containing a marker.
type lineWaiter struct {
	mu     sync.Mutex // guards buf and sent
	buf    bytes.Buffer
	marker string
	found  chan string
	sent   bool
}

func (w *lineWaiter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.sent {
		for line := range strings.SplitSeq(w.buf.String(), "\n") {
			if strings.Contains(line, w.marker) {
				w.sent = true
				w.found <- line
				break
			}
		}
	}
	return len(p), nil
}

func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	stderr := &lineWaiter{marker: "listening on ", found: make(chan string, 1)}
	exit := make(chan int, 1)
	go func() {
		exit <- cli.Run(ctx, []string{"serve", "--model", testModel, "--addr", "127.0.0.1:0"}, strings.NewReader(""), io.Discard, stderr)
	}()
	var base string
	select {
	case line := <-stderr.found:
		base = strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
	case code := <-exit:
		t.Fatalf("serve exited with %d: %s", code, stderr.buf.String())
	}
	resp, err := http.Post(base+"/completions", "application/json",
		strings.NewReader(`{"model":"stories260K","prompt":"Once upon a time","max_tokens":12,"temperature":0}`))
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Choices []struct{ Text string }
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if len(body.Choices) != 1 || !strings.HasPrefix(body.Choices[0].Text, ", there was a little girl") {
		t.Errorf("completion = %+v", body)
	}
	cancel()
	if code := <-exit; code != 0 {
		t.Errorf("serve exit code %d after shutdown", code)
	}
}
