package agent

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/tx"
)

// Errors a Budget returns, wrapped with the amounts involved; callers
// branch on them with errors.Is.
var (
	ErrBudgetExceeded    = errors.New("total budget exceeded")
	ErrCapExceeded       = errors.New("period cap exceeded")
	ErrCounterpartyCap   = errors.New("counterparty cap exceeded")
	ErrNotAllowed        = errors.New("counterparty not on the allowlist")
	ErrPerCallExceeded   = errors.New("amount above the maximum per call")
	ErrBudgetExpired     = errors.New("budget expired")
	ErrKilled            = errors.New("budget killed by its kill switch")
	ErrApprovalRequired  = errors.New("payment needs the owner's approval")
	ErrApprovalExpired   = errors.New("approval expired")
	ErrApprovalSignature = errors.New("approval signature does not verify for the owner key")
	ErrUnknownApproval   = errors.New("no such pending approval")
	ErrReservation       = errors.New("reservation already settled")
)

// Policy is what an owner lets an agent spend. Zero fields are no limit,
// except Total, which is required.
type Policy struct {
	Total      tx.Amount     `json:"total"`        // over the budget's life
	PerPeriod  tx.Amount     `json:"per_period"`   // per Period window
	Period     time.Duration `json:"period"`       // e.g. time.Hour or 24*time.Hour
	MaxPerCall tx.Amount     `json:"max_per_call"` // one reservation
	// Allow, when not nil, lists the only counterparties paid, each with
	// its own cap over the budget's life (0: only the other limits).
	Allow   map[tx.Address]tx.Amount `json:"allow,omitempty"`
	Expires time.Time                `json:"expires,omitzero"`
	// ApproveAbove: a reservation above it waits for an approval signed
	// by Owner (0: none needed). ApprovalTTL bounds how long a pending
	// approval may be approved and then used (default DefaultApprovalTTL).
	ApproveAbove tx.Amount         `json:"approve_above,omitempty"`
	Owner        ed25519.PublicKey `json:"owner,omitempty"`
	ApprovalTTL  time.Duration     `json:"approval_ttl,omitempty"`
}

// DefaultApprovalTTL is how long a pending approval lives.
const DefaultApprovalTTL = 15 * time.Minute

// Validate checks the policy.
func (p *Policy) Validate() error {
	switch {
	case p.Total.IsZero():
		return errors.New("budget policy: total is 0, want a positive udeai amount")
	case !p.PerPeriod.IsZero() && p.Period <= 0:
		return fmt.Errorf("budget policy: per_period %s needs a positive period", p.PerPeriod)
	case !p.ApproveAbove.IsZero() && len(p.Owner) != ed25519.PublicKeySize:
		return fmt.Errorf("budget policy: approve_above %s needs a %d-byte owner key, have %d bytes", p.ApproveAbove, ed25519.PublicKeySize, len(p.Owner))
	}
	return nil
}

// BudgetOptions configure NewBudget.
type BudgetOptions struct {
	Policy Policy
	// Path, when set, is the JSON file that keeps spent amounts across
	// restarts, replaced atomically (write, fsync, rename). Outstanding
	// reservations are saved as spent, so a crash between Reserve and
	// Commit errs on the side of the owner; Commit and Release only lower
	// what is owed, so they are saved with the next Reserve (or Flush).
	Path string
	// SaveSlack lets Reserve skip the save while the amount reserved
	// since the last save stays within it: the file records the slack as
	// headroom, and a restart counts it as spent (in the total, the
	// period and every capped counterparty), so a crash can only
	// over-count, by at most SaveSlack. 0 saves on every Reserve (an
	// fsync each, milliseconds on most disks).
	SaveSlack tx.Amount
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Budget enforces a Policy at the signer: every payment first reserves
// its amount (Reserve), then commits what it actually paid (Commit) or
// releases the reservation (Release). Reservations count against every
// limit until settled, so concurrent payments can never overshoot. Its
// methods are safe for concurrent use.
type Budget struct {
	pol  Policy
	path string
	now  func() time.Time

	mu        sync.Mutex // guards the fields below and the file at path
	st        budgetState
	reserved  tx.Amount                // outstanding, all counterparties
	resBy     map[tx.Address]tx.Amount // outstanding per counterparty
	resPeriod tx.Amount                // outstanding, counted in the current window
	seq       uint64
	slack     tx.Amount // SaveSlack
	sinceSave tx.Amount // reserved since the last save, within its headroom
	headroom  tx.Amount // the headroom of the last save
}

// budgetState is what the file keeps.
type budgetState struct {
	Spent       tx.Amount                `json:"spent"`
	SpentBy     map[tx.Address]tx.Amount `json:"spent_by"`
	Window      time.Time                `json:"window,omitzero"` // start of the current period
	WindowSpent tx.Amount                `json:"window_spent"`
	Killed      bool                     `json:"killed,omitempty"`
	// Headroom may have been reserved after the save without another
	// save: a restart counts it as spent.
	Headroom tx.Amount `json:"headroom,omitempty"`
	// Approvals are the payments waiting for the owner (or approved and
	// not yet used), so that an approval outlives a restart of the agent
	// (a `deai agent run --once` per payment, for instance) and is used
	// once.
	Approvals map[string]*Approval `json:"approvals,omitempty"`
}

// NewBudget returns a budget for o.Policy, loading spent amounts from
// o.Path when the file exists.
func NewBudget(o BudgetOptions) (*Budget, error) {
	if err := o.Policy.Validate(); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Policy.ApprovalTTL <= 0 {
		o.Policy.ApprovalTTL = DefaultApprovalTTL
	}
	b := &Budget{pol: o.Policy, path: o.Path, now: o.Now, slack: o.SaveSlack, resBy: map[tx.Address]tx.Amount{},
		st: budgetState{SpentBy: map[tx.Address]tx.Amount{}, Approvals: map[string]*Approval{}}}
	if o.Path != "" {
		raw, err := os.ReadFile(o.Path)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return nil, fmt.Errorf("load budget: %w", err)
		default:
			if err := json.Unmarshal(raw, &b.st); err != nil {
				return nil, fmt.Errorf("load budget %s: %w", o.Path, err)
			}
			if b.st.SpentBy == nil {
				b.st.SpentBy = map[tx.Address]tx.Amount{}
			}
			if b.st.Approvals == nil {
				b.st.Approvals = map[string]*Approval{}
			}
			if h := b.st.Headroom; h != 0 {
				b.st.Spent += h
				b.st.WindowSpent += h
				for a, c := range o.Policy.Allow {
					if c != 0 {
						b.st.SpentBy[a] += h
					}
				}
				b.st.Headroom = 0
			}
		}
	}
	return b, nil
}

// Reservation is an amount held against a Budget until Commit or Release.
type Reservation struct {
	b            *Budget
	counterparty tx.Address
	amount       tx.Amount
	done         bool // guarded by b.mu
}

// Amount returns the reserved amount.
func (r *Reservation) Amount() tx.Amount { return r.amount }

// Counterparty returns who the reservation pays.
func (r *Reservation) Counterparty() tx.Address { return r.counterparty }

// ApprovalError is returned, wrapping ErrApprovalRequired, for a payment
// above Policy.ApproveAbove: the owner signs Approval (see SignApproval)
// and the agent passes the signature to Budget.Approve; the same Reserve
// then succeeds once.
type ApprovalError struct{ Approval Approval }

func (e *ApprovalError) Error() string {
	return fmt.Sprintf("reserve %s for %s: %v: approval %s, until %s", e.Approval.Amount, e.Approval.Counterparty, ErrApprovalRequired, e.Approval.ID, e.Approval.Expires.UTC().Format(time.RFC3339))
}
func (e *ApprovalError) Unwrap() error { return ErrApprovalRequired }

// Approval is a payment waiting for (or holding) the owner's approval.
type Approval struct {
	ID           string     `json:"id"`
	Counterparty tx.Address `json:"counterparty"`
	Amount       tx.Amount  `json:"amount"`
	Expires      time.Time  `json:"expires"`
	Approved     bool       `json:"approved"`
}

// ApprovalDomain prefixes the bytes an owner signs to approve a payment.
const ApprovalDomain = "deai/agent/approval/v1\x00"

// SignBytes returns what the owner signs: the domain, the ID, the
// counterparty, the amount and the expiry.
func (a *Approval) SignBytes() []byte {
	b := append([]byte(ApprovalDomain), tx.AppendBytes8(nil, []byte(a.ID))...)
	b = append(b, a.Counterparty[:]...)
	b = tx.AppendU64(b, uint64(a.Amount))
	return tx.AppendU64(b, uint64(a.Expires.UnixNano()))
}

// SignApproval signs a with the owner's key (what `deai agent approve`
// does).
func SignApproval(owner ed25519.PrivateKey, a Approval) []byte {
	return ed25519.Sign(owner, a.SignBytes())
}

func (b *Budget) windowLocked(now time.Time) time.Time {
	if b.pol.Period <= 0 {
		return time.Time{}
	}
	w := now.Truncate(b.pol.Period)
	if !w.Equal(b.st.Window) {
		// Reservations still outstanding from the last window count in
		// this one until settled, so a window never overshoots its cap.
		b.st.Window, b.st.WindowSpent, b.resPeriod = w, 0, b.reserved
	}
	return w
}

// Reserve holds amount for a payment to counterparty, or says which limit
// refuses it. ctx is unused for now: reserving never blocks on I/O other
// than the state file.
func (b *Budget) Reserve(_ context.Context, counterparty tx.Address, amount tx.Amount) (*Reservation, error) {
	if amount.IsZero() {
		return nil, fmt.Errorf("reserve for %s: %w", counterparty, tx.ErrZeroAmount)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	p := &b.pol
	w := b.windowLocked(now)
	fail := func(err error, format string, args ...any) (*Reservation, error) {
		return nil, fmt.Errorf("reserve %s for %s: %w: %s", amount, counterparty, err, fmt.Sprintf(format, args...))
	}
	if b.st.Killed {
		return fail(ErrKilled, "no payments until the owner revives it")
	}
	if !p.Expires.IsZero() && !now.Before(p.Expires) {
		return fail(ErrBudgetExpired, "at %s", p.Expires.UTC().Format(time.RFC3339))
	}
	capBy := tx.Amount(0)
	if p.Allow != nil {
		c, ok := p.Allow[counterparty]
		if !ok {
			return fail(ErrNotAllowed, "%d counterparties allowed", len(p.Allow))
		}
		capBy = c
	}
	if !p.MaxPerCall.IsZero() && amount > p.MaxPerCall {
		return fail(ErrPerCallExceeded, "max %s", p.MaxPerCall)
	}
	if used := b.st.Spent + b.reserved; amount > p.Total || used > p.Total-amount {
		return fail(ErrBudgetExceeded, "spent %s, reserved %s, total %s", b.st.Spent, b.reserved, p.Total)
	}
	if !capBy.IsZero() {
		if used := b.st.SpentBy[counterparty] + b.resBy[counterparty]; amount > capBy || used > capBy-amount {
			return fail(ErrCounterpartyCap, "%s used of %s", used, capBy)
		}
	}
	if !p.PerPeriod.IsZero() {
		if used := b.st.WindowSpent + b.resPeriod; amount > p.PerPeriod || used > p.PerPeriod-amount {
			return fail(ErrCapExceeded, "%s used of %s in the period from %s", used, p.PerPeriod, w.UTC().Format(time.RFC3339))
		}
	}
	var approval *Approval // the owner's approval this payment uses
	if !p.ApproveAbove.IsZero() && amount > p.ApproveAbove {
		if approval = b.useApprovalLocked(counterparty, amount, now); approval == nil {
			a := b.newApprovalLocked(counterparty, amount, now)
			if err := b.saveLocked(b.headroom - b.sinceSave); err != nil {
				delete(b.st.Approvals, a.ID)
				return nil, fmt.Errorf("reserve %s for %s: %w", amount, counterparty, err)
			}
			return nil, &ApprovalError{Approval: *a}
		}
	}
	b.reserved += amount
	b.resBy[counterparty] += amount
	b.resPeriod += amount
	// A used approval is saved at once, so that it cannot be used again
	// after a crash.
	if approval == nil && b.sinceSave+amount <= b.headroom && b.sinceSave+amount >= amount {
		b.sinceSave += amount // covered by the saved headroom
	} else if err := b.saveLocked(b.slack); err != nil {
		b.reserved -= amount
		b.resBy[counterparty] -= amount
		b.resPeriod -= amount
		if approval != nil {
			b.st.Approvals[approval.ID] = approval // still usable
		}
		return nil, fmt.Errorf("reserve %s for %s: %w", amount, counterparty, err)
	}
	return &Reservation{b: b, counterparty: counterparty, amount: amount}, nil
}

func (b *Budget) newApprovalLocked(cp tx.Address, amount tx.Amount, now time.Time) *Approval {
	for id, a := range b.st.Approvals {
		if !now.Before(a.Expires) {
			delete(b.st.Approvals, id)
		}
	}
	var r [8]byte
	_, _ = rand.Read(r[:])
	b.seq++
	a := &Approval{ID: fmt.Sprintf("ap-%d-%s", b.seq, hex.EncodeToString(r[:])), Counterparty: cp, Amount: amount,
		Expires: now.Add(b.pol.ApprovalTTL).Truncate(time.Second)}
	b.st.Approvals[a.ID] = a
	return a
}

// useApprovalLocked consumes an approved, unexpired approval for at least
// amount to cp and returns it (nil: none).
func (b *Budget) useApprovalLocked(cp tx.Address, amount tx.Amount, now time.Time) *Approval {
	for id, a := range b.st.Approvals {
		if a.Approved && a.Counterparty == cp && amount <= a.Amount && now.Before(a.Expires) {
			delete(b.st.Approvals, id)
			return a
		}
	}
	return nil
}

// Pending returns the approval with id, approved or not.
func (b *Budget) Pending(id string) (Approval, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.st.Approvals[id]
	if !ok {
		return Approval{}, false
	}
	return *a, true
}

// Approve releases the pending approval id with the owner's signature
// over its SignBytes; the next Reserve for its counterparty and at most
// its amount then passes the approval threshold once.
func (b *Budget) Approve(id string, sig []byte) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.st.Approvals[id]
	if !ok {
		return fmt.Errorf("approve %s: %w", id, ErrUnknownApproval)
	}
	if now := b.now(); !now.Before(a.Expires) {
		delete(b.st.Approvals, id)
		return fmt.Errorf("approve %s: %w at %s", id, ErrApprovalExpired, a.Expires.UTC().Format(time.RFC3339))
	}
	if !ed25519.Verify(b.pol.Owner, a.SignBytes(), sig) {
		return fmt.Errorf("approve %s: %w", id, ErrApprovalSignature)
	}
	a.Approved = true
	if err := b.saveLocked(b.headroom - b.sinceSave); err != nil {
		a.Approved = false
		return fmt.Errorf("approve %s: %w", id, err)
	}
	return nil
}

// Commit charges actual (at most the reserved amount) and frees the
// rest of the reservation.
func (r *Reservation) Commit(actual tx.Amount) error {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.done {
		return fmt.Errorf("commit %s for %s: %w", actual, r.counterparty, ErrReservation)
	}
	if actual > r.amount {
		return fmt.Errorf("commit %s for %s: above the reserved %s", actual, r.counterparty, r.amount)
	}
	r.settleLocked()
	b.st.Spent += actual
	b.st.SpentBy[r.counterparty] += actual
	if b.pol.Period > 0 {
		// A reservation from an earlier window is charged to the current
		// one, in which it was counted since the rollover.
		b.st.WindowSpent += actual
	}
	return nil // the file already counts the whole reservation
}

// Release frees the reservation without charging anything; releasing a
// settled reservation does nothing.
func (r *Reservation) Release() {
	b := r.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if r.done {
		return
	}
	r.settleLocked() // the file over-counts until the next save
}

// Flush saves the exact state (no headroom), e.g. before a clean
// shutdown, so a restart does not count released reservations or
// headroom as spent.
func (b *Budget) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.saveLocked(0)
}

func (r *Reservation) settleLocked() {
	b := r.b
	r.done = true
	b.reserved -= r.amount
	if b.resBy[r.counterparty] -= r.amount; b.resBy[r.counterparty] == 0 {
		delete(b.resBy, r.counterparty)
	}
	if b.pol.Period > 0 {
		b.windowLocked(b.now())
		b.resPeriod -= r.amount
	}
}

// Kill turns the kill switch on (every Reserve fails with ErrKilled,
// across restarts) or off.
func (b *Budget) Kill(on bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st.Killed = on
	return b.saveLocked(b.headroom - b.sinceSave)
}

// Usage is a snapshot of a budget's accounts.
type Usage struct {
	Spent, Reserved, PeriodUsed tx.Amount
	Killed                      bool
}

// Usage returns the spent and reserved amounts.
func (b *Budget) Usage() Usage {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.windowLocked(b.now())
	return Usage{Spent: b.st.Spent, Reserved: b.reserved, PeriodUsed: b.st.WindowSpent + b.resPeriod, Killed: b.st.Killed}
}

// SpentWith returns what was committed to counterparty.
func (b *Budget) SpentWith(counterparty tx.Address) tx.Amount {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.st.SpentBy[counterparty]
}

// saveLocked writes the state with outstanding reservations counted as
// spent and headroom for reservations without a save, to a temporary
// file that is synced and renamed over the old.
func (b *Budget) saveLocked(headroom tx.Amount) error {
	if b.path == "" {
		return nil
	}
	st := b.st
	st.Headroom = headroom
	st.Spent += b.reserved
	st.WindowSpent += b.resPeriod
	st.SpentBy = make(map[tx.Address]tx.Amount, len(b.st.SpentBy)+len(b.resBy))
	for a, v := range b.st.SpentBy {
		st.SpentBy[a] = v
	}
	for a, v := range b.resBy {
		st.SpentBy[a] += v
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("save budget: %w", err)
	}
	if err := WriteFileAtomic(b.path, raw); err != nil {
		return err
	}
	b.headroom, b.sinceSave = headroom, 0
	return nil
}

// WriteFileAtomic replaces path with data: a temporary file in the same
// directory is written, synced and renamed over it, and the directory is
// synced, so a crash leaves the old file or the new one.
func WriteFileAtomic(path string, data []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("save %s: %w", path, err)
	}
	if d, err := os.Open(filepath.Dir(path)); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
