package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/deai-network/deai/internal/wire"
)

// Headers the engine's OpenAI handler (internal/serve) sets.
const (
	HeaderTokensDigest = "X-Deai-Tokens-Digest"
	HeaderModelDigest  = "X-Deai-Model-Digest"
)

// Result is what a re-execution produced.
type Result struct {
	TokensDigest     string
	ModelDigest      string
	PromptTokens     uint32
	CompletionTokens uint32
	Elapsed          time.Duration
}

// ErrBusy: the reference engine was at capacity; try again.
var ErrBusy = errors.New("reference engine busy")

// ErrNotVerifiable: the request is of a kind re-execution does not check
// (embeddings, or not an inference request at all).
var ErrNotVerifiable = errors.New("request cannot be verified by re-execution")

// PathOf returns the endpoint a request body was sent to, from its shape:
// "messages" for chat completions, "prompt" for completions. Receipts
// carry the body's hash, not the path, and the two shapes do not overlap.
func PathOf(body []byte) (string, error) {
	var f map[string]json.RawMessage
	if err := json.Unmarshal(body, &f); err != nil {
		return "", fmt.Errorf("%w: the body is not a JSON object", ErrNotVerifiable)
	}
	_, chat := f["messages"]
	_, comp := f["prompt"]
	switch {
	case chat && !comp:
		return "/v1/chat/completions", nil
	case comp && !chat:
		return "/v1/completions", nil
	}
	return "", fmt.Errorf("%w: neither a chat nor a completion request", ErrNotVerifiable)
}

// Reexecute runs body through ref, the reference engine's OpenAI handler,
// as a non-streaming request (a stream's tokens are the same) and returns
// what it generated.
func Reexecute(ctx context.Context, ref http.Handler, body []byte) (Result, error) {
	path, err := PathOf(body)
	if err != nil {
		return Result{}, err
	}
	var f map[string]json.RawMessage
	_ = json.Unmarshal(body, &f) // PathOf decoded it
	delete(f, "stream")
	delete(f, "stream_options")
	plain, err := json.Marshal(f)
	if err != nil {
		return Result{}, fmt.Errorf("re-execute: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://reference"+path, bytes.NewReader(plain))
	if err != nil {
		return Result{}, fmt.Errorf("re-execute: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	rec := &recorder{header: http.Header{}}
	start := time.Now()
	ref.ServeHTTP(rec, req)
	res := Result{Elapsed: time.Since(start), TokensDigest: rec.header.Get(HeaderTokensDigest), ModelDigest: rec.header.Get(HeaderModelDigest)}
	if s := rec.statusOr200(); s != http.StatusOK {
		err := fmt.Errorf("re-execute: the reference answered %d: %.200s", s, rec.body.String())
		if s == http.StatusServiceUnavailable || s == http.StatusTooManyRequests {
			err = fmt.Errorf("%w: %w", ErrBusy, err)
		}
		return res, err
	}
	var usage struct {
		Usage struct {
			PromptTokens     uint32 `json:"prompt_tokens"`
			CompletionTokens uint32 `json:"completion_tokens"`
		} `json:"usage"`
	}
	if err := json.Unmarshal(rec.body.Bytes(), &usage); err != nil {
		return res, fmt.Errorf("re-execute: the reference's answer: %w", err)
	}
	res.PromptTokens, res.CompletionTokens = usage.Usage.PromptTokens, usage.Usage.CompletionTokens
	if res.TokensDigest == "" {
		return res, errors.New("re-execute: the reference sent no token digest")
	}
	return res, nil
}

// Verdict is the outcome of checking one receipt.
type Verdict struct {
	// Valid: the receipt is signed by its miner and matches the request
	// (and response) given; a receipt that is not valid proves nothing
	// about its miner.
	Valid bool `json:"valid"`
	// Reexecuted: the request ran on the reference engine.
	Reexecuted bool `json:"reexecuted"`
	// Honest: the re-execution produced exactly what the receipt claims.
	Honest bool   `json:"honest"`
	Reason string `json:"reason,omitempty"`
	// Claimed and Got are the receipt's and the re-execution's token
	// digests and counts.
	Claimed Result `json:"claimed"`
	Got     Result `json:"got,omitzero"`
}

// CheckOptions configure Check.
type CheckOptions struct {
	Request  []byte // the request body (required)
	Response []byte // the response body as received; nil: not checked
	// Pinned is the model digest the subnet pins ("" to accept the
	// receipt's own).
	Pinned string
	// Reference re-executes the request (nil: no re-execution; the
	// verdict then only says whether the receipt is valid).
	Reference http.Handler
}

// Check verifies r: its signature, that it is for this request (and
// response), the pinned model digest, and by re-execution that the
// tokens it claims are the ones the model produces for the request.
func Check(ctx context.Context, r *wire.Receipt, o CheckOptions) (Verdict, error) {
	v := Verdict{Claimed: Result{TokensDigest: r.TokensDigest, ModelDigest: r.ModelDigest, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens}}
	if err := r.Verify(); err != nil {
		v.Reason = "signature: " + err.Error()
		return v, nil
	}
	if sha256.Sum256(o.Request) != r.RequestHash {
		v.Reason = "the receipt is for another request (request hash differs)"
		return v, nil
	}
	if o.Response != nil && sha256.Sum256(o.Response) != r.ResponseHash {
		v.Reason = "the receipt is for another response (response hash differs)"
		return v, nil
	}
	v.Valid = true
	wrongModel := o.Pinned != "" && r.ModelDigest != o.Pinned
	if wrongModel {
		v.Reason = "the receipt names model " + r.ModelDigest + ", the subnet pins " + o.Pinned
	}
	if o.Reference == nil {
		return v, nil
	}
	got, err := Reexecute(ctx, o.Reference, o.Request)
	for wait := 20 * time.Millisecond; errors.Is(err, ErrBusy) && wait < 3*time.Second; wait *= 2 {
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(wait):
		}
		got, err = Reexecute(ctx, o.Reference, o.Request)
	}
	if err != nil {
		return v, err
	}
	v.Reexecuted, v.Got = true, got
	switch {
	case o.Pinned != "" && got.ModelDigest != "" && got.ModelDigest != o.Pinned:
		return v, fmt.Errorf("the reference engine runs model %s, not the pinned %s", got.ModelDigest, o.Pinned)
	case got.TokensDigest != r.TokensDigest:
		v.Reason = "the model generates other tokens for this request (token digest differs)"
	case wrongModel:
		// the reason is set above
	case got.CompletionTokens != r.CompletionTokens || got.PromptTokens != r.PromptTokens:
		v.Reason = "token counts differ: receipt " + strconv.Itoa(int(r.PromptTokens)) + "+" + strconv.Itoa(int(r.CompletionTokens)) +
			", re-execution " + strconv.Itoa(int(got.PromptTokens)) + "+" + strconv.Itoa(int(got.CompletionTokens))
	default:
		v.Honest = true
	}
	return v, nil
}

// recorder is an in-memory ResponseWriter for the reference engine.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(p)
}
func (r *recorder) Flush() {}
func (r *recorder) statusOr200() int {
	if r.status == 0 {
		return http.StatusOK
	}
	return r.status
}
