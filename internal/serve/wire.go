package serve

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strings"
)

// This file holds the OpenAI wire format: request bodies as clients send
// them, responses as the official SDKs parse them.

// stringList is a JSON string or array of strings ("prompt", "stop", "input").
type stringList []string

func (s *stringList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = stringList{one}
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var many []string
		if err := json.Unmarshal(b, &many); err != nil {
			return &json.UnmarshalTypeError{Value: "array with a non-string", Type: reflect.TypeFor[[]string]()}
		}
		*s = many
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*s = nil
		return nil
	}
	return &json.UnmarshalTypeError{Value: jsonKind(b), Type: reflect.TypeFor[[]string]()}
}

// jsonKind names the kind of a JSON value for error messages.
func jsonKind(b []byte) string {
	switch {
	case len(b) == 0:
		return "nothing"
	case b[0] == '{':
		return "object"
	case b[0] == '[':
		return "array"
	case b[0] == '"':
		return "string"
	case b[0] == 't' || b[0] == 'f':
		return "bool"
	default:
		return "number"
	}
}

// streamOptions is "stream_options".
type streamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// samplingFields are the parameters shared by completions and chat.
type samplingFields struct {
	Temperature      *float64       `json:"temperature"`
	TopP             *float64       `json:"top_p"`
	N                *int           `json:"n"`
	Stream           bool           `json:"stream"`
	StreamOptions    *streamOptions `json:"stream_options"`
	Stop             stringList     `json:"stop"`
	MaxTokens        *int           `json:"max_tokens"`
	Seed             *int64         `json:"seed"`
	PresencePenalty  *float64       `json:"presence_penalty"`
	FrequencyPenalty *float64       `json:"frequency_penalty"`
	User             string         `json:"user"`

	// Extensions (llama.cpp names).
	TopK          *int     `json:"top_k"`
	MinP          *float64 `json:"min_p"`
	RepeatPenalty *float64 `json:"repeat_penalty"`
}

// completionRequest is the body of POST /v1/completions.
type completionRequest struct {
	Model  string          `json:"model"`
	Prompt json.RawMessage `json:"prompt"`
	Echo   bool            `json:"echo"`
	BestOf *int            `json:"best_of"`
	Suffix *string         `json:"suffix"`
	// Logprobs is an integer for completions; any non-null value asks for them.
	Logprobs json.RawMessage `json:"logprobs"`
	samplingFields
}

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	Model               string          `json:"model"`
	Messages            []chatMessage   `json:"messages"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Logprobs            *bool           `json:"logprobs"`
	Tools               json.RawMessage `json:"tools"`
	ResponseFormat      *struct {
		Type string `json:"type"`
	} `json:"response_format"`
	samplingFields
}

// chatMessage accepts content as a string or an array of text parts.
type chatMessage struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

type contentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// text flattens the message content.
func (m chatMessage) text(i int) (string, error) {
	param := fmt.Sprintf("messages[%d].content", i)
	c := bytes.TrimSpace(m.Content)
	if len(c) == 0 || bytes.Equal(c, []byte("null")) {
		return "", nil
	}
	if c[0] == '"' {
		var s string
		if err := json.Unmarshal(c, &s); err != nil {
			return "", paramErr(param, "%v", err)
		}
		return s, nil
	}
	var parts []contentPart
	if err := json.Unmarshal(c, &parts); err != nil {
		return "", paramErr(param, "want a string or an array of content parts")
	}
	var b strings.Builder
	for j, p := range parts {
		if p.Type != "text" {
			return "", paramErr(fmt.Sprintf("%s[%d].type", param, j), "content part type %q is not supported; only text", p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}

// embeddingRequest is the body of POST /v1/embeddings.
type embeddingRequest struct {
	Model          string          `json:"model"`
	Input          json.RawMessage `json:"input"`
	EncodingFormat string          `json:"encoding_format"`
	Dimensions     *int            `json:"dimensions"`
	User           string          `json:"user"`
}

// Responses.

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type completionChoice struct {
	Text         string  `json:"text"`
	Index        int     `json:"index"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

type completionResponse struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   *usage             `json:"usage,omitempty"`
}

type chatResponseMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatChoice struct {
	Index        int                 `json:"index"`
	Message      chatResponseMessage `json:"message"`
	Logprobs     any                 `json:"logprobs"`
	FinishReason string              `json:"finish_reason"`
}

type chatResponse struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   usage        `json:"usage"`
}

type chatDelta struct {
	Role    string  `json:"role,omitempty"`
	Content *string `json:"content,omitempty"`
}

type chatChunkChoice struct {
	Index        int       `json:"index"`
	Delta        chatDelta `json:"delta"`
	Logprobs     any       `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

type chatChunk struct {
	ID      string            `json:"id"`
	Object  string            `json:"object"`
	Created int64             `json:"created"`
	Model   string            `json:"model"`
	Choices []chatChunkChoice `json:"choices"`
	Usage   *usage            `json:"usage,omitempty"`
}

type modelObject struct {
	ID            string `json:"id"`
	Object        string `json:"object"`
	Created       int64  `json:"created"`
	OwnedBy       string `json:"owned_by"`
	Digest        string `json:"digest,omitempty"`
	ContextLength int    `json:"context_length,omitempty"`
}

type modelList struct {
	Object string        `json:"object"`
	Data   []modelObject `json:"data"`
}

type embeddingObject struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32 or a base64 string
}

type embeddingUsage struct {
	PromptTokens int `json:"prompt_tokens"`
	TotalTokens  int `json:"total_tokens"`
}

type embeddingResponse struct {
	Object string            `json:"object"`
	Data   []embeddingObject `json:"data"`
	Model  string            `json:"model"`
	Usage  embeddingUsage    `json:"usage"`
}

// Validation.

// maxStop is OpenAI's limit on stop sequences.
const maxStop = 4

// sampling validates the shared fields and converts them. defaultMax is
// used when max_tokens is absent (0: up to the context).
func (f *samplingFields) sampling(maxTokens *int, maxParam string, defaultMax int, seed uint64) (CompletionRequest, error) {
	var req CompletionRequest
	if f.N != nil && *f.N != 1 {
		return req, paramErr("n", "only n=1 is supported, got %d", *f.N)
	}
	s := Sampling{Temperature: 1, TopP: 1, RepeatPenalty: 1, Seed: seed}
	type rng struct {
		param  string
		v      *float64
		lo, hi float64
		loOpen bool
		dst    *float32
	}
	for _, r := range []rng{
		{"temperature", f.Temperature, 0, 2, false, &s.Temperature},
		{"top_p", f.TopP, 0, 1, true, &s.TopP},
		{"min_p", f.MinP, 0, 1, false, &s.MinP},
		{"repeat_penalty", f.RepeatPenalty, 0, 10, true, &s.RepeatPenalty},
		{"presence_penalty", f.PresencePenalty, -2, 2, false, &s.PresencePenalty},
		{"frequency_penalty", f.FrequencyPenalty, -2, 2, false, &s.FrequencyPenalty},
	} {
		if r.v == nil {
			continue
		}
		v := *r.v
		if math.IsNaN(v) || v < r.lo || v > r.hi || (r.loOpen && v == r.lo) {
			open := "["
			if r.loOpen {
				open = "("
			}
			return req, paramErr(r.param, "%g is out of range %s%g, %g]", v, open, r.lo, r.hi)
		}
		*r.dst = float32(v)
	}
	if f.TopK != nil {
		if *f.TopK < 0 {
			return req, paramErr("top_k", "%d is negative", *f.TopK)
		}
		s.TopK = *f.TopK
	}
	if f.Seed != nil {
		s.Seed = uint64(*f.Seed)
	}
	req.Sampling = s
	req.MaxTokens = defaultMax
	if maxTokens != nil {
		if *maxTokens < 1 {
			return req, paramErr(maxParam, "%d must be at least 1", *maxTokens)
		}
		req.MaxTokens = *maxTokens
	}
	if len(f.Stop) > maxStop {
		return req, paramErr("stop", "at most %d stop sequences, got %d", maxStop, len(f.Stop))
	}
	for _, s := range f.Stop {
		if s == "" {
			return req, paramErr("stop", "empty stop sequence")
		}
	}
	req.Stop = f.Stop
	if f.StreamOptions != nil && !f.Stream {
		return req, paramErr("stream_options", "only allowed when stream is true")
	}
	return req, nil
}

// decodeBody unmarshals a request body, turning JSON errors into
// invalid-request errors that name the offending field where possible.
func decodeBody(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errInvalidJSON{errors.New("empty request body")}
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return paramErr(strings.TrimPrefix(te.Field, "samplingFields."), "want %s, got JSON %s", te.Type, te.Value)
		}
		return errInvalidJSON{err}
	}
	return nil
}

// errInvalidJSON marks a body that is not the JSON object we expect.
type errInvalidJSON struct{ err error }

func (e errInvalidJSON) Error() string { return "invalid JSON body: " + e.err.Error() }
func (e errInvalidJSON) Unwrap() error { return e.err }
