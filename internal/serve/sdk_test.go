package serve_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/serve"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func sdkClient(srv string) openai.Client {
	return openai.NewClient(option.WithBaseURL(srv+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
}

// TestSDKAgainstFake runs the official OpenAI Go SDK against the server over
// the in-memory backend: the wire format, independent of the engine.
func TestSDKAgainstFake(t *testing.T) {
	b := fakeModel("tiny")
	srv := newServer(t, serve.Options{Backends: []serve.Backend{b}})
	client := sdkClient(srv.URL)
	ctx := t.Context()

	page, err := client.Models.List(ctx)
	if err != nil {
		t.Fatalf("list models: %v", err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != "tiny" || page.Data[0].OwnedBy != "deai" {
		t.Errorf("models = %+v", page.Data)
	}
	if d := page.Data[0].JSON.ExtraFields["digest"].Raw(); d != `"`+b.Model.Digest+`"` {
		t.Errorf("digest extra field = %s", d)
	}

	comp, err := client.Completions.New(ctx, openai.CompletionNewParams{
		Model:     "tiny",
		Prompt:    openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
		MaxTokens: openai.Int(3),
	})
	if err != nil {
		t.Fatalf("completion: %v", err)
	}
	if len(comp.Choices) != 1 || comp.Choices[0].Text != " Once upon a" || comp.Choices[0].FinishReason != "length" || comp.Usage.TotalTokens != 8 {
		t.Errorf("completion = %+v", comp)
	}

	chat, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
		Model:    "tiny",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("be brief"), openai.UserMessage("hi")},
		Stop:     openai.ChatCompletionNewParamsStopUnion{OfString: openai.String(" time")},
	})
	if err != nil {
		t.Fatalf("chat: %v", err)
	}
	if got := chat.Choices[0].Message.Content; got != " Once upon a" || chat.Choices[0].FinishReason != "stop" {
		t.Errorf("chat = %q %q", got, chat.Choices[0].FinishReason)
	}

	stream := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{
		Model:         "tiny",
		Messages:      []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")},
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	})
	var acc openai.ChatCompletionAccumulator
	chunks := 0
	for stream.Next() {
		acc.AddChunk(stream.Current())
		chunks++
	}
	if err := stream.Err(); err != nil {
		t.Fatalf("stream: %v", err)
	}
	if got := acc.Choices[0].Message.Content; got != strings.Join(b.Pieces, "") {
		t.Errorf("streamed content %q", got)
	}
	if acc.Usage.CompletionTokens != int64(len(b.Pieces)) || acc.Usage.TotalTokens != acc.Usage.PromptTokens+acc.Usage.CompletionTokens {
		t.Errorf("streamed usage %+v", acc.Usage)
	}
	if want := len(b.Pieces) + 3; chunks != want { // role, pieces, finish, usage
		t.Errorf("%d chunks, want %d", chunks, want)
	}

	emb, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
		Model: "tiny",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}},
	})
	if err != nil {
		t.Fatalf("embeddings: %v", err)
	}
	if len(emb.Data) != 2 || len(emb.Data[1].Embedding) != 8 {
		t.Errorf("embeddings = %+v", emb.Data)
	}

	_, err = client.Completions.New(ctx, openai.CompletionNewParams{Model: "missing", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("x")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" {
		t.Errorf("unknown model: %v, want a 404 model_not_found API error", err)
	}
}
