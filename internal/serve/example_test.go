package serve_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/deai-network/deai/internal/serve"
	"github.com/deai-network/deai/internal/serve/servetest"
)

// A Server over any Backend; here the in-memory twin. Production wires
// serve.NewEngineBackend over an *infer.Model and calls Run on a listener.
func ExampleNew() {
	b := &servetest.Backend{Model: serve.ModelInfo{ID: "tiny", ContextLength: 64}, Pieces: []string{" Hello", ",", " world"}}
	s, err := serve.New(serve.Options{Backends: []serve.Backend{b}})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	resp, err := http.Post(srv.URL+"/v1/chat/completions", "application/json",
		strings.NewReader(`{"model":"tiny","messages":[{"role":"user","content":"hi"}],"stream":true}`))
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Header.Get("Content-Type"), strings.Count(string(body), "data: "), strings.HasSuffix(string(body), "data: [DONE]\n\n"))
	// Output: text/event-stream 6 true
}
