package serve

import (
	"context"
	"errors"
	"fmt"
)

// Backend serves one model. Implementations must be safe for concurrent use:
// every call gets its own generation state (KV cache).
type Backend interface {
	// Info describes the model; it must not change while serving.
	Info() ModelInfo
	// Complete generates a continuation of req, calling emit with each new
	// piece of text as it is produced. Each piece is valid UTF-8 (a multi-byte
	// character is never split across calls) and never contains a stop
	// sequence; the concatenation of the pieces is the completion. An error
	// from emit aborts the generation and is returned. A canceled ctx stops
	// the generation. A prompt that does not fit the context returns an
	// error wrapping ErrContextLength before emit is ever called.
	Complete(ctx context.Context, req CompletionRequest, emit func(text string) error) (Completion, error)
	// Embed returns one embedding per input, in order.
	Embed(ctx context.Context, inputs []string) (Embeddings, error)
}

// ModelInfo describes a served model.
type ModelInfo struct {
	ID            string // what clients put in "model"
	OwnedBy       string
	Created       int64  // Unix seconds
	Digest        string // sha256 hex of the model file
	ContextLength int    // tokens
}

// Message is one chat message.
type Message struct {
	Role    string
	Content string
}

// CompletionRequest is a generation request in backend terms.
type CompletionRequest struct {
	// Prompt is the raw prompt text; used when Messages is nil.
	Prompt string
	// Messages is a chat; the backend renders it with its chat template
	// and appends the assistant generation prompt.
	Messages []Message
	// MaxTokens caps the completion; 0 means as many as the context allows.
	MaxTokens int
	Sampling  Sampling
	// Stop ends the generation when the text produces any of these strings.
	Stop []string
}

// Sampling holds the sampler parameters. Zero Temperature is greedy.
type Sampling struct {
	Temperature      float32
	TopP             float32 // 1 disables
	TopK             int     // 0 disables
	MinP             float32 // 0 disables
	RepeatPenalty    float32 // 1 disables
	FrequencyPenalty float32
	PresencePenalty  float32
	Seed             uint64
}

// Completion is the outcome of Complete.
type Completion struct {
	FinishReason     string // "stop" or "length"
	PromptTokens     int
	CompletionTokens int
	TokensDigest     string // digest of the generated token ids, for verification
}

// Embeddings is the outcome of Embed.
type Embeddings struct {
	Vectors      [][]float32
	PromptTokens int
}

// Finish reasons.
const (
	FinishStop   = "stop"
	FinishLength = "length"
)

// Errors a Backend or the scheduler returns and the server maps to statuses.
var (
	// ErrContextLength: the prompt (plus max_tokens) does not fit the context.
	ErrContextLength = errors.New("context length exceeded")
	// ErrQueueFull: too many requests are already waiting.
	ErrQueueFull = errors.New("too many requests waiting")
	// ErrBusy: a request waited too long for a free generation slot.
	ErrBusy = errors.New("server busy")
)

// ParamError reports an invalid request parameter; the server answers 400
// and names Param in the error object.
type ParamError struct {
	Param string
	Err   error
}

func (e *ParamError) Error() string { return fmt.Sprintf("invalid %s: %v", e.Param, e.Err) }
func (e *ParamError) Unwrap() error { return e.Err }

func paramErr(param, format string, args ...any) error {
	return &ParamError{Param: param, Err: fmt.Errorf(format, args...)}
}
