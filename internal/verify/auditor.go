package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/wire"
)

// Disputer takes a receipt that re-execution proved wrong to the ledger
// (LedgerDisputer opens a dispute with a bond).
type Disputer interface {
	Dispute(ctx context.Context, r *wire.Receipt, request []byte, v Verdict) error
}

// Auditor defaults.
const (
	DefaultBeaconDelay  = 2
	DefaultMaxPending   = 10_000
	DefaultPollInterval = 250 * time.Millisecond
)

// AuditorOptions configure NewAuditor.
type AuditorOptions struct {
	Chain     chain.Client // beacons: the hashes of later blocks
	Reference http.Handler // the reference engine (required)
	Pinned    string       // the subnet's pinned model digest ("": the receipt's own)
	// Rate returns the audit probability in parts per million (the
	// subnet's audit_rate_ppm); it is asked once per receipt drawn.
	Rate     func() uint32
	Disputer Disputer // nil: mismatches are counted and logged only
	// Delay is how many blocks after the one the auditor last saw when it
	// received a receipt the beacon block is (default DefaultBeaconDelay):
	// that block did not exist when the miner signed.
	Delay int64
	// MaxPending bounds the receipts waiting for their beacon; beyond it
	// new ones are dropped and counted (default DefaultMaxPending).
	MaxPending   int
	Workers      int           // re-executions at once (default 1)
	PollInterval time.Duration // default DefaultPollInterval
	// OnAudit, when set, sees every receipt drawn for audit and its
	// outcome (metrics, tests).
	OnAudit func(Audit)
	Logger  *slog.Logger
}

// Audit is one receipt drawn and checked.
type Audit struct {
	Receipt wire.Receipt
	Request []byte
	Beacon  int64 // the height whose hash drew it
	Verdict Verdict
	Err     error // re-execution failed (not the miner's fault)
	Dispute error // the dispute could not be opened
}

// Stats counts what an Auditor did.
type Stats struct {
	Observed, Dropped, Drawn, Selected  int64
	Honest, Mismatched, Invalid, Failed int64
	Disputed, DisputeFailed             int64
	Reexecution                         time.Duration // total time re-executing
}

type pending struct {
	r       wire.Receipt
	request []byte
	beacon  int64
}

// Auditor spot-checks receipts: each observed receipt waits for its
// beacon block, is drawn with Selected at the subnet's rate, and the drawn
// ones are re-executed; a receipt that does not match goes to the
// Disputer. Safe for concurrent use; Observe never blocks.
type Auditor struct {
	o   AuditorOptions
	log *slog.Logger

	mu      sync.Mutex // guards queue, latest and stats
	queue   []pending
	latest  int64
	stats   Stats
	beacons map[int64][]byte
}

// NewAuditor checks o.
func NewAuditor(o AuditorOptions) (*Auditor, error) {
	switch {
	case o.Chain == nil:
		return nil, errors.New("new auditor: no chain client")
	case o.Reference == nil:
		return nil, errors.New("new auditor: no reference engine")
	case o.Rate == nil:
		return nil, errors.New("new auditor: no audit rate")
	}
	if o.Delay <= 0 {
		o.Delay = DefaultBeaconDelay
	}
	if o.MaxPending <= 0 {
		o.MaxPending = DefaultMaxPending
	}
	if o.Workers <= 0 {
		o.Workers = 1
	}
	if o.PollInterval <= 0 {
		o.PollInterval = DefaultPollInterval
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Auditor{o: o, log: log.With("component", "auditor"), beacons: map[int64][]byte{}}, nil
}

// Observe queues a receipt and the request it answered. The receipt's
// beacon is a block after the latest one the auditor has seen.
func (a *Auditor) Observe(r wire.Receipt, request []byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.stats.Observed++
	if len(a.queue) >= a.o.MaxPending {
		a.stats.Dropped++
		return
	}
	a.queue = append(a.queue, pending{r: r, request: request, beacon: a.latest + a.o.Delay})
}

// Stats returns the counters so far.
func (a *Auditor) Stats() Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

// Run follows the chain until ctx ends: receipts whose beacon block is
// committed are drawn, and the drawn ones re-executed by Workers
// goroutines.
func (a *Auditor) Run(ctx context.Context) error {
	work := make(chan pending, a.o.Workers)
	var wg sync.WaitGroup
	for range a.o.Workers {
		wg.Go(func() {
			for p := range work {
				a.audit(ctx, p)
			}
		})
	}
	defer wg.Wait()
	defer close(work)
	t := time.NewTicker(a.o.PollInterval)
	defer t.Stop()
	for {
		if err := a.step(ctx, work); err != nil && ctx.Err() == nil {
			a.log.Warn("audit step", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// step draws every queued receipt whose beacon block exists.
func (a *Auditor) step(ctx context.Context, work chan<- pending) error {
	st, err := a.o.Chain.Status(ctx)
	if err != nil {
		return fmt.Errorf("chain status: %w", err)
	}
	a.mu.Lock()
	if st.LatestHeight > a.latest {
		a.latest = st.LatestHeight
	}
	latest := a.latest
	var due []pending
	keep := a.queue[:0]
	for _, p := range a.queue {
		if p.beacon <= latest {
			due = append(due, p)
		} else {
			keep = append(keep, p)
		}
	}
	a.queue = keep
	a.mu.Unlock()
	for i, p := range due {
		beacon, err := a.beacon(ctx, p.beacon)
		if err != nil {
			a.mu.Lock()
			a.queue = append(a.queue, due[i:]...) // try again next time
			a.mu.Unlock()
			return err
		}
		sel := Selected(beacon, p.r.Signature, a.o.Rate())
		a.mu.Lock()
		a.stats.Drawn++
		if sel {
			a.stats.Selected++
		}
		a.mu.Unlock()
		if !sel {
			continue
		}
		select {
		case work <- p:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// beacon returns the hash of the block at height, cached.
func (a *Auditor) beacon(ctx context.Context, height int64) ([]byte, error) {
	a.mu.Lock()
	h, ok := a.beacons[height]
	a.mu.Unlock()
	if ok {
		return h, nil
	}
	b, err := a.o.Chain.Block(ctx, height)
	if err != nil {
		return nil, fmt.Errorf("beacon block %d: %w", height, err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for old := range a.beacons {
		if old < height-64 {
			delete(a.beacons, old)
		}
	}
	a.beacons[height] = b.Hash
	return b.Hash, nil
}

// audit re-executes one drawn receipt and disputes a mismatch.
func (a *Auditor) audit(ctx context.Context, p pending) {
	v, err := Check(ctx, &p.r, CheckOptions{Request: p.request, Pinned: a.o.Pinned, Reference: a.o.Reference})
	au := Audit{Receipt: p.r, Request: p.request, Beacon: p.beacon, Verdict: v, Err: err}
	wrong := err == nil && v.Valid && v.Reexecuted && !v.Honest
	if wrong && a.o.Disputer != nil {
		au.Dispute = a.o.Disputer.Dispute(ctx, &p.r, p.request, v)
	}
	a.mu.Lock()
	a.stats.Reexecution += v.Got.Elapsed
	switch {
	case err != nil:
		a.stats.Failed++
	case !v.Valid:
		a.stats.Invalid++
	case v.Honest:
		a.stats.Honest++
	default:
		a.stats.Mismatched++
		if a.o.Disputer != nil {
			if au.Dispute == nil {
				a.stats.Disputed++
			} else {
				a.stats.DisputeFailed++
			}
		}
	}
	a.mu.Unlock()
	switch {
	case err != nil:
		a.log.Warn("re-execution failed", "miner", p.r.Miner.String(), "err", err)
	case wrong:
		a.log.Warn("receipt does not match re-execution", "miner", p.r.Miner.String(), "reason", v.Reason, "dispute_err", au.Dispute)
	}
	if a.o.OnAudit != nil {
		a.o.OnAudit(au)
	}
}
