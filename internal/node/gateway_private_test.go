package node_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/tx"
)

// TestGatewayKeepsPromptsOut: no key needs a privacy option, because the
// gateway never writes request or response text: the store holds
// receipts (which bind the request by hash) and amounts, and the log,
// even at debug level, names models, miners and token counts only.
func TestGatewayKeepsPromptsOut(t *testing.T) {
	const secret = "my-secret-prompt-4711"
	n := newSettleNet(t)
	path := filepath.Join(t.TempDir(), "gw.jsonl")
	var logs bytes.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g, srv, closeGW := n.gatewayLog(t, n.e.c, path, log)
	hash := n.e.send(n.user, &tx.MsgSend{From: n.user.Address(), To: g.Address(), Amount: 100_000})
	gwDo(t, http.MethodPost, srv.URL+"/v1/deposits", `{"tx_hash":"`+hash+`"}`)
	gwDo(t, http.MethodPost, srv.URL+"/v1/completions", `{"model":"tiny","prompt":"`+secret+`","max_tokens":8,"temperature":0.8}`)
	gwDo(t, http.MethodPost, srv.URL+"/v1/chat/completions", `{"model":"tiny","messages":[{"role":"user","content":"`+secret+`"}],"max_tokens":8,"temperature":0}`)
	if _, err := g.Settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	closeGW()
	store, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(store), `"kind":"charge"`) || logs.Len() == 0 {
		t.Fatalf("nothing stored or logged; store:\n%s\nlog:\n%s", store, logs.String())
	}
	// The answer's text (garbageBackend's) must not be kept either.
	for _, s := range []string{secret, "the the the"} {
		if strings.Contains(string(store), s) {
			t.Errorf("the store holds %q:\n%s", s, store)
		}
		if strings.Contains(logs.String(), s) {
			t.Errorf("the log holds %q:\n%s", s, logs.String())
		}
	}
}

// dyingStream streams two SSE chunks, then its connection drops, as when
// the miner's process dies mid-answer.
func dyingStream() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) //nolint:errcheck // the request does not matter
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		for _, tok := range []string{"Once", " upon"} {
			io.WriteString(w, `data: {"id":"c","object":"text_completion","choices":[{"index":0,"text":"`+tok+`"}]}`+"\n\n") //nolint:errcheck // test stream
			http.NewResponseController(w).Flush()                                                                            //nolint:errcheck // test stream
		}
		panic(http.ErrAbortHandler)
	})
}

// TestGatewayStreamBrokenMidway: a stream whose miner dies after its first
// tokens ends with an SSE error event, no [DONE], and costs nothing; no
// miner is owed for it.
func TestGatewayStreamBrokenMidway(t *testing.T) {
	n := newSettleNetWith(t, dyingStream())
	g, srv, _ := n.gateway(t, n.e.c, filepath.Join(t.TempDir(), "gw.jsonl"))
	hash := n.e.send(n.user, &tx.MsgSend{From: n.user.Address(), To: g.Address(), Amount: 100_000})
	gwDo(t, http.MethodPost, srv.URL+"/v1/deposits", `{"tx_hash":"`+hash+`"}`)
	body := string(gwDo(t, http.MethodPost, srv.URL+"/v1/completions", `{"model":"tiny","prompt":"x","max_tokens":8,"stream":true}`))
	events := strings.Split(strings.TrimSpace(body), "\n\n")
	last := events[len(events)-1]
	if !strings.Contains(body, `"text":" upon"`) || !strings.HasPrefix(last, "data: {\"error\":") || !strings.Contains(last, `"code":"stream_interrupted"`) ||
		strings.Contains(body, "[DONE]") {
		t.Errorf("stream:\n%s\nwant the tokens, then a stream_interrupted error event and no [DONE]", body)
	}
	if u := gwUsage(t, srv); u.Spent != 0 || u.Held != 0 || u.Balance != 100_000 {
		t.Errorf("usage %+v: a broken stream must cost nothing", u)
	}
	if s := gwSettlements(t, srv); s.Earned != 0 || s.Owed != 0 {
		t.Errorf("settlements %+v: no miner is owed for a broken stream", s)
	}
}
