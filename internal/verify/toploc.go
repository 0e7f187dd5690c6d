package verify

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/deai-network/deai/internal/infer"
	"github.com/deai-network/deai/internal/infer/tensor"
)

// Tolerant verification in the manner of TOPLOC (Ong et al., ICML 2025):
// the miner commits to compact fingerprints of the model's activations on
// its answer; a verifier recomputes them in one teacher-forced prefill over
// prompt + claimed output and accepts within thresholds, so a backend that
// is not bit-identical to the reference (another GPU, kernel or precision)
// still passes while another model, other text or made-up fingerprints do
// not. The engine exposes logits, not the last hidden state, so a point is
// the top-k logits by magnitude at a chunk's last position.

// Defaults and bounds of a commitment's parameters.
const (
	DefaultChunkSize = 32 // generated tokens per chunk, as TOPLOC's decode batch
	DefaultTopK      = 32 // logits kept per point

	MaxChunkSize = 1 << 16
	MaxTopK      = 1024
	// MaxCommitTokens bounds the prompt and the output a commitment
	// describes, so that Decode never allocates for a length it reads.
	MaxCommitTokens = 1 << 24
)

// Params choose what a commitment holds; zero fields take the defaults.
type Params struct {
	ChunkSize int // generated tokens between two points
	TopK      int // logits kept per point
}

func (p Params) withDefaults() Params {
	if p.ChunkSize == 0 {
		p.ChunkSize = DefaultChunkSize
	}
	if p.TopK == 0 {
		p.TopK = DefaultTopK
	}
	return p
}

func (p Params) validate() error {
	if p.ChunkSize < 1 || p.ChunkSize > MaxChunkSize {
		return fmt.Errorf("chunk size %d outside [1, %d]", p.ChunkSize, MaxChunkSize)
	}
	if p.TopK < 1 || p.TopK > MaxTopK {
		return fmt.Errorf("top-k %d outside [1, %d]", p.TopK, MaxTopK)
	}
	return nil
}

// Point is the fingerprint of one position: the TopK logits largest in
// magnitude, as vocabulary indices in ascending order and their values
// rounded to bfloat16.
type Point struct {
	Index []uint32
	Value []uint16
}

// Commitment is what a miner commits to for one answer. Points are at the
// offsets PointOffsets gives: the logits after the prompt, after every
// ChunkSize generated tokens and after the whole output.
type Commitment struct {
	ChunkSize    int
	TopK         int
	PromptTokens int
	OutputTokens int
	Points       []Point
}

// PointOffsets returns how many output tokens precede each point of an
// answer of n output tokens: 0, c, 2c, … and n. Point i holds the logits
// at position promptTokens-1+offset[i] of prompt+output.
func PointOffsets(n, chunk int) []int {
	if n < 0 || chunk < 1 {
		return nil
	}
	offs := make([]int, 0, n/chunk+2)
	for o := 0; o < n; o += chunk {
		offs = append(offs, o)
	}
	return append(offs, n)
}

// Commit computes the commitment to output as the answer to prompt on m,
// in one chunked prefill.
func Commit(ctx context.Context, m *infer.Model, prompt, output []int, p Params) (Commitment, error) {
	p = p.withDefaults()
	if err := p.validate(); err != nil {
		return Commitment{}, fmt.Errorf("commit: %w", err)
	}
	if p.TopK > m.VocabSize() {
		return Commitment{}, fmt.Errorf("commit: top-k %d exceeds the vocabulary of %d", p.TopK, m.VocabSize())
	}
	c := Commitment{ChunkSize: p.ChunkSize, TopK: p.TopK, PromptTokens: len(prompt), OutputTokens: len(output)}
	err := fingerprints(ctx, m, prompt, output, p, func(logits []float32) {
		c.Points = append(c.Points, topK(logits, p.TopK))
	})
	if err != nil {
		return Commitment{}, fmt.Errorf("commit: %w", err)
	}
	return c, nil
}

// fingerprints prefills prompt, then output chunk by chunk, calling at for
// the logits at each point.
func fingerprints(ctx context.Context, m *infer.Model, prompt, output []int, p Params, at func(logits []float32)) error {
	if len(prompt) == 0 {
		return errors.New("empty prompt")
	}
	if len(prompt)+len(output) > m.ContextLength() {
		return fmt.Errorf("%d tokens do not fit the context of %d", len(prompt)+len(output), m.ContextLength())
	}
	s := m.NewSession()
	defer s.Close()
	logits, err := s.Prefill(prompt, 0)
	if err != nil {
		return err
	}
	at(logits)
	offs := PointOffsets(len(output), p.ChunkSize)
	for i := 1; i < len(offs); i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if logits, err = s.Prefill(output[offs[i-1]:offs[i]], len(prompt)+offs[i-1]); err != nil {
			return err
		}
		at(logits)
	}
	return nil
}

// topK returns the k logits largest in magnitude (ties to the lower index)
// as a Point.
func topK(logits []float32, k int) Point {
	// best is kept sorted, largest first; most logits fail the first test.
	type entry struct {
		mag float32
		i   int
	}
	best := make([]entry, 0, k+1)
	for i, v := range logits {
		mag := float32(math.Abs(float64(v)))
		if mag != mag { // NaN ranks below everything
			mag = -1
		}
		if len(best) == k && mag <= best[k-1].mag {
			continue
		}
		j := len(best)
		for j > 0 && mag > best[j-1].mag {
			j--
		}
		best = slices.Insert(best, j, entry{mag, i})
		if len(best) > k {
			best = best[:k]
		}
	}
	slices.SortFunc(best, func(a, b entry) int { return a.i - b.i })
	pt := Point{Index: make([]uint32, len(best)), Value: make([]uint16, len(best))}
	for j, e := range best {
		pt.Index[j] = uint32(e.i)
		pt.Value[j] = tensor.F32ToBF16(logits[e.i])
	}
	return pt
}

// Thresholds say how close a recomputed point must be to the committed one.
// Fractions are of TopK. Values are compared as TOPLOC does: for each
// committed index that is also in the recomputed top-k, the bf16 sign and
// exponent bits must agree, and where they do the mantissas (7 bits) may
// differ by a few units.
type Thresholds struct {
	// Params are the chunk size and k a commitment must use (zero: the
	// defaults), so that a miner cannot choose a weaker commitment.
	Params
	// MinOverlap: committed indices found in the recomputed top-k.
	MinOverlap float64
	// MinExpMatch: committed indices in both top-k sets whose sign and
	// exponent match.
	MinExpMatch float64
	// MaxMantMean and MaxMantMedian bound the mantissa differences, in
	// bf16 units in the last place, of the values whose exponents match.
	MaxMantMean, MaxMantMedian float64
}

// DefaultThresholds returns thresholds set from TestToplocRates and
// TestToplocRates15M: against an f32 verifier, honest answers from the
// same weights in f16, bf16 and q8_0 had at worst a point with 28 of 32
// indices in common, 27 exponent matches and mantissa differences of mean
// 1.7 and median 1.5, while
// another model, random text or fabricated points kept at best 4 of 32
// indices at their worst point. The overlap floor of 24 of 32 sits
// between, with room for GPU kernels noisier than q8_0; the exponent
// floor is TOPLOC's 90 of 128 and the mantissa bounds are TOPLOC's.
func DefaultThresholds() Thresholds {
	return Thresholds{MinOverlap: 0.75, MinExpMatch: 0.7, MaxMantMean: 10, MaxMantMedian: 8}
}

// PointReport compares one point.
type PointReport struct {
	Pos        int     `json:"pos"`         // position in prompt+output
	Overlap    int     `json:"overlap"`     // committed indices in the recomputed top-k
	ExpMatches int     `json:"exp_matches"` // of those, sign and exponent equal
	MantMean   float64 `json:"mant_mean"`   // mantissa differences where the exponents match
	MantMedian float64 `json:"mant_median"`
	OK         bool    `json:"ok"`
	Reason     string  `json:"reason,omitempty"`
}

// Report is the outcome of CheckCommitment.
type Report struct {
	Accept bool          `json:"accept"`
	Reason string        `json:"reason,omitempty"` // the first failure
	Points []PointReport `json:"points,omitempty"`
}

// CheckCommitment recomputes the fingerprints of output as the answer to
// prompt on m, in one chunked prefill, and compares them with c. A
// commitment that does not describe this answer or misses a threshold is
// rejected in the Report; the error is for a failure of the check itself
// (a cancelled ctx, a prompt the reference model cannot run).
func CheckCommitment(ctx context.Context, m *infer.Model, prompt, output []int, c Commitment, th Thresholds) (Report, error) {
	p := th.Params.withDefaults()
	if err := p.validate(); err != nil {
		return Report{}, fmt.Errorf("check commitment: %w", err)
	}
	reject := func(format string, a ...any) (Report, error) {
		return Report{Reason: fmt.Sprintf(format, a...)}, nil
	}
	switch {
	case c.ChunkSize != p.ChunkSize || c.TopK != p.TopK:
		return reject("the commitment uses chunk %d and top-%d, the verifier requires %d and %d", c.ChunkSize, c.TopK, p.ChunkSize, p.TopK)
	case c.PromptTokens != len(prompt) || c.OutputTokens != len(output):
		return reject("the commitment is for %d+%d tokens, the answer has %d+%d", c.PromptTokens, c.OutputTokens, len(prompt), len(output))
	case len(c.Points) != len(PointOffsets(len(output), p.ChunkSize)):
		return reject("the commitment has %d points, want %d", len(c.Points), len(PointOffsets(len(output), p.ChunkSize)))
	case len(prompt)+len(output) > m.ContextLength():
		return reject("%d tokens do not fit the model's context of %d", len(prompt)+len(output), m.ContextLength())
	case p.TopK > m.VocabSize():
		return Report{}, fmt.Errorf("check commitment: top-k %d exceeds the vocabulary of %d", p.TopK, m.VocabSize())
	}
	if len(prompt) == 0 {
		return Report{}, errors.New("check commitment: empty prompt")
	}
	for _, pt := range c.Points {
		if err := pt.valid(p.TopK, m.VocabSize()); err != nil {
			return reject("malformed point: %v", err)
		}
	}
	for i, id := range output {
		if id < 0 || id >= m.VocabSize() {
			return reject("output token %d is %d, outside the vocabulary of %d", i, id, m.VocabSize())
		}
	}
	offs := PointOffsets(len(output), p.ChunkSize)
	rep := Report{Accept: true, Points: make([]PointReport, 0, len(offs))}
	err := fingerprints(ctx, m, prompt, output, p, func(logits []float32) {
		i := len(rep.Points)
		pr := comparePoint(c.Points[i], topK(logits, p.TopK), th, p.TopK)
		pr.Pos = len(prompt) - 1 + offs[i]
		if !pr.OK && rep.Accept {
			rep.Accept, rep.Reason = false, fmt.Sprintf("position %d: %s", pr.Pos, pr.Reason)
		}
		rep.Points = append(rep.Points, pr)
	})
	if err != nil {
		return Report{}, fmt.Errorf("check commitment: %w", err)
	}
	return rep, nil
}

// comparePoint compares a committed point with a recomputed one.
func comparePoint(committed, got Point, th Thresholds, k int) PointReport {
	var pr PointReport
	var diffs []float64
	for j, idx := range committed.Index {
		g, ok := slices.BinarySearch(got.Index, idx)
		if !ok {
			continue
		}
		pr.Overlap++
		a, b := committed.Value[j], got.Value[g]
		if a>>7 != b>>7 { // sign and exponent
			continue
		}
		pr.ExpMatches++
		diffs = append(diffs, math.Abs(float64(a&0x7f)-float64(b&0x7f)))
	}
	if len(diffs) > 0 {
		sum := 0.0
		for _, d := range diffs {
			sum += d
		}
		pr.MantMean = sum / float64(len(diffs))
		slices.Sort(diffs)
		n := len(diffs)
		pr.MantMedian = (diffs[(n-1)/2] + diffs[n/2]) / 2
	}
	kf := float64(k)
	switch {
	case float64(pr.Overlap) < th.MinOverlap*kf:
		pr.Reason = fmt.Sprintf("top-k overlap %d of %d, below %.0f%%", pr.Overlap, k, th.MinOverlap*100)
	case float64(pr.ExpMatches) < th.MinExpMatch*kf:
		pr.Reason = fmt.Sprintf("exponent matches %d of %d, below %.0f%%", pr.ExpMatches, k, th.MinExpMatch*100)
	case pr.MantMean > th.MaxMantMean:
		pr.Reason = fmt.Sprintf("mantissa difference mean %.2f above %g", pr.MantMean, th.MaxMantMean)
	case pr.MantMedian > th.MaxMantMedian:
		pr.Reason = fmt.Sprintf("mantissa difference median %.1f above %g", pr.MantMedian, th.MaxMantMedian)
	default:
		pr.OK = true
	}
	return pr
}

// valid checks a point's shape: k indices in ascending order within the
// vocabulary.
func (pt Point) valid(k, vocab int) error {
	if len(pt.Index) != k || len(pt.Value) != k {
		return fmt.Errorf("%d indices and %d values, want %d", len(pt.Index), len(pt.Value), k)
	}
	for j, idx := range pt.Index {
		if int64(idx) >= int64(vocab) {
			return fmt.Errorf("index %d outside the vocabulary of %d", idx, vocab)
		}
		if j > 0 && idx <= pt.Index[j-1] {
			return errors.New("indices not in ascending order")
		}
	}
	return nil
}

// commitmentVersion is the first byte of an encoded commitment.
const commitmentVersion = 1

// Encode returns the canonical bytes of c: a version byte; chunk size,
// top-k, prompt and output lengths as uvarints; then per point the k
// indices as uvarint deltas (the first from 0, each later one minus the
// previous minus 1) followed by the k bf16 values little-endian. The
// number of points follows from the lengths. Encode assumes c is
// well-formed (as Commit and Decode return it).
func (c Commitment) Encode() []byte {
	b := make([]byte, 0, 1+4*binary.MaxVarintLen32+len(c.Points)*c.TopK*4)
	b = append(b, commitmentVersion)
	for _, v := range []int{c.ChunkSize, c.TopK, c.PromptTokens, c.OutputTokens} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	for _, pt := range c.Points {
		prev := uint64(0)
		for j, idx := range pt.Index {
			d := uint64(idx) - prev
			if j > 0 {
				d--
			}
			b = binary.AppendUvarint(b, d)
			prev = uint64(idx)
		}
		for _, v := range pt.Value {
			b = binary.LittleEndian.AppendUint16(b, v)
		}
	}
	return b
}

// Digest returns the sha256 of c's encoding, for a receipt or a signed
// header to bind.
func (c Commitment) Digest() [32]byte { return sha256.Sum256(c.Encode()) }

// Decode parses an encoded commitment, accepting only the canonical
// encoding Encode produces.
func Decode(b []byte) (Commitment, error) {
	var c Commitment
	if len(b) == 0 || b[0] != commitmentVersion {
		return c, errors.New("decode commitment: unknown version")
	}
	r := b[1:]
	uv := func(max uint64) (int, error) {
		v, n := binary.Uvarint(r)
		if n <= 0 {
			return 0, errors.New("decode commitment: truncated")
		}
		if v > max {
			return 0, fmt.Errorf("decode commitment: value %d above %d", v, max)
		}
		r = r[n:]
		return int(v), nil
	}
	var err error
	for _, f := range []struct {
		v        *int
		min, max uint64
	}{{&c.ChunkSize, 1, MaxChunkSize}, {&c.TopK, 1, MaxTopK}, {&c.PromptTokens, 1, MaxCommitTokens}, {&c.OutputTokens, 0, MaxCommitTokens}} {
		if *f.v, err = uv(f.max); err != nil {
			return Commitment{}, err
		}
		if uint64(*f.v) < f.min {
			return Commitment{}, fmt.Errorf("decode commitment: value %d below %d", *f.v, f.min)
		}
	}
	n := len(PointOffsets(c.OutputTokens, c.ChunkSize))
	// Each point takes at least 3 bytes per entry: check before allocating.
	if uint64(n)*uint64(c.TopK)*3 > uint64(len(r)) {
		return Commitment{}, errors.New("decode commitment: truncated")
	}
	c.Points = make([]Point, n)
	for i := range c.Points {
		pt := Point{Index: make([]uint32, c.TopK), Value: make([]uint16, c.TopK)}
		next := uint64(0)
		for j := range pt.Index {
			d, n := binary.Uvarint(r)
			if n <= 0 {
				return Commitment{}, errors.New("decode commitment: truncated")
			}
			r = r[n:]
			if d > math.MaxUint32 || next+d > math.MaxUint32 {
				return Commitment{}, errors.New("decode commitment: index out of range")
			}
			pt.Index[j] = uint32(next + d)
			next += d + 1
		}
		if len(r) < 2*c.TopK {
			return Commitment{}, errors.New("decode commitment: truncated")
		}
		for j := range pt.Value {
			pt.Value[j] = binary.LittleEndian.Uint16(r[2*j:])
		}
		r = r[2*c.TopK:]
		c.Points[i] = pt
	}
	if len(r) != 0 {
		return Commitment{}, errors.New("decode commitment: trailing bytes")
	}
	// Uvarints have several encodings of one value; only the shortest is
	// canonical.
	if enc := c.Encode(); string(enc) != string(b) {
		return Commitment{}, errors.New("decode commitment: not canonical")
	}
	return c, nil
}

// Finished reports whether output is a whole answer to a request for at
// most maxTokens tokens (≤ 0: no limit), and if not, why. A TOPLOC check
// passes any prefix of an honest answer, so the verifier also refuses an
// answer that stops early: a whole one ends with an end-of-generation
// token (isEOG, from the model's tokenizer; the output includes it), or
// has maxTokens tokens, or fills the context of ctxLen positions with the
// prompt's promptTokens. Stop sequences are not considered: an answer cut
// by one needs its text checked against the request.
func Finished(promptTokens int, output []int, maxTokens, ctxLen int, isEOG func(id int) bool) (bool, string) {
	n := len(output)
	switch {
	case maxTokens > 0 && n > maxTokens:
		return false, fmt.Sprintf("%d output tokens, more than the %d requested", n, maxTokens)
	case n > 0 && isEOG(output[n-1]):
		return true, ""
	case maxTokens > 0 && n == maxTokens:
		return true, ""
	case ctxLen > 0 && promptTokens+n >= ctxLen:
		return true, ""
	}
	return false, fmt.Sprintf("the answer stops after %d tokens without an end-of-generation token (max tokens %d)", n, maxTokens)
}
