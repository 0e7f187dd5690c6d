package tensor

import (
	"runtime"
	"sync/atomic"
)

// task is a unit of parallel work over the index range [lo, hi).
type task interface{ run(lo, hi int) }

// Pool is a persistent set of worker goroutines that split a range of rows
// into fixed chunks taken from a shared counter. Workers spin briefly between
// jobs (a token's matmuls follow each other within microseconds) and then
// park on a channel. A Pool is used by one goroutine at a time; the zero
// number of workers (threads == 1) runs everything on the caller.
type Pool struct {
	threads int
	workers []*worker

	gen     atomic.Uint64 // incremented once per job; workers wait for a change
	closed  atomic.Bool
	next    atomic.Int64 // next chunk start
	pending atomic.Int32 // workers still running the current job

	// The current job, written by the caller before gen is incremented.
	job   task
	n     int
	chunk int

	mm mmTask // reused to avoid allocating a task per matmul
}

type worker struct {
	sleeping atomic.Bool
	wake     chan struct{}
}

// spinLimit bounds how long an idle worker polls before parking: about
// 50–100 µs, longer than the gaps between the matmuls of one token.
const spinLimit = 20000

// NewPool starts threads-1 workers (the caller is the remaining thread).
// threads < 1 means runtime.NumCPU().
func NewPool(threads int) *Pool {
	if threads < 1 {
		threads = runtime.NumCPU()
	}
	p := &Pool{threads: threads}
	for i := 1; i < threads; i++ {
		w := &worker{wake: make(chan struct{}, 1)}
		p.workers = append(p.workers, w)
		go p.loop(w)
	}
	return p
}

// Threads returns the number of threads that share the work.
func (p *Pool) Threads() int { return p.threads }

// Close stops the workers. The Pool must not be used afterwards.
func (p *Pool) Close() {
	if p.closed.Swap(true) {
		return
	}
	p.gen.Add(1)
	for _, w := range p.workers {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (p *Pool) loop(w *worker) {
	var seen uint64 // gen is 0 when the worker is created, before any job
	for {
		spins := 0
		for {
			if g := p.gen.Load(); g != seen {
				seen = g
				break
			}
			spins++
			if spins < spinLimit {
				continue
			}
			w.sleeping.Store(true)
			if p.gen.Load() != seen {
				w.sleeping.Store(false)
				continue
			}
			<-w.wake // may be a stale token: the loop re-checks gen
			w.sleeping.Store(false)
			spins = 0
		}
		if p.closed.Load() {
			return
		}
		p.work()
		p.pending.Add(-1)
	}
}

// work takes chunks until none are left.
func (p *Pool) work() {
	for {
		lo := int(p.next.Add(int64(p.chunk))) - p.chunk
		if lo >= p.n {
			return
		}
		p.job.run(lo, min(lo+p.chunk, p.n))
	}
}

// parallel runs t over [0, n) in chunks of chunk; serial when parallel is
// false or the pool has one thread.
func (p *Pool) parallel(n, chunk int, parallel bool, t task) {
	if p == nil || p.threads == 1 || !parallel || n <= chunk {
		t.run(0, n)
		return
	}
	p.job, p.n, p.chunk = t, n, chunk
	p.next.Store(0)
	p.pending.Store(int32(len(p.workers)))
	p.gen.Add(1)
	for _, w := range p.workers {
		if w.sleeping.Load() {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
	p.work()
	for spins := 0; p.pending.Load() != 0; spins++ {
		if spins > 1000 {
			runtime.Gosched()
		}
	}
	p.job = nil
}
