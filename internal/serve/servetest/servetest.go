// Package servetest provides Backend, an in-memory serve.Backend for tests of
// the HTTP layer and of anything built on it (the gateway). It is
// deterministic, honors contexts, stop sequences, max tokens and context
// length like the real engine, and has hooks to hold a generation mid-stream.
package servetest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	"math"
	"strings"
	"sync"

	"github.com/deai-network/deai/internal/serve"
)

// Backend is an in-memory serve.Backend. Its "tokens" are words: a prompt
// costs one token per whitespace-separated word plus one (BOS), and a
// completion emits Pieces in order, one token each.
type Backend struct {
	Model  serve.ModelInfo
	Pieces []string // the generated text, one token per piece
	Dim    int      // embedding dimension; 0 means 8
	// BeforePiece, when set, runs before piece i is emitted; an error ends
	// the generation with it. Tests block here to hold a stream open.
	BeforePiece func(ctx context.Context, i int) error

	mu       sync.Mutex // guards the counters
	started  int
	canceled int
	last     serve.CompletionRequest
}

var _ serve.Backend = (*Backend)(nil)

// Info implements serve.Backend.
func (b *Backend) Info() serve.ModelInfo { return b.Model }

// Started counts Complete calls; Canceled counts those ended by their context.
func (b *Backend) Started() int  { b.mu.Lock(); defer b.mu.Unlock(); return b.started }
func (b *Backend) Canceled() int { b.mu.Lock(); defer b.mu.Unlock(); return b.canceled }

// Last returns the most recent request.
func (b *Backend) Last() serve.CompletionRequest { b.mu.Lock(); defer b.mu.Unlock(); return b.last }

func promptTokens(req serve.CompletionRequest) int {
	n := 1
	if req.Messages == nil {
		return n + len(strings.Fields(req.Prompt))
	}
	for _, m := range req.Messages {
		n += 2 + len(strings.Fields(m.Content))
	}
	return n
}

// Complete implements serve.Backend.
func (b *Backend) Complete(ctx context.Context, req serve.CompletionRequest, emit func(string) error) (serve.Completion, error) {
	b.mu.Lock()
	b.started++
	b.last = req
	b.mu.Unlock()
	p := promptTokens(req)
	limit := b.Model.ContextLength - p
	if limit <= 0 || (req.MaxTokens > 0 && req.MaxTokens > limit) {
		return serve.Completion{}, serve.ErrContextLength
	}
	if req.MaxTokens > 0 {
		limit = req.MaxTokens
	}
	c := serve.Completion{PromptTokens: p, FinishReason: serve.FinishStop}
	h := sha256.New()
	ts := serve.NewTextStream(req.Stop, emit)
	for i, piece := range b.Pieces {
		if i == limit {
			c.FinishReason = serve.FinishLength
			break
		}
		if b.BeforePiece != nil {
			if err := b.BeforePiece(ctx, i); err != nil {
				b.countCancel(ctx)
				return serve.Completion{}, err
			}
		}
		if err := ctx.Err(); err != nil {
			b.countCancel(ctx)
			return serve.Completion{}, err
		}
		c.CompletionTokens++
		h.Write([]byte(piece))
		stopped, err := ts.Write([]byte(piece))
		if err != nil {
			b.countCancel(ctx)
			return serve.Completion{}, err
		}
		if stopped {
			break
		}
	}
	if err := ts.Flush(); err != nil {
		return serve.Completion{}, err
	}
	c.TokensDigest = hex.EncodeToString(h.Sum(nil))
	return c, nil
}

func (b *Backend) countCancel(ctx context.Context) {
	if ctx.Err() != nil {
		b.mu.Lock()
		b.canceled++
		b.mu.Unlock()
	}
}

// Embed implements serve.Backend: a unit vector derived from each input's hash.
func (b *Backend) Embed(ctx context.Context, inputs []string) (serve.Embeddings, error) {
	dim := b.Dim
	if dim == 0 {
		dim = 8
	}
	var out serve.Embeddings
	for _, in := range inputs {
		if err := ctx.Err(); err != nil {
			return serve.Embeddings{}, err
		}
		out.PromptTokens += 1 + len(strings.Fields(in))
		v := make([]float32, dim)
		var norm float64
		for i := range v {
			h := fnv.New32a()
			h.Write([]byte{byte(i)})
			h.Write([]byte(in))
			v[i] = float32(h.Sum32()%1000)/500 - 1
			norm += float64(v[i]) * float64(v[i])
		}
		for i := range v {
			v[i] = float32(float64(v[i]) / math.Sqrt(norm))
		}
		out.Vectors = append(out.Vectors, v)
	}
	return out, nil
}
