package node_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/deai-network/deai/internal/abciapp/abciapptest"
	"github.com/deai-network/deai/internal/agent"
	"github.com/deai-network/deai/internal/chain/chaintest"
	"github.com/deai-network/deai/internal/gateway"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/paych"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/subnet"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

// newPaychChain is newTBChain with the payment-channel module beside the
// subnet module.
func newPaychChain(tb testing.TB, funded []*wallet.Key) *tbChain {
	tb.Helper()
	return &tbChain{t: tb, c: abciapptest.Twin(tb, []ledger.Module{lsubnet.New(), paych.New()}, abciapptest.Accounts(funded)...)}
}

// payNet is a chain with payment channels, a staked gateway hotkey, a
// payer with a channel to it and the subnet's miners.
type payNet struct {
	e            *tbChain
	gwKey, payer *wallet.Key
	ch           paych.Channel
	stops        []func()
}

// newPayNet starts one miner per backend on subnet 1 pinned to digest
// and opens a channel of deposit from the payer to the gateway.
func newPayNet(tb testing.TB, digest string, deposit tx.Amount, backends ...http.Handler) *payNet {
	tb.Helper()
	owner, gwKey, payer := seedKey(tb, 1), seedKey(tb, 7), seedKey(tb, 8)
	miners := []*wallet.Key{seedKey(tb, 3), seedKey(tb, 4)}[:len(backends)]
	e := newPaychChain(tb, append([]*wallet.Key{owner, gwKey, payer}, miners...))
	d, err := lsubnet.ParseDigest(digest)
	if err != nil {
		tb.Fatal(err)
	}
	e.send(owner, &lsubnet.MsgCreateSubnet{Owner: owner.Address(), Name: "stories260K", TaskType: subnet.TaskTextGeneration, Digests: []lsubnet.Digest{d}})
	if err := subnet.NewLedgerChain(e.c, gwKey).Register(tb.Context(), 1); err != nil {
		tb.Fatal(err)
	}
	e.send(gwKey, &lsubnet.MsgAddStake{Staker: gwKey.Address(), Hotkey: gwKey.Address(), Netuid: 1, Amount: 10 * tx.UnitsPerDEAI})
	n := &payNet{e: e, gwKey: gwKey, payer: payer}
	for i, k := range miners {
		n.stops = append(n.stops, startStoppableMiner(tb, e.c, k, backends[i], digest))
	}
	n.ch, err = agent.NewLedgerChain(e.c, payer).OpenChannel(tb.Context(), gwKey.Address(), deposit, 900)
	if err != nil {
		tb.Fatal(err)
	}
	return n
}

// gateway starts a gateway taking vouchers, with its store at path.
func (n *payNet) gateway(tb testing.TB, path string, o gateway.Options) (*gateway.Gateway, *node.GatewayPaywall, *httptest.Server) {
	tb.Helper()
	st, err := gateway.OpenFileStore(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	pw, err := node.GatewayPayments(tb.Context(), node.GatewayPaymentsOptions{ChainID: chaintest.DefaultChainID, Key: n.gwKey.PrivateKey(),
		Channels: agent.NewLedgerChain(n.e.c, n.gwKey), Store: st})
	if err != nil {
		tb.Fatal(err)
	}
	o.Key, o.Network, o.Store, o.Payments = n.gwKey, &gateway.LedgerNetwork{Client: n.e.c, Netuids: []uint16{1}}, st, pw
	g, err := gateway.New(o)
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	tb.Cleanup(srv.Close)
	return g, pw, srv
}

// paidCall is a request that carried a voucher and its answer's status.
type paidCall struct {
	method, url, voucher string
	body                 []byte
	status               int
}

// callLog records the paid calls under an agent.Client.
type callLog struct {
	mu    sync.Mutex // guards calls
	calls []paidCall
}

func (l *callLog) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if v := r.Header.Get(agent.HeaderPaymentSignature); v != "" && err == nil {
		l.mu.Lock()
		l.calls = append(l.calls, paidCall{method: r.Method, url: r.URL.String(), voucher: v, body: body, status: resp.StatusCode})
		l.mu.Unlock()
	}
	return resp, err
}

func (l *callLog) lastOK(t *testing.T) paidCall {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.calls) - 1; i >= 0; i-- {
		if l.calls[i].status == http.StatusOK {
			return l.calls[i]
		}
	}
	t.Fatal("no paid call succeeded")
	return paidCall{}
}

// replay sends a recorded paid call again, voucher and all, to base.
func replay(t *testing.T, c paidCall, base string) (int, string) {
	t.Helper()
	u := base + c.url[strings.Index(c.url, "/v1/"):]
	req, err := http.NewRequestWithContext(t.Context(), c.method, u, bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(agent.HeaderPaymentSignature, c.voucher)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestGatewayHeadersMatchAgent: the gateway's x402 header names are the
// agent package's (they cannot share a constant across services).
func TestGatewayHeadersMatchAgent(t *testing.T) {
	if gateway.HeaderPaymentRequired != agent.HeaderPaymentRequired || gateway.HeaderPaymentSignature != agent.HeaderPaymentSignature ||
		gateway.HeaderPaymentResponse != agent.HeaderPaymentResponse || gateway.CodeReplayedVoucher != agent.CodeReplayedVoucher ||
		gateway.CodeInsufficientPayment != agent.CodeInsufficientPayment || gateway.CodePaymentRequired != agent.CodePaymentRequired {
		t.Error("gateway and agent disagree on the x402 header names or codes")
	}
}

// TestGatewayVoucherPayments: the OpenAI SDK over an agent.Client pays a
// gateway per call with vouchers on a real payment channel to two miners
// on stories260K. What the payer's budget spent, what the gateway kept
// and credited, and what the ledger redeemed agree; the gateway charges
// exactly the answers' tokens; failed calls, replayed vouchers and a
// restart cost nothing extra.
func TestGatewayVoucherPayments(t *testing.T) {
	ctx := t.Context()
	var backends []http.Handler
	var digest string
	for range 2 {
		eng, err := node.OpenSubnetEngine(node.SubnetEngineOptions{Path: modelPath, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Close() })
		backends, digest = append(backends, eng.Handler), eng.Digest
	}
	const deposit = 1_000_000
	n := newPayNet(t, digest, deposit, backends...)
	storePath := filepath.Join(t.TempDir(), "gateway.jsonl")
	g, pw, srv := n.gateway(t, storePath, gateway.Options{})

	budget, err := agent.NewBudget(agent.BudgetOptions{Policy: agent.Policy{Total: deposit}})
	if err != nil {
		t.Fatal(err)
	}
	payer, err := agent.NewPayer(agent.PayerOptions{Key: n.payer.PrivateKey(), ChainID: chaintest.DefaultChainID, Channel: n.ch.ID,
		Payee: g.Address(), Deposit: n.ch.Balance, Budget: budget, Lanes: 2})
	if err != nil {
		t.Fatal(err)
	}
	log := &callLog{}
	ac := &agent.Client{Payer: payer, Base: log}
	sdk := func(base string) openai.Client {
		return openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithAPIKey(""), option.WithMaxRetries(0),
			option.WithHTTPClient(&http.Client{Transport: ac}), option.WithHeader(gateway.HeaderPayer, n.payer.Address().String()))
	}
	client := sdk(srv.URL)
	params := openai.ChatCompletionNewParams{Model: "stories260K", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Tell a story")},
		MaxTokens: openai.Int(12), Temperature: openai.Float(0.8)}

	var charged tx.Amount // the answers' tokens, at 1 base unit each
	// agree checks the payer's budget, the gateway's account and the
	// paywall against each other and the answers.
	agree := func(t *testing.T, g *gateway.Gateway, pw *node.GatewayPaywall) gateway.Usage {
		t.Helper()
		u := g.Usage(n.payer.Address())
		spent := budget.Usage().Spent
		if u.Spent != charged || u.Held != 0 || u.Vouchers != spent || u.Deposited != spent || payer.Paid() != spent ||
			pw.Paywall().Earned(n.ch.ID) != spent || u.Balance != spent-charged {
			t.Errorf("gateway %+v, earned %s; budget spent %s, payer paid %s; answers worth %s", u, pw.Paywall().Earned(n.ch.ID), spent, payer.Paid(), charged)
		}
		return u
	}

	t.Run("chat completions are paid", func(t *testing.T) {
		for i := range 3 {
			var resp *http.Response
			chat, err := client.Chat.Completions.New(ctx, params, option.WithResponseInto(&resp))
			if err != nil {
				t.Fatalf("chat %d: %v", i, err)
			}
			charged += tx.Amount(chat.Usage.TotalTokens)
			if chat.Usage.TotalTokens == 0 || resp.Header.Get(agent.HeaderPaymentResponse) == "" || resp.Header.Get(gateway.HeaderReceipt) == "" {
				t.Errorf("chat %d: usage %+v, headers %v", i, chat.Usage, resp.Header)
			}
		}
		if budget.Usage().Spent == 0 {
			t.Fatal("nothing was paid")
		}
		agree(t, g, pw)
	})

	t.Run("stream is paid with the receipt in a trailer", func(t *testing.T) {
		before := budget.Usage().Spent
		p := params
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		var resp *http.Response
		st := client.Chat.Completions.NewStreaming(ctx, p, option.WithResponseInto(&resp))
		chunks := 0
		for st.Next() {
			chunks++
			charged += tx.Amount(st.Current().Usage.TotalTokens)
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		// agent.Client checked the receipt against the body it read.
		if chunks < 2 || resp.Header.Get(agent.HeaderPaymentResponse) != "" || resp.Trailer.Get(agent.HeaderPaymentResponse) == "" {
			t.Errorf("%d chunks; header %q, trailer %v", chunks, resp.Header.Get(agent.HeaderPaymentResponse), resp.Trailer)
		}
		if budget.Usage().Spent == before {
			t.Error("the stream was not paid")
		}
		agree(t, g, pw)
	})

	t.Run("replayed voucher is refused", func(t *testing.T) {
		before := agree(t, g, pw)
		status, body := replay(t, log.lastOK(t), srv.URL)
		if status != http.StatusPaymentRequired || !strings.Contains(body, `"code":"`+agent.CodeReplayedVoucher+`"`) {
			t.Errorf("replay: %d %s", status, body)
		}
		if u := agree(t, g, pw); u != before {
			t.Errorf("usage moved from %+v to %+v", before, u)
		}
	})

	gwChain := agent.NewLedgerChain(n.e.c, n.gwKey)
	redeemed := func(t *testing.T) tx.Amount {
		t.Helper()
		var sum tx.Amount
		for lane := range uint32(2) {
			l, err := gwChain.Lane(ctx, n.ch.ID, lane)
			if err != nil {
				t.Fatal(err)
			}
			sum += l.Redeemed
		}
		ch, err := gwChain.Channel(ctx, n.ch.ID)
		if err != nil || ch.Redeemed != sum {
			t.Fatalf("channel %+v (%v), lanes sum to %s", ch, err, sum)
		}
		return sum
	}
	t.Run("redeemed on chain", func(t *testing.T) {
		if _, err := (&agent.Redeemer{Paywall: pw.Paywall(), Chain: gwChain}).RedeemOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got, want := redeemed(t), g.Usage(n.payer.Address()).Vouchers; got != want {
			t.Errorf("ledger redeemed %s, gateway kept %s", got, want)
		}
	})

	// One more call, kept but not redeemed before the restart.
	chat, err := client.Chat.Completions.New(ctx, params)
	if err != nil {
		t.Fatal(err)
	}
	charged += tx.Amount(chat.Usage.TotalTokens)
	// A restart: the same store, a fresh gateway and paywall.
	srv.Close()
	before := g.Usage(n.payer.Address())
	g, pw, srv = n.gateway(t, storePath, gateway.Options{})
	client = sdk(srv.URL)
	t.Run("restart replays the credit", func(t *testing.T) {
		// (The paywall reads the channel, and its restored vouchers, with
		// the first voucher on it: agree's Earned holds from then on.)
		if u := g.Usage(n.payer.Address()); u != before {
			t.Errorf("after restart %+v, before %+v", u, before)
		}
		if status, body := replay(t, log.lastOK(t), srv.URL); status != http.StatusPaymentRequired || !strings.Contains(body, agent.CodeReplayedVoucher) {
			t.Errorf("replay after restart: %d %s", status, body)
		}
		// Of the restored vouchers, only the last is not on chain yet.
		if n, err := (&agent.Redeemer{Paywall: pw.Paywall(), Chain: gwChain}).RedeemOnce(ctx); n != 1 || err != nil {
			t.Errorf("redeem after restart: %d, %v; want the one voucher kept since the last redeem", n, err)
		}
		if got, want := redeemed(t), g.Usage(n.payer.Address()).Vouchers; got != want {
			t.Errorf("ledger redeemed %s, gateway kept %s", got, want)
		}
		chat, err := client.Chat.Completions.New(ctx, params)
		if err != nil {
			t.Fatal(err)
		}
		charged += tx.Amount(chat.Usage.TotalTokens)
		agree(t, g, pw)
	})

	t.Run("failed request is not paid", func(t *testing.T) {
		for _, stop := range n.stops {
			stop()
		}
		before, usage := budget.Usage().Spent, agree(t, g, pw)
		_, err := client.Chat.Completions.New(ctx, params)
		if !isStatus(err, http.StatusBadGateway) && !isStatus(err, http.StatusServiceUnavailable) {
			t.Fatalf("with the miners down: %v, want 502 or 503", err)
		}
		if spent := budget.Usage().Spent; spent != before {
			t.Errorf("budget spent %s, was %s", spent, before)
		}
		if u := agree(t, g, pw); u != usage {
			t.Errorf("usage %+v, was %+v", u, usage)
		}
	})

	t.Run("everything kept is redeemed", func(t *testing.T) {
		if _, err := (&agent.Redeemer{Paywall: pw.Paywall(), Chain: gwChain}).RedeemOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got, want := redeemed(t), budget.Usage().Spent; got != want || want != g.Usage(n.payer.Address()).Vouchers {
			t.Errorf("ledger redeemed %s, budget spent %s, gateway kept %s", got, want, g.Usage(n.payer.Address()).Vouchers)
		}
	})
}

// BenchmarkGatewayVoucherPaid is what paying per call with a voucher adds
// to a request over an API key with a prepaid balance, against two fast
// miners (fastBackend): "api-key" is the baseline, "voucher" the x402
// flow (a 402, then the paid retry: two round trips, a voucher signed
// and checked, a receipt signed and checked), "voucher-upfront" an
// agent.Client with PayUpFront (one round trip once the price is known).
func BenchmarkGatewayVoucherPaid(b *testing.B) {
	var d lsubnet.Digest
	d[0] = 0x42
	n := newPayNet(b, d.String(), 500*tx.UnitsPerDEAI, fastBackend(), fastBackend())
	owner := seedKey(b, 1)
	g, _, srv := n.gateway(b, filepath.Join(b.TempDir(), "gateway.jsonl"), gateway.Options{Chain: n.e.c,
		Keys: map[string]tx.Address{"sk-owner": owner.Address()}, RatePerSecond: -1, MaxStreams: -1,
		Client: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true}}})
	hash := n.e.send(owner, &tx.MsgSend{From: owner.Address(), To: g.Address(), Amount: 100 * tx.UnitsPerDEAI})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/deposits", strings.NewReader(`{"tx_hash":"`+hash+`"}`))
	req.Header.Set("Authorization", "Bearer sk-owner")
	if resp, err := benchClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("deposit: %v %v", resp, err)
	}
	body := `{"model":"stories260K","prompt":"Once","max_tokens":8,"temperature":0.8}`
	budget, err := agent.NewBudget(agent.BudgetOptions{Policy: agent.Policy{Total: 500 * tx.UnitsPerDEAI}})
	if err != nil {
		b.Fatal(err)
	}
	payer, err := agent.NewPayer(agent.PayerOptions{Key: n.payer.PrivateKey(), ChainID: chaintest.DefaultChainID, Channel: n.ch.ID,
		Payee: g.Address(), Deposit: n.ch.Balance, Budget: budget, Lanes: 1})
	if err != nil {
		b.Fatal(err)
	}
	payClient := func(upFront bool) *http.Client {
		return &http.Client{Transport: &agent.Client{Payer: payer, PayUpFront: upFront, Base: benchClient.Transport}}
	}
	do := func(c *http.Client, key string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/completions", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		} else {
			req.Header.Set(gateway.HeaderPayer, n.payer.Address().String())
		}
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body) //nolint:errcheck // bench
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	b.Run("api-key", func(b *testing.B) {
		for b.Loop() {
			do(benchClient, "sk-owner")
		}
	})
	b.Run("voucher", func(b *testing.B) {
		c := payClient(false)
		for b.Loop() {
			do(c, "")
		}
	})
	b.Run("voucher-upfront", func(b *testing.B) {
		c := payClient(true)
		for b.Loop() {
			do(c, "")
		}
	})
}
