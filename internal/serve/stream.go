package serve

import (
	"encoding/json"
	"net/http"
	"time"
)

// sse writes server-sent events: "data: <json>\n\n", flushed one by one,
// each under its own write deadline. Headers go out with the first event,
// so an error found before any output still gets a proper status.
type sse struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	started bool
}

func newSSE(w http.ResponseWriter, timeout time.Duration) *sse {
	return &sse{w: w, rc: http.NewResponseController(w), timeout: timeout}
}

func (e *sse) start() {
	if e.started {
		return
	}
	e.started = true
	h := e.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // keep proxies from holding tokens back
	h.Set("Trailer", HeaderTokensDigest)
	e.w.WriteHeader(http.StatusOK)
}

func (e *sse) data(b []byte) error {
	e.start()
	e.rc.SetWriteDeadline(time.Now().Add(e.timeout))
	buf := make([]byte, 0, len(b)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	if _, err := e.w.Write(buf); err != nil {
		return err
	}
	return e.rc.Flush()
}

func (e *sse) event(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return e.data(b)
}

func (e *sse) done() error { return e.data([]byte("[DONE]")) }

// fail ends a stream with an error event (the OpenAI SDKs raise it), or
// answers with a plain error response when nothing was sent yet.
func (s *Server) streamFail(ev *sse, r *http.Request, err error) {
	if !ev.started {
		s.fail(ev.w, r, err)
		return
	}
	e := classify(err)
	s.log.DebugContext(r.Context(), "stream failed", logKeyPath, r.URL.Path, logKeyErr, err)
	ev.data(e.body())
}

func (s *Server) streamCompletion(w http.ResponseWriter, r *http.Request, b Backend, creq CompletionRequest, prompts []string, f *samplingFields, id string, created int64, model string) {
	ev := newSSE(w, s.writeTO)
	chunk := func(i int, text string, finish *string) completionResponse {
		return completionResponse{ID: id, Object: "text_completion", Created: created, Model: model,
			Choices: []completionChoice{{Text: text, Index: i, FinishReason: finish}}}
	}
	var (
		total   usage
		digests string
	)
	for i, p := range prompts {
		creq.Prompt = p
		c, err := b.Complete(r.Context(), creq, func(t string) error { return ev.event(chunk(i, t, nil)) })
		if err != nil {
			s.streamFail(ev, r, err)
			return
		}
		fr := c.FinishReason
		if err := ev.event(chunk(i, "", &fr)); err != nil {
			return
		}
		total.add(c)
		if i > 0 {
			digests += ","
		}
		digests += c.TokensDigest
	}
	if f.StreamOptions != nil && f.StreamOptions.IncludeUsage {
		if err := ev.event(completionResponse{ID: id, Object: "text_completion", Created: created, Model: model, Choices: []completionChoice{}, Usage: &total}); err != nil {
			return
		}
	}
	w.Header().Set(HeaderTokensDigest, digests)
	s.logUsage(r, model, total)
	ev.done()
}

func (s *Server) streamChat(w http.ResponseWriter, r *http.Request, b Backend, creq CompletionRequest, f *samplingFields, id string, created int64, model string) {
	ev := newSSE(w, s.writeTO)
	chunk := func(d chatDelta, finish *string) chatChunk {
		return chatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model,
			Choices: []chatChunkChoice{{Index: 0, Delta: d, FinishReason: finish}}}
	}
	empty := ""
	roleSent := false
	sendRole := func() error {
		if roleSent {
			return nil
		}
		roleSent = true
		return ev.event(chunk(chatDelta{Role: "assistant", Content: &empty}, nil))
	}
	c, err := b.Complete(r.Context(), creq, func(t string) error {
		if err := sendRole(); err != nil {
			return err
		}
		return ev.event(chunk(chatDelta{Content: &t}, nil))
	})
	if err != nil {
		s.streamFail(ev, r, err)
		return
	}
	if err := sendRole(); err != nil {
		return
	}
	fr := c.FinishReason
	if err := ev.event(chunk(chatDelta{}, &fr)); err != nil {
		return
	}
	var u usage
	u.add(c)
	if f.StreamOptions != nil && f.StreamOptions.IncludeUsage {
		if err := ev.event(chatChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: model, Choices: []chatChunkChoice{}, Usage: &u}); err != nil {
			return
		}
	}
	w.Header().Set(HeaderTokensDigest, c.TokensDigest)
	s.logUsage(r, model, u)
	ev.done()
}
