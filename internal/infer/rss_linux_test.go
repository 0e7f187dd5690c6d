package infer

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// procStatus reads a kB field of /proc/self/status in bytes.
func procStatus(t testing.TB, field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("%s not in /proc/self/status", field)
	return 0
}

// TestRSSBound: loading a quantized model and generating grows the resident
// set by at most file size + KV cache + 64 MiB: weights are mapped, never
// expanded to float32.
func TestRSSBound(t *testing.T) {
	p := synthFile(t, t.TempDir(), "15M", "q8_0")
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	before := procStatus(t, "VmRSS")
	m, err := Load(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	h := m.hp
	kv := int64(h.layers * h.ctx * h.kvHeads * h.headDim * 2 * 4)
	res, err := m.Generate(context.Background(), GenerateRequest{Prompt: []int{1, 300, 301}, MaxTokens: 16, IgnoreEOS: true}, nil)
	if err != nil || len(res.Tokens) != 16 {
		t.Fatalf("generate: %v", err)
	}
	grown := procStatus(t, "VmRSS") - before
	limit := st.Size() + kv + 64<<20
	t.Logf("file %d MiB, KV %d KiB, RSS grew %d MiB (limit %d MiB)", st.Size()>>20, kv>>10, grown>>20, limit>>20)
	if grown > limit {
		t.Errorf("RSS grew by %d bytes, limit %d", grown, limit)
	}
}
