package infer

import (
	"math"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/infer/tensor"
)

// maxBatch is the number of prompt tokens processed per batched step.
const maxBatch = 128

// Session holds one sequence's KV cache and scratch buffers. It is not safe
// for concurrent use; create one per request. Its steady-state forward pass
// does not allocate.
type Session struct {
	m    *Model
	pool *tensor.Pool
	// filled is the number of positions from 0 that this session has
	// computed: a token may go at any position up to filled, so the cache
	// is only ever read where this session wrote it.
	filled int
	closed bool
	k, v   [][]float32 // per layer: [ctx][kvDim]
	// kT is a transposed copy of k for heads shorter than 32 (per layer:
	// [kvDim][ctx]), so scores are computed eight positions at a time.
	kT [][]float32

	// one-token scratch
	x, xb, xb2, q, hb, hb2, att, logits []float32
	vec                                 tensor.Vec

	// batch scratch, maxBatch rows each
	bx, bxb, bxb2, bq, bhb, bhb2 []float32
	vecs                         []tensor.Vec
	aj                           attnJob
	bj                           blockAttnJob
	asc                          []tensor.AttnScratch // per thread
	sj                           swigluJob
	tj                           tokJob
}

// NewSession returns a session at position 0: a closed one of this model
// if there is one (its cache, buffers and threads reused), otherwise a new
// one whose KV cache of the model's context length is touched only as
// positions are used. Close returns it to the model.
func (m *Model) NewSession() *Session {
	m.spareMu.Lock()
	if n := len(m.spare); n > 0 {
		s := m.spare[n-1]
		m.spare = m.spare[:n-1]
		m.spareMu.Unlock()
		s.filled, s.closed = 0, false
		return s
	}
	m.spareMu.Unlock()
	h := &m.hp
	kvDim := h.kvHeads * h.headDim
	qDim := h.heads * h.headDim
	s := &Session{m: m, pool: tensor.NewPool(m.opts.Threads)}
	s.k = make([][]float32, h.layers)
	s.v = make([][]float32, h.layers)
	for l := range s.k {
		s.k[l] = make([]float32, h.ctx*kvDim)
		s.v[l] = make([]float32, h.ctx*kvDim)
	}
	if h.headDim < 32 {
		s.kT = make([][]float32, h.layers)
		for l := range s.kT {
			s.kT[l] = make([]float32, h.ctx*kvDim)
		}
	}
	s.x = make([]float32, h.dim)
	s.xb = make([]float32, max(h.dim, qDim))
	s.xb2 = make([]float32, max(h.dim, qDim))
	s.q = make([]float32, qDim)
	s.hb = make([]float32, h.ffn)
	s.hb2 = make([]float32, h.ffn)
	s.att = make([]float32, h.heads*h.ctx)
	s.logits = make([]float32, h.vocab)
	return s
}

// Close ends the session: the model keeps it for a later NewSession (or, if
// it keeps enough, its worker threads stop). It must not be used afterwards.
func (s *Session) Close() {
	if s.closed {
		return
	}
	s.closed = true
	m := s.m
	m.spareMu.Lock()
	if !m.closed && len(m.spare) < maxSpare {
		m.spare = append(m.spare, s)
		m.spareMu.Unlock()
		return
	}
	m.spareMu.Unlock()
	s.pool.Close()
}

// rmsnorm computes out = w ⊙ (x / sqrt(mean(x²) + eps)) in llama2.c's order.
func rmsnorm(out, x, w []float32, eps float32) {
	var ss float32
	for _, v := range x {
		ss += float32(v * v)
	}
	ss = ss/float32(len(x)) + eps
	ss = 1 / float32(math.Sqrt(float64(ss)))
	for i, v := range x {
		out[i] = w[i] * float32(ss*v)
	}
}

// rmsnorm4 is rmsnorm of four rows (outs[r] from xs[r]) with the same
// operations per row; the rows' sums are interleaved so that each does not
// wait on the previous addition of one row.
func rmsnorm4(outs, xs *[4][]float32, w []float32, eps float32) {
	n := len(xs[0])
	x0, x1, x2, x3 := xs[0][:n], xs[1][:n], xs[2][:n], xs[3][:n]
	var s0, s1, s2, s3 float32
	for i := range x0 {
		a, b, c, d := x0[i], x1[i], x2[i], x3[i]
		s0 += float32(a * a)
		s1 += float32(b * b)
		s2 += float32(c * c)
		s3 += float32(d * d)
	}
	for r, ss := range [4]float32{s0, s1, s2, s3} {
		ss = ss/float32(n) + eps
		ss = 1 / float32(math.Sqrt(float64(ss)))
		out, x := outs[r][:n], xs[r][:n]
		for i, v := range x {
			out[i] = w[i] * float32(ss*v)
		}
	}
}

// rope rotates the first nRot dims of each of the n heads of x at pos.
func (s *Session) rope(x []float32, n, pos int) {
	h := &s.m.hp
	half := h.nRot / 2
	cos := s.m.cos[pos*half : (pos+1)*half]
	sin := s.m.sin[pos*half : (pos+1)*half]
	for hd := 0; hd < n; hd++ {
		v := x[hd*h.headDim : (hd+1)*h.headDim]
		if h.neox {
			for i := 0; i < half; i++ {
				a, b := v[i], v[i+half]
				v[i] = float32(a*cos[i]) - float32(b*sin[i])
				v[i+half] = float32(a*sin[i]) + float32(b*cos[i])
			}
			continue
		}
		for i := 0; i < half; i++ {
			a, b := v[2*i], v[2*i+1]
			v[2*i] = float32(a*cos[i]) - float32(b*sin[i])
			v[2*i+1] = float32(a*sin[i]) + float32(b*cos[i])
		}
	}
}

// attend computes multi-head attention of q (all heads) at pos over the
// layer's cache into out. Each score is q·k summed in index order (DotF32's
// order, which for heads shorter than 32 is plain sequential summation) and
// each output element sums a[t]·v[t] in position order, whichever loop
// nesting computes it.
func (s *Session) attend(l, pos int, q, out []float32) {
	for head := 0; head < s.m.hp.heads; head++ {
		s.attendHead(l, pos, head, q, out)
	}
}

// attendHead is attend for one head; it uses the head's own part of s.att,
// so heads may run concurrently.
func (s *Session) attendHead(l, pos, head int, q, out []float32) {
	h := &s.m.hp
	hd, kvDim, ctx := h.headDim, h.kvHeads*h.headDim, h.ctx
	kvh := head / (h.heads / h.kvHeads)
	n := pos + 1
	sqrtHD := float32(math.Sqrt(float64(hd)))
	att := s.att[head*ctx : head*ctx+n]
	qh := q[head*hd : (head+1)*hd]
	if hd < 32 {
		// Short heads: scores over the transposed K cache.
		tensor.ScoresT(qh, s.kT[l][kvh*hd*ctx:], ctx, sqrtHD, att)
	} else {
		tensor.Scores(qh, s.k[l][kvh*hd:], kvDim, sqrtHD, att)
	}
	softmax(att)
	tensor.AccumRows(att, s.v[l][kvh*hd:], kvDim, out[head*hd:(head+1)*hd])
}

// swigluJob applies SwiGLU to rows [lo, hi) of width w.
type swigluJob struct {
	g, u []float32
	w    int
}

func (j *swigluJob) Run(lo, hi int) { tensor.SwiGLU(j.g[lo*j.w:hi*j.w], j.u[lo*j.w:hi*j.w]) }

// attnJob runs the attention of n tokens at positions start.. (queries q,
// outputs out, qDim apart), split by head.
type attnJob struct {
	s           *Session
	l, start, n int
	qDim        int
	q, out      []float32
}

func (j *attnJob) Run(lo, hi int) {
	for head := lo; head < hi; head++ {
		for t := 0; t < j.n; t++ {
			j.s.attendHead(j.l, j.start+t, head, j.q[t*j.qDim:(t+1)*j.qDim], j.out[t*j.qDim:(t+1)*j.qDim])
		}
	}
}

// blockAttnJob runs the attention of n tokens at positions start.. (queries
// in s.bq, outputs to s.bxb2) for heads of at least 32, in items of one
// head and up to 16 consecutive tokens, the costliest (last) blocks first.
type blockAttnJob struct {
	s           *Session
	l, start, n int
}

func (j *blockAttnJob) RunTID(lo, hi, tid int) {
	s, h := j.s, &j.s.m.hp
	hd, kvDim, qDim := h.headDim, h.kvHeads*h.headDim, h.heads*h.headDim
	sqrtHD := float32(math.Sqrt(float64(hd)))
	nblk := (j.n + tensor.AttnBlockMax - 1) / tensor.AttnBlockMax
	for i := lo; i < hi; i++ {
		b, head := nblk-1-i/h.heads, i%h.heads
		t0 := b * tensor.AttnBlockMax
		nq := min(tensor.AttnBlockMax, j.n-t0)
		kvh := head / (h.heads / h.kvHeads)
		tensor.AttendBlock(s.bq[t0*qDim+head*hd:], qDim, nq, hd, s.k[j.l][kvh*hd:], s.v[j.l][kvh*hd:], kvDim,
			j.start+t0, sqrtHD, s.bxb2[t0*qDim+head*hd:], qDim, &s.asc[tid])
	}
}

// attnSplitMin is the context length from which one token's attention is
// split across the pool's threads by head.
const attnSplitMin = 32

// storeKT copies the key at pos into the transposed cache (short heads).
func (s *Session) storeKT(l, pos int, key []float32) {
	if s.kT == nil {
		return
	}
	ctx := s.m.hp.ctx
	kt := s.kT[l]
	for i, v := range key {
		kt[i*ctx+pos] = v
	}
}

// softmax is tensor.Softmax: max subtracted, the deterministic tensor.Exp,
// sum in index order.
func softmax(x []float32) { tensor.Softmax(x) }

func addBias(x, b []float32) {
	for i := range b {
		x[i] += b[i]
	}
}

// checkPos checks a token at pos when positions [0, filled) are computed.
func (s *Session) checkPos(op string, token, pos, filled int) error {
	if pos < 0 || pos >= s.m.hp.ctx {
		return errs.E(op, errs.Invalid, "position %d outside the context of %d tokens", pos, s.m.hp.ctx)
	}
	if pos > filled {
		return errs.E(op, errs.Invalid, "position %d: positions %d to %d are not computed yet", pos, filled, pos-1)
	}
	if token < 0 || token >= s.m.hp.vocab {
		return errs.E(op, errs.Invalid, "token %d outside the vocabulary of %d", token, s.m.hp.vocab)
	}
	return nil
}

// Forward runs one token at position pos (positions before pos must already
// be in the cache) and returns the logits. The slice belongs to the session
// and is overwritten by the next call.
func (s *Session) Forward(token, pos int) ([]float32, error) {
	if err := s.checkPos("forward", token, pos, s.filled); err != nil {
		return nil, err
	}
	s.forward(token, pos)
	s.filled = max(s.filled, pos+1)
	s.vec.Set(s.xb[:s.m.hp.dim])
	tensor.MatVec(s.pool, s.logits, s.m.output, &s.vec)
	return s.logits, nil
}

// forward runs the blocks and the final norm; the normalized hidden state is
// left in s.xb[:dim].
func (s *Session) forward(token, pos int) {
	m, h := s.m, &s.m.hp
	kvDim := h.kvHeads * h.headDim
	x := s.x
	m.embd.Row(token, x)
	for li := range m.layers {
		l := &m.layers[li]
		xb := s.xb[:h.dim]
		rmsnorm(xb, x, l.attnNorm, h.eps)
		s.vec.Set(xb)
		kslot := s.k[li][pos*kvDim : (pos+1)*kvDim]
		vslot := s.v[li][pos*kvDim : (pos+1)*kvDim]
		tensor.MatVec(s.pool, s.q, l.wq, &s.vec)
		tensor.MatVec(s.pool, kslot, l.wk, &s.vec)
		tensor.MatVec(s.pool, vslot, l.wv, &s.vec)
		if l.bq != nil {
			addBias(s.q, l.bq)
			addBias(kslot, l.bk)
			addBias(vslot, l.bv)
		}
		s.rope(s.q, h.heads, pos)
		s.rope(kslot, h.kvHeads, pos)
		s.storeKT(li, pos, kslot)
		o := s.xb2[:len(s.q)]
		if pos+1 >= attnSplitMin {
			s.aj = attnJob{s: s, l: li, start: pos, n: 1, qDim: len(s.q), q: s.q, out: o}
			s.pool.Parallel(h.heads, 1, &s.aj)
		} else {
			s.attend(li, pos, s.q, o)
		}
		s.vec.Set(o)
		tensor.MatVec(s.pool, xb, l.wo, &s.vec)
		for i := range x {
			x[i] += xb[i]
		}
		rmsnorm(xb, x, l.ffnNorm, h.eps)
		s.vec.Set(xb)
		tensor.MatVec(s.pool, s.hb, l.gate, &s.vec)
		tensor.MatVec(s.pool, s.hb2, l.up, &s.vec)
		tensor.SwiGLU(s.hb, s.hb2)
		s.vec.Set(s.hb)
		tensor.MatVec(s.pool, xb, l.down, &s.vec)
		for i := range x {
			x[i] += xb[i]
		}
	}
	rmsnorm(s.xb[:h.dim], x, m.outNorm, h.eps)
}

func (s *Session) ensureBatch() {
	if s.bx != nil {
		return
	}
	h := &s.m.hp
	qDim := h.heads * h.headDim
	w := max(h.dim, qDim)
	s.bx = make([]float32, maxBatch*h.dim)
	s.bxb = make([]float32, maxBatch*w)
	s.bxb2 = make([]float32, maxBatch*w)
	s.bq = make([]float32, maxBatch*qDim)
	s.bhb = make([]float32, maxBatch*h.ffn)
	s.bhb2 = make([]float32, maxBatch*h.ffn)
	s.vecs = make([]tensor.Vec, maxBatch)
	s.asc = make([]tensor.AttnScratch, s.pool.Threads())
}

// setVecs points the first n batch vectors at rows of buf of width w.
func (s *Session) setVecs(buf []float32, n, w int) []tensor.Vec {
	for t := 0; t < n; t++ {
		s.vecs[t].Set(buf[t*w : (t+1)*w])
	}
	return s.vecs[:n]
}

// batch runs tokens at positions start.. through the blocks with
// matrix-matrix products and leaves the final-normalized hidden states in
// s.bxb (row width dim). The results equal those of forward, bit for bit.
func (s *Session) batch(tokens []int, start int) {
	s.ensureBatch()
	m, h := s.m, &s.m.hp
	n := len(tokens)
	dim, kvDim, qDim := h.dim, h.kvHeads*h.headDim, h.heads*h.headDim
	for t, tok := range tokens {
		m.embd.Row(tok, s.bx[t*dim:(t+1)*dim])
	}
	for li := range m.layers {
		l := &m.layers[li]
		// The previous layer's residual, then this layer's norm.
		s.tj = tokJob{s: s, kind: tokNorm, add: li > 0, w: l.attnNorm}
		s.pool.Parallel(n, 8, &s.tj)
		vs := s.setVecs(s.bxb, n, dim)
		tensor.MatMul(s.pool, s.bq, l.wq, vs, qDim)
		tensor.MatMul(s.pool, s.k[li][start*kvDim:], l.wk, vs, kvDim)
		tensor.MatMul(s.pool, s.v[li][start*kvDim:], l.wv, vs, kvDim)
		s.tj = tokJob{s: s, kind: tokRope, li: li, start: start}
		s.pool.Parallel(n, 8, &s.tj)
		if h.headDim >= 32 {
			s.bj = blockAttnJob{s: s, l: li, start: start, n: n}
			s.pool.ParallelTID(h.heads*((n+tensor.AttnBlockMax-1)/tensor.AttnBlockMax), 1, &s.bj)
		} else {
			s.aj = attnJob{s: s, l: li, start: start, n: n, qDim: qDim, q: s.bq, out: s.bxb2}
			s.pool.Parallel(h.heads, 1, &s.aj)
		}
		vs = s.setVecs(s.bxb2, n, qDim)
		tensor.MatMul(s.pool, s.bxb, l.wo, vs, dim)
		s.tj = tokJob{s: s, kind: tokNorm, add: true, w: l.ffnNorm}
		s.pool.Parallel(n, 8, &s.tj)
		vs = s.setVecs(s.bxb, n, dim)
		tensor.MatMul(s.pool, s.bhb, l.gate, vs, h.ffn)
		tensor.MatMul(s.pool, s.bhb2, l.up, vs, h.ffn)
		s.sj = swigluJob{g: s.bhb, u: s.bhb2, w: h.ffn}
		s.pool.Parallel(n, 8, &s.sj)
		vs = s.setVecs(s.bhb, n, h.ffn)
		tensor.MatMul(s.pool, s.bxb, l.down, vs, dim)
	}
	s.tj = tokJob{s: s, kind: tokNorm, add: len(m.layers) > 0, w: m.outNorm}
	s.pool.Parallel(n, 8, &s.tj)
}

// Per-token steps of a batch, split across the pool by token.
const (
	tokNorm = iota // optionally bx += bxb, then bxb = rmsnorm(bx)·w
	tokRope        // biases, RoPE on q and k, the transposed K copy
)

type tokJob struct {
	s         *Session
	kind      int
	add       bool
	w         []float32
	li, start int
}

func (j *tokJob) Run(lo, hi int) {
	s, h := j.s, &j.s.m.hp
	dim, kvDim, qDim := h.dim, h.kvHeads*h.headDim, h.heads*h.headDim
	if j.kind == tokNorm {
		t := lo
		for ; t+4 <= hi; t += 4 {
			var xs, xbs [4][]float32
			for r := range 4 {
				xs[r], xbs[r] = s.bx[(t+r)*dim:(t+r+1)*dim], s.bxb[(t+r)*dim:(t+r+1)*dim]
				if j.add {
					x, xb := xs[r], xbs[r][:len(xs[r])]
					for i := range x {
						x[i] += xb[i]
					}
				}
			}
			rmsnorm4(&xbs, &xs, j.w, h.eps)
		}
		lo = t
	}
	for t := lo; t < hi; t++ {
		switch j.kind {
		case tokNorm:
			x, xb := s.bx[t*dim:(t+1)*dim], s.bxb[t*dim:(t+1)*dim]
			if j.add {
				for i := range x {
					x[i] += xb[i]
				}
			}
			rmsnorm(xb, x, j.w, h.eps)
		case tokRope:
			l := &s.m.layers[j.li]
			pos := j.start + t
			q := s.bq[t*qDim : (t+1)*qDim]
			kslot := s.k[j.li][pos*kvDim : (pos+1)*kvDim]
			if l.bq != nil {
				addBias(q, l.bq)
				addBias(kslot, l.bk)
				addBias(s.v[j.li][pos*kvDim:(pos+1)*kvDim], l.bv)
			}
			s.rope(q, h.heads, pos)
			s.rope(kslot, h.kvHeads, pos)
			s.storeKT(j.li, pos, kslot)
		}
	}
}

// Prefill runs tokens at positions start, start+1, … in batches and returns
// the logits of the last one (bit-identical to calling Forward per token).
func (s *Session) Prefill(tokens []int, start int) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, errs.E("prefill", errs.Invalid, "no tokens")
	}
	for i, tok := range tokens {
		// The positions after start are computed by this call.
		if err := s.checkPos("prefill", tok, start+i, s.filled+i); err != nil {
			return nil, err
		}
	}
	for i := 0; i < len(tokens); i += maxBatch {
		s.batch(tokens[i:min(i+maxBatch, len(tokens))], start+i)
	}
	s.filled = max(s.filled, start+len(tokens))
	dim := s.m.hp.dim
	last := (len(tokens) - 1) % maxBatch
	s.vec.Set(s.bxb[last*dim : (last+1)*dim])
	tensor.MatVec(s.pool, s.logits, s.m.output, &s.vec)
	return s.logits, nil
}
