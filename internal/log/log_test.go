package log

import (
	"bytes"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	var buf bytes.Buffer
	l, err := New(&buf, "warn", "json")
	if err != nil {
		t.Fatal(err)
	}
	l.Info("hidden")
	l.Warn("shown", KeyHeight, 7)
	out := buf.String()
	if strings.Contains(out, "hidden") || !strings.Contains(out, `"height":7`) {
		t.Fatalf("output %q: want only the warn record with height 7", out)
	}
	if _, err := New(&buf, "loud", "text"); err == nil {
		t.Error("New with level loud: want error")
	}
	if _, err := New(&buf, "info", "xml"); err == nil {
		t.Error("New with format xml: want error")
	}
	OrDiscard(nil).Info("dropped") // must not panic
}
