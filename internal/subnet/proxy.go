package subnet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/deai-network/deai/internal/wire"
)

// ProxyOptions configure a Proxy.
type ProxyOptions struct {
	// Base is the backend's URL up to, not including, /v1 (for example
	// http://127.0.0.1:8000 for vLLM or llama.cpp's server).
	Base string
	// APIKey, if set, is sent as "Authorization: Bearer <key>".
	APIKey string
	// Client sends the requests; nil is a client with no overall timeout
	// (streams may run long) and a 30 s response-header timeout.
	Client *http.Client
}

// Proxy is a Backend that forwards the OpenAI-compatible routes to another
// server (vLLM, llama.cpp server, Ollama, or deai serve) and streams its
// answers back as they arrive.
type Proxy struct {
	base   *url.URL
	apiKey string
	client *http.Client
}

// NewProxy returns a Proxy for o.
func NewProxy(o ProxyOptions) (*Proxy, error) {
	u, err := url.Parse(strings.TrimRight(o.Base, "/"))
	if err != nil {
		return nil, fmt.Errorf("new proxy: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("new proxy: backend URL %q: want http(s)://host[:port]", o.Base)
	}
	c := o.Client
	if c == nil {
		c = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			ResponseHeaderTimeout: 30 * time.Second,
			MaxIdleConnsPerHost:   64,
			DisableCompression:    true, // pass bytes through as the backend sent them
		}}
	}
	return &Proxy{base: u, apiKey: o.APIKey, client: c}, nil
}

// proxyPaths are the routes a miner forwards.
var proxyPaths = map[string]bool{
	"/v1/completions": true, "/v1/chat/completions": true, "/v1/embeddings": true, "/v1/models": true,
}

// hopHeaders are not forwarded (RFC 9110 §7.6.1), nor are the signature
// headers, which are for the miner only.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Te", "Trailer", "Upgrade",
	"Proxy-Authorization", "Proxy-Authenticate", "Authorization",
	wire.HeaderVersion, wire.HeaderTimestamp, wire.HeaderUUID, wire.HeaderSignedBy, wire.HeaderSignedFor, wire.HeaderSignature}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if !proxyPaths[path] && !strings.HasPrefix(path, "/v1/models/") {
		writeJSONError(w, http.StatusNotFound, "not_found", "no route "+path)
		return
	}
	u := *p.base
	u.Path = p.base.Path + path
	u.RawQuery = r.URL.RawQuery
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), r.Body)
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "proxy_error", "cannot build the backend request")
		return
	}
	out.ContentLength = r.ContentLength
	out.Header = r.Header.Clone()
	for _, h := range hopHeaders {
		out.Header.Del(h)
	}
	if p.apiKey != "" {
		out.Header.Set("Authorization", "Bearer "+p.apiKey)
	}
	resp, err := p.client.Do(out)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return // the caller left
		}
		writeJSONError(w, http.StatusBadGateway, "backend_unreachable", "the miner's backend did not answer")
		return
	}
	defer resp.Body.Close()
	h := w.Header()
	for k, vs := range resp.Header {
		h[k] = vs
	}
	for _, k := range hopHeaders {
		h.Del(k)
	}
	h.Del("Content-Length")       // the miner may add a receipt and re-frame
	for k := range resp.Trailer { // declared trailers; values come after the body
		h.Add("Trailer", k)
	}
	w.WriteHeader(resp.StatusCode)
	stream := strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream")
	rc := http.NewResponseController(w)
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return
			}
			if stream {
				rc.Flush() //nolint:errcheck // a failed flush shows on the next write
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return // the backend broke off; the caller sees a truncated body
		}
	}
	for k, vs := range resp.Trailer {
		h[k] = vs
	}
}

func writeJSONError(w http.ResponseWriter, status int, code, msg string) {
	wire.WriteError(w, &wire.Rejection{Status: status, Code: code, Message: msg})
}
