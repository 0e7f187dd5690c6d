package chain

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
)

func TestCometLogger(t *testing.T) {
	tests := []struct {
		name     string
		level    string
		stopping bool
		log      func(l slogAdapter)
		want     []string // substrings, in order; nil means no output
	}{
		{"info dropped at error level", "error", false, func(l slogAdapter) { l.Info("chatty", "height", 5) }, nil},
		{"error passes", "error", false, func(l slogAdapter) { l.Error("boom", "err", errors.New("disk")) },
			[]string{"level=ERROR", "msg=boom", "err=disk"}},
		{"info passes at info level", "info", false, func(l slogAdapter) { l.Info("hello", "h", 1) }, []string{"level=INFO", "h=1"}},
		{"none drops errors", "none", false, func(l slogAdapter) { l.Error("boom") }, nil},
		{"shutdown errors demoted", "error", true, func(l slogAdapter) { l.Error("use of closed network connection") }, nil},
		{"rpc server errors demoted", "error", false, func(l slogAdapter) {
			l.With(LogKeyModule, "rpc-server").Error("Failed to write response")
		}, nil},
		{"With keeps attrs", "error", false, func(l slogAdapter) { l.With(LogKeyModule, "consensus").Error("x") },
			[]string{"msg=x", "module=consensus"}},
		{"odd keyvals", "error", false, func(l slogAdapter) { l.Error("x", 42, "v", "dangling") },
			[]string{"42=v", "dangling="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			min, err := ParseLogLevel(tt.level)
			if err != nil {
				t.Fatal(err)
			}
			stopping := new(atomic.Bool)
			stopping.Store(tt.stopping)
			l := newCometLogger(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug - 10})), min, stopping).(slogAdapter)
			tt.log(l)
			out := buf.String()
			if tt.want == nil {
				if strings.Contains(out, "level=ERROR") || (tt.level != "info" && strings.Contains(out, "level=INFO")) {
					t.Errorf("want nothing at the node's level, got %q", out)
				}
				return
			}
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output %q lacks %q", out, w)
				}
				rest = rest[i+len(w):]
			}
		})
	}
	if _, err := ParseLogLevel("loud"); err == nil {
		t.Error(`ParseLogLevel("loud") succeeded`)
	}
}
