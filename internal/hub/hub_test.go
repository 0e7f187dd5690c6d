package hub_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/hub"
	"github.com/google/go-cmp/cmp"
)

const (
	modelPath   = "../../../shared/models/stories260K.gguf"
	modelSHA256 = "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"
	repo        = "ggml-org/models"
	file        = "tinyllamas/stories260K.gguf"
)

func readModel(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(modelPath)
	if err != nil {
		t.Fatalf("read test model: %v", err)
	}
	return b
}

// fakeHub imitates Hugging Face: /<repo>/resolve/main/<file> redirects to a
// CDN path and carries X-Linked-Etag; the CDN path serves the bytes.
type fakeHub struct {
	content []byte
	digest  string // X-Linked-Etag value; "" sends none

	mu         sync.Mutex // guards the fields below
	ranges     []string   // Range header of each CDN request
	served     int64      // body bytes written by the CDN
	cutAfter   int64      // >0: the next CDN response stops after this many bytes
	ignoreRng  bool       // answer every request with 200 and the full body
	status     int        // >0: answer resolve requests with this status
	cdnCount   int
	resolveCnt int
}

func (f *fakeHub) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /"+repo+"/resolve/main/"+file, func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.resolveCnt++
		status := f.status
		f.mu.Unlock()
		if status != 0 {
			http.Error(w, http.StatusText(status), status)
			return
		}
		if f.digest != "" {
			w.Header().Set("X-Linked-Etag", `"`+f.digest+`"`)
		}
		w.Header().Set("X-Linked-Size", strconv.Itoa(len(f.content)))
		http.Redirect(w, r, "/cdn/blob", http.StatusFound)
	})
	mux.HandleFunc("GET /cdn/blob", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.cdnCount++
		f.ranges = append(f.ranges, r.Header.Get("Range"))
		cut, ignore := f.cutAfter, f.ignoreRng
		f.cutAfter = 0
		f.mu.Unlock()
		cw := &countingWriter{ResponseWriter: w, f: f}
		switch {
		case cut > 0:
			w.Header().Set("Content-Length", strconv.Itoa(len(f.content)))
			w.WriteHeader(http.StatusOK)
			cw.Write(f.content[:cut])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler) // drop the connection mid-body
		case ignore:
			w.Header().Set("Content-Length", strconv.Itoa(len(f.content)))
			cw.Write(f.content)
		default:
			http.ServeContent(cw, r, "blob", time.Time{}, bytes.NewReader(f.content))
		}
	})
	return mux
}

type countingWriter struct {
	http.ResponseWriter
	f *fakeHub
}

// Write counts before writing, so the count is complete by the time the
// client can have read the bytes.
func (c *countingWriter) Write(p []byte) (int, error) {
	c.f.mu.Lock()
	c.f.served += int64(len(p))
	c.f.mu.Unlock()
	return c.ResponseWriter.Write(p)
}

// snapshot returns the request log under the lock.
func (f *fakeHub) snapshot() (ranges []string, served int64, cdnCount int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.ranges...), f.served, f.cdnCount
}

func (f *fakeHub) resetServed() {
	f.mu.Lock()
	f.served = 0
	f.mu.Unlock()
}

func newServer(t *testing.T, f *fakeHub) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(f.handler())
	t.Cleanup(srv.Close)
	return srv
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func TestPullFromHub(t *testing.T) {
	content := readModel(t)
	if got := sha(content); got != modelSHA256 {
		t.Fatalf("test model sha256 = %s, want %s", got, modelSHA256)
	}
	f := &fakeHub{content: content, digest: modelSHA256}
	srv := newServer(t, f)
	dir := t.TempDir()
	var last hub.Progress
	c := hub.New(hub.Options{BaseURL: srv.URL, Progress: func(p hub.Progress) { last = p }})
	res, err := c.Pull(t.Context(), hub.Request{Repo: repo, File: file, Dir: dir})
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	want := hub.Result{Path: filepath.Join(dir, "stories260K.gguf"), Size: int64(len(content)), SHA256: modelSHA256, Verified: true, DigestSource: "header"}
	if diff := cmp.Diff(want, res); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	checkFile(t, res.Path, content)
	if diff := cmp.Diff(hub.Progress{Done: int64(len(content)), Total: int64(len(content))}, last); diff != "" {
		t.Errorf("last progress (-want +got):\n%s", diff)
	}

	// A second pull finds the file and downloads nothing.
	res, err = c.Pull(t.Context(), hub.Request{Repo: repo, File: file, Dir: dir, SHA256: modelSHA256})
	if err != nil {
		t.Fatalf("second Pull: %v", err)
	}
	if !res.Existing || !res.Verified {
		t.Errorf("second pull = %+v, want Existing and Verified", res)
	}
	if _, _, n := f.snapshot(); n != 1 {
		t.Errorf("CDN requests = %d, want 1", n)
	}
}

func TestPullResumesInterruptedDownload(t *testing.T) {
	content := readModel(t)
	const cut = 400_000
	f := &fakeHub{content: content, digest: modelSHA256, cutAfter: cut}
	srv := newServer(t, f)
	dir := t.TempDir()
	c := hub.New(hub.Options{BaseURL: srv.URL})

	_, err := c.Pull(t.Context(), hub.Request{Repo: repo, File: file, Dir: dir})
	if err == nil {
		t.Fatal("interrupted Pull succeeded")
	}
	if got := errs.KindOf(err); got != errs.Transient {
		t.Errorf("interrupted Pull error kind = %v, want transient (%v)", got, err)
	}
	part := filepath.Join(dir, "stories260K.gguf.part")
	fi, err := os.Stat(part)
	if err != nil {
		t.Fatalf("partial file: %v", err)
	}
	if fi.Size() != cut {
		t.Fatalf("partial file has %d bytes, want %d", fi.Size(), cut)
	}
	if _, err := os.Stat(filepath.Join(dir, "stories260K.gguf")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("final file exists after an interrupted download: %v", err)
	}

	f.resetServed()
	res, err := c.Pull(t.Context(), hub.Request{Repo: repo, File: file, Dir: dir})
	if err != nil {
		t.Fatalf("resumed Pull: %v", err)
	}
	if res.Resumed != cut || !res.Verified {
		t.Errorf("result = %+v, want Resumed %d and Verified", res, cut)
	}
	ranges, served, _ := f.snapshot()
	if diff := cmp.Diff([]string{"", fmt.Sprintf("bytes=%d-", cut)}, ranges); diff != "" {
		t.Errorf("Range headers (-want +got):\n%s", diff)
	}
	if want := int64(len(content) - cut); served != want {
		t.Errorf("second request served %d bytes, want %d", served, want)
	}
	checkFile(t, res.Path, content)
	if _, err := os.Stat(part); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("partial file left behind: %v", err)
	}
}

func TestPullServerIgnoresRange(t *testing.T) {
	content := readModel(t)
	f := &fakeHub{content: content, ignoreRng: true}
	srv := newServer(t, f)
	dir := t.TempDir()
	// A stale partial file whose bytes are wrong: it must be discarded, not kept.
	if err := os.WriteFile(filepath.Join(dir, "stories260K.gguf.part"), bytes.Repeat([]byte{0xAA}, 5000), 0o644); err != nil {
		t.Fatal(err)
	}
	c := hub.New(hub.Options{})
	res, err := c.Pull(t.Context(), hub.Request{URL: srv.URL + "/cdn/blob", File: "stories260K.gguf", Dir: dir, SHA256: modelSHA256})
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if ranges, _, _ := f.snapshot(); !cmp.Equal([]string{"bytes=5000-"}, ranges) {
		diff := cmp.Diff([]string{"bytes=5000-"}, ranges)
		t.Errorf("Range headers (-want +got):\n%s", diff)
	}
	if res.Resumed != 0 || res.DigestSource != "flag" || !res.Verified {
		t.Errorf("result = %+v, want a fresh verified download", res)
	}
	checkFile(t, res.Path, content)
}

func TestPullCompletePartialFile(t *testing.T) {
	content := readModel(t)
	f := &fakeHub{content: content}
	srv := newServer(t, f)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "blob.part"), content, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := hub.New(hub.Options{}).Pull(t.Context(), hub.Request{URL: srv.URL + "/cdn/blob", Dir: dir, SHA256: modelSHA256})
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if res.Resumed != int64(len(content)) {
		t.Errorf("Resumed = %d, want %d", res.Resumed, len(content))
	}
	if ranges, _, _ := f.snapshot(); !cmp.Equal([]string{fmt.Sprintf("bytes=%d-", len(content))}, ranges) {
		diff := cmp.Diff([]string{fmt.Sprintf("bytes=%d-", len(content))}, ranges)
		t.Errorf("Range headers (-want +got):\n%s", diff)
	}
	checkFile(t, filepath.Join(dir, "blob"), content)
}

func TestPullErrors(t *testing.T) {
	content := readModel(t)
	corrupt := bytes.Clone(content)
	corrupt[len(corrupt)/2] ^= 1
	tests := []struct {
		name     string
		hub      *fakeHub
		sha      string
		wantKind errs.Kind
	}{
		{"wrong checksum flag", &fakeHub{content: content}, "00000000000000000000000000000000000000000000000000000000000000ff", errs.Invalid},
		{"corrupt content against header digest", &fakeHub{content: corrupt, digest: modelSHA256}, "", errs.Invalid},
		{"not found", &fakeHub{content: content, status: http.StatusNotFound}, "", errs.NotExist},
		{"gated repository", &fakeHub{content: content, status: http.StatusUnauthorized}, "", errs.Permission},
		{"forbidden", &fakeHub{content: content, status: http.StatusForbidden}, "", errs.Permission},
		{"server error", &fakeHub{content: content, status: http.StatusBadGateway}, "", errs.Transient},
		{"malformed sha flag", &fakeHub{content: content}, "xyz", errs.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.hub)
			dir := t.TempDir()
			_, err := hub.New(hub.Options{BaseURL: srv.URL}).Pull(t.Context(), hub.Request{Repo: repo, File: file, Dir: dir, SHA256: tt.sha})
			if err == nil {
				t.Fatal("Pull succeeded")
			}
			if got := errs.KindOf(err); got != tt.wantKind {
				t.Errorf("error kind = %v, want %v (%v)", got, tt.wantKind, err)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 0 {
				t.Errorf("directory not empty after a failed pull: %v", entries)
			}
		})
	}
}

func TestPullCancelled(t *testing.T) {
	content := readModel(t)
	srv := newServer(t, &fakeHub{content: content})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := hub.New(hub.Options{BaseURL: srv.URL}).Pull(ctx, hub.Request{Repo: repo, File: file, Dir: t.TempDir()})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Pull with a cancelled context: %v, want context.Canceled", err)
	}
}

func TestResolveURL(t *testing.T) {
	tests := []struct {
		name, repo, rev, file string
		want                  string
		wantErr               bool
	}{
		{"plain", "ggml-org/models", "", "tinyllamas/stories260K.gguf", "https://huggingface.co/ggml-org/models/resolve/main/tinyllamas/stories260K.gguf", false},
		{"revision", "a/b", "v1.0", "m.gguf", "https://huggingface.co/a/b/resolve/v1.0/m.gguf", false},
		{"escaped", "a/b", "", "dir/my model#1.gguf", "https://huggingface.co/a/b/resolve/main/dir/my%20model%231.gguf", false},
		{"no owner", "models", "", "m.gguf", "", true},
		{"dot dot", "a/b", "", "../m.gguf", "", true},
		{"absolute", "a/b", "", "/etc/passwd", "", true},
		{"empty file", "a/b", "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := hub.ResolveURL(hub.DefaultBaseURL, tt.repo, tt.rev, tt.file)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func checkFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read result: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: %d bytes, sha256 %s; want %d bytes, sha256 %s", path, len(got), sha(got), len(want), sha(want))
	}
}
