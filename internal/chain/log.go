package chain

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"

	cmtlog "github.com/cometbft/cometbft/libs/log"
)

// LogKeyModule is the slog attribute naming the CometBFT module of a record.
const LogKeyModule = "module"

// ParseLogLevel maps "debug", "info", "error" and "none" to the minimum
// slog level passed on from CometBFT ("" means "error").
func ParseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "", "error":
		return slog.LevelError, nil
	case "none":
		return slog.LevelError + 100, nil
	}
	return 0, fmt.Errorf("log level %q: want debug, info, error or none", s)
}

// slogAdapter is CometBFT's logger interface over slog, dropping records
// below min before any formatting work.
type slogAdapter struct {
	l   *slog.Logger
	min slog.Level
	// stopping, when set, demotes errors to debug: a clean stop makes
	// CometBFT log "use of closed network connection" and the like as
	// errors.
	stopping *atomic.Bool
	// clientSide marks the RPC server's logger: its errors are about
	// clients (a websocket closed mid-write), not the node, so they are
	// demoted to info.
	clientSide bool
}

// newCometLogger adapts l for CometBFT, passing on records at min or above.
// A nil l discards everything; stopping may be nil.
func newCometLogger(l *slog.Logger, min slog.Level, stopping *atomic.Bool) cmtlog.Logger {
	if l == nil {
		return cmtlog.NewNopLogger()
	}
	return slogAdapter{l: l, min: min, stopping: stopping}
}

func (a slogAdapter) log(level slog.Level, msg string, kv []any) {
	if level == slog.LevelError {
		switch {
		case a.stopping != nil && a.stopping.Load():
			level = slog.LevelDebug
		case a.clientSide:
			level = slog.LevelInfo
		}
	}
	if level < a.min || !a.l.Enabled(context.Background(), level) {
		return
	}
	a.l.Log(context.Background(), level, msg, fixKeyvals(kv)...)
}

func (a slogAdapter) Debug(msg string, kv ...any) { a.log(slog.LevelDebug, msg, kv) }
func (a slogAdapter) Info(msg string, kv ...any)  { a.log(slog.LevelInfo, msg, kv) }
func (a slogAdapter) Error(msg string, kv ...any) { a.log(slog.LevelError, msg, kv) }

func (a slogAdapter) With(kv ...any) cmtlog.Logger {
	out := slogAdapter{l: a.l.With(fixKeyvals(kv)...), min: a.min, stopping: a.stopping, clientSide: a.clientSide}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i] == LogKeyModule && kv[i+1] == "rpc-server" {
			out.clientSide = true
		}
	}
	return out
}

// fixKeyvals makes CometBFT's alternating key/value list safe for slog:
// keys become strings, a dangling key gets an empty value, and error values
// are rendered as text.
func fixKeyvals(kv []any) []any {
	out := make([]any, 0, len(kv)+1)
	for i := 0; i < len(kv); i += 2 {
		key, ok := kv[i].(string)
		if !ok {
			key = fmt.Sprint(kv[i])
		}
		var v any = ""
		if i+1 < len(kv) {
			v = kv[i+1]
		}
		if err, ok := v.(error); ok {
			v = err.Error()
		}
		out = append(out, slog.Any(key, v))
	}
	return out
}
