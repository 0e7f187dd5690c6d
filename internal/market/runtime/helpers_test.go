package runtime_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market/manifest"
	"github.com/deai-network/deai/internal/market/runtime"
)

const (
	testOwner    = "deai1qy352eufqy352eufqy352eufqy352eufa7vm3x"
	testProvider = "deai1gpu3pr0v1derxxxxxxxxxxxxxxxxxxxxxx9y5m"
)

func testLease(t testing.TB, dseq uint64) runtime.LeaseRef {
	t.Helper()
	l, err := runtime.NewLeaseRef(fmt.Sprintf("%s/%d/1/1/%s", testOwner, dseq, testProvider))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// echoService is one replica of the echo server with 500m CPU and 64Mi.
func echoService(name, image, message string, global bool) manifest.Service {
	return manifest.Service{
		Name:  name,
		Image: image,
		Env:   []string{"ECHO_MESSAGE=" + message},
		Resources: lmarket.Resources{
			CPUMilli:    500,
			MemoryBytes: 64 << 20,
			Storage:     []lmarket.Volume{{Name: "default", SizeBytes: 128 << 20}},
		},
		Count:  1,
		Expose: []manifest.Expose{{Port: 8080, ExternalPort: 80, Proto: "TCP", Global: global}},
	}
}

// waitStatus polls Status until ok accepts it.
func waitStatus(ctx context.Context, t testing.TB, rt runtime.Runtime, l runtime.LeaseRef, what string, ok func(runtime.Status) bool) runtime.Status {
	t.Helper()
	var last runtime.Status
	var lastErr error
	for {
		st, err := rt.Status(ctx, l)
		if err == nil && ok(st) {
			return st
		}
		last, lastErr = st, err
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v; last status %+v, error %v", what, ctx.Err(), last, lastErr)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func serviceReady(name string, n int) func(runtime.Status) bool {
	return func(st runtime.Status) bool {
		ss, ok := st.Service(name)
		return ok && ss.Ready == n && ss.Running == n
	}
}

func get(ctx context.Context, t testing.TB, url string) string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return string(b)
}

// readLogsUntil reads r until the text read so far contains every want,
// or ctx ends.
func readLogsUntil(ctx context.Context, t testing.TB, r io.Reader, want ...string) string {
	t.Helper()
	var got strings.Builder
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := r.Read(buf)
			got.Write(buf[:n]) // only this goroutine writes until done
			if containsAll(got.String(), want) {
				done <- nil
				return
			}
			if err != nil {
				done <- err
				return
			}
		}
	}()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, io.EOF) {
			t.Fatalf("logs: %v\n%s", err, got.String())
		}
		if !containsAll(got.String(), want) {
			t.Fatalf("logs ended without %q:\n%s", want, got.String())
		}
		return got.String()
	case <-ctx.Done():
		t.Fatalf("logs: no %q before %v", want, ctx.Err())
		return ""
	}
}

func containsAll(s string, want []string) bool {
	for _, w := range want {
		if !strings.Contains(s, w) {
			return false
		}
	}
	return true
}

// testWriter sends a logger's lines to t.Log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
