package tx

import (
	"strings"
	"testing"
)

func TestSharedEncodings(t *testing.T) {
	a := Address{1, 2, 3}
	b := AppendStr8(nil, strings.Repeat("x", 300)) // cut at 255
	b = AppendStr16(b, "hello")
	b = AppendBool(b, true)
	b = AppendStrs(b, []string{"a", "bc"})
	b = AppendAddrs(b, []Address{a})
	b = AppendStrs(b, nil)
	r := NewReader(b)
	if s := r.Str8(); len(s) != 255 {
		t.Fatalf("Str8 len %d, want 255", len(s))
	}
	if r.Str16() != "hello" || !r.Bool() {
		t.Fatal("Str16/Bool")
	}
	if ss := r.Strs(); len(ss) != 2 || ss[1] != "bc" {
		t.Fatalf("Strs = %q", ss)
	}
	if as := r.Addrs(); len(as) != 1 || as[0] != a {
		t.Fatalf("Addrs = %v", as)
	}
	if ss := r.Strs(); ss != nil {
		t.Fatalf("empty Strs = %#v, want nil", ss)
	}
	if err := r.Done(); err != nil {
		t.Fatal(err)
	}
	// A bool byte other than 0 or 1, and a count that cannot fit, fail
	// without allocating.
	if r := NewReader([]byte{2}); r.Bool() || r.Err() == nil {
		t.Fatal("bool byte 2 accepted")
	}
	if r := NewReader([]byte{200, 0}); r.Addrs() != nil || r.Err() == nil || !strings.Contains(r.Err().Error(), "cannot fit") {
		t.Fatalf("lying count: %v", r.Err())
	}
}
