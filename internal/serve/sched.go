package serve

import (
	"context"
	"time"
)

// scheduler bounds the number of generations running at once. Requests
// beyond that wait in a bounded queue for a bounded time: a full queue is
// answered at once (ErrQueueFull, 429), a wait that runs out gives ErrBusy
// (503). Each admitted request then runs on its own goroutine with its own
// KV cache, so a long stream never holds up another admitted one.
type scheduler struct {
	slots   chan struct{} // one token per running generation
	waiting chan struct{} // one token per queued request
	wait    time.Duration
}

func newScheduler(running, queued int, wait time.Duration) *scheduler {
	return &scheduler{slots: make(chan struct{}, running), waiting: make(chan struct{}, queued), wait: wait}
}

// acquire blocks until a slot is free and returns its release function.
func (s *scheduler) acquire(ctx context.Context) (func(), error) {
	release := func() { <-s.slots }
	select {
	case s.slots <- struct{}{}:
		return release, nil
	default:
	}
	select {
	case s.waiting <- struct{}{}:
	default:
		return nil, ErrQueueFull
	}
	defer func() { <-s.waiting }()
	timer := time.NewTimer(s.wait)
	defer timer.Stop()
	select {
	case s.slots <- struct{}{}:
		return release, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-timer.C:
		return nil, ErrBusy
	}
}
