package tensor

import (
	"runtime"
	"sync/atomic"
)

// task is a unit of parallel work over the index range [lo, hi).
// tid identifies the thread (0 is the caller, 1.. the workers), so a task
// can keep per-thread scratch.
type task interface{ run(lo, hi, tid int) }

// Pool is a persistent set of worker goroutines that split a range of rows
// into fixed chunks. A job is published in one atomic word holding its
// generation, its chunk count and the next unclaimed chunk; every thread,
// the caller included, claims chunks with compare-and-swap, and the caller
// returns when all chunks are done. A worker that is slow to wake (or
// descheduled by a busy OS) never delays a job it has not claimed a chunk
// of. Workers spin briefly between jobs (a token's matmuls follow each other
// within microseconds) and then park on a channel.
//
// A Pool is used by one goroutine at a time. Which thread computes a row
// never changes the row's value, so results do not depend on the thread
// count.
type Pool struct {
	threads int
	workers []*worker

	// state = gen<<40 | nChunks<<20 | next; gen increases once per job.
	// state and done sit on cache lines of their own: every thread writes
	// them.
	_      [64]byte
	state  atomic.Uint64
	_      [56]byte
	done   atomic.Int64 // chunks finished in the current job
	_      [56]byte
	closed atomic.Bool

	// The current job; written before state publishes its generation and
	// not changed until all its chunks are done.
	job   task
	n     int
	chunk int

	mm   mmTask     // reused to avoid allocating a task per matmul
	gemm gemmBuf    // packed activations and per-thread tiles of batched matmuls
	rt   rangerTask // the current Parallel call
	rtt  rangerTIDTask
	prep prepTask // quantization of a MatMul's vectors
}

// Ranger is work over an index range that a Pool may split across threads;
// Run is called concurrently on disjoint ranges.
type Ranger interface{ Run(lo, hi int) }

type rangerTask struct{ r Ranger }

func (t *rangerTask) run(lo, hi, _ int) { t.r.Run(lo, hi) }

// Parallel runs r over [0, n) in chunks of chunk indices on the pool's
// threads and returns when all are done. A nil Pool runs r on the caller.
func (p *Pool) Parallel(n, chunk int, r Ranger) {
	if p == nil {
		r.Run(0, n)
		return
	}
	p.rt = rangerTask{r}
	p.parallel(n, chunk, true, &p.rt)
	p.rt = rangerTask{}
}

// RangerTID is a Ranger that is told which of the pool's threads runs it
// (0 ≤ tid < Threads(); one range at a time per tid), for per-thread
// scratch.
type RangerTID interface{ RunTID(lo, hi, tid int) }

type rangerTIDTask struct{ r RangerTID }

func (t *rangerTIDTask) run(lo, hi, tid int) { t.r.RunTID(lo, hi, tid) }

// ParallelTID is Parallel for a RangerTID.
func (p *Pool) ParallelTID(n, chunk int, r RangerTID) {
	if p == nil {
		r.RunTID(0, n, 0)
		return
	}
	p.rtt = rangerTIDTask{r}
	p.parallel(n, chunk, true, &p.rtt)
	p.rtt = rangerTIDTask{}
}

type worker struct {
	id       int
	sleeping atomic.Bool
	wake     chan struct{}
}

const (
	chunkBits = 20
	chunkMask = 1<<chunkBits - 1
	// spinLimit bounds how long an idle worker polls before parking: tens
	// of microseconds, longer than the gaps between the matmuls of one token.
	spinLimit = 20000
)

// NewPool starts threads-1 workers (the caller is the remaining thread).
// threads < 1 means runtime.NumCPU().
func NewPool(threads int) *Pool {
	if threads < 1 {
		threads = runtime.NumCPU()
	}
	p := &Pool{threads: threads}
	p.gemm.scratch = make([]gemmScratch, threads)
	for i := 1; i < threads; i++ {
		w := &worker{id: i, wake: make(chan struct{}, 1)}
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
	p.state.Add(1 << 40)
	for _, w := range p.workers {
		select {
		case w.wake <- struct{}{}:
		default:
		}
	}
}

func (p *Pool) loop(w *worker) {
	var seen uint64 // generation 0: no job yet
	for {
		spins := 0
		for {
			if g := p.state.Load() >> 40; g != seen {
				seen = g
				break
			}
			spins++
			if spins < spinLimit {
				continue
			}
			w.sleeping.Store(true)
			if p.state.Load()>>40 != seen {
				w.sleeping.Store(false)
				continue
			}
			<-w.wake // may be a stale token: the loop re-checks
			w.sleeping.Store(false)
			spins = 0
		}
		if p.closed.Load() {
			return
		}
		p.work(seen, w.id)
	}
}

// work claims and runs chunks of generation gen until none are left.
func (p *Pool) work(gen uint64, tid int) {
	var t task
	var n, chunk int
	for {
		st := p.state.Load()
		if st>>40 != gen {
			return
		}
		next, total := st&chunkMask, (st>>chunkBits)&chunkMask
		if next >= total {
			return
		}
		if !p.state.CompareAndSwap(st, st+1) {
			continue
		}
		// The job cannot change while one of its chunks is unfinished.
		if t == nil {
			t, n, chunk = p.job, p.n, p.chunk
		}
		lo := int(next) * chunk
		t.run(lo, min(lo+chunk, n), tid)
		p.done.Add(1)
	}
}

// parallel runs t over [0, n) in chunks of chunk; serial when parallel is
// false or the pool has one thread.
func (p *Pool) parallel(n, chunk int, parallel bool, t task) {
	if p == nil || p.threads == 1 || !parallel || n <= chunk {
		t.run(0, n, 0)
		return
	}
	chunks := (n + chunk - 1) / chunk
	if chunks > chunkMask {
		chunk = (n + chunkMask - 1) / chunkMask
		chunks = (n + chunk - 1) / chunk
	}
	p.job, p.n, p.chunk = t, n, chunk
	p.done.Store(0)
	gen := p.state.Load()>>40 + 1
	p.state.Store(gen<<40 | uint64(chunks)<<chunkBits)
	for _, w := range p.workers {
		if w.sleeping.Load() {
			select {
			case w.wake <- struct{}{}:
			default:
			}
		}
	}
	p.work(gen, 0)
	for spins := 0; p.done.Load() != int64(chunks); spins++ {
		if spins > 100 {
			runtime.Gosched()
		}
	}
	p.job = nil
}
