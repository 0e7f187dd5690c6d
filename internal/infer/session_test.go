package infer

import (
	"testing"

	"github.com/deai-network/deai/internal/errs"
	"github.com/google/go-cmp/cmp"
)

// TestSessionReuse: a closed session is reused by the next NewSession, and
// a reused session gives the bits of a new one, whatever its cache held;
// positions past the computed ones are refused, so a reused cache is never
// read where this session did not write it.
func TestSessionReuse(t *testing.T) {
	p := synthFile(t, t.TempDir(), "tiny", "q4_0")
	promptA := make([]int, maxBatch+9)
	for i := range promptA {
		promptA[i] = 3 + (i*53)%400
	}
	promptB := []int{1, 300, 301, 302, 17, 18, 19, 20, 21, 22}
	for _, threads := range []int{1, 2} {
		fresh, err := Load(p, Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		ref := fresh.NewSession()
		want, err := ref.Prefill(promptB, 0)
		if err != nil {
			t.Fatal(err)
		}
		want = append([]float32(nil), want...)
		wantNext, _ := ref.Forward(5, len(promptB))
		wantNext = append([]float32(nil), wantNext...)
		ref.Close()
		fresh.Close()

		m, err := Load(p, Options{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		a := m.NewSession()
		if _, err := a.Prefill(promptA, 0); err != nil {
			t.Fatal(err)
		}
		a.Close()
		a.Close() // a second Close must not hand it out twice
		b := m.NewSession()
		if b != a {
			t.Errorf("threads=%d: the closed session was not reused", threads)
		}
		if c := m.NewSession(); c == b {
			t.Fatalf("threads=%d: one session handed out twice", threads)
		} else {
			c.Close()
		}
		if _, err := b.Forward(5, 1); errs.KindOf(err) != errs.Invalid {
			t.Errorf("threads=%d: forward past the computed positions: %v", threads, err)
		}
		if _, err := b.Prefill(promptB, 3); errs.KindOf(err) != errs.Invalid {
			t.Errorf("threads=%d: prefill past the computed positions: %v", threads, err)
		}
		got, err := b.Prefill(promptB, 0)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("threads=%d: reused session's prefill differs:\n%.300s", threads, diff)
		}
		next, err := b.Forward(5, len(promptB))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(wantNext, next); diff != "" {
			t.Errorf("threads=%d: reused session's next token differs:\n%.300s", threads, diff)
		}
		b.Close()
		m.Close()
	}
}
