package gateway

import (
	"sync"
	"time"

	"github.com/deai-network/deai/internal/tx"
)

// Router defaults.
const (
	// DefaultBreakerThreshold consecutive failures open a miner's breaker.
	DefaultBreakerThreshold = 3
	// DefaultBreakerCooldown is how long an open breaker keeps traffic
	// away before one trial request is let through.
	DefaultBreakerCooldown = 10 * time.Second
	// ewmaAlpha weighs the newest latency sample.
	ewmaAlpha = 0.2
	// defaultLatency is the estimate for a miner never measured.
	defaultLatency = 100 * time.Millisecond
	// regionBonus multiplies the score of miners in the preferred region.
	regionBonus = 4
)

// router scores miners and keeps per-miner health: an EWMA of latency,
// requests in flight and a circuit breaker.
type router struct {
	region    string
	threshold int
	cooldown  time.Duration
	now       func() time.Time

	mu    sync.Mutex // guards stats
	stats map[tx.Address]*minerStats
}

type minerStats struct {
	latency   time.Duration // EWMA; 0 until measured
	inflight  int
	failures  int       // consecutive
	openUntil time.Time // breaker open while now < openUntil
	trial     bool      // a half-open trial is in flight
	requests  uint64    // finished requests, for the explorer
	failed    uint64    // of which failed
}

// minerView is a miner's health as the explorer shows it.
type minerView struct {
	LatencyMs   float64 `json:"latency_ms"` // EWMA; 0 until measured
	InFlight    int     `json:"in_flight"`
	Requests    uint64  `json:"requests"` // answered or failed since start
	Receipts    uint64  `json:"receipts"` // verified answers (a signed receipt each)
	Failures    uint64  `json:"failures"`
	Consecutive int     `json:"consecutive_failures"`
	BreakerOpen bool    `json:"breaker_open"`
}

// views returns every measured miner's health.
func (r *router) views() map[tx.Address]minerView {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	out := make(map[tx.Address]minerView, len(r.stats))
	for a, s := range r.stats {
		out[a] = minerView{LatencyMs: float64(s.latency) / float64(time.Millisecond), InFlight: s.inflight, Requests: s.requests,
			Receipts: s.requests - s.failed, Failures: s.failed, Consecutive: s.failures, BreakerOpen: now.Before(s.openUntil)}
	}
	return out
}

func newRouter(region string, threshold int, cooldown time.Duration, now func() time.Time) *router {
	return &router{region: region, threshold: threshold, cooldown: cooldown, now: now, stats: map[tx.Address]*minerStats{}}
}

func (r *router) statsLocked(a tx.Address) *minerStats {
	s := r.stats[a]
	if s == nil {
		s = &minerStats{}
		r.stats[a] = s
	}
	return s
}

// score ranks a miner: chain reputation, then speed and load, with a bonus
// for the preferred region.
func (r *router) scoreLocked(m Miner, s *minerStats) float64 {
	lat := s.latency
	if lat <= 0 {
		lat = defaultLatency
	}
	score := (0.05 + m.Incentive + m.Trust) / (lat.Seconds() * float64(1+s.inflight))
	if r.region != "" && m.Region == r.region {
		score *= regionBonus
	}
	return score
}

// pick chooses the best miner of ms not in tried whose digest is want and
// whose breaker lets a request through, and counts it in flight. The
// caller must call done.
func (r *router) pick(ms []Miner, want string, tried map[tx.Address]bool) (Miner, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.now()
	best, bestScore, found := Miner{}, -1.0, false
	for _, m := range ms {
		if m.Digest != want || tried[m.Hotkey] {
			continue
		}
		s := r.statsLocked(m.Hotkey)
		if now.Before(s.openUntil) || (s.failures >= r.threshold && s.trial) {
			continue
		}
		if sc := r.scoreLocked(m, s); sc > bestScore {
			best, bestScore, found = m, sc, true
		}
	}
	if !found {
		return Miner{}, false
	}
	s := r.statsLocked(best.Hotkey)
	s.inflight++
	if s.failures >= r.threshold {
		s.trial = true // half-open: this request decides
	}
	return best, true
}

// done records the outcome of a request picked by pick. ok with a zero
// latency (the client left) leaves the health unchanged.
func (r *router) done(a tx.Address, ok bool, latency time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.statsLocked(a)
	s.inflight--
	s.trial = false
	s.requests++
	if !ok {
		s.failed++
		s.failures++
		if s.failures >= r.threshold {
			s.openUntil = r.now().Add(r.cooldown)
		}
		return
	}
	s.failures = 0
	if latency > 0 {
		if s.latency == 0 {
			s.latency = latency
		} else {
			s.latency = time.Duration(ewmaAlpha*float64(latency) + (1-ewmaAlpha)*float64(s.latency))
		}
	}
}

// release undoes pick without judging the miner (the client left).
func (r *router) release(a tx.Address) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.statsLocked(a)
	s.inflight--
	s.trial = false
}
