package serve

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for Options fields left zero.
const (
	DefaultMaxConcurrent = 4
	DefaultMaxQueue      = 64
	DefaultQueueWait     = 60 * time.Second
	DefaultMaxBodyBytes  = 8 << 20
	DefaultBodyTimeout   = 60 * time.Second
	DefaultWriteTimeout  = 60 * time.Second
	// DefaultCompletionMaxTokens is OpenAI's default max_tokens for the
	// legacy completions endpoint; chat defaults to the rest of the context.
	DefaultCompletionMaxTokens = 16
)

// Response headers that let a client verify what produced an answer.
const (
	HeaderModelDigest  = "X-Deai-Model-Digest"
	HeaderTokensDigest = "X-Deai-Tokens-Digest" // a trailer on streams
	HeaderSeed         = "X-Deai-Seed"
	HeaderRequestID    = "X-Request-Id"
)

// Log attribute keys.
const (
	logKeyComponent = "component"
	logKeyMethod    = "method"
	logKeyPath      = "path"
	logKeyStatus    = "status"
	logKeyDuration  = "duration"
	logKeyModel     = "model"
	logKeyPrompt    = "prompt_tokens"
	logKeyGen       = "completion_tokens"
	logKeyErr       = "err"
	logKeyAddr      = "addr"
)

// Options configure a Server.
type Options struct {
	// Backends are the served models; their IDs must be unique.
	Backends []Backend
	// MaxConcurrent bounds the generations and embeddings running at once.
	MaxConcurrent int
	// MaxQueue bounds the requests waiting for a slot; more get 429.
	// Negative means no queue.
	MaxQueue int
	// QueueWait bounds how long a request waits for a slot; then 503.
	QueueWait time.Duration
	// MaxBodyBytes bounds request bodies; larger ones get 413.
	MaxBodyBytes int64
	// BodyTimeout bounds reading a request body.
	BodyTimeout time.Duration
	// WriteTimeout bounds each write to a client (each event of a stream),
	// so a stalled client cannot hold a generation slot forever.
	WriteTimeout time.Duration
	// Logger receives one line per request (never prompt text); nil discards.
	Logger *slog.Logger
	// Now is the clock for "created" fields; nil is time.Now.
	Now func() time.Time
	// Metrics, when set, gets the server's Prometheus series and turns on
	// GET /metrics (requests, latency, tokens, tokens/s per generation).
	Metrics *prometheus.Registry
}

// Server is the OpenAI-compatible HTTP server.
type Server struct {
	backends map[string]Backend
	order    []string // model IDs in the order given
	sched    *scheduler
	maxBody  int64
	bodyWait time.Duration
	writeTO  time.Duration
	log      *slog.Logger
	now      func() time.Time
	handler  http.Handler
	metrics  *metrics            // nil without Options.Metrics
	gatherer prometheus.Gatherer // serves GET /metrics
}

// New returns a Server for opts.
func New(opts Options) (*Server, error) {
	if len(opts.Backends) == 0 {
		return nil, errors.New("new server: no models")
	}
	s := &Server{backends: make(map[string]Backend), now: opts.Now, log: opts.Logger}
	if opts.Metrics != nil {
		m, err := newMetrics(opts.Metrics)
		if err != nil {
			return nil, fmt.Errorf("new server: metrics: %w", err)
		}
		s.metrics, s.gatherer = m, opts.Metrics
	}
	for _, b := range opts.Backends {
		if s.metrics != nil {
			b = countingBackend{Backend: b, m: s.metrics}
		}
		id := b.Info().ID
		if id == "" {
			return nil, errors.New("new server: a model has an empty id")
		}
		if _, dup := s.backends[id]; dup {
			return nil, fmt.Errorf("new server: two models have the id %q", id)
		}
		s.backends[id] = b
		s.order = append(s.order, id)
	}
	running := cmpOr(opts.MaxConcurrent, DefaultMaxConcurrent)
	queued := opts.MaxQueue
	switch {
	case queued == 0:
		queued = DefaultMaxQueue
	case queued < 0:
		queued = 0
	}
	s.sched = newScheduler(running, queued, cmpOr(opts.QueueWait, DefaultQueueWait))
	s.maxBody = cmpOr(opts.MaxBodyBytes, DefaultMaxBodyBytes)
	s.bodyWait = cmpOr(opts.BodyTimeout, DefaultBodyTimeout)
	s.writeTO = cmpOr(opts.WriteTimeout, DefaultWriteTimeout)
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With(logKeyComponent, "serve")
	s.handler = s.routes()
	return s, nil
}

func cmpOr[T int | int64 | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Handler returns the HTTP handler serving the API.
func (s *Server) Handler() http.Handler { return s.handler }

// Run serves on ln until ctx is done, then shuts down; in-flight
// generations see their request contexts canceled.
func (s *Server) Run(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		// Request contexts derive from ctx, so shutting down cancels streams.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	s.log.InfoContext(ctx, "serving", logKeyAddr, ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		hs.Close()
		return fmt.Errorf("shut down %s: %w", ln.Addr(), err)
	}
	<-errc
	return nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", s.handleModels)
	mux.HandleFunc("GET /v1/models/{model}", s.handleModel)
	mux.HandleFunc("POST /v1/completions", s.handleCompletions)
	mux.HandleFunc("POST /v1/chat/completions", s.handleChat)
	mux.HandleFunc("POST /v1/embeddings", s.handleEmbeddings)
	// Same paths, other methods: an OpenAI error instead of the mux's text.
	for path, allow := range map[string]string{
		"/v1/models": "GET, HEAD", "/v1/models/{model}": "GET, HEAD",
		"/v1/completions": "POST", "/v1/chat/completions": "POST", "/v1/embeddings": "POST",
	} {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			writeAPIError(w, apiError{status: http.StatusMethodNotAllowed, Message: "method " + r.Method + " is not allowed; use " + allow,
				Type: typeInvalid, Code: strp(codeMethodNotAllowed)})
		})
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeAPIError(w, apiError{status: http.StatusNotFound, Message: "unknown path " + r.URL.Path, Type: typeInvalid, Code: strp(codeNotFound)})
	})
	if s.metrics != nil {
		mux.Handle("GET /metrics", metricsHandler(s.gatherer))
		return s.logged(s.metrics.instrument(mux, mux))
	}
	return s.logged(mux)
}

// statusRecorder remembers the status for the request log; Unwrap keeps
// http.ResponseController (flush, deadlines) working through it.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(p)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (s *Server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := s.now()
		id := newID("req")
		w.Header().Set(HeaderRequestID, id)
		rec := &statusRecorder{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		s.log.InfoContext(r.Context(), "request", logKeyMethod, r.Method, logKeyPath, r.URL.Path,
			logKeyStatus, rec.status, logKeyDuration, s.now().Sub(start), "id", id)
	})
}

// readBody reads a size-limited body under its own deadline, then lifts the
// read deadline so that a long stream is not cut when it passes.
// readRequest reads and strictly decodes the JSON body into req; on failure
// it has already answered with the OpenAI error and returns false.
func (s *Server) readRequest(w http.ResponseWriter, r *http.Request, req any) bool {
	body, err := s.readBody(w, r)
	if err == nil {
		err = decodeBody(body, req)
	}
	if err != nil {
		s.fail(w, r, err)
		return false
	}
	return true
}

func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	rc := http.NewResponseController(w)
	rc.SetReadDeadline(time.Now().Add(s.bodyWait))
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	rc.SetReadDeadline(time.Time{})
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, errInvalidJSON{fmt.Errorf("read body: %w", err)}
	}
	return body, nil
}

func (s *Server) backend(model string) (Backend, error) {
	if model == "" {
		if len(s.order) == 1 {
			return s.backends[s.order[0]], nil
		}
		return nil, paramErr("model", "missing; this server has %d models", len(s.order))
	}
	b, ok := s.backends[model]
	if !ok {
		return nil, modelNotFoundError{model}
	}
	return b, nil
}

// fail answers err and logs its detail (never request content).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := classify(err)
	lvl := slog.LevelDebug
	if e.status >= 500 {
		lvl = slog.LevelWarn
	}
	s.log.Log(r.Context(), lvl, "request failed", logKeyPath, r.URL.Path, logKeyStatus, e.status, logKeyErr, err)
	writeAPIError(w, e)
}

func (s *Server) writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeAPIError(w, classify(err))
		return
	}
	http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.writeTO))
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

func (s *Server) handleModels(w http.ResponseWriter, r *http.Request) {
	list := modelList{Object: "list", Data: []modelObject{}}
	for _, id := range s.order {
		list.Data = append(list.Data, modelObj(s.backends[id].Info()))
	}
	s.writeJSON(w, list)
}

func (s *Server) handleModel(w http.ResponseWriter, r *http.Request) {
	b, ok := s.backends[r.PathValue("model")]
	if !ok {
		s.fail(w, r, modelNotFoundError{r.PathValue("model")})
		return
	}
	s.writeJSON(w, modelObj(b.Info()))
}

func modelObj(in ModelInfo) modelObject {
	return modelObject{ID: in.ID, Object: "model", Created: in.Created, OwnedBy: cmpOrString(in.OwnedBy, "deai"), Digest: in.Digest, ContextLength: in.ContextLength}
}

func cmpOrString(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// newID returns prefix-<24 hex digits>.
func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// randomSeed picks the seed of a request that names none; it is reported
// in HeaderSeed so the answer can be reproduced.
func randomSeed() uint64 { return mrand.Uint64() >> 1 }

func parsePrompts(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, paramErr("prompt", "missing")
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err == nil {
		if len(many) == 0 {
			return nil, paramErr("prompt", "empty array")
		}
		return many, nil
	}
	return nil, paramErr("prompt", "want a string or an array of strings (token arrays are not supported)")
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	if !s.readRequest(w, r, &req) {
		return
	}
	b, err := s.backend(req.Model)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	creq, prompts, err := req.validate(randomSeed())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	release, err := s.sched.acquire(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer release()
	info := b.Info()
	w.Header().Set(HeaderModelDigest, info.Digest)
	w.Header().Set(HeaderSeed, strconv.FormatUint(creq.Sampling.Seed, 10))
	id, created := newID("cmpl"), s.now().Unix()
	if req.Stream {
		s.streamCompletion(w, r, b, creq, prompts, &req.samplingFields, id, created, info.ID)
		return
	}
	resp := completionResponse{ID: id, Object: "text_completion", Created: created, Model: info.ID, Usage: &usage{}}
	var digests []string
	for i, p := range prompts {
		creq.Prompt = p
		var text strings.Builder
		c, err := b.Complete(r.Context(), creq, func(t string) error { text.WriteString(t); return nil })
		if err != nil {
			s.fail(w, r, err)
			return
		}
		fr := c.FinishReason
		resp.Choices = append(resp.Choices, completionChoice{Text: text.String(), Index: i, FinishReason: &fr})
		resp.Usage.add(c)
		digests = append(digests, c.TokensDigest)
	}
	w.Header().Set(HeaderTokensDigest, strings.Join(digests, ","))
	s.logUsage(r, info.ID, *resp.Usage)
	s.writeJSON(w, resp)
}

func (u *usage) add(c Completion) {
	u.PromptTokens += c.PromptTokens
	u.CompletionTokens += c.CompletionTokens
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
}

func (s *Server) logUsage(r *http.Request, model string, u usage) {
	s.log.DebugContext(r.Context(), "generated", logKeyModel, model, logKeyPrompt, u.PromptTokens, logKeyGen, u.CompletionTokens)
}

func (req *completionRequest) validate(seed uint64) (CompletionRequest, []string, error) {
	if req.Echo {
		return CompletionRequest{}, nil, paramErr("echo", "echo is not supported")
	}
	if req.BestOf != nil && *req.BestOf != 1 {
		return CompletionRequest{}, nil, paramErr("best_of", "only best_of=1 is supported")
	}
	if l := bytes.TrimSpace(req.Logprobs); len(l) > 0 && !bytes.Equal(l, []byte("null")) {
		return CompletionRequest{}, nil, paramErr("logprobs", "logprobs are not supported")
	}
	if req.Suffix != nil && *req.Suffix != "" {
		return CompletionRequest{}, nil, paramErr("suffix", "suffix is not supported")
	}
	prompts, err := parsePrompts(req.Prompt)
	if err != nil {
		return CompletionRequest{}, nil, err
	}
	creq, err := req.sampling(req.MaxTokens, "max_tokens", DefaultCompletionMaxTokens, seed)
	return creq, prompts, err
}

func (req *chatRequest) validate(seed uint64) (CompletionRequest, error) {
	if req.Logprobs != nil && *req.Logprobs {
		return CompletionRequest{}, paramErr("logprobs", "logprobs are not supported")
	}
	if t := bytes.TrimSpace(req.Tools); len(t) > 0 && !bytes.Equal(t, []byte("null")) && !bytes.Equal(t, []byte("[]")) {
		return CompletionRequest{}, paramErr("tools", "tools are not supported")
	}
	if req.ResponseFormat != nil && req.ResponseFormat.Type != "" && req.ResponseFormat.Type != "text" {
		return CompletionRequest{}, paramErr("response_format", "only type text is supported")
	}
	if len(req.Messages) == 0 {
		return CompletionRequest{}, paramErr("messages", "at least one message is required")
	}
	maxTok, maxParam := req.MaxTokens, "max_tokens"
	if req.MaxCompletionTokens != nil {
		maxTok, maxParam = req.MaxCompletionTokens, "max_completion_tokens"
	}
	creq, err := req.sampling(maxTok, maxParam, 0, seed)
	if err != nil {
		return creq, err
	}
	for i, m := range req.Messages {
		role := m.Role
		switch role {
		case "system", "user", "assistant":
		case "developer":
			role = "system"
		default:
			return creq, paramErr(fmt.Sprintf("messages[%d].role", i), "role %q is not supported", m.Role)
		}
		text, err := m.text(i)
		if err != nil {
			return creq, err
		}
		creq.Messages = append(creq.Messages, Message{Role: role, Content: text})
	}
	return creq, nil
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if !s.readRequest(w, r, &req) {
		return
	}
	b, err := s.backend(req.Model)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	creq, err := req.validate(randomSeed())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	release, err := s.sched.acquire(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer release()
	info := b.Info()
	w.Header().Set(HeaderModelDigest, info.Digest)
	w.Header().Set(HeaderSeed, strconv.FormatUint(creq.Sampling.Seed, 10))
	id, created := newID("chatcmpl"), s.now().Unix()
	if req.Stream {
		s.streamChat(w, r, b, creq, &req.samplingFields, id, created, info.ID)
		return
	}
	var text strings.Builder
	c, err := b.Complete(r.Context(), creq, func(t string) error { text.WriteString(t); return nil })
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var u usage
	u.add(c)
	w.Header().Set(HeaderTokensDigest, c.TokensDigest)
	s.logUsage(r, info.ID, u)
	s.writeJSON(w, chatResponse{ID: id, Object: "chat.completion", Created: created, Model: info.ID, Usage: u,
		Choices: []chatChoice{{Index: 0, Message: chatResponseMessage{Role: "assistant", Content: text.String()}, FinishReason: c.FinishReason}}})
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req embeddingRequest
	if !s.readRequest(w, r, &req) {
		return
	}
	b, err := s.backend(req.Model)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	inputs, err := parseInputs(req.Input)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	switch req.EncodingFormat {
	case "", "float", "base64":
	default:
		s.fail(w, r, paramErr("encoding_format", "want float or base64, got %q", req.EncodingFormat))
		return
	}
	release, err := s.sched.acquire(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer release()
	emb, err := b.Embed(r.Context(), inputs)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(emb.Vectors) != len(inputs) {
		s.fail(w, r, fmt.Errorf("embed: backend returned %d vectors for %d inputs", len(emb.Vectors), len(inputs)))
		return
	}
	if req.Dimensions != nil && len(emb.Vectors) > 0 && *req.Dimensions != len(emb.Vectors[0]) {
		s.fail(w, r, paramErr("dimensions", "this model's embeddings have %d dimensions", len(emb.Vectors[0])))
		return
	}
	info := b.Info()
	resp := embeddingResponse{Object: "list", Model: info.ID, Usage: embeddingUsage{PromptTokens: emb.PromptTokens, TotalTokens: emb.PromptTokens}}
	for i, v := range emb.Vectors {
		var e any = v
		if req.EncodingFormat == "base64" {
			e = encodeBase64(v)
		}
		resp.Data = append(resp.Data, embeddingObject{Object: "embedding", Index: i, Embedding: e})
	}
	w.Header().Set(HeaderModelDigest, info.Digest)
	s.writeJSON(w, resp)
}

func parseInputs(raw json.RawMessage) ([]string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, paramErr("input", "missing")
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, paramErr("input", "want a string or an array of strings (token arrays are not supported)")
	}
	if len(many) == 0 {
		return nil, paramErr("input", "empty array")
	}
	return many, nil
}

// encodeBase64 is OpenAI's base64 embedding format: little-endian float32s.
func encodeBase64(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(b)
}
