package verify_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/infer"
	"github.com/deai-network/deai/internal/infer/sample"
	"github.com/deai-network/deai/internal/verify"
)

const toplocModel = "../../../shared/models/stories260K.gguf"

// toplocSynthModels caches the random-weight models the TOPLOC tests share.
var toplocSynthModels struct {
	sync.Mutex
	dir string
	m   map[string]*infer.Model
}

// toplocSynthModel returns the Synth model of shape, weight type and seed.
func toplocSynthModel(tb testing.TB, shape, typ string, seed uint64) *infer.Model {
	tb.Helper()
	toplocSynthModels.Lock()
	defer toplocSynthModels.Unlock()
	key := shape + "-" + typ + "-" + strconv.FormatUint(seed, 10)
	if m, ok := toplocSynthModels.m[key]; ok {
		return m
	}
	if toplocSynthModels.m == nil {
		dir, err := os.MkdirTemp("", "toploc-")
		if err != nil {
			tb.Fatal(err)
		}
		toplocSynthModels.dir, toplocSynthModels.m = dir, map[string]*infer.Model{}
	}
	path := filepath.Join(toplocSynthModels.dir, key+".gguf")
	var buf bytes.Buffer
	if err := infer.Synth(&buf, infer.SynthOptions{Shape: shape, Type: typ, Seed: seed}); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		tb.Fatal(err)
	}
	m, err := infer.Load(path, infer.Options{Threads: 1})
	if err != nil {
		tb.Fatal(err)
	}
	toplocSynthModels.m[key] = m
	return m
}

func toplocLoadModel(tb testing.TB, path string, threads int) *infer.Model {
	tb.Helper()
	m, err := infer.Load(path, infer.Options{Threads: threads})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	return m
}

// toplocAnswer generates up to maxTokens tokens after prompt; the output ends
// with the end-of-generation token when the model produced one.
func toplocAnswer(tb testing.TB, m *infer.Model, prompt []int, maxTokens int, sp sample.Params) []int {
	tb.Helper()
	s := m.NewSession()
	defer s.Close()
	logits, err := s.Prefill(prompt, 0)
	if err != nil {
		tb.Fatal(err)
	}
	smp := sample.New(sp)
	hist := append([]int(nil), prompt...)
	var out []int
	for len(out) < maxTokens && len(prompt)+len(out) < m.ContextLength() {
		id := smp.Sample(logits, hist)
		out, hist = append(out, id), append(hist, id)
		if m.Tokenizer().IsEOG(id) || len(out) == maxTokens {
			break
		}
		if logits, err = s.Forward(id, len(prompt)+len(out)-1); err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

func toplocCommit(tb testing.TB, m *infer.Model, prompt, output []int) verify.Commitment {
	tb.Helper()
	c, err := verify.Commit(context.Background(), m, prompt, output, verify.Params{})
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func toplocCheck(tb testing.TB, m *infer.Model, prompt, output []int, c verify.Commitment) verify.Report {
	tb.Helper()
	rep, err := verify.CheckCommitment(context.Background(), m, prompt, output, c, verify.DefaultThresholds())
	if err != nil {
		tb.Fatal(err)
	}
	return rep
}

// toplocJob is one request: a random prompt, a length limit and a sampler.
type toplocJob struct {
	prompt    []int
	maxTokens int
	sp        sample.Params
}

func toplocRandomJob(rng *rand.Rand, vocab int) toplocJob {
	j := toplocJob{prompt: make([]int, 1+rng.IntN(16)), maxTokens: 1 + rng.IntN(96)}
	for i := range j.prompt {
		j.prompt[i] = rng.IntN(vocab)
	}
	if rng.IntN(3) > 0 { // a third greedy, the rest sampled
		j.sp = sample.Params{Temperature: 0.6 + 0.4*rng.Float32(), Seed: rng.Uint64()}
	}
	return j
}

// toplocRate counts answers of one kind and how many the verifier accepted.
type toplocRate struct {
	kind             string
	n, accepted      int
	reasons          map[string]int
	minOverlap, minE int
	// bestWorst is the largest, over answers, of an answer's smallest
	// overlap: how close the best cheat came.
	bestWorst       int
	maxMean, maxMed float64
}

func (r *toplocRate) add(rep verify.Report, finished bool) {
	r.n++
	if rep.Accept && finished {
		r.accepted++
	}
	if r.reasons == nil {
		r.reasons, r.minOverlap, r.minE = map[string]int{}, 1<<30, 1<<30
	}
	if !rep.Accept {
		reason := rep.Reason
		for _, p := range rep.Points {
			if !p.OK {
				w := strings.Fields(p.Reason)
				reason = strings.Join(w[:min(2, len(w))], " ")
				break
			}
		}
		r.reasons[reason]++
	} else if !finished {
		r.reasons["unfinished"]++
	}
	worst := 1 << 30
	for _, p := range rep.Points {
		worst = min(worst, p.Overlap)
		r.minOverlap, r.minE = min(r.minOverlap, p.Overlap), min(r.minE, p.ExpMatches)
		r.maxMean, r.maxMed = max(r.maxMean, p.MantMean), max(r.maxMed, p.MantMedian)
	}
	if len(rep.Points) > 0 {
		r.bestWorst = max(r.bestWorst, worst)
	}
}

func (r *toplocRate) String() string {
	return fmt.Sprintf("%-34s %4d answers, %4d accepted (%5.1f%%); points: min overlap %2d (best answer's worst %2d), min exp %2d, max mant mean %5.2f, median %4.1f; rejected by %v",
		r.kind, r.n, r.accepted, 100*float64(r.accepted)/float64(max(r.n, 1)), r.minOverlap, r.bestWorst, r.minE, r.maxMean, r.maxMed, r.reasons)
}

// TestToplocRates measures false positives (honest answers from other
// numerics rejected) and false negatives (cheats accepted) against an f32
// verifier of the tiny Synth shape.
func TestToplocRates(t *testing.T) {
	const perModel = 100
	start := time.Now()
	ref := toplocSynthModel(t, "tiny", "f32", 1)
	vocab := ref.VocabSize()
	fin := func(j toplocJob, out []int) bool {
		ok, _ := verify.Finished(len(j.prompt), out, j.maxTokens, ref.ContextLength(), ref.Tokenizer().IsEOG)
		return ok
	}
	rng := rand.New(rand.NewPCG(1, 2))

	type toplocHonestAnswer struct {
		j   toplocJob
		out []int
		c   verify.Commitment
	}
	var honest []toplocHonestAnswer
	var rates []*toplocRate
	newRate := func(kind string) *toplocRate { r := &toplocRate{kind: kind}; rates = append(rates, r); return r }

	// Honest: the same weights (seed 1) in other precisions answer and
	// commit; the f32 verifier checks.
	// The engine's batched prefill is slow for f16 and bf16 weights, so
	// most honest answers come from q8_0.
	for _, tc := range []struct {
		typ string
		n   int
	}{{"f32", 40}, {"f16", 40}, {"bf16", 40}, {"q8_0", 200}} {
		typ := tc.typ
		r := newRate("honest tiny " + typ)
		m := toplocSynthModel(t, "tiny", typ, 1)
		for range tc.n {
			j := toplocRandomJob(rng, vocab)
			out := toplocAnswer(t, m, j.prompt, j.maxTokens, j.sp)
			c := toplocCommit(t, m, j.prompt, out)
			r.add(toplocCheck(t, ref, j.prompt, out, c), fin(j, out))
			if typ != "f32" {
				honest = append(honest, toplocHonestAnswer{j, out, c})
			}
		}
	}
	// Not asserted: a 4-bit quantization of the same weights, a cheaper
	// model than the one pinned.
	q4 := newRate("q4_0 of the same weights (info)")
	{
		m := toplocSynthModel(t, "tiny", "q4_0", 1)
		for range perModel / 2 {
			j := toplocRandomJob(rng, vocab)
			out := toplocAnswer(t, m, j.prompt, j.maxTokens, j.sp)
			q4.add(toplocCheck(t, ref, j.prompt, out, toplocCommit(t, m, j.prompt, out)), fin(j, out))
		}
	}

	// (a) Model substitution: another seed, or the smaller stories260K
	// (its 512-token vocabulary fits in tiny's), answers and commits with
	// its own model.
	subst := newRate("(a) substituted model")
	small := toplocLoadModel(t, toplocModel, 1)
	for i := range perModel {
		var m *infer.Model
		switch i % 4 {
		case 0:
			m = toplocSynthModel(t, "tiny", "f32", 2)
		case 1:
			m = toplocSynthModel(t, "tiny", "q8_0", 3)
		case 2:
			m = toplocSynthModel(t, "tiny", "f16", 4)
		default:
			m = small
		}
		j := toplocRandomJob(rng, min(vocab, m.VocabSize()))
		out := toplocAnswer(t, m, j.prompt, j.maxTokens, j.sp)
		subst.add(toplocCheck(t, ref, j.prompt, out, toplocCommit(t, m, j.prompt, out)), fin(j, out))
	}

	// (b) Random text: random tokens sent with the honest commitment of
	// another answer of the same length, or with fabricated points.
	randHonest := newRate("(b1) random text, honest commitment")
	randFab := newRate("(b2) random text, fabricated points")
	for i, h := range honest[:2*perModel] {
		out := make([]int, len(h.out))
		for k := range out {
			out[k] = rng.IntN(vocab)
		}
		if i%2 == 0 {
			randHonest.add(toplocCheck(t, ref, h.j.prompt, out, h.c), fin(h.j, out))
			continue
		}
		c := h.c
		c.Points = make([]verify.Point, len(h.c.Points))
		for p := range c.Points {
			c.Points[p] = toplocFabricatedPoint(rng, c.TopK, vocab)
		}
		randFab.add(toplocCheck(t, ref, h.j.prompt, out, c), fin(h.j, out))
	}

	// (c) Tampered commitments of honest answers: one point's mantissas
	// scrambled, its exponents shifted, half its indices replaced, or the
	// point of another answer put in its place.
	tamper := newRate("(c) tampered commitment")
	for i, h := range honest[len(honest)-2*perModel:] {
		c := h.c
		c.Points = append([]verify.Point(nil), h.c.Points...)
		p := rng.IntN(len(c.Points))
		pt := verify.Point{Index: append([]uint32(nil), c.Points[p].Index...), Value: append([]uint16(nil), c.Points[p].Value...)}
		switch i % 4 {
		case 0:
			for k := range pt.Value {
				pt.Value[k] ^= uint16(16 + rng.IntN(112))
			}
		case 1:
			for k := range pt.Value {
				pt.Value[k] += 1 << 7
			}
		case 2:
			pt = toplocHalfReplaced(rng, pt, vocab)
		default:
			o := honest[rng.IntN(len(honest))]
			pt = o.c.Points[rng.IntN(len(o.c.Points))]
		}
		c.Points[p] = pt
		tamper.add(toplocCheck(t, ref, h.j.prompt, h.out, c), fin(h.j, h.out))
	}

	// (d) Truncated: an honest prefix with its own honest commitment; the
	// TOPLOC check passes, Finished refuses.
	trunc := newRate("(d) truncated answer")
	for _, h := range honest {
		if trunc.n == perModel {
			break
		}
		if len(h.out) < 2 {
			continue
		}
		out := h.out[:1+rng.IntN(len(h.out)-1)]
		if ref.Tokenizer().IsEOG(out[len(out)-1]) {
			continue
		}
		m := toplocSynthModel(t, "tiny", "q8_0", 1)
		trunc.add(toplocCheck(t, ref, h.j.prompt, out, toplocCommit(t, m, h.j.prompt, out)), fin(h.j, out))
	}

	// Not asserted: the weak spots of checking activations given the
	// tokens. Random tokens with a genuine commitment over them pass (the
	// check does not say the tokens were sampled from the logits), and so
	// may one edited token, which moves the chunk-end logits little.
	randGenuine := newRate("random text, genuine commitment (info)")
	edited := newRate("one token edited (info)")
	m8 := toplocSynthModel(t, "tiny", "q8_0", 1)
	for i, h := range honest[len(honest)-perModel/2:] {
		out := append([]int(nil), h.out...)
		if i%2 == 0 {
			for k := range out {
				out[k] = rng.IntN(vocab)
			}
			randGenuine.add(toplocCheck(t, ref, h.j.prompt, out, toplocCommit(t, m8, h.j.prompt, out)), fin(h.j, out))
			continue
		}
		k := rng.IntN(len(out))
		out[k] = (out[k] + 1 + rng.IntN(vocab-1)) % vocab
		edited.add(toplocCheck(t, ref, h.j.prompt, out, h.c), fin(h.j, out))
	}

	// The built-in engine is bit-exact across thread counts: stories260K
	// commitments from 1 and 2 threads are the same bytes.
	exact := newRate("stories260K 2 threads vs 1 (exact)")
	{
		m1, m2 := small, toplocLoadModel(t, toplocModel, 2)
		for i := range 40 {
			j := toplocRandomJob(rng, m1.VocabSize())
			j.prompt = m1.Tokenizer().Encode([]string{"Once upon a time", "The dog", "Lily and Tom went", "One day"}[i%4], true)
			out := toplocAnswer(t, m2, j.prompt, j.maxTokens, j.sp)
			c := toplocCommit(t, m2, j.prompt, out)
			if c.Digest() != toplocCommit(t, m1, j.prompt, out).Digest() {
				t.Errorf("stories260K: the commitment differs between 1 and 2 threads")
			}
			rep := toplocCheck(t, m1, j.prompt, out, c)
			for _, p := range rep.Points {
				if p.Overlap != c.TopK || p.ExpMatches != c.TopK || p.MantMean != 0 {
					t.Errorf("stories260K at %d: %+v, want an exact match", p.Pos, p)
				}
			}
			exact.add(rep, fin(j, out))
		}
	}

	for _, r := range rates {
		t.Log(r)
	}
	var hn, ha, dn, da int
	for _, r := range rates {
		switch {
		case r == q4 || r == randGenuine || r == edited:
		case r.kind[0] == 'h' || r == exact:
			hn, ha = hn+r.n, ha+r.accepted
			if r.accepted != r.n {
				t.Errorf("%s: %d of %d honest answers rejected", r.kind, r.n-r.accepted, r.n)
			}
		default:
			dn, da = dn+r.n, da+r.accepted
			if r.accepted != 0 {
				t.Errorf("%s: %d of %d cheats accepted", r.kind, r.accepted, r.n)
			}
		}
	}
	var bytesOut, tokens int
	for _, h := range honest {
		bytesOut += len(h.c.Encode())
		tokens += len(h.out)
	}
	t.Logf("false-positive rate %d/%d, false-negative rate %d/%d; commitments %.2f bytes per output token (k=%d, chunk %d); %v",
		hn-ha, hn, da, dn, float64(bytesOut)/float64(tokens), verify.DefaultTopK, verify.DefaultChunkSize, time.Since(start).Round(time.Millisecond))
}

func toplocFabricatedPoint(rng *rand.Rand, k, vocab int) verify.Point {
	idx := rng.Perm(vocab)[:k]
	pt := verify.Point{Index: make([]uint32, k), Value: make([]uint16, k)}
	for j := range pt.Index {
		pt.Index[j] = uint32(idx[j])
		pt.Value[j] = uint16(0x4000 + rng.IntN(0x200)) // about ±2 to ±16
		if rng.IntN(2) == 0 {
			pt.Value[j] |= 0x8000
		}
	}
	toplocSortPoint(pt)
	return pt
}

// toplocHalfReplaced replaces every other index of pt by one outside it.
func toplocHalfReplaced(rng *rand.Rand, pt verify.Point, vocab int) verify.Point {
	in := map[uint32]bool{}
	for _, i := range pt.Index {
		in[i] = true
	}
	for j := 0; j < len(pt.Index); j += 2 {
		for {
			i := uint32(rng.IntN(vocab))
			if !in[i] {
				in[i], pt.Index[j] = true, i
				break
			}
		}
	}
	toplocSortPoint(pt)
	return pt
}

func toplocSortPoint(pt verify.Point) {
	for a := 1; a < len(pt.Index); a++ {
		for b := a; b > 0 && pt.Index[b] < pt.Index[b-1]; b-- {
			pt.Index[b], pt.Index[b-1] = pt.Index[b-1], pt.Index[b]
			pt.Value[b], pt.Value[b-1] = pt.Value[b-1], pt.Value[b]
		}
	}
}

func TestToplocCommitmentShape(t *testing.T) {
	m := toplocLoadModel(t, toplocModel, 1)
	prompt := m.Tokenizer().Encode("Once upon a time", true)
	for _, n := range []int{0, 1, 31, 32, 33, 64, 100} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			out := toplocAnswer(t, m, prompt, n, sample.Params{})
			out = out[:min(n, len(out))]
			c := toplocCommit(t, m, prompt, out)
			if got, want := len(c.Points), len(verify.PointOffsets(len(out), 32)); got != want {
				t.Fatalf("%d points, want %d", got, want)
			}
			d, err := verify.Decode(c.Encode())
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(c, d); diff != "" {
				t.Errorf("Decode(Encode(c)) (-want +got):\n%s", diff)
			}
			if rep := toplocCheck(t, m, prompt, out, c); !rep.Accept {
				t.Errorf("the committing model rejects its own answer: %s", rep.Reason)
			}
		})
	}
}

func TestToplocPointOffsets(t *testing.T) {
	tests := []struct {
		n, chunk int
		want     []int
	}{
		{0, 32, []int{0}},
		{1, 32, []int{0, 1}},
		{32, 32, []int{0, 32}},
		{33, 32, []int{0, 32, 33}},
		{70, 32, []int{0, 32, 64, 70}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, verify.PointOffsets(tt.n, tt.chunk)); diff != "" {
			t.Errorf("PointOffsets(%d, %d) (-want +got):\n%s", tt.n, tt.chunk, diff)
		}
	}
}

func TestToplocRejectsMismatchedCommitment(t *testing.T) {
	m := toplocLoadModel(t, toplocModel, 1)
	prompt := m.Tokenizer().Encode("Once upon a time", true)
	out := toplocAnswer(t, m, prompt, 40, sample.Params{})
	c := toplocCommit(t, m, prompt, out)
	weak, err := verify.Commit(context.Background(), m, prompt, out, verify.Params{TopK: 4})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		prompt []int
		out    []int
		c      verify.Commitment
	}{
		{"weaker k", prompt, out, weak},
		{"other length", prompt, out[:len(out)-1], c},
		{"other prompt length", prompt[1:], out, c},
		{"missing point", prompt, out, verify.Commitment{ChunkSize: 32, TopK: 32, PromptTokens: len(prompt), OutputTokens: len(out), Points: c.Points[1:]}},
		{"token outside the vocabulary", prompt, append(out[:len(out)-1:len(out)-1], 1<<20), c},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if rep := toplocCheck(t, m, tt.prompt, tt.out, tt.c); rep.Accept {
				t.Errorf("accepted: %+v", rep)
			} else {
				t.Log(rep.Reason)
			}
		})
	}
}

func TestToplocFinished(t *testing.T) {
	eog := func(id int) bool { return id == 2 }
	tests := []struct {
		name      string
		prompt    int
		out       []int
		maxTokens int
		ctx       int
		want      bool
	}{
		{"ends with EOS", 3, []int{5, 6, 2}, 10, 512, true},
		{"max tokens", 3, []int{5, 6, 7}, 3, 512, true},
		{"context full", 509, []int{5, 6, 7}, 10, 512, true},
		{"truncated", 3, []int{5, 6}, 10, 512, false},
		{"empty", 3, nil, 10, 512, false},
		{"longer than asked", 3, []int{5, 6, 7, 8}, 3, 512, false},
		{"no limit, no EOS", 3, []int{5, 6}, 0, 512, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := verify.Finished(tt.prompt, tt.out, tt.maxTokens, tt.ctx, eog)
			if got != tt.want {
				t.Errorf("Finished = %v (%s), want %v", got, reason, tt.want)
			}
		})
	}
}

func FuzzToplocDecode(f *testing.F) {
	m, err := infer.Load(toplocModel, infer.Options{Threads: 1})
	if err != nil {
		f.Fatal(err)
	}
	defer m.Close()
	prompt := m.Tokenizer().Encode("Once upon a time", true)
	for _, n := range []int{0, 5, 40} {
		out := make([]int, n)
		for i := range out {
			out[i] = 100 + i
		}
		c, err := verify.Commit(context.Background(), m, prompt, out, verify.Params{ChunkSize: 16, TopK: 8})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c.Encode())
	}
	f.Add([]byte{1, 1, 1, 1, 0})
	f.Add([]byte{1, 0x80, 0x80, 0x80, 0x80, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := verify.Decode(b)
		if err != nil {
			return
		}
		if !bytes.Equal(c.Encode(), b) {
			t.Fatalf("Encode(Decode(b)) != b")
		}
	})
}

// The miner commits to its answer; the verifier rechecks it in one prefill
// and refuses an answer cut short.
func ExampleCommit() {
	m, err := infer.Load(toplocModel, infer.Options{Threads: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer m.Close()
	ctx := context.Background()
	prompt := m.Tokenizer().Encode("Once upon a time", true)
	res, err := m.Generate(ctx, infer.GenerateRequest{Prompt: prompt, MaxTokens: 48}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c, err := verify.Commit(ctx, m, prompt, res.Tokens, verify.Params{})
	if err != nil {
		fmt.Println(err)
		return
	}
	rep, err := verify.CheckCommitment(ctx, m, prompt, res.Tokens, c, verify.DefaultThresholds())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(res.Tokens), "tokens,", len(c.Points), "points,", len(c.Encode()), "bytes, accepted:", rep.Accept)
	ok, _ := verify.Finished(len(prompt), res.Tokens[:20], 48, m.ContextLength(), m.Tokenizer().IsEOG)
	fmt.Println("the first 20 tokens alone are a whole answer:", ok)
	// Output:
	// 48 tokens, 3 points, 293 bytes, accepted: true
	// the first 20 tokens alone are a whole answer: false
}

func toplocBenchModel(b *testing.B, name string) *infer.Model {
	if name == "stories260K" {
		return toplocLoadModel(b, toplocModel, 1)
	}
	return toplocSynthModel(b, name, "f32", 1)
}

// BenchmarkToplocGenerate, …Commit and …Verify compare, per answer of 64
// tokens after a 16-token prompt, greedy generation with the cost of
// committing to it and of checking the commitment.
func BenchmarkToplocGenerate(b *testing.B) {
	for _, name := range []string{"stories260K", "tiny", "15M"} {
		b.Run(name, func(b *testing.B) {
			m := toplocBenchModel(b, name)
			prompt := toplocBenchPrompt(m)
			for b.Loop() {
				toplocGenerate64(b, m, prompt)
			}
		})
	}
}

func BenchmarkToplocCommit(b *testing.B) {
	for _, name := range []string{"stories260K", "tiny", "15M"} {
		b.Run(name, func(b *testing.B) {
			m := toplocBenchModel(b, name)
			prompt := toplocBenchPrompt(m)
			out := toplocBenchOutput(m, len(prompt))
			for b.Loop() {
				toplocCommit(b, m, prompt, out)
			}
		})
	}
}

func BenchmarkToplocVerify(b *testing.B) {
	for _, name := range []string{"stories260K", "tiny", "15M"} {
		b.Run(name, func(b *testing.B) {
			m := toplocBenchModel(b, name)
			prompt := toplocBenchPrompt(m)
			out := toplocBenchOutput(m, len(prompt))
			c := toplocCommit(b, m, prompt, out)
			for b.Loop() {
				if rep := toplocCheck(b, m, prompt, out, c); !rep.Accept {
					b.Fatal(rep.Reason)
				}
			}
			b.ReportMetric(float64(len(c.Encode()))/float64(len(out)), "B/token")
		})
	}
}

func toplocBenchPrompt(m *infer.Model) []int {
	p := make([]int, 16)
	for i := range p {
		p[i] = (1 + 37*i) % m.VocabSize()
	}
	return p
}

// toplocBenchOutput is 64 fixed tokens.
func toplocBenchOutput(m *infer.Model, promptLen int) []int {
	out := make([]int, 64)
	for i := range out {
		out[i] = (3 + 101*i) % m.VocabSize()
	}
	return out
}

// toplocGenerate64 generates 64 tokens greedily, through end-of-generation
// tokens.
func toplocGenerate64(b *testing.B, m *infer.Model, prompt []int) {
	s := m.NewSession()
	defer s.Close()
	logits, err := s.Prefill(prompt, 0)
	if err != nil {
		b.Fatal(err)
	}
	smp := sample.New(sample.Params{})
	hist := append([]int(nil), prompt...)
	for i := range 64 {
		id := smp.Sample(logits, hist)
		hist = append(hist, id)
		if logits, err = s.Forward(id, len(prompt)+i); err != nil {
			b.Fatal(err)
		}
	}
}

// TestToplocRates15M repeats the honest and substitution cases at a
// realistic vocabulary (32,000 logits to take the top-k of) on the 15M
// Synth shape, with fewer answers.
func TestToplocRates15M(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: generates with a 15M model")
	}
	ref := toplocSynthModel(t, "15M", "f32", 1)
	rng := rand.New(rand.NewPCG(3, 4))
	fin := func(j toplocJob, out []int) bool {
		ok, _ := verify.Finished(len(j.prompt), out, j.maxTokens, ref.ContextLength(), ref.Tokenizer().IsEOG)
		return ok
	}
	honest, subst := &toplocRate{kind: "honest 15M q8_0"}, &toplocRate{kind: "(a) 15M of another seed"}
	for _, tc := range []struct {
		r    *toplocRate
		seed uint64
	}{{honest, 1}, {subst, 2}} {
		m := toplocSynthModel(t, "15M", "q8_0", tc.seed)
		for range 20 {
			j := toplocRandomJob(rng, ref.VocabSize())
			j.maxTokens = 1 + rng.IntN(40)
			out := toplocAnswer(t, m, j.prompt, j.maxTokens, j.sp)
			tc.r.add(toplocCheck(t, ref, j.prompt, out, toplocCommit(t, m, j.prompt, out)), fin(j, out))
		}
	}
	t.Log(honest)
	t.Log(subst)
	if honest.accepted != honest.n || subst.accepted != 0 {
		t.Errorf("15M: %d of %d honest answers accepted, %d of %d substituted", honest.accepted, honest.n, subst.accepted, subst.n)
	}
}
