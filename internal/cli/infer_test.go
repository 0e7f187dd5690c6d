package cli_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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
