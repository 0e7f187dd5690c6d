package gateway

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/abciapp/abciapptest"
	chainaccount "github.com/deai-network/deai/internal/chain/account"
	"github.com/deai-network/deai/internal/chain/chaintest"
	"github.com/deai-network/deai/internal/ledger"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

// explorerTwin is the real ledger with the subnet module behind the chain
// twin, one subnet with a tempo of 10 blocks and one registered neuron,
// and a gateway with the explorer over it.
func explorerTwin(t *testing.T) (*Gateway, *httptest.Server, *chaintest.Client) {
	t.Helper()
	owner := testKey(t, 3)
	c := abciapptest.Twin(t, []ledger.Module{lsubnet.New()}, owner)
	ctx := t.Context()
	acct := chainaccount.New(c, owner)
	if _, err := acct.Send(ctx, &lsubnet.MsgCreateSubnet{Owner: owner.Address(), Name: "tiny", TaskType: "text-generation",
		Digests: []lsubnet.Digest{{1}}}); err != nil {
		t.Fatal(err)
	}
	p := lsubnet.DefaultParams()
	p.Tempo = 10
	p.ImmunityPeriod = 0
	if _, err := acct.Send(ctx, &lsubnet.MsgSetSubnetParams{Owner: owner.Address(), Netuid: 1, Params: p}); err != nil {
		t.Fatal(err)
	}
	if _, err := acct.Send(ctx, &lsubnet.MsgRegister{Hotkey: owner.Address(), Netuid: 1, MaxBurn: 100 * tx.UnitsPerDEAI}); err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{Key: testKey(t, 9), Network: staticNetwork{}, Chain: c, SettleInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)
	return g, srv, c
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

func TestExplorerAPI(t *testing.T) {
	g, srv, c := explorerTwin(t)
	tests := []struct {
		name, path string
		status     int
		contains   string
	}{
		{"page", "/ui/", 200, "deai explorer"},
		{"script", "/ui/static/app.js", 200, "EventSource"},
		{"style", "/ui/static/style.css", 200, "svg.chart"},
		{"status", "/ui/api/status", 200, `"chain_id":"` + chaintest.DefaultChainID + `"`},
		{"blocks", "/ui/api/blocks?n=3", 200, `"txs":1`},
		{"blocks bad n", "/ui/api/blocks?n=999", 400, "error"},
		{"balance", "/ui/api/query/balance/" + testKey(t, 3).Address().String(), 200, `"balance"`},
		{"subnet list", "/ui/api/query/subnet/list", 200, `"name":"tiny"`},
		{"metagraph", "/ui/api/query/subnet/1/metagraph", 200, `"neurons":[{`},
		{"disputes", "/ui/api/query/subnet/1/disputes?state=open", 200, `[]`},
		{"supply", "/ui/api/query/supply", 200, `"minted"`},
		{"ledger refuses", "/ui/api/query/subnet/nope/nope/nope", 400, `"code"`},
		{"tx not public", "/ui/api/query/tx/00", 403, "not public"},
		{"block not public", "/ui/api/query/block/latest", 403, "not public"},
		{"bare prefix", "/ui/api/query/account/", 403, "not public"},
		{"params suffix", "/ui/api/query/paramsx", 403, "not public"},
		{"dotdot", "/ui/api/query/subnet/%2e%2e/x", 400, "bad query path"},
		{"miners", "/ui/api/miners", 200, `"miners":[]`},
		{"agents without any", "/ui/api/agents", 200, `[]`},
		{"unknown", "/ui/api/nope", 404, "no route"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, srv.URL+tt.path)
			if status != tt.status || !strings.Contains(string(body), tt.contains) {
				t.Fatalf("GET %s: %d %s, want %d containing %q", tt.path, status, body, tt.status, tt.contains)
			}
		})
	}

	t.Run("history records epochs", func(t *testing.T) {
		ctx := t.Context()
		for range 32 {
			if err := g.ex.sample(ctx); err != nil {
				t.Fatal(err)
			}
			if _, err := c.NextBlock(ctx); err != nil {
				t.Fatal(err)
			}
		}
		_, body := get(t, srv.URL+"/ui/api/history?netuid=1")
		var hs []subnetHistory
		if err := json.Unmarshal(body, &hs); err != nil {
			t.Fatalf("%v: %s", err, body)
		}
		if len(hs) != 1 || len(hs[0].Epochs) < 3 {
			t.Fatalf("history after 32 blocks at tempo 10: %s", body)
		}
		for i, e := range hs[0].Epochs {
			if len(e.Neurons) != 1 || (i > 0 && e.Block <= hs[0].Epochs[i-1].Block) {
				t.Fatalf("epoch %d of %s", i, body)
			}
		}
		// Sampling again without a new epoch records nothing.
		n := len(hs[0].Epochs)
		if err := g.ex.sample(ctx); err != nil {
			t.Fatal(err)
		}
		if got := len(g.ex.history()[0].Epochs); got != n {
			t.Fatalf("a repeated sample grew the history from %d to %d", n, got)
		}
	})

	t.Run("history is bounded", func(t *testing.T) {
		e := newExplorer(c)
		for i := range DefaultExplorerEpochs + 10 {
			e.record(7, epochSample{Epoch: uint64(i), Block: uint64(i + 1)})
		}
		h := e.history()[0]
		if len(h.Epochs) != DefaultExplorerEpochs || h.Epochs[0].Epoch != 10 {
			t.Fatalf("kept %d epochs from %d", len(h.Epochs), h.Epochs[0].Epoch)
		}
	})

	t.Run("events", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/ui/api/events", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("content type %q", ct)
		}
		go func() {
			time.Sleep(explorerPoll)
			c.NextBlock(ctx) //nolint:errcheck // the test fails below if no block comes
		}()
		br := bufio.NewReader(resp.Body)
		var heights []int64
		for len(heights) < 2 {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("after %v: %v", heights, err)
			}
			if data, ok := strings.CutPrefix(line, "data: "); ok {
				var b blockSummary
				if err := json.Unmarshal([]byte(data), &b); err != nil {
					t.Fatal(err)
				}
				heights = append(heights, b.Height)
			}
		}
		if heights[1] != heights[0]+1 {
			t.Fatalf("heights %v", heights)
		}
		cancel()
		// The stream's goroutine gives its slot back when the client goes.
		deadline := time.Now().Add(5 * time.Second)
		for len(g.ex.streams) != 0 {
			if time.Now().After(deadline) {
				t.Fatal("the event stream outlived its client")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})

	t.Run("shutdown ends streams", func(t *testing.T) {
		resp, err := http.Get(srv.URL + "/ui/api/events")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		g.ex.shutdown()
		done := make(chan error, 1)
		go func() { _, err := io.Copy(io.Discard, resp.Body); done <- err }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the stream did not end on shutdown")
		}
	})
}

func TestExplorerOffWithoutChain(t *testing.T) {
	_, srv := newTestGateway(t, nil, Options{})
	if status, _ := get(t, srv.URL+"/ui/"); status != http.StatusNotFound {
		t.Fatalf("GET /ui/ without a chain: %d, want 404", status)
	}
}
