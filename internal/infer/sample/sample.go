// Package sample picks the next token from a model's logits: greedy, or
// seeded sampling after repetition, frequency and presence penalties, top-k,
// top-p (nucleus), min-p and temperature, in llama.cpp's order.
//
// Determinism is the contract: the same Params (seed included), logits and
// history give the same token on every platform and Go version. For that
// the package uses its own random generator (xoshiro256** seeded with
// splitmix64), its own exp (math.Exp is assembly with FMA on some
// platforms), float64 sums in a fixed order, explicit conversions that stop
// the compiler fusing multiply-adds, and a strict order on candidates
// (higher logit first, then lower id). It depends only on the standard
// library and internal/errs.
package sample

import (
	"math"
	"slices"

	"github.com/deai-network/deai/internal/errs"
)

// DefaultRepeatLastN is the penalty window when Params.RepeatLastN is 0,
// llama.cpp's default.
const DefaultRepeatLastN = 64

// Params configures a Sampler. The zero value is greedy decoding with no
// penalties. For each filter, zero means off.
type Params struct {
	// Temperature divides the logits before the final draw; 0 means greedy
	// (argmax, ties to the lowest id). Range [0, 2].
	Temperature float32
	// TopP keeps the smallest set of most likely tokens whose probability
	// reaches TopP. Range [0, 1]; 0 and 1 are off.
	TopP float32
	// MinP keeps tokens at least MinP times as likely as the most likely
	// one. Range [0, 1]; 0 is off.
	MinP float32
	// RepeatPenalty divides positive logits and multiplies negative ones of
	// tokens seen in the window (llama.cpp). Range [0, 10]; 0 and 1 are off.
	RepeatPenalty float32
	// FrequencyPenalty subtracts count×FrequencyPenalty and PresencePenalty
	// subtracts PresencePenalty from the logit of each token seen in the
	// window (OpenAI). Range [-2, 2].
	FrequencyPenalty, PresencePenalty float32
	// TopK keeps the K most likely tokens; 0 is off.
	TopK int
	// RepeatLastN is the penalty window over the end of the history: 0
	// means DefaultRepeatLastN, -1 the whole history.
	RepeatLastN int
	// Seed seeds the random generator.
	Seed uint64
}

// Validate reports the first out-of-range parameter as an errs.Invalid
// error naming it.
func (p Params) Validate() error {
	const op = "sample params"
	ranges := []struct {
		name   string
		v      float32
		lo, hi float32
	}{
		{"temperature", p.Temperature, 0, 2},
		{"top_p", p.TopP, 0, 1},
		{"min_p", p.MinP, 0, 1},
		{"repeat_penalty", p.RepeatPenalty, 0, 10},
		{"frequency_penalty", p.FrequencyPenalty, -2, 2},
		{"presence_penalty", p.PresencePenalty, -2, 2},
	}
	for _, r := range ranges {
		// The negated comparison also catches NaN.
		if !(r.v >= r.lo && r.v <= r.hi) {
			return errs.E(op, errs.Invalid, "%s %v out of range [%v, %v]", r.name, r.v, r.lo, r.hi)
		}
	}
	if p.TopK < 0 {
		return errs.E(op, errs.Invalid, "top_k %d is negative", p.TopK)
	}
	if p.RepeatLastN < -1 {
		return errs.E(op, errs.Invalid, "repeat_last_n %d is below -1", p.RepeatLastN)
	}
	return nil
}

// Sampler draws tokens. It keeps its random state between calls and is not
// safe for concurrent use; use one per generation.
type Sampler struct {
	p   Params
	rng rng

	cands   []cand  // scratch, len(logits)
	counts  []int32 // occurrences in the penalty window, by id
	touched []int32 // ids with counts[id] > 0
}

type cand struct {
	id    int32
	logit float32
}

// better is the strict candidate order: higher logit, then lower id.
func better(a, b cand) bool {
	return a.logit > b.logit || a.logit == b.logit && a.id < b.id
}

func compareCands(a, b cand) int {
	switch {
	case better(a, b):
		return -1
	case better(b, a):
		return 1
	}
	return 0
}

// New returns a Sampler. Call p.Validate first: New clamps out-of-range
// values into range rather than failing.
func New(p Params) *Sampler {
	clamp := func(v *float32, lo, hi float32) {
		if !(*v >= lo) { // NaN too
			*v = lo
		}
		if *v > hi {
			*v = hi
		}
	}
	clamp(&p.Temperature, 0, 2)
	clamp(&p.TopP, 0, 1)
	clamp(&p.MinP, 0, 1)
	clamp(&p.RepeatPenalty, 0, 10)
	clamp(&p.FrequencyPenalty, -2, 2)
	clamp(&p.PresencePenalty, -2, 2)
	p.TopK = max(p.TopK, 0)
	p.RepeatLastN = max(p.RepeatLastN, -1)
	return &Sampler{p: p, rng: newRNG(p.Seed)}
}

// Sample returns the next token id given the logits of the last position
// and the ids so far (prompt and generated, as llama.cpp feeds its penalty
// window). It may modify logits in place. NaN logits count as -Inf. It
// returns -1 for empty logits. After the first call it does not allocate
// unless the vocabulary or the window grows.
//
// The chain: penalties → top-k → top-p → min-p → temperature → draw. Top-p
// and min-p see probabilities before temperature, as in llama.cpp.
// Temperature 0 is argmax after the penalties, and draws no random number.
func (s *Sampler) Sample(logits []float32, history []int) int {
	n := len(logits)
	if n == 0 {
		return -1
	}
	s.penalize(logits, history)
	if s.p.Temperature == 0 {
		return argmax(logits)
	}

	if cap(s.cands) < n {
		s.cands = make([]cand, n)
	}
	c := s.cands[:n]
	for i, l := range logits {
		if l != l {
			l = float32(math.Inf(-1))
		}
		c[i] = cand{id: int32(i), logit: l}
	}

	sorted := false
	if k := s.p.TopK; k > 0 && k < len(c) {
		c, sorted = selectTop(c, k), true
	}
	if p := s.p.TopP; p > 0 && p < 1 {
		c = topP(c, float64(p), sorted)
	}
	if mp := s.p.MinP; mp > 0 {
		c = minP(c, float64(mp))
	}

	// Temperature, then the draw: probabilities exp((l-max)/T) summed in
	// candidate order; the first whose running sum passes u·sum wins.
	maxL := c[0].logit
	for _, x := range c[1:] {
		maxL = max(maxL, x.logit)
	}
	if math.IsInf(float64(maxL), -1) {
		return int(bestOf(c).id) // nothing has any probability
	}
	t := float64(s.p.Temperature)
	sum := 0.0
	for _, x := range c {
		sum += expNeg((float64(x.logit) - float64(maxL)) / t)
	}
	target := float64(s.rng.float64() * sum)
	acc := 0.0
	for _, x := range c {
		acc += expNeg((float64(x.logit) - float64(maxL)) / t)
		if acc > target {
			return int(x.id)
		}
	}
	return int(c[len(c)-1].id) // rounding left target at sum
}

// penalize applies the repetition, frequency and presence penalties to the
// tokens of the window, as llama.cpp's penalties sampler.
func (s *Sampler) penalize(logits []float32, history []int) {
	rep := s.p.RepeatPenalty
	if rep == 0 {
		rep = 1
	}
	freq, pres := s.p.FrequencyPenalty, s.p.PresencePenalty
	if rep == 1 && freq == 0 && pres == 0 {
		return
	}
	window := history
	switch last := s.p.RepeatLastN; {
	case last == 0:
		window = history[max(0, len(history)-DefaultRepeatLastN):]
	case last > 0:
		window = history[max(0, len(history)-last):]
	}
	if len(s.counts) < len(logits) {
		s.counts = make([]int32, len(logits))
	}
	s.touched = s.touched[:0]
	for _, id := range window {
		if id < 0 || id >= len(logits) {
			continue
		}
		if s.counts[id] == 0 {
			s.touched = append(s.touched, int32(id))
		}
		s.counts[id]++
	}
	for _, id := range s.touched {
		l := logits[id]
		if l <= 0 {
			l = float32(l * rep)
		} else {
			l = float32(l / rep)
		}
		cnt := s.counts[id]
		l -= float32(float32(cnt)*freq) + pres
		logits[id] = l
		s.counts[id] = 0
	}
}

// argmax returns the first index of the largest logit; NaN never wins.
func argmax(logits []float32) int {
	best := -1
	for i, l := range logits {
		if l == l && (best < 0 || l > logits[best]) {
			best = i
		}
	}
	return max(best, 0)
}

func bestOf(c []cand) cand {
	b := c[0]
	for _, x := range c[1:] {
		if better(x, b) {
			b = x
		}
	}
	return b
}

// selectTop moves the k best candidates to the front, sorted best first,
// and returns them. It keeps the k best in a heap whose root is the worst
// kept, so it costs O(n log k) and does not allocate.
func selectTop(c []cand, k int) []cand {
	h := c[:k]
	down := func(i int) {
		for {
			l, r, w := 2*i+1, 2*i+2, i
			if l < k && better(h[w], h[l]) {
				w = l
			}
			if r < k && better(h[w], h[r]) {
				w = r
			}
			if w == i {
				return
			}
			h[i], h[w] = h[w], h[i]
			i = w
		}
	}
	for i := k/2 - 1; i >= 0; i-- {
		down(i)
	}
	for i := k; i < len(c); i++ {
		if better(c[i], h[0]) {
			h[0], c[i] = c[i], h[0]
			down(0)
		}
	}
	slices.SortFunc(h, compareCands)
	return h
}

// topP keeps the smallest best-first prefix whose probability reaches p
// (at least one token). Unless c is already sorted, it sorts only as far as
// it needs: the best 64, then 4× more, until the prefix suffices.
func topP(c []cand, p float64, sorted bool) []cand {
	maxL := float64(bestOf(c).logit)
	if math.IsInf(maxL, -1) {
		return c
	}
	sum := 0.0
	for _, x := range c {
		sum += expNeg(float64(x.logit) - maxL)
	}
	target := float64(p * sum)
	for k := 64; ; k *= 4 {
		switch {
		case sorted || k >= len(c):
			k = len(c)
			if !sorted {
				slices.SortFunc(c, compareCands)
			}
		default:
			selectTop(c, k)
		}
		acc := 0.0
		for i, x := range c[:k] {
			acc += expNeg(float64(x.logit) - maxL)
			if acc >= target {
				return c[:i+1]
			}
		}
		if k == len(c) {
			return c
		}
	}
}

// minP keeps, in order, the candidates with probability at least mp times
// the largest.
func minP(c []cand, mp float64) []cand {
	maxL := float64(bestOf(c).logit)
	if math.IsInf(maxL, -1) {
		return c
	}
	kept := c[:0]
	for _, x := range c {
		if expNeg(float64(x.logit)-maxL) >= mp {
			kept = append(kept, x)
		}
	}
	return kept
}
