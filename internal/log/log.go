// Package log builds deai's slog loggers and defines the attribute keys every
// package uses. It depends only on the standard library; packages receive a
// *slog.Logger through their Options and never create global loggers.
package log

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// Attribute keys shared across packages, so logs can be queried uniformly.
const (
	KeyComponent = "component"
	KeyHeight    = "height"
	KeyTxHash    = "tx"
	KeyAddr      = "addr"
	KeyModel     = "model"
	KeyErr       = "err"
)

// New returns a logger writing to w at level ("debug", "info", "warn",
// "error") in format "text" or "json".
func New(w io.Writer, level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("log level %q: %w", level, err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("log format %q: want text or json", format)
	}
}

// Discard returns a logger that drops everything; use it where a nil logger
// was passed.
func Discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// OrDiscard returns l, or a discarding logger when l is nil.
func OrDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return Discard()
	}
	return l
}
