package serve_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/deai-network/deai/internal/infer"
	"github.com/deai-network/deai/internal/infer/sample"
	"github.com/deai-network/deai/internal/serve"
	"github.com/google/go-cmp/cmp"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

const storiesPath = "../../../shared/models/stories260K.gguf"

var (
	storiesOnce  sync.Once
	storiesModel *infer.Model
	storiesErr   error
)

func loadStories(t *testing.T) *infer.Model {
	t.Helper()
	storiesOnce.Do(func() { storiesModel, storiesErr = infer.Load(storiesPath, infer.Options{Threads: 1}) })
	if storiesErr != nil {
		t.Fatalf("load stories260K: %v", storiesErr)
	}
	return storiesModel
}

func storiesBackend(t *testing.T) *serve.Engine {
	t.Helper()
	e, err := serve.NewEngineBackend(loadStories(t), storiesPath, serve.EngineOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// localGreedy runs the engine directly: the text and digest the server must
// reproduce.
func localGreedy(t *testing.T, prompt string, n int) (string, infer.Result) {
	t.Helper()
	m := loadStories(t)
	var text strings.Builder
	res, err := m.Generate(t.Context(), infer.GenerateRequest{Prompt: m.Tokenizer().Encode(prompt, true), MaxTokens: n, Sampling: sample.Params{}},
		func(_ int, piece []byte) error { text.Write(piece); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return text.String(), res
}

// TestSDKAgainstEngine: the official OpenAI SDK against a real server over
// the real engine with stories260K.
func TestSDKAgainstEngine(t *testing.T) {
	e := storiesBackend(t)
	srv := newServer(t, serve.Options{Backends: []serve.Backend{e}})
	client := sdkClient(srv.URL)
	ctx := t.Context()

	page, err := client.Models.List(ctx)
	if err != nil {
		t.Fatalf("list models: %v", err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != "stories260K" {
		t.Fatalf("models = %+v", page.Data)
	}
	if d := page.Data[0].JSON.ExtraFields["digest"].Raw(); d != `"270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"` {
		t.Errorf("digest = %s", d)
	}

	t.Run("greedy completion equals the engine", func(t *testing.T) {
		const n = 24
		want, local := localGreedy(t, "Once upon a time", n)
		if !strings.HasPrefix(want, ", there was a little girl named Lily.") {
			t.Fatalf("engine's own greedy output %q does not start like the reference", want)
		}
		var resp *http.Response
		comp, err := client.Completions.New(ctx, openai.CompletionNewParams{
			Model: "stories260K", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")},
			MaxTokens: openai.Int(n), Temperature: openai.Float(0),
		}, optResponse(&resp))
		if err != nil {
			t.Fatalf("completion: %v", err)
		}
		if got := comp.Choices[0].Text; got != want {
			t.Errorf("text %q, want the engine's %q", got, want)
		}
		if diff := cmp.Diff([3]int64{5, n, 5 + n}, usageOf(comp.Usage.PromptTokens, comp.Usage.CompletionTokens, comp.Usage.TotalTokens)); diff != "" {
			t.Errorf("usage (-want +got):\n%s", diff)
		}
		if comp.Choices[0].FinishReason != "length" {
			t.Errorf("finish_reason %q", comp.Choices[0].FinishReason)
		}
		if got := resp.Header.Get(serve.HeaderTokensDigest); got != local.TokensDigest {
			t.Errorf("tokens digest %q, want %q", got, local.TokensDigest)
		}
		if got := resp.Header.Get(serve.HeaderModelDigest); got != e.Info().Digest {
			t.Errorf("model digest %q", got)
		}
	})

	t.Run("chat", func(t *testing.T) {
		params := openai.ChatCompletionNewParams{
			Model:     "stories260K",
			Messages:  []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell me a story.")},
			MaxTokens: openai.Int(20), Temperature: openai.Float(0),
		}
		chat, err := client.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatalf("chat: %v", err)
		}
		whole := chat.Choices[0].Message.Content
		if whole == "" || chat.Usage.CompletionTokens == 0 || chat.Usage.TotalTokens != chat.Usage.PromptTokens+chat.Usage.CompletionTokens {
			t.Errorf("chat = %q, usage %+v", whole, chat.Usage)
		}

		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		stream := client.Chat.Completions.NewStreaming(ctx, params)
		var acc openai.ChatCompletionAccumulator
		for stream.Next() {
			acc.AddChunk(stream.Current())
		}
		if err := stream.Err(); err != nil {
			t.Fatalf("stream: %v", err)
		}
		if got := acc.Choices[0].Message.Content; got != whole {
			t.Errorf("streamed %q, non-streamed %q (greedy: must match)", got, whole)
		}
		if diff := cmp.Diff(usageOf(chat.Usage.PromptTokens, chat.Usage.CompletionTokens, chat.Usage.TotalTokens),
			usageOf(acc.Usage.PromptTokens, acc.Usage.CompletionTokens, acc.Usage.TotalTokens)); diff != "" {
			t.Errorf("streamed usage (-want +got):\n%s", diff)
		}
		if acc.Choices[0].FinishReason != chat.Choices[0].FinishReason {
			t.Errorf("finish reasons %q vs %q", acc.Choices[0].FinishReason, chat.Choices[0].FinishReason)
		}
	})

	t.Run("embeddings", func(t *testing.T) {
		emb, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{
			Model: "stories260K", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"Once upon a time", "Lily"}},
		})
		if err != nil {
			t.Fatalf("embeddings: %v", err)
		}
		if len(emb.Data) != 2 || len(emb.Data[0].Embedding) != 64 {
			t.Fatalf("embeddings: %d vectors of %d", len(emb.Data), len(emb.Data[0].Embedding))
		}
		m := loadStories(t)
		want, err := m.Embed(ctx, m.Tokenizer().Encode("Once upon a time", true))
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range want {
			if float32(emb.Data[0].Embedding[i]) != v {
				t.Fatalf("embedding[%d] = %v, engine gives %v", i, emb.Data[0].Embedding[i], v)
			}
		}
		if emb.Usage.PromptTokens != 5+2 {
			t.Errorf("usage %+v", emb.Usage)
		}
	})

	t.Run("unknown model", func(t *testing.T) {
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "gpt-4o", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("x")}})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "model_not_found" || apiErr.Param != "model" {
			t.Errorf("got %v, want 404 model_not_found", err)
		}
	})

	t.Run("context overflow", func(t *testing.T) {
		_, err := client.Completions.New(ctx, openai.CompletionNewParams{
			Model: "stories260K", Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once")}, MaxTokens: openai.Int(5000),
		})
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "context_length_exceeded" {
			t.Errorf("got %v, want 400 context_length_exceeded", err)
		}
	})
}

// hookedEngine wraps the engine to observe and hold generations.
type hookedEngine struct {
	*serve.Engine
	onPiece  func(ctx context.Context, prompt string, i int) error
	finished chan error // receives each generation's error, if buffered room
}

func (h *hookedEngine) Complete(ctx context.Context, req serve.CompletionRequest, emit func(string) error) (serve.Completion, error) {
	i := 0
	c, err := h.Engine.Complete(ctx, req, func(s string) error {
		if err := h.onPiece(ctx, req.Prompt, i); err != nil {
			return err
		}
		i++
		return emit(s)
	})
	select {
	case h.finished <- err:
	default:
	}
	return c, err
}

func TestEngineStreamsDoNotBlockEachOther(t *testing.T) {
	reached, release := make(chan struct{}), make(chan struct{})
	h := &hookedEngine{Engine: storiesBackend(t)}
	h.onPiece = func(ctx context.Context, prompt string, i int) error {
		if prompt == "first" && i == 1 {
			close(reached)
			<-release
		}
		return nil
	}
	srv := newServer(t, serve.Options{Backends: []serve.Backend{h}, MaxConcurrent: 2})
	first := post(t, srv.URL+"/v1/completions", `{"stream":true,"prompt":"first","max_tokens":10,"temperature":0}`)
	br := bufio.NewReader(first.Body)
	if _, err := br.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	<-reached
	second := post(t, srv.URL+"/v1/completions", `{"stream":true,"prompt":"Once upon a time","max_tokens":10,"temperature":0}`)
	events := readEvents(t, second.Body)
	if len(events) < 3 || events[len(events)-1] != "[DONE]" {
		t.Fatalf("second stream while the first is held: %q", events)
	}
	close(release)
	rest, _ := io.ReadAll(br)
	if !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Errorf("first stream did not finish: %q", rest)
	}
}

func TestEngineClientDisconnectStopsGeneration(t *testing.T) {
	held := make(chan struct{})
	// Both are touched only on the generation's goroutine, and read after
	// its result arrives on finished.
	after, canceled := 0, false
	h := &hookedEngine{Engine: storiesBackend(t), finished: make(chan error, 1)}
	h.onPiece = func(ctx context.Context, _ string, i int) error {
		if canceled {
			after++
		}
		if i == 2 {
			close(held)
			<-ctx.Done() // ends only when the server cancels the request context
			canceled = true
		}
		return nil
	}
	srv := newServer(t, serve.Options{Backends: []serve.Backend{h}})
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/completions",
		strings.NewReader(`{"stream":true,"prompt":"Once upon a time","max_tokens":1000,"temperature":0}`))
	go func() {
		if resp, err := http.DefaultClient.Do(req); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	<-held
	cancel()
	if err := <-h.finished; !errors.Is(err, context.Canceled) {
		t.Errorf("generation ended with %v, want context.Canceled", err)
	}
	if after > 0 {
		t.Errorf("%d more pieces were generated after the client left", after)
	}
}

func usageOf(prompt, completion, total int64) [3]int64 { return [3]int64{prompt, completion, total} }

func optResponse(resp **http.Response) option.RequestOption { return option.WithResponseInto(resp) }
