package serve_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/deai-network/deai/internal/serve"
	"github.com/google/go-cmp/cmp"
)

func feed(t *testing.T, stop []string, parts []string) (pieces []string, stopped bool) {
	t.Helper()
	ts := serve.NewTextStream(stop, func(s string) error { pieces = append(pieces, s); return nil })
	for _, p := range parts {
		st, err := ts.Write([]byte(p))
		if err != nil {
			t.Fatal(err)
		}
		stopped = stopped || st
	}
	if err := ts.Flush(); err != nil {
		t.Fatal(err)
	}
	return pieces, stopped
}

func TestTextStream(t *testing.T) {
	euro := "€" // e2 82 ac
	tests := []struct {
		name        string
		stop        []string
		parts       []string
		want        []string
		wantStopped bool
	}{
		{"plain", nil, []string{"Once", " upon"}, []string{"Once", " upon"}, false},
		{"split euro", nil, []string{"a" + euro[:1], euro[1:2], euro[2:] + "b"}, []string{"a", euro + "b"}, false},
		{"split 4-byte", nil, []string{"\xf0\x9f", "\x98", "\x80!"}, []string{"😀!"}, false},
		{"incomplete at end", nil, []string{"x\xe2\x82"}, []string{"x", "\uFFFD"}, false},
		{"invalid byte passes", nil, []string{"a\xffb"}, []string{"a\uFFFDb"}, false},
		{"stop in one piece", []string{"\n\n"}, []string{"The end.\n\nNext"}, []string{"The end."}, true},
		{"stop across pieces", []string{"END"}, []string{"abc E", "N", "D more"}, []string{"abc "}, true},
		{"false stop prefix released", []string{"END"}, []string{"abc EN", "d"}, []string{"abc ", "ENd"}, false},
		{"held prefix flushed at end", []string{"END"}, []string{"abc EN"}, []string{"abc ", "EN"}, false},
		{"earliest stop wins", []string{"c", "b"}, []string{"abc"}, []string{"a"}, true},
		{"stop at start", []string{"x"}, []string{"xyz"}, nil, true},
		{"writes after stop ignored", []string{"!"}, []string{"hi!", "more"}, []string{"hi"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, stopped := feed(t, tt.stop, tt.parts)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("pieces (-want +got):\n%s", diff)
			}
			if stopped != tt.wantStopped {
				t.Errorf("stopped = %v, want %v", stopped, tt.wantStopped)
			}
		})
	}
}

// FuzzTextStream: however valid UTF-8 is cut into pieces, every emitted
// piece is valid UTF-8 and, without stop sequences, they add up to the input.
func FuzzTextStream(f *testing.F) {
	f.Add("Once upon a time, €uro 😀 ü", uint8(1), uint8(3))
	f.Add("ab", uint8(0), uint8(1))
	f.Fuzz(func(t *testing.T, s string, a, b uint8) {
		if !utf8.ValidString(s) {
			return
		}
		cuts := []int{int(a) % (len(s) + 1), int(b) % (len(s) + 1)}
		if cuts[0] > cuts[1] {
			cuts[0], cuts[1] = cuts[1], cuts[0]
		}
		parts := []string{s[:cuts[0]], s[cuts[0]:cuts[1]], s[cuts[1]:]}
		got, _ := feed(t, nil, parts)
		for _, p := range got {
			if !utf8.ValidString(p) {
				t.Fatalf("piece %q is not valid UTF-8", p)
			}
		}
		if j := strings.Join(got, ""); j != s {
			t.Fatalf("joined %q, want %q", j, s)
		}
	})
}
