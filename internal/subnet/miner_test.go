package subnet_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/serve"
	"github.com/deai-network/deai/internal/subnet"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
	"github.com/deai-network/deai/internal/wire"
)

const testTimeout = 30 * time.Second

// runMiner starts a miner on 127.0.0.1:0 and returns its URL and a stop
// function that cancels it and returns Run's error.
func runMiner(t *testing.T, o subnet.MinerOptions) (string, func() error) {
	t.Helper()
	o.Listener = listen(t)
	m, err := subnet.NewMiner(o)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	// Announce synchronously so the test sees the chain updated.
	if err := m.Announce(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { errc <- m.Run(ctx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		select {
		case err := <-errc:
			return err
		case <-time.After(testTimeout):
			return errors.New("miner did not stop")
		}
	}
	t.Cleanup(func() { stop() })
	return "http://" + o.Listener.Addr().String(), stop
}

func post(t *testing.T, url string, body []byte, sign *wallet.Key, miner tx.Address) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if sign != nil {
		wire.Sign(req, body, sign, miner)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func TestMinerEngine(t *testing.T) {
	eng := loadEngine(t)
	validator, minerKey, stranger := key(t, 1), key(t, 2), key(t, 3)
	net := newMemNet(subnet.TaskTextGeneration)
	net.add(validator.Address(), 1000)
	url, stop := runMiner(t, subnet.MinerOptions{Netuid: 1, Key: minerKey, Chain: net.chain(minerKey.Address()),
		Backend: eng.handler, ModelDigest: eng.digest, Region: "eu"})

	// Registered and published.
	mg, _ := net.chain(minerKey.Address()).Metagraph(context.Background(), 1)
	n, ok := mg.Neuron(minerKey.Address())
	want := subnet.ServeInfo{Endpoint: url, ProtocolVersion: subnet.ProtocolVersion, ModelDigest: eng.digest, Region: "eu"}
	if !ok || n.Serving != want {
		t.Fatalf("neuron %+v registered %v, want serving %+v", n, ok, want)
	}
	if diff := cmp.Diff([]string{"register 1", "serve 1"}, net.log()); diff != "" {
		t.Errorf("chain calls (-want +got)\n%s", diff)
	}

	// The engine's own greedy answer, called directly.
	var direct strings.Builder
	c, err := eng.backend.Complete(context.Background(), serve.CompletionRequest{Prompt: "Once upon a time", MaxTokens: 12},
		func(s string) error { direct.WriteString(s); return nil })
	if err != nil {
		t.Fatal(err)
	}

	body := []byte(`{"prompt":"Once upon a time","max_tokens":12,"temperature":0,"seed":7}`)
	t.Run("signed", func(t *testing.T) {
		resp, got := post(t, url+"/v1/completions", body, validator, minerKey.Address())
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, got)
		}
		var v struct {
			Choices []struct{ Text string } `json:"choices"`
		}
		if err := json.Unmarshal(got, &v); err != nil || len(v.Choices) != 1 {
			t.Fatalf("answer %s: %v", got, err)
		}
		if v.Choices[0].Text != direct.String() {
			t.Errorf("text %q, engine says %q", v.Choices[0].Text, direct.String())
		}
		rc, err := wire.CheckResponse(resp, body, got, minerKey.Address())
		if err != nil {
			t.Fatalf("receipt: %v", err)
		}
		wantRc := struct {
			Netuid           uint16
			Model, Tokens    string
			Prompt, Complete uint32
		}{1, eng.digest, c.TokensDigest, uint32(c.PromptTokens), uint32(c.CompletionTokens)}
		gotRc := wantRc
		gotRc.Netuid, gotRc.Model, gotRc.Tokens, gotRc.Prompt, gotRc.Complete = rc.Netuid, rc.ModelDigest, rc.TokensDigest, rc.PromptTokens, rc.CompletionTokens
		if diff := cmp.Diff(wantRc, gotRc); diff != "" {
			t.Errorf("receipt (-want +got)\n%s", diff)
		}
	})
	t.Run("stream", func(t *testing.T) {
		sb := []byte(`{"prompt":"Once upon a time","max_tokens":12,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}`)
		resp, got := post(t, url+"/v1/completions", sb, validator, minerKey.Address())
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var text strings.Builder
		sc := bufio.NewScanner(bytes.NewReader(got))
		for sc.Scan() {
			d, ok := strings.CutPrefix(sc.Text(), "data: ")
			if !ok || d == "[DONE]" {
				continue
			}
			var ch struct {
				Choices []struct{ Text string } `json:"choices"`
			}
			json.Unmarshal([]byte(d), &ch)
			for _, c := range ch.Choices {
				text.WriteString(c.Text)
			}
		}
		if text.String() != direct.String() {
			t.Errorf("streamed %q, engine says %q", text.String(), direct.String())
		}
		rc, err := wire.CheckResponse(resp, sb, got, minerKey.Address())
		if err != nil {
			t.Fatalf("stream receipt (trailer): %v", err)
		}
		if rc.TokensDigest != c.TokensDigest || rc.CompletionTokens != uint32(c.CompletionTokens) {
			t.Errorf("stream receipt digest %q tokens %d, want %q %d", rc.TokensDigest, rc.CompletionTokens, c.TokensDigest, c.CompletionTokens)
		}
	})
	t.Run("embeddings", func(t *testing.T) {
		eb := []byte(`{"input":"Once upon a time"}`)
		resp, got := post(t, url+"/v1/embeddings", eb, validator, minerKey.Address())
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, got)
		}
		if _, err := wire.CheckResponse(resp, eb, got, minerKey.Address()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("unsigned", func(t *testing.T) {
		resp, got := post(t, url+"/v1/completions", body, nil, minerKey.Address())
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(got), wire.CodeUnsigned) {
			t.Errorf("status %d body %s, want 401 %s", resp.StatusCode, got, wire.CodeUnsigned)
		}
	})
	t.Run("unstaked", func(t *testing.T) {
		resp, got := post(t, url+"/v1/completions", body, stranger, minerKey.Address())
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("status %d body %s, want 403", resp.StatusCode, got)
		}
	})
	if err := stop(); err != nil {
		t.Errorf("run: %v", err)
	}
}

// TestMinerAnnounceIdempotent: a miner already registered with the same
// serving info sends no tx.
func TestMinerAnnounceIdempotent(t *testing.T) {
	minerKey := key(t, 2)
	net := newMemNet(subnet.TaskTextGeneration)
	ln := listen(t)
	defer ln.Close()
	o := subnet.MinerOptions{Netuid: 1, Key: minerKey, Chain: net.chain(minerKey.Address()), Backend: http.NotFoundHandler(), Listener: ln, ModelDigest: "d"}
	m, err := subnet.NewMiner(o)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := m.Announce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"register 0", "serve 0"}, net.log()); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

// openAIStub is an OpenAI-compatible backend that streams three chunks,
// flushing each, and records the headers it was sent.
func openAIStub(t *testing.T, seen chan<- http.Header) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		var req struct {
			Stream bool `json:"stream"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		if r.URL.Path != "/v1/chat/completions" {
			http.NotFound(w, r)
			return
		}
		if !req.Stream {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"choices":[{"message":{"role":"assistant","content":"Hello"}}],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		for i, piece := range []string{"Hel", "lo", "!"} {
			fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", piece)
			w.(http.Flusher).Flush()
			_ = i
		}
		io.WriteString(w, "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":3,\"total_tokens\":8}}\n\n")
		io.WriteString(w, "data: [DONE]\n\n")
	}))
}

func TestMinerProxy(t *testing.T) {
	validator, minerKey := key(t, 1), key(t, 2)
	seen := make(chan http.Header, 4)
	stub := openAIStub(t, seen)
	defer stub.Close()
	p, err := subnet.NewProxy(subnet.ProxyOptions{Base: stub.URL, APIKey: "backend-secret"})
	if err != nil {
		t.Fatal(err)
	}
	net := newMemNet(subnet.TaskTextGeneration)
	net.add(validator.Address(), 1000)
	url, _ := runMiner(t, subnet.MinerOptions{Netuid: 1, Key: minerKey, Chain: net.chain(minerKey.Address()), Backend: p, ModelDigest: "stub"})

	t.Run("stream", func(t *testing.T) {
		body := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":true}`)
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "POST", url+"/v1/chat/completions", bytes.NewReader(body))
		wire.Sign(req, body, validator, minerKey.Address())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		// Read event by event: each arrives as the backend flushed it.
		var raw bytes.Buffer
		r := bufio.NewReader(io.TeeReader(resp.Body, &raw))
		var pieces []string
		for {
			line, err := r.ReadString('\n')
			if d, ok := strings.CutPrefix(strings.TrimSpace(line), "data: "); ok && d != "[DONE]" {
				var ch struct {
					Choices []struct {
						Delta struct{ Content string } `json:"delta"`
					} `json:"choices"`
				}
				json.Unmarshal([]byte(d), &ch)
				for _, c := range ch.Choices {
					pieces = append(pieces, c.Delta.Content)
				}
			}
			if err != nil {
				break
			}
		}
		if diff := cmp.Diff([]string{"Hel", "lo", "!"}, pieces); diff != "" {
			t.Errorf("pieces (-want +got)\n%s", diff)
		}
		rc, err := wire.CheckResponse(resp, body, raw.Bytes(), minerKey.Address())
		if err != nil {
			t.Fatalf("receipt: %v", err)
		}
		if rc.PromptTokens != 5 || rc.CompletionTokens != 3 || rc.ModelDigest != "stub" {
			t.Errorf("receipt %+v", rc)
		}
		h := <-seen
		if h.Get("Authorization") != "Bearer backend-secret" || h.Get(wire.HeaderSignature) != "" || h.Get(wire.HeaderSignedBy) != "" {
			t.Errorf("backend saw Authorization %q, signature headers %q %q", h.Get("Authorization"), h.Get(wire.HeaderSignature), h.Get(wire.HeaderSignedBy))
		}
	})
	t.Run("plain", func(t *testing.T) {
		body := []byte(`{"model":"m","messages":[{"role":"user","content":"hi"}]}`)
		resp, got := post(t, url+"/v1/chat/completions", body, validator, minerKey.Address())
		<-seen
		rc, err := wire.CheckResponse(resp, body, got, minerKey.Address())
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("status %d receipt %v", resp.StatusCode, err)
		}
		if rc.PromptTokens != 3 || rc.CompletionTokens != 1 {
			t.Errorf("token counts %d %d, want 3 1", rc.PromptTokens, rc.CompletionTokens)
		}
	})
	t.Run("unknown path", func(t *testing.T) {
		resp, _ := post(t, url+"/admin", []byte(`{}`), validator, minerKey.Address())
		if resp.StatusCode != 404 {
			t.Errorf("status %d, want 404", resp.StatusCode)
		}
	})
}

// blocking is a backend that holds each request until released.
type blocking struct {
	entered chan struct{}
	release chan struct{}
}

func (b *blocking) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.entered <- struct{}{}
	<-b.release
	io.WriteString(w, `{"ok":true}`)
}

func TestMinerConcurrencyAndDrain(t *testing.T) {
	validator, minerKey := key(t, 1), key(t, 2)
	b := &blocking{entered: make(chan struct{}, 4), release: make(chan struct{})}
	net := newMemNet(subnet.TaskTextGeneration)
	net.add(validator.Address(), 1000)
	url, stop := runMiner(t, subnet.MinerOptions{Netuid: 1, Key: minerKey, Chain: net.chain(minerKey.Address()), Backend: b, MaxConcurrent: 1})

	type result struct {
		status int
		err    error
	}
	first := make(chan result, 1)
	body := []byte(`{}`)
	go func() {
		req, _ := http.NewRequest("POST", url+"/v1/completions", bytes.NewReader(body))
		wire.Sign(req, body, validator, minerKey.Address())
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			first <- result{err: err}
			return
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		_, err = wire.CheckResponse(resp, body, got, minerKey.Address())
		first <- result{resp.StatusCode, err}
	}()
	<-b.entered // the first request holds the only slot

	resp, got := post(t, url+"/v1/completions", body, validator, minerKey.Address())
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(got), "miner_busy") {
		t.Errorf("over the limit: status %d %s, want 503 miner_busy", resp.StatusCode, got)
	}

	// Shut down while the first request is in flight: it still completes.
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	select {
	case err := <-stopped:
		t.Fatalf("Run returned before the in-flight request finished: %v", err)
	case <-time.After(50 * time.Millisecond): // not a timing assertion: only gives Shutdown a chance to run first
	}
	close(b.release)
	if r := <-first; r.err != nil || r.status != 200 {
		t.Errorf("in-flight request: status %d, err %v", r.status, r.err)
	}
	if err := <-stopped; err != nil {
		t.Errorf("run: %v", err)
	}
}
