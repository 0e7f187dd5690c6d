package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/chain/chaintest"
	"github.com/deai-network/deai/internal/gateway"
	"github.com/deai-network/deai/internal/ledger"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/subnet"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

// sendHash commits msgs signed by k and returns the tx hash.
func (e *e2eChain) sendHash(k *wallet.Key, msgs ...tx.Msg) string {
	e.t.Helper()
	var acct ledger.Account
	e.query("/account/"+k.Address().String(), &acct)
	x, err := tx.Builder{ChainID: chaintest.DefaultChainID, Nonce: acct.Nonce, Fee: ledger.DefaultParams().MinFee, Msgs: msgs}.Sign(k.PrivateKey())
	if err != nil {
		e.t.Fatal(err)
	}
	raw, err := x.Encode()
	if err != nil {
		e.t.Fatal(err)
	}
	if r, err := e.c.BroadcastCommit(e.t.Context(), raw); err != nil || r.Code != 0 {
		e.t.Fatalf("tx: code %d %s, err %v", r.Code, r.Log, err)
	}
	h, err := x.Hash()
	if err != nil {
		e.t.Fatal(err)
	}
	return h.String()
}

// startStoppableMiner is startMiner with a function that stops the miner
// (its listener closes: later connections are refused).
func startStoppableMiner(t testing.TB, c chain.Client, k *wallet.Key, backend http.Handler, digest string) (stop func()) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m, err := subnet.NewMiner(subnet.MinerOptions{Netuid: 1, Key: k, Chain: subnet.NewLedgerChain(c, k), Backend: backend,
		ModelDigest: digest, Region: "local", Listener: ln})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Announce(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("miner %s: %v", k.Address(), err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// TestGatewayEndToEnd is issue 5's test: the official OpenAI SDK against a
// gateway in front of a chain twin and three miners on stories260K, plus a
// miner publishing a digest the subnet no longer pins.
func TestGatewayEndToEnd(t *testing.T) {
	ctx := t.Context()
	owner, gwKey, user := testKey(t, 1), testKey(t, 7), testKey(t, 8)
	honest := []*wallet.Key{testKey(t, 3), testKey(t, 4), testKey(t, 5)}
	rogue := testKey(t, 6)
	e := newE2EChain(t, append([]*wallet.Key{owner, gwKey, user, rogue}, honest...))

	ref, err := node.OpenSubnetEngine(node.SubnetEngineOptions{Path: modelPath, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	real, err := lsubnet.ParseDigest(ref.Digest)
	if err != nil {
		t.Fatal(err)
	}
	var other lsubnet.Digest
	other[0] = 0xab
	both := []lsubnet.Digest{real, other}
	slices.SortFunc(both, func(a, b lsubnet.Digest) int { return bytes.Compare(a[:], b[:]) })
	e.send(owner, &lsubnet.MsgCreateSubnet{Owner: owner.Address(), Name: "stories260K", TaskType: subnet.TaskTextGeneration, Digests: both})

	// The gateway's hotkey registers and stakes: miners answer only staked
	// callers.
	if err := subnet.NewLedgerChain(e.c, gwKey).Register(ctx, 1); err != nil {
		t.Fatal(err)
	}
	e.send(gwKey, &lsubnet.MsgAddStake{Staker: gwKey.Address(), Hotkey: gwKey.Address(), Netuid: 1, Amount: 10 * tx.UnitsPerDEAI})

	var stops []func()
	for _, k := range honest {
		eng, err := node.OpenSubnetEngine(node.SubnetEngineOptions{Path: modelPath, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Close() })
		stops = append(stops, startStoppableMiner(t, e.c, k, eng.Handler, eng.Digest))
	}
	var rogueHits atomic.Int64
	rogueBackend := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rogueHits.Add(1)
		garbageBackend().ServeHTTP(w, r)
	})
	startStoppableMiner(t, e.c, rogue, rogueBackend, other.String())
	// The owner drops the other digest: the rogue miner still publishes it.
	e.send(owner, &lsubnet.MsgSetAllowedDigests{Owner: owner.Address(), Netuid: 1, Digests: []lsubnet.Digest{real}})

	g, err := gateway.New(gateway.Options{Key: gwKey, Network: &gateway.LedgerNetwork{Client: e.c, Netuids: []uint16{1}}, Chain: e.c,
		Keys: map[string]tx.Address{"sk-user": user.Address()}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	defer srv.Close()
	client := openai.NewClient(option.WithBaseURL(srv.URL+"/v1/"), option.WithAPIKey("sk-user"), option.WithMaxRetries(0))

	usage := func() gateway.Usage {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/usage", nil)
		req.Header.Set("Authorization", "Bearer sk-user")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var u gateway.Usage
		if err := json.NewDecoder(resp.Body).Decode(&u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	deposit := func(hash string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/deposits", strings.NewReader(`{"tx_hash":"`+hash+`"}`))
		req.Header.Set("Authorization", "Bearer sk-user")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // status only
		resp.Body.Close()
		return resp.StatusCode
	}

	// Before a deposit the account cannot spend.
	if _, err := client.Completions.New(ctx, openai.CompletionNewParams{Model: "stories260K",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once")}, MaxTokens: openai.Int(4)}); !isStatus(err, 402) {
		t.Fatalf("completion before a deposit: %v, want 402", err)
	}
	const funds = 1_000_000
	hash := e.sendHash(user, &tx.MsgSend{From: user.Address(), To: g.Address(), Amount: funds})
	if s := deposit(hash); s != http.StatusOK {
		t.Fatalf("deposit: status %d", s)
	}
	if s := deposit(hash); s != http.StatusConflict {
		t.Fatalf("second deposit of the same tx: status %d, want 409", s)
	}
	if u := usage(); u.Balance != funds {
		t.Fatalf("balance after deposit %v, want %d", u.Balance, funds)
	}

	var charged tx.Amount // what the answers' usage says the user owes (price 1 per token)

	t.Run("models", func(t *testing.T) {
		page, err := client.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 1 || page.Data[0].ID != "stories260K" || page.Data[0].JSON.ExtraFields["digest"].Raw() != `"`+ref.Digest+`"` {
			t.Errorf("models = %+v", page.Data)
		}
	})

	prompt := openai.CompletionNewParamsPromptUnion{OfString: openai.String("Once upon a time")}
	t.Run("greedy completion equals the local engine", func(t *testing.T) {
		local := httptest.NewServer(ref.Handler)
		defer local.Close()
		lc := openai.NewClient(option.WithBaseURL(local.URL+"/v1/"), option.WithAPIKey("x"), option.WithMaxRetries(0))
		params := openai.CompletionNewParams{Model: "stories260K", Prompt: prompt, MaxTokens: openai.Int(16), Temperature: openai.Float(0)}
		want, err := lc.Completions.New(ctx, openai.CompletionNewParams{Prompt: prompt, MaxTokens: openai.Int(16), Temperature: openai.Float(0)})
		if err != nil {
			t.Fatal(err)
		}
		var resp *http.Response
		got, err := client.Completions.New(ctx, params, option.WithResponseInto(&resp))
		if err != nil {
			t.Fatal(err)
		}
		charged += tx.Amount(got.Usage.TotalTokens)
		if got.Choices[0].Text != want.Choices[0].Text || got.Choices[0].Text == "" {
			t.Errorf("gateway %q, local %q", got.Choices[0].Text, want.Choices[0].Text)
		}
		if resp.Header.Get("X-Deai-Receipt") == "" || resp.Header.Get("X-Deai-Model-Digest") != ref.Digest || resp.Header.Get("X-Deai-Miner") == "" {
			t.Errorf("headers %v", resp.Header)
		}
		// The same deterministic request again: from the cache, free.
		again, err := client.Completions.New(ctx, params, option.WithResponseInto(&resp))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("X-Deai-Cache") != "hit" || again.Choices[0].Text != got.Choices[0].Text {
			t.Errorf("second greedy request: cache %q, text %q", resp.Header.Get("X-Deai-Cache"), again.Choices[0].Text)
		}
	})

	t.Run("chat streaming and not", func(t *testing.T) {
		params := openai.ChatCompletionNewParams{Model: "stories260K", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell a story")},
			MaxTokens: openai.Int(12), Temperature: openai.Float(0)}
		chat, err := client.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		charged += tx.Amount(chat.Usage.TotalTokens)
		params.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		st := client.Chat.Completions.NewStreaming(ctx, params)
		var text strings.Builder
		chunks := 0
		for st.Next() {
			c := st.Current()
			if len(c.Choices) > 0 {
				text.WriteString(c.Choices[0].Delta.Content)
				chunks++
			}
			charged += tx.Amount(c.Usage.TotalTokens)
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if text.String() != chat.Choices[0].Message.Content || chunks < 2 {
			t.Errorf("stream %q in %d chunks, non-stream %q", text.String(), chunks, chat.Choices[0].Message.Content)
		}
	})

	t.Run("embeddings", func(t *testing.T) {
		emb, err := client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "stories260K",
			Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("a cat")}})
		if err != nil {
			t.Fatal(err)
		}
		charged += tx.Amount(emb.Usage.TotalTokens)
		if len(emb.Data) != 1 || len(emb.Data[0].Embedding) == 0 {
			t.Errorf("embeddings = %+v", emb.Data)
		}
	})

	t.Run("charged exactly the answers' tokens", func(t *testing.T) {
		if u := usage(); u.Spent != charged || u.Held != 0 || u.Balance != funds-charged {
			t.Errorf("usage %+v; want spent %v, nothing held", u, charged)
		}
	})

	t.Run("failover", func(t *testing.T) {
		stops[0]()
		stops[1]()
		before := usage().Spent
		var owed tx.Amount
		for i := range 4 {
			c, err := client.Completions.New(ctx, openai.CompletionNewParams{Model: "stories260K", Prompt: prompt,
				MaxTokens: openai.Int(int64(4 + i)), Temperature: openai.Float(0.8)})
			if err != nil {
				t.Fatalf("request %d with two miners down: %v", i, err)
			}
			owed += tx.Amount(c.Usage.TotalTokens)
		}
		if u := usage(); u.Spent-before != owed || u.Held != 0 {
			t.Errorf("spent %v for answers worth %v (held %v): failed attempts must cost nothing", u.Spent-before, owed, u.Held)
		}
	})

	if n := rogueHits.Load(); n != 0 {
		t.Errorf("the miner publishing an unpinned digest got %d requests", n)
	}
}

func isStatus(err error, status int) bool {
	var ae *openai.Error
	return err != nil && asOpenAIError(err, &ae) && ae.StatusCode == status
}

func asOpenAIError(err error, target **openai.Error) bool { return errors.As(err, target) }
