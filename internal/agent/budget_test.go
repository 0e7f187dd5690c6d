package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/tx"
)

// clock is an injected clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func addr(b byte) tx.Address {
	var a tx.Address
	a[0] = b
	a[len(a)-1] = b
	return a
}

func newKey(seed byte) ed25519.PrivateKey {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	return ed25519.NewKeyFromSeed(s)
}

func mustBudget(t testing.TB, o BudgetOptions) *Budget {
	t.Helper()
	b, err := NewBudget(o)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBudgetLimits(t *testing.T) {
	alice, bob, carol := addr(1), addr(2), addr(3)
	ctx := context.Background()
	tests := []struct {
		name   string
		pol    Policy
		before func(b *Budget, c *clock) // reserves and commits before the one checked
		to     tx.Address
		amount tx.Amount
		want   error // nil: the reservation succeeds
	}{
		{name: "within", pol: Policy{Total: 100}, to: alice, amount: 100},
		{name: "total", pol: Policy{Total: 100}, to: alice, amount: 101, want: ErrBudgetExceeded},
		{name: "total after spend", pol: Policy{Total: 100}, before: spend(alice, 60), to: bob, amount: 41, want: ErrBudgetExceeded},
		{name: "total counts reservations", pol: Policy{Total: 100}, before: hold(alice, 60), to: bob, amount: 41, want: ErrBudgetExceeded},
		{name: "per call", pol: Policy{Total: 100, MaxPerCall: 10}, to: alice, amount: 11, want: ErrPerCallExceeded},
		{name: "period", pol: Policy{Total: 100, PerPeriod: 30, Period: time.Hour}, before: spend(alice, 25), to: alice, amount: 6, want: ErrCapExceeded},
		{name: "next period", pol: Policy{Total: 100, PerPeriod: 30, Period: time.Hour},
			before: func(b *Budget, c *clock) { spend(alice, 25)(b, c); c.Add(time.Hour) }, to: alice, amount: 30},
		{name: "outstanding counts in next period", pol: Policy{Total: 100, PerPeriod: 30, Period: time.Hour},
			before: func(b *Budget, c *clock) { hold(alice, 25)(b, c); c.Add(time.Hour) }, to: alice, amount: 6, want: ErrCapExceeded},
		{name: "not allowed", pol: Policy{Total: 100, Allow: map[tx.Address]tx.Amount{alice: 0}}, to: bob, amount: 1, want: ErrNotAllowed},
		{name: "allowed no cap", pol: Policy{Total: 100, Allow: map[tx.Address]tx.Amount{alice: 0}}, to: alice, amount: 100},
		{name: "counterparty cap", pol: Policy{Total: 100, Allow: map[tx.Address]tx.Amount{alice: 50, bob: 50}}, before: spend(alice, 40), to: alice, amount: 11, want: ErrCounterpartyCap},
		{name: "other counterparty", pol: Policy{Total: 100, Allow: map[tx.Address]tx.Amount{alice: 50, bob: 50}}, before: spend(alice, 50), to: bob, amount: 50},
		{name: "expired", pol: Policy{Total: 100, Expires: newClock().Now().Add(time.Minute)},
			before: func(_ *Budget, c *clock) { c.Add(time.Minute) }, to: carol, amount: 1, want: ErrBudgetExpired},
		{name: "killed", pol: Policy{Total: 100}, before: func(b *Budget, _ *clock) { b.Kill(true) }, to: alice, amount: 1, want: ErrKilled},
		{name: "revived", pol: Policy{Total: 100}, before: func(b *Budget, _ *clock) { b.Kill(true); b.Kill(false) }, to: alice, amount: 1},
		{name: "released is free", pol: Policy{Total: 100}, before: func(b *Budget, _ *clock) {
			r, _ := b.Reserve(ctx, alice, 100)
			r.Release()
		}, to: alice, amount: 100},
		{name: "committed less", pol: Policy{Total: 100}, before: func(b *Budget, _ *clock) {
			r, _ := b.Reserve(ctx, alice, 100)
			r.Commit(30)
		}, to: alice, amount: 70},
		{name: "approval", pol: Policy{Total: 100, ApproveAbove: 10, Owner: newKey(9).Public().(ed25519.PublicKey)}, to: alice, amount: 11, want: ErrApprovalRequired},
		{name: "below approval", pol: Policy{Total: 100, ApproveAbove: 10, Owner: newKey(9).Public().(ed25519.PublicKey)}, to: alice, amount: 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			b := mustBudget(t, BudgetOptions{Policy: tt.pol, Now: c.Now})
			if tt.before != nil {
				tt.before(b, c)
			}
			r, err := b.Reserve(ctx, tt.to, tt.amount)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Reserve(%s) = %v, want %v", tt.amount, err, tt.want)
			}
			if err == nil && r.Amount() != tt.amount {
				t.Errorf("reserved %s, want %s", r.Amount(), tt.amount)
			}
		})
	}
}

func spend(to tx.Address, amt tx.Amount) func(*Budget, *clock) {
	return func(b *Budget, _ *clock) {
		r, err := b.Reserve(context.Background(), to, amt)
		if err != nil {
			panic(err)
		}
		if err := r.Commit(amt); err != nil {
			panic(err)
		}
	}
}

func hold(to tx.Address, amt tx.Amount) func(*Budget, *clock) {
	return func(b *Budget, _ *clock) {
		if _, err := b.Reserve(context.Background(), to, amt); err != nil {
			panic(err)
		}
	}
}

// TestBudgetConcurrent: 1,000 concurrent reservations of 7 against a
// total of 2,000: exactly 285 succeed, the rest fail with
// ErrBudgetExceeded, and released reservations charge nothing.
func TestBudgetConcurrent(t *testing.T) {
	const n, price, total = 1000, 7, 2000
	b := mustBudget(t, BudgetOptions{Policy: Policy{Total: total}})
	var ok, over atomic.Int64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := b.Reserve(context.Background(), addr(byte(i%5)), price)
			switch {
			case errors.Is(err, ErrBudgetExceeded):
				over.Add(1)
			case err != nil:
				t.Errorf("reserve: %v", err)
			case i%2 == 0:
				if err := r.Commit(price); err != nil {
					t.Error(err)
				}
				ok.Add(1)
			default:
				r.Release() // a failed call: nothing charged
			}
		}()
	}
	wg.Wait()
	u := b.Usage()
	if u.Reserved != 0 {
		t.Errorf("reserved %s after all settled, want 0", u.Reserved)
	}
	if u.Spent != tx.Amount(ok.Load()*price) || u.Spent > total {
		t.Errorf("spent %s, want %d commits × %d ≤ %d", u.Spent, ok.Load(), price, total)
	}
	if over.Load()+ok.Load() > n || ok.Load() == 0 {
		t.Errorf("%d committed, %d over budget", ok.Load(), over.Load())
	}

	// All hold at once: exactly total/price succeed.
	b = mustBudget(t, BudgetOptions{Policy: Policy{Total: total}})
	var held atomic.Int64
	var mu sync.Mutex
	var rs []*Reservation
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := b.Reserve(context.Background(), addr(1), price)
			if err != nil {
				if !errors.Is(err, ErrBudgetExceeded) {
					t.Errorf("reserve: %v", err)
				}
				return
			}
			held.Add(1)
			mu.Lock()
			rs = append(rs, r)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if held.Load() != total/price {
		t.Fatalf("%d reservations held, want exactly %d", held.Load(), total/price)
	}
	for i, r := range rs {
		if i%2 == 0 {
			r.Release()
		} else if err := r.Commit(price); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := b.Usage().Spent, tx.Amount(len(rs)/2*price); got != want {
		t.Errorf("spent %s, want %s (released reservations are free)", got, want)
	}
}

func TestBudgetReservationOnce(t *testing.T) {
	b := mustBudget(t, BudgetOptions{Policy: Policy{Total: 100}})
	r, _ := b.Reserve(context.Background(), addr(1), 10)
	if err := r.Commit(11); err == nil {
		t.Error("commit above the reservation succeeded")
	}
	if err := r.Commit(10); err != nil {
		t.Fatal(err)
	}
	if err := r.Commit(10); !errors.Is(err, ErrReservation) {
		t.Errorf("second commit: %v, want ErrReservation", err)
	}
	r.Release()
	if u := b.Usage(); u.Spent != 10 || u.Reserved != 0 {
		t.Errorf("usage %+v, want spent 10", u)
	}
}

func TestBudgetApproval(t *testing.T) {
	owner := newKey(9)
	c := newClock()
	b := mustBudget(t, BudgetOptions{Now: c.Now, Policy: Policy{Total: 1000, ApproveAbove: 100,
		Owner: owner.Public().(ed25519.PublicKey), ApprovalTTL: time.Minute}})
	ctx := context.Background()
	_, err := b.Reserve(ctx, addr(1), 500)
	var ae *ApprovalError
	if !errors.As(err, &ae) || !errors.Is(err, ErrApprovalRequired) {
		t.Fatalf("reserve 500: %v, want an ApprovalError", err)
	}
	a, ok := b.Pending(ae.Approval.ID)
	if !ok || a.Amount != 500 || a.Counterparty != addr(1) {
		t.Fatalf("pending %+v %v", a, ok)
	}
	if err := b.Approve(a.ID, SignApproval(newKey(8), a)); !errors.Is(err, ErrApprovalSignature) {
		t.Errorf("approve with another key: %v", err)
	}
	tampered := a
	tampered.Amount = 600
	if err := b.Approve(a.ID, SignApproval(owner, tampered)); !errors.Is(err, ErrApprovalSignature) {
		t.Errorf("approve of another amount: %v", err)
	}
	if err := b.Approve("ap-nope", SignApproval(owner, a)); !errors.Is(err, ErrUnknownApproval) {
		t.Errorf("approve unknown: %v", err)
	}
	if _, err := b.Reserve(ctx, addr(1), 500); !errors.Is(err, ErrApprovalRequired) {
		t.Fatalf("reserve before approval: %v", err)
	}
	if err := b.Approve(a.ID, SignApproval(owner, a)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Reserve(ctx, addr(2), 500); !errors.Is(err, ErrApprovalRequired) {
		t.Errorf("approval used for another counterparty: %v", err)
	}
	if _, err := b.Reserve(ctx, addr(1), 500); err != nil {
		t.Fatalf("reserve after approval: %v", err)
	}
	if _, err := b.Reserve(ctx, addr(1), 500); !errors.Is(err, ErrApprovalRequired) {
		t.Errorf("approval used twice: %v", err)
	}

	// An approval past its TTL is refused.
	_, err = b.Reserve(ctx, addr(1), 200)
	if !errors.As(err, &ae) {
		t.Fatal(err)
	}
	c.Add(time.Minute)
	if err := b.Approve(ae.Approval.ID, SignApproval(owner, ae.Approval)); !errors.Is(err, ErrApprovalExpired) {
		t.Errorf("approve expired: %v", err)
	}
}

// TestBudgetApprovalPersists: a pending approval outlives a restart (one
// process asks, the next is approved and pays, as with `deai agent run
// --once`), and a used approval stays used across a restart, even with
// save slack.
func TestBudgetApprovalPersists(t *testing.T) {
	owner := newKey(9)
	c := newClock()
	o := BudgetOptions{Path: filepath.Join(t.TempDir(), "budget.json"), Now: c.Now, SaveSlack: 1000,
		Policy: Policy{Total: 10_000, ApproveAbove: 100, Owner: owner.Public().(ed25519.PublicKey)}}
	ctx := context.Background()
	_, err := mustBudget(t, o).Reserve(ctx, addr(1), 300)
	var ae *ApprovalError
	if !errors.As(err, &ae) {
		t.Fatalf("reserve 300: %v, want an ApprovalError", err)
	}
	b := mustBudget(t, o) // the next process
	a, ok := b.Pending(ae.Approval.ID)
	if !ok || a.Amount != 300 || a.Approved {
		t.Fatalf("pending after a restart: %+v %v", a, ok)
	}
	if err := b.Approve(a.ID, SignApproval(owner, a)); err != nil {
		t.Fatal(err)
	}
	b = mustBudget(t, o) // approved, then restarted before paying
	r, err := b.Reserve(ctx, addr(1), 300)
	if err != nil {
		t.Fatalf("reserve after approval and restart: %v", err)
	}
	if err := r.Commit(300); err != nil {
		t.Fatal(err)
	}
	b = mustBudget(t, o)
	if _, err := b.Reserve(ctx, addr(1), 300); !errors.Is(err, ErrApprovalRequired) {
		t.Fatalf("the used approval worked again after a restart: %v", err)
	}
	if u := b.Usage(); u.Spent < 300 {
		t.Fatalf("spent %s after a restart, want at least 300", u.Spent)
	}
}

func TestBudgetPersist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "budget.json")
	c := newClock()
	o := BudgetOptions{Path: path, Now: c.Now, Policy: Policy{Total: 100, PerPeriod: 50, Period: 24 * time.Hour,
		Allow: map[tx.Address]tx.Amount{addr(1): 40, addr(2): 0}}}
	b := mustBudget(t, o)
	ctx := context.Background()
	r, _ := b.Reserve(ctx, addr(1), 30)
	r.Commit(25)
	held, _ := b.Reserve(ctx, addr(2), 10) // in flight at the "crash"
	_ = held

	b2 := mustBudget(t, o)
	if u := b2.Usage(); u.Spent != 35 || u.PeriodUsed != 35 {
		t.Errorf("after restart %+v, want spent 35 (25 committed + 10 in flight counted as spent)", u)
	}
	if _, err := b2.Reserve(ctx, addr(1), 16); !errors.Is(err, ErrCounterpartyCap) {
		t.Errorf("counterparty cap after restart: %v", err)
	}
	if _, err := b2.Reserve(ctx, addr(2), 16); !errors.Is(err, ErrCapExceeded) {
		t.Errorf("period cap after restart: %v", err)
	}
	if err := b2.Kill(true); err != nil {
		t.Fatal(err)
	}
	if _, err := mustBudget(t, o).Reserve(ctx, addr(2), 1); !errors.Is(err, ErrKilled) {
		t.Errorf("kill switch after restart: %v", err)
	}
}

func TestPolicyValidate(t *testing.T) {
	for name, p := range map[string]Policy{
		"no total":          {},
		"period":            {Total: 1, PerPeriod: 1},
		"approval no owner": {Total: 1, ApproveAbove: 1},
	} {
		if _, err := NewBudget(BudgetOptions{Policy: p}); err == nil {
			t.Errorf("%s: NewBudget accepted %+v", name, p)
		}
	}
}

// TestBudgetSaveSlack: with SaveSlack, a crash over-counts by at most the
// slack and never under-counts; Flush saves the exact state.
func TestBudgetSaveSlack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "budget.json")
	o := BudgetOptions{Path: path, SaveSlack: 100, Policy: Policy{Total: 1000, Allow: map[tx.Address]tx.Amount{addr(1): 500, addr(2): 0}}}
	b := mustBudget(t, o)
	ctx := context.Background()
	var actual tx.Amount
	for _, amt := range []tx.Amount{10, 20, 30, 90, 5} {
		r, err := b.Reserve(ctx, addr(1), amt)
		if err != nil {
			t.Fatal(err)
		}
		r.Commit(amt)
		actual += amt
		after := mustBudget(t, o).Usage().Spent // a crash now
		if after < actual || after > actual+100 {
			t.Fatalf("after reserving %s (%s in all), a restart counts %s, want %s to %s", amt, actual, after, actual, actual+100)
		}
		if by := mustBudget(t, o).SpentWith(addr(1)); by < actual {
			t.Fatalf("counterparty spent %s after restart, below %s", by, actual)
		}
	}
	if err := b.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := mustBudget(t, o).Usage().Spent; got != actual {
		t.Errorf("after Flush a restart counts %s, want exactly %s", got, actual)
	}
}
