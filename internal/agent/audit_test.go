package agent_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/agent"
)

func writeLog(t *testing.T, path string, n int) {
	t.Helper()
	k := walletKey(t, 1)
	clock := time.Unix(1_700_000_000, 0)
	l, err := agent.OpenAuditLog(path, k.PrivateKey(), func() time.Time { clock = clock.Add(time.Second); return clock })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := l.Append(agent.AuditEntry{Kind: agent.AuditStart, Detail: "name=test"}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if _, err := l.Append(agent.AuditEntry{Kind: agent.AuditPayment, Run: uint64(i), Amount: 10, Counterparty: walletKey(t, 2).Address()}); err != nil {
			t.Fatal(err)
		}
	}
}

func readFile(t *testing.T, path string) ([]agent.VerifiedEntry, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return agent.ReadAuditLog(f, nil)
}

// TestAuditLog: entries chain and verify on their own (the first carries
// the key); reopening continues the chain; any line changed, removed,
// reordered or appended by another key breaks it at that line.
func TestAuditLog(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "audit.log")
	writeLog(t, path, 4)
	es, err := readFile(t, path)
	if err != nil || len(es) != 4 {
		t.Fatalf("read %d entries, %v", len(es), err)
	}
	if es[0].Entry.Kind != agent.AuditStart || !strings.HasPrefix(es[0].Entry.Detail, "pubkey=") || es[3].Entry.Seq != 4 || es[3].Entry.Prev != es[2].Hash {
		t.Fatalf("entries %+v", es)
	}

	// Reopen: the chain goes on from the last line.
	l, err := agent.OpenAuditLog(path, walletKey(t, 1).PrivateKey(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.Append(agent.AuditEntry{Kind: agent.AuditStop})
	if err != nil || e.Seq != 5 || e.Prev != es[3].Hash {
		t.Fatalf("appended %+v, %v", e, err)
	}
	l.Close()
	// Another key may not extend it.
	if _, err := agent.OpenAuditLog(path, walletKey(t, 3).PrivateKey(), nil); !errors.Is(err, agent.ErrAuditBroken) {
		t.Fatalf("open with another key: %v", err)
	}

	orig, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(bytes.TrimRight(orig, "\n"), []byte("\n"))
	tests := []struct {
		name string
		edit func() []byte
		line string
	}{
		{"amount changed", func() []byte {
			return bytes.Replace(orig, []byte(`"amount":"10"`), []byte(`"amount":"11"`), 1)
		}, "line 2"},
		{"line removed", func() []byte { return bytes.Join(append(append([][]byte{}, lines[:2]...), lines[3:]...), nil) }, "line 3"},
		{"lines swapped", func() []byte {
			return bytes.Join([][]byte{lines[0], lines[2], lines[1], lines[3], lines[4]}, nil)
		}, "line 2"},
		{"signature flipped", func() []byte {
			b := append([]byte(nil), orig...)
			i := bytes.LastIndex(b, []byte(`"sig":"`)) + len(`"sig":"`)
			if b[i] == '0' {
				b[i] = '1'
			} else {
				b[i] = '0'
			}
			return b
		}, "line 5"},
		{"first line gone", func() []byte { return bytes.Join(lines[1:], nil) }, "line 1"},
		{"garbage appended", func() []byte { return append(append([]byte(nil), orig...), "not json\n"...) }, "line 6"},
		{"blank line", func() []byte { return bytes.Join([][]byte{lines[0], []byte("\n"), lines[1]}, nil) }, "line 2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "audit.log")
			if err := os.WriteFile(p, tt.edit(), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := readFile(t, p)
			if !errors.Is(err, agent.ErrAuditBroken) || !strings.Contains(err.Error(), tt.line+":") {
				t.Fatalf("error %v, want ErrAuditBroken at %s", err, tt.line)
			}
			if _, err := agent.OpenAuditLog(p, walletKey(t, 1).PrivateKey(), nil); !errors.Is(err, agent.ErrAuditBroken) {
				t.Fatalf("a broken log was opened for appending: %v", err)
			}
		})
	}
}

// FuzzReadAuditLog: no input panics the reader, and what it accepts has
// gapless sequence numbers.
func FuzzReadAuditLog(f *testing.F) {
	path := filepath.Join(f.TempDir(), "audit.log")
	k := walletKey(f, 1)
	l, err := agent.OpenAuditLog(path, k.PrivateKey(), nil)
	if err != nil {
		f.Fatal(err)
	}
	l.Append(agent.AuditEntry{Kind: agent.AuditStart})
	l.Append(agent.AuditEntry{Kind: agent.AuditPayment, Amount: 5})
	l.Close()
	seed, _ := os.ReadFile(path)
	f.Add(seed)
	f.Add([]byte("{}\n"))
	f.Fuzz(func(t *testing.T, raw []byte) {
		es, err := agent.ReadAuditLog(bytes.NewReader(raw), nil)
		for i, e := range es {
			if e.Entry.Seq != uint64(i+1) {
				t.Fatalf("entry %d has seq %d", i, e.Entry.Seq)
			}
		}
		_ = err
	})
}
