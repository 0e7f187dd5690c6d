package serve_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/serve"
	"github.com/deai-network/deai/internal/serve/servetest"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

func fakeModel(id string) *servetest.Backend {
	return &servetest.Backend{
		Model:  serve.ModelInfo{ID: id, OwnedBy: "deai", Created: 1700000000, Digest: strings.Repeat("ab", 32), ContextLength: 64},
		Pieces: []string{" Once", " upon", " a", " time", ",", " there", " was", " a", " girl", "."},
	}
}

func fixedNow() time.Time { return time.Unix(1750000000, 0) }

func newServer(t *testing.T, opts serve.Options) *httptest.Server {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	s, err := serve.New(opts)
	if err != nil {
		t.Fatalf("serve.New: %v", err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url, body string) *http.Response {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

var idRE = regexp.MustCompile(`"(cmpl|chatcmpl)-[0-9a-f]{24}"`)

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	got = idRE.ReplaceAll(got, []byte(`"$1-ID"`))
	var pretty bytes.Buffer
	if json.Valid(got) {
		json.Indent(&pretty, got, "", "  ")
	} else {
		pretty.Write(got)
	}
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create): %v", err)
	}
	if diff := cmp.Diff(string(want), pretty.String()); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

func TestResponses(t *testing.T) {
	srv := newServer(t, serve.Options{Backends: []serve.Backend{fakeModel("tiny"), fakeModel("other")}})
	tests := []struct {
		name, method, path, body string
	}{
		{"models", "GET", "/v1/models", ""},
		{"model", "GET", "/v1/models/tiny", ""},
		{"completion", "POST", "/v1/completions", `{"model":"tiny","prompt":"Once upon","max_tokens":4,"temperature":0}`},
		{"completion_stop", "POST", "/v1/completions", `{"model":"tiny","prompt":"x","max_tokens":20,"stop":[" was"]}`},
		{"completion_two_prompts", "POST", "/v1/completions", `{"model":"tiny","prompt":["a","b c"],"max_tokens":2}`},
		{"chat", "POST", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Tell a story"}]}]}`},
		{"embeddings", "POST", "/v1/embeddings", `{"model":"tiny","input":["hello","world"]}`},
		{"embeddings_base64", "POST", "/v1/embeddings", `{"model":"tiny","input":"hello","encoding_format":"base64"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			golden(t, tt.name, body)
		})
	}
}

func TestVerificationHeaders(t *testing.T) {
	b := fakeModel("tiny")
	srv := newServer(t, serve.Options{Backends: []serve.Backend{b}})
	resp := post(t, srv.URL+"/v1/completions", `{"model":"tiny","prompt":"hi","max_tokens":3,"seed":42}`)
	io.Copy(io.Discard, resp.Body)
	want := map[string]string{
		serve.HeaderModelDigest:  b.Model.Digest,
		serve.HeaderTokensDigest: fmt.Sprintf("%x", sha256.Sum256([]byte(" Once upon a"))), // the fake's digest of its first 3 pieces
		serve.HeaderSeed:         "42",
	}
	got := map[string]string{}
	for k := range want {
		got[k] = resp.Header.Get(k)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("headers (-want +got):\n%s", diff)
	}
	if b.Last().Sampling.Seed != 42 {
		t.Errorf("backend got seed %d, want 42", b.Last().Sampling.Seed)
	}
}

func TestSamplingParameters(t *testing.T) {
	b := fakeModel("tiny")
	srv := newServer(t, serve.Options{Backends: []serve.Backend{b}})
	resp := post(t, srv.URL+"/v1/chat/completions", `{"model":"tiny","messages":[{"role":"developer","content":"d"},{"role":"user","content":"u"}],
		"temperature":0.5,"top_p":0.9,"top_k":40,"min_p":0.05,"repeat_penalty":1.1,"presence_penalty":0.5,"frequency_penalty":-0.5,
		"max_tokens":9,"max_completion_tokens":7,"seed":7,"stop":"END","n":1}`)
	if resp.StatusCode != 200 {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	want := serve.CompletionRequest{
		Messages:  []serve.Message{{Role: "system", Content: "d"}, {Role: "user", Content: "u"}},
		MaxTokens: 7,
		Sampling:  serve.Sampling{Temperature: 0.5, TopP: 0.9, TopK: 40, MinP: 0.05, RepeatPenalty: 1.1, PresencePenalty: 0.5, FrequencyPenalty: -0.5, Seed: 7},
		Stop:      []string{"END"},
	}
	if diff := cmp.Diff(want, b.Last()); diff != "" {
		t.Errorf("backend request (-want +got):\n%s", diff)
	}
}

type apiErr struct {
	Error struct {
		Message string  `json:"message"`
		Type    string  `json:"type"`
		Param   *string `json:"param"`
		Code    *string `json:"code"`
	} `json:"error"`
}

func TestErrors(t *testing.T) {
	srv := newServer(t, serve.Options{Backends: []serve.Backend{fakeModel("tiny")}, MaxBodyBytes: 1024})
	long := strings.Repeat("word ", 70)
	tests := []struct {
		name, method, path, body string
		status                   int
		param, code              string
	}{
		{"unknown model", "POST", "/v1/completions", `{"model":"nope","prompt":"x"}`, 404, "model", "model_not_found"},
		{"unknown model chat", "POST", "/v1/chat/completions", `{"model":"nope","messages":[{"role":"user","content":"x"}]}`, 404, "model", "model_not_found"},
		{"unknown model embeddings", "POST", "/v1/embeddings", `{"model":"nope","input":"x"}`, 404, "model", "model_not_found"},
		{"unknown model get", "GET", "/v1/models/nope", ``, 404, "model", "model_not_found"},
		{"invalid json", "POST", "/v1/completions", `{"model":`, 400, "", "invalid_json"},
		{"empty body", "POST", "/v1/chat/completions", ``, 400, "", "invalid_json"},
		{"json array body", "POST", "/v1/embeddings", `[1,2]`, 400, "", "invalid_json"},
		{"wrong field type", "POST", "/v1/completions", `{"model":"tiny","prompt":"x","temperature":"hot"}`, 400, "temperature", "invalid_value"},
		{"temperature too high", "POST", "/v1/completions", `{"model":"tiny","prompt":"x","temperature":2.5}`, 400, "temperature", "invalid_value"},
		{"top_p zero", "POST", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"x"}],"top_p":0}`, 400, "top_p", "invalid_value"},
		{"presence penalty", "POST", "/v1/completions", `{"model":"tiny","prompt":"x","presence_penalty":-3}`, 400, "presence_penalty", "invalid_value"},
		{"frequency penalty", "POST", "/v1/completions", `{"model":"tiny","prompt":"x","frequency_penalty":2.1}`, 400, "frequency_penalty", "invalid_value"},
		{"min_p", "POST", "/v1/completions", `{"model":"tiny","prompt":"x","min_p":1.5}`, 400, "min_p", "invalid_value"},
		{"top_k", "POST", "/v1/completions", `{"model":"tiny","prompt":"x","top_k":-1}`, 400, "top_k", "invalid_value"},
		{"repeat penalty", "POST", "/v1/completions", `{"model":"tiny","prompt":"x","repeat_penalty":0}`, 400, "repeat_penalty", "invalid_value"},
		{"max_tokens zero", "POST", "/v1/completions", `{"model":"tiny","prompt":"x","max_tokens":0}`, 400, "max_tokens", "invalid_value"},
		{"max_completion_tokens", "POST", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"x"}],"max_completion_tokens":-1}`, 400, "max_completion_tokens", "invalid_value"},
		{"n two", "POST", "/v1/completions", `{"model":"tiny","prompt":"x","n":2}`, 400, "n", "invalid_value"},
		{"echo", "POST", "/v1/completions", `{"model":"tiny","prompt":"x","echo":true}`, 400, "echo", "invalid_value"},
		{"logprobs", "POST", "/v1/completions", `{"model":"tiny","prompt":"x","logprobs":2}`, 400, "logprobs", "invalid_value"},
		{"too many stops", "POST", "/v1/completions", `{"model":"tiny","prompt":"x","stop":["a","b","c","d","e"]}`, 400, "stop", "invalid_value"},
		{"stop not strings", "POST", "/v1/completions", `{"model":"tiny","prompt":"x","stop":[1]}`, 400, "stop", "invalid_value"},
		{"token prompt", "POST", "/v1/completions", `{"model":"tiny","prompt":[1,2,3]}`, 400, "prompt", "invalid_value"},
		{"missing prompt", "POST", "/v1/completions", `{"model":"tiny"}`, 400, "prompt", "invalid_value"},
		{"no messages", "POST", "/v1/chat/completions", `{"model":"tiny","messages":[]}`, 400, "messages", "invalid_value"},
		{"tool role", "POST", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"tool","content":"x"}]}`, 400, "messages[0].role", "invalid_value"},
		{"image part", "POST", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":[{"type":"image_url"}]}]}`, 400, "messages[0].content[0].type", "invalid_value"},
		{"stream options without stream", "POST", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"x"}],"stream_options":{"include_usage":true}}`, 400, "stream_options", "invalid_value"},
		{"context overflow", "POST", "/v1/completions", `{"model":"tiny","prompt":"` + long[:len(long)-1] + `"}`, 400, "messages", "context_length_exceeded"},
		{"context overflow max_tokens", "POST", "/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"x"}],"max_tokens":100}`, 400, "messages", "context_length_exceeded"},
		{"context overflow stream", "POST", "/v1/chat/completions", `{"model":"tiny","stream":true,"messages":[{"role":"user","content":"x"}],"max_tokens":100}`, 400, "messages", "context_length_exceeded"},
		{"encoding format", "POST", "/v1/embeddings", `{"model":"tiny","input":"x","encoding_format":"int8"}`, 400, "encoding_format", "invalid_value"},
		{"embedding dimensions", "POST", "/v1/embeddings", `{"model":"tiny","input":"x","dimensions":3}`, 400, "dimensions", "invalid_value"},
		{"empty input", "POST", "/v1/embeddings", `{"model":"tiny","input":[]}`, 400, "input", "invalid_value"},
		{"wrong method completions", "GET", "/v1/completions", ``, 405, "", "method_not_allowed"},
		{"wrong method chat", "PUT", "/v1/chat/completions", `{}`, 405, "", "method_not_allowed"},
		{"wrong method models", "POST", "/v1/models", `{}`, 405, "", "method_not_allowed"},
		{"body too large", "POST", "/v1/completions", `{"model":"tiny","prompt":"` + strings.Repeat("x", 2000) + `"}`, 413, "", "request_too_large"},
		{"unknown path", "GET", "/v2/anything", ``, 404, "", "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d (%s)", resp.StatusCode, tt.status, body)
			}
			var e apiErr
			if err := json.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %q is not an error object: %v", body, err)
			}
			if e.Error.Message == "" || e.Error.Type == "" {
				t.Errorf("error object %s lacks message or type", body)
			}
			if got := deref(e.Error.Param); got != tt.param {
				t.Errorf("param = %q, want %q", got, tt.param)
			}
			if got := deref(e.Error.Code); got != tt.code {
				t.Errorf("code = %q, want %q", got, tt.code)
			}
			if tt.status == 405 && resp.Header.Get("Allow") == "" {
				t.Error("405 without an Allow header")
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// readEvents reads SSE "data:" payloads until the body ends.
func readEvents(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		d, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			t.Fatalf("unexpected SSE line %q", line)
		}
		out = append(out, idRE.ReplaceAllString(d, `"$1-ID"`))
	}
	return out
}

func TestStreams(t *testing.T) {
	b := fakeModel("tiny")
	b.Pieces = []string{" caf", "\xc3", "\xa9", "!", " END", " more"}
	srv := newServer(t, serve.Options{Backends: []serve.Backend{b}})
	tests := []struct {
		name, path, body string
		want             []string
	}{
		{"chat with usage", "/v1/chat/completions", `{"model":"tiny","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}],"stop":"END"}`, []string{
			`{"id":"chatcmpl-ID","object":"chat.completion.chunk","created":1750000000,"model":"tiny","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
			`{"id":"chatcmpl-ID","object":"chat.completion.chunk","created":1750000000,"model":"tiny","choices":[{"index":0,"delta":{"content":" caf"},"logprobs":null,"finish_reason":null}]}`,
			`{"id":"chatcmpl-ID","object":"chat.completion.chunk","created":1750000000,"model":"tiny","choices":[{"index":0,"delta":{"content":"é"},"logprobs":null,"finish_reason":null}]}`,
			`{"id":"chatcmpl-ID","object":"chat.completion.chunk","created":1750000000,"model":"tiny","choices":[{"index":0,"delta":{"content":"!"},"logprobs":null,"finish_reason":null}]}`,
			`{"id":"chatcmpl-ID","object":"chat.completion.chunk","created":1750000000,"model":"tiny","choices":[{"index":0,"delta":{"content":" "},"logprobs":null,"finish_reason":null}]}`,
			`{"id":"chatcmpl-ID","object":"chat.completion.chunk","created":1750000000,"model":"tiny","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`,
			`{"id":"chatcmpl-ID","object":"chat.completion.chunk","created":1750000000,"model":"tiny","choices":[],"usage":{"prompt_tokens":4,"completion_tokens":5,"total_tokens":9}}`,
			`[DONE]`,
		}},
		{"completion length", "/v1/completions", `{"model":"tiny","stream":true,"prompt":"hi","max_tokens":1}`, []string{
			`{"id":"cmpl-ID","object":"text_completion","created":1750000000,"model":"tiny","choices":[{"text":" caf","index":0,"logprobs":null,"finish_reason":null}]}`,
			`{"id":"cmpl-ID","object":"text_completion","created":1750000000,"model":"tiny","choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"length"}]}`,
			`[DONE]`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := post(t, srv.URL+tt.path, tt.body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("Content-Type = %q", ct)
			}
			got := readEvents(t, resp.Body)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
			if resp.Trailer.Get(serve.HeaderTokensDigest) == "" {
				t.Errorf("no %s trailer", serve.HeaderTokensDigest)
			}
		})
	}
}

// gate holds generations at chosen pieces until released.
type gate struct {
	reached chan string   // "<name>:<piece>" each time a generation reaches a held piece
	release chan struct{} // closed to let held generations go on
}

func TestStreamsDoNotBlockEachOther(t *testing.T) {
	b := fakeModel("tiny")
	g := gate{reached: make(chan string, 10), release: make(chan struct{})}
	b.BeforePiece = func(ctx context.Context, i int) error {
		// The stream whose request says "first" stops after its first piece.
		if i == 1 && b.Last().Prompt == "first" {
			g.reached <- "first"
			select {
			case <-g.release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}
	srv := newServer(t, serve.Options{Backends: []serve.Backend{b}, MaxConcurrent: 2})

	first := post(t, srv.URL+"/v1/completions", `{"model":"tiny","stream":true,"prompt":"first","max_tokens":5}`)
	br := bufio.NewReader(first.Body)
	line, err := br.ReadString('\n')
	if err != nil || !strings.Contains(line, `" Once"`) {
		t.Fatalf("first stream's first event %q, %v", line, err)
	}
	<-g.reached // the first generation is now parked mid-stream

	second := post(t, srv.URL+"/v1/completions", `{"model":"tiny","stream":true,"prompt":"second","max_tokens":3}`)
	events := readEvents(t, second.Body)
	if n := len(events); n != 5 || events[n-1] != "[DONE]" {
		t.Fatalf("second stream while the first is parked: %q", events)
	}
	close(g.release)
	rest, _ := io.ReadAll(br)
	if !strings.HasSuffix(string(rest), "data: [DONE]\n\n") {
		t.Errorf("first stream did not finish: %q", rest)
	}
}

func TestClientDisconnectCancelsGeneration(t *testing.T) {
	for _, stream := range []bool{true, false} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			b := fakeModel("tiny")
			parked := make(chan struct{})
			ended := make(chan error, 1)
			b.BeforePiece = func(ctx context.Context, i int) error {
				if i < 2 {
					return nil
				}
				close(parked)
				<-ctx.Done() // only a cancellation lets this generation end
				ended <- ctx.Err()
				return ctx.Err()
			}
			srv := newServer(t, serve.Options{Backends: []serve.Backend{b}})
			ctx, cancel := context.WithCancel(t.Context())
			body := fmt.Sprintf(`{"model":"tiny","stream":%v,"prompt":"x"}`, stream)
			req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/completions", strings.NewReader(body))
			errc := make(chan error, 1)
			go func() {
				resp, err := http.DefaultClient.Do(req)
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				errc <- err
			}()
			<-parked
			cancel()
			if err := <-ended; err == nil {
				t.Fatal("generation ended without a context error")
			}
			<-errc
			if got := b.Canceled(); got != 1 {
				t.Errorf("canceled generations = %d, want 1", got)
			}
		})
	}
}

func TestQueueLimits(t *testing.T) {
	tests := []struct {
		name     string
		maxQueue int
		wait     time.Duration
		status   int
		code     string
	}{
		{"queue full", -1, time.Hour, http.StatusTooManyRequests, "rate_limit_exceeded"},
		{"wait expires", 1, time.Millisecond, http.StatusServiceUnavailable, "server_busy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := fakeModel("tiny")
			parked, release := make(chan struct{}), make(chan struct{})
			b.BeforePiece = func(ctx context.Context, i int) error {
				if i == 0 && b.Started() == 1 {
					close(parked)
					<-release
				}
				return nil
			}
			srv := newServer(t, serve.Options{Backends: []serve.Backend{b}, MaxConcurrent: 1, MaxQueue: tt.maxQueue, QueueWait: tt.wait})
			done := make(chan int)
			go func() {
				resp, err := http.Post(srv.URL+"/v1/completions", "application/json", strings.NewReader(`{"prompt":"x"}`))
				if err != nil {
					done <- 0
					return
				}
				resp.Body.Close()
				done <- resp.StatusCode
			}()
			<-parked
			resp := post(t, srv.URL+"/v1/embeddings", `{"input":"x"}`)
			var e apiErr
			json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != tt.status || deref(e.Error.Code) != tt.code {
				t.Errorf("got %d %q, want %d %q", resp.StatusCode, deref(e.Error.Code), tt.status, tt.code)
			}
			close(release)
			if got := <-done; got != 200 {
				t.Errorf("first request: status %d, want 200", got)
			}
		})
	}
}

func TestNewRejectsDuplicateIDs(t *testing.T) {
	if _, err := serve.New(serve.Options{Backends: []serve.Backend{fakeModel("a"), fakeModel("a")}}); err == nil {
		t.Error("New with duplicate model ids succeeded")
	}
	if _, err := serve.New(serve.Options{}); err == nil {
		t.Error("New without models succeeded")
	}
}

func TestRunServesAndShutsDown(t *testing.T) {
	s, err := serve.New(serve.Options{Backends: []serve.Backend{fakeModel("tiny")}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx, ln) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// FuzzHandlers: arbitrary bytes posted to any endpoint give a 2xx or 4xx
// answer, never a 5xx or a panic.
func FuzzHandlers(f *testing.F) {
	for _, seed := range []string{
		`{"model":"tiny","prompt":"x"}`,
		`{"model":"tiny","prompt":["a","b"],"stream":true,"stream_options":{"include_usage":true}}`,
		`{"model":"tiny","messages":[{"role":"user","content":"x"}],"stop":["a"],"temperature":0}`,
		`{"messages":[{"role":"user","content":[{"type":"text","text":"x"}]}],"max_tokens":1e99}`,
		`{"model":"tiny","input":["a"],"encoding_format":"base64"}`,
		`{"prompt":"x","seed":-1,"top_k":1,"min_p":0.5,"repeat_penalty":1.5}`,
		`{"prompt":null,"stop":null,"messages":null}`,
		"\x00\xff{",
		`[]`,
	} {
		for path := range 3 {
			f.Add(uint8(path), []byte(seed))
		}
	}
	s, err := serve.New(serve.Options{Backends: []serve.Backend{fakeModel("tiny")}, Now: fixedNow, MaxBodyBytes: 4096})
	if err != nil {
		f.Fatal(err)
	}
	h := s.Handler()
	paths := []string{"/v1/completions", "/v1/chat/completions", "/v1/embeddings"}
	f.Fuzz(func(t *testing.T, path uint8, body []byte) {
		req := httptest.NewRequest("POST", paths[int(path)%len(paths)], bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 || rec.Code < 200 {
			t.Fatalf("POST %s %q: status %d: %s", req.URL.Path, body, rec.Code, rec.Body)
		}
	})
}
