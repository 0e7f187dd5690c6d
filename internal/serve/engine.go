package serve

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/infer"
	"github.com/deai-network/deai/internal/infer/chat"
	"github.com/deai-network/deai/internal/infer/sample"
	"github.com/deai-network/deai/internal/infer/tokenizer"
)

// EngineOptions configure NewEngineBackend.
type EngineOptions struct {
	// ID is the model id clients use; "" means ModelID(path).
	ID string
	// ChatTemplate names a chat template (see chat.Names); "" means the one
	// detected from the model's tokenizer.chat_template metadata.
	ChatTemplate string
	// Created is reported in /v1/models (Unix seconds).
	Created int64
}

// ModelID is the id a model file is served under: its base name without
// the .gguf extension.
func ModelID(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".gguf")
}

// Engine is a Backend over the built-in engine.
type Engine struct {
	m    *infer.Model
	tok  *tokenizer.Tokenizer
	tmpl chat.Template
	info ModelInfo
}

var _ Backend = (*Engine)(nil)

// NewEngineBackend serves m, loaded from path. The caller keeps ownership
// of m and closes it after the server has stopped.
func NewEngineBackend(m *infer.Model, path string, opts EngineOptions) (*Engine, error) {
	mi := m.Info()
	var tmpl chat.Template
	if opts.ChatTemplate != "" {
		var err error
		if tmpl, err = chat.Lookup(opts.ChatTemplate); err != nil {
			return nil, fmt.Errorf("new engine backend: %w", err)
		}
	} else {
		tmpl = chat.Detect(mi.ChatTemplate, mi.Architecture)
	}
	id := opts.ID
	if id == "" {
		id = ModelID(path)
	}
	return &Engine{m: m, tok: m.Tokenizer(), tmpl: tmpl, info: ModelInfo{
		ID: id, OwnedBy: "deai", Created: opts.Created, Digest: m.Digest(), ContextLength: m.ContextLength(),
	}}, nil
}

// Info implements Backend.
func (e *Engine) Info() ModelInfo { return e.info }

// ChatTemplate is the name of the template chat requests are rendered with.
func (e *Engine) ChatTemplate() string { return e.tmpl.Name() }

// Prompt tokenizes req's prompt (rendering its messages with the chat
// template) and returns the ids and the stop sequences to use.
func (e *Engine) Prompt(req CompletionRequest) ([]int, []string, error) {
	if req.Messages == nil {
		return e.tok.Encode(req.Prompt, e.tok.AddBOS()), req.Stop, nil
	}
	msgs := make([]chat.Message, len(req.Messages))
	for i, m := range req.Messages {
		msgs[i] = chat.Message{Role: m.Role, Content: m.Content}
	}
	text, err := e.tmpl.Render(msgs, true)
	if err != nil {
		return nil, nil, &ParamError{Param: "messages", Err: err}
	}
	addBOS := e.tok.AddBOS() && !strings.HasPrefix(text, e.tok.Token(e.tok.BOS()))
	stop := append(append([]string(nil), req.Stop...), e.tmpl.Stop()...)
	return e.tok.EncodeSpecial(text, addBOS), stop, nil
}

// Complete implements Backend.
func (e *Engine) Complete(ctx context.Context, req CompletionRequest, emit func(string) error) (Completion, error) {
	ids, stop, err := e.Prompt(req)
	if err != nil {
		return Completion{}, err
	}
	if len(ids) == 0 {
		return Completion{}, &ParamError{Param: "prompt", Err: errors.New("empty prompt (the model adds no BOS token)")}
	}
	n := e.info.ContextLength
	room := n - len(ids)
	if room <= 0 {
		return Completion{}, fmt.Errorf("this model's maximum context length is %d tokens; the prompt has %d: %w", n, len(ids), ErrContextLength)
	}
	maxTokens := req.MaxTokens
	if maxTokens > room {
		return Completion{}, fmt.Errorf("this model's maximum context length is %d tokens; you requested %d (%d in the prompt, %d for the completion): %w",
			n, len(ids)+maxTokens, len(ids), maxTokens, ErrContextLength)
	}
	s := req.Sampling
	params := sample.Params{Temperature: s.Temperature, TopP: s.TopP, TopK: s.TopK, MinP: s.MinP,
		RepeatPenalty: s.RepeatPenalty, FrequencyPenalty: s.FrequencyPenalty, PresencePenalty: s.PresencePenalty, Seed: s.Seed}
	// The engine holds back stop-sequence prefixes; TextStream additionally
	// keeps multi-byte characters whole.
	ts := NewTextStream(nil, emit)
	res, err := e.m.Generate(ctx, infer.GenerateRequest{Prompt: ids, MaxTokens: maxTokens, Sampling: params, Stop: stop},
		func(_ int, piece []byte) error {
			_, err := ts.Write(piece)
			return err
		})
	if err != nil {
		if ctx.Err() != nil {
			return Completion{}, ctx.Err()
		}
		return Completion{}, fmt.Errorf("generate: %w", err)
	}
	if err := ts.Flush(); err != nil {
		return Completion{}, err
	}
	fr := FinishStop
	if res.FinishReason == infer.FinishLength {
		fr = FinishLength
	}
	return Completion{FinishReason: fr, PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens, TokensDigest: res.TokensDigest}, nil
}

// Embed implements Backend: the mean-pooled final hidden state of each
// input, tokenized with the model's BOS.
func (e *Engine) Embed(ctx context.Context, inputs []string) (Embeddings, error) {
	var out Embeddings
	for i, in := range inputs {
		ids := e.tok.Encode(in, e.tok.AddBOS())
		if len(ids) == 0 {
			return Embeddings{}, paramErr(fmt.Sprintf("input[%d]", i), "empty input")
		}
		if len(ids) > e.info.ContextLength {
			return Embeddings{}, fmt.Errorf("input %d has %d tokens; this model's maximum context length is %d: %w", i, len(ids), e.info.ContextLength, ErrContextLength)
		}
		v, err := e.m.Embed(ctx, ids)
		if err != nil {
			if ctx.Err() != nil {
				return Embeddings{}, ctx.Err()
			}
			return Embeddings{}, errs.Wrap("embed", errs.KindOf(err), err)
		}
		out.Vectors = append(out.Vectors, v)
		out.PromptTokens += len(ids)
	}
	return out, nil
}
