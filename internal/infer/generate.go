package infer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/infer/sample"
)

// Finish reasons.
const (
	FinishStop      = "stop"      // end-of-generation token or stop sequence
	FinishLength    = "length"    // MaxTokens or the context length reached
	FinishCancelled = "cancelled" // the context was cancelled
)

// GenerateRequest is one completion request over token ids.
type GenerateRequest struct {
	Prompt    []int
	MaxTokens int // ≤ 0: until a stop condition or the context is full
	Sampling  sample.Params
	// Stop sequences end generation when they appear in the output text;
	// the stop sequence itself is not emitted.
	Stop []string
	// IgnoreEOS keeps generating through end-of-generation tokens. The zero
	// value stops on them, as llama.cpp does (it stops on EOS, not BOS).
	IgnoreEOS bool
}

// Result describes a finished generation.
type Result struct {
	Tokens           []int  // generated ids, without the end-of-generation token
	Text             string // the emitted text (stop sequence removed)
	FinishReason     string
	PromptTokens     int
	CompletionTokens int
	// TokensDigest is the sha256 (hex) of Tokens as little-endian uint32s.
	TokensDigest string
}

// TokensDigest returns the sha256 in hex of ids encoded as little-endian
// uint32s: the digest a receipt carries for a response.
func TokensDigest(ids []int) string {
	h := sha256.New()
	var b [4]byte
	for _, id := range ids {
		binary.LittleEndian.PutUint32(b[:], uint32(id))
		h.Write(b[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Generate runs a completion in a fresh session.
func (m *Model) Generate(ctx context.Context, req GenerateRequest, onToken func(id int, piece []byte) error) (Result, error) {
	s := m.NewSession()
	defer s.Close()
	return s.Generate(ctx, req, onToken)
}

// Generate runs req from position 0 of this session (its cache is
// overwritten). onToken, if not nil, is called for each generated token with
// the bytes that became safe to emit: with stop sequences, bytes that could
// begin one are held back and released with a later token; the held-back
// rest is released at the end with id -1. Returning an error from onToken
// stops generation with that error. A cancelled ctx ends generation with
// FinishCancelled and ctx's error.
func (s *Session) Generate(ctx context.Context, req GenerateRequest, onToken func(id int, piece []byte) error) (Result, error) {
	const op = "generate"
	m := s.m
	res := Result{PromptTokens: len(req.Prompt)}
	if len(req.Prompt) == 0 {
		return res, errs.E(op, errs.Invalid, "empty prompt")
	}
	if len(req.Prompt) >= m.hp.ctx {
		return res, errs.E(op, errs.Invalid, "prompt of %d tokens does not fit the context of %d", len(req.Prompt), m.hp.ctx)
	}
	if err := req.Sampling.Validate(); err != nil {
		return res, errs.Wrap(op, errs.Invalid, err)
	}
	for _, st := range req.Stop {
		if st == "" {
			return res, errs.E(op, errs.Invalid, "empty stop sequence")
		}
	}
	if err := ctx.Err(); err != nil {
		res.FinishReason = FinishCancelled
		return res, err
	}
	logits, err := s.Prefill(req.Prompt, 0)
	if err != nil {
		return res, err
	}
	sampler := sample.New(req.Sampling)
	history := append(make([]int, 0, len(req.Prompt)+max(req.MaxTokens, 16)), req.Prompt...)
	st := stopper{stops: req.Stop}
	emit := func(id int, piece []byte) error {
		if onToken == nil {
			return nil
		}
		return onToken(id, piece)
	}
	finish := func(reason string) (Result, error) {
		res.FinishReason = reason
		res.CompletionTokens = len(res.Tokens)
		res.TokensDigest = TokensDigest(res.Tokens)
		if reason != FinishStop || !st.matched {
			if rest := st.flush(); len(rest) > 0 {
				if err := emit(-1, rest); err != nil {
					return res, err
				}
			}
		}
		res.Text = string(st.text[:st.emitted])
		return res, nil
	}
	pos := len(req.Prompt)
	for {
		if err := ctx.Err(); err != nil {
			r, _ := finish(FinishCancelled)
			return r, err
		}
		id := sampler.Sample(logits, history)
		if !req.IgnoreEOS && m.tok.IsEOG(id) {
			return finish(FinishStop)
		}
		res.Tokens = append(res.Tokens, id)
		history = append(history, id)
		piece := st.add(m.tok.TokenBytes(id))
		if err := emit(id, piece); err != nil {
			res.FinishReason = FinishCancelled
			res.CompletionTokens = len(res.Tokens)
			return res, err
		}
		if st.matched {
			return finish(FinishStop)
		}
		if req.MaxTokens > 0 && len(res.Tokens) >= req.MaxTokens {
			return finish(FinishLength)
		}
		if pos >= m.hp.ctx {
			return finish(FinishLength)
		}
		if logits, err = s.Forward(id, pos); err != nil {
			return res, err
		}
		pos++
	}
}

// stopper holds back output that might be the start of a stop sequence.
type stopper struct {
	stops   []string
	text    []byte
	emitted int
	matched bool
}

// add appends piece and returns the bytes now safe to emit.
func (st *stopper) add(piece []byte) []byte {
	st.text = append(st.text, piece...)
	if len(st.stops) == 0 {
		out := st.text[st.emitted:]
		st.emitted = len(st.text)
		return out
	}
	maxLen := 0
	for _, s := range st.stops {
		maxLen = max(maxLen, len(s))
	}
	from := max(0, st.emitted-maxLen)
	cut := -1
	for _, s := range st.stops {
		if i := bytes.Index(st.text[from:], []byte(s)); i >= 0 && (cut < 0 || from+i < cut) {
			cut = from + i
		}
	}
	if cut >= 0 {
		st.matched = true
		out := st.text[st.emitted:max(cut, st.emitted)]
		st.emitted = max(cut, st.emitted)
		st.text = st.text[:st.emitted]
		return out
	}
	safe := len(st.text)
	for _, s := range st.stops {
		for k := min(len(s)-1, len(st.text)); k > 0; k-- {
			if bytes.HasSuffix(st.text, []byte(s[:k])) {
				safe = min(safe, len(st.text)-k)
				break
			}
		}
	}
	safe = max(safe, st.emitted)
	out := st.text[st.emitted:safe]
	st.emitted = safe
	return out
}

func (st *stopper) flush() []byte {
	out := st.text[st.emitted:]
	st.emitted = len(st.text)
	return out
}

// Embed returns the mean over tokens of the final normalized hidden state
// (after the output norm), the vector /v1/embeddings serves.
func (m *Model) Embed(ctx context.Context, tokens []int) ([]float32, error) {
	const op = "embed"
	if len(tokens) == 0 {
		return nil, errs.E(op, errs.Invalid, "no tokens")
	}
	if len(tokens) > m.hp.ctx {
		return nil, errs.E(op, errs.Invalid, "%d tokens do not fit the context of %d", len(tokens), m.hp.ctx)
	}
	s := m.NewSession()
	defer s.Close()
	dim := m.hp.dim
	sum := make([]float32, dim)
	for i := 0; i < len(tokens); i += maxBatch {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		chunk := tokens[i:min(i+maxBatch, len(tokens))]
		for j, tok := range chunk {
			if err := s.checkPos(op, tok, i+j, s.filled+j); err != nil {
				return nil, err
			}
		}
		s.batch(chunk, i)
		s.filled = max(s.filled, i+len(chunk))
		for t := range chunk {
			for d, v := range s.bxb[t*dim : (t+1)*dim] {
				sum[d] += v
			}
		}
	}
	n := float32(len(tokens))
	for d := range sum {
		sum[d] /= n
	}
	return sum, nil
}
