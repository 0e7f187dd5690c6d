package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/abciapp/abciapptest"
	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/chain/chaintest"
	"github.com/deai-network/deai/internal/gateway"
	"github.com/deai-network/deai/internal/ledger"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/subnet"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

// settleNet is a chain twin, a staked gateway hotkey, a funded user and
// two miners behind garbageBackend (20 tokens an answer, valid receipts).
type settleNet struct {
	e      *tbChain
	gwKey  *wallet.Key
	user   *wallet.Key
	miners []*wallet.Key
}

func newSettleNet(t *testing.T) *settleNet { return newSettleNetWith(t, garbageBackend()) }

// tbChain is e2eChain for tests and benchmarks alike.
type tbChain struct {
	t testing.TB
	c *chaintest.Client
}

func newTBChain(tb testing.TB, funded []*wallet.Key) *tbChain {
	tb.Helper()
	return &tbChain{t: tb, c: abciapptest.Twin(tb, []ledger.Module{lsubnet.New()}, abciapptest.Accounts(funded)...)}
}

func (e *tbChain) query(path string, v any) {
	e.t.Helper()
	r, err := e.c.Query(e.t.Context(), path, nil)
	if err != nil || r.Code != 0 {
		e.t.Fatalf("query %s: code %d %s, err %v", path, r.Code, r.Log, err)
	}
	if err := json.Unmarshal(r.Value, v); err != nil {
		e.t.Fatalf("query %s: %v", path, err)
	}
}

// send commits msgs signed by k and returns the tx hash.
func (e *tbChain) send(k *wallet.Key, msgs ...tx.Msg) string {
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
	return tx.HashOf(raw).String()
}

func seedKey(tb testing.TB, seed byte) *wallet.Key {
	tb.Helper()
	k, err := wallet.FromSeed(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func newSettleNetWith(t testing.TB, backend http.Handler) *settleNet {
	t.Helper()
	owner, gwKey, user := seedKey(t, 1), seedKey(t, 7), seedKey(t, 8)
	miners := []*wallet.Key{seedKey(t, 3), seedKey(t, 4)}
	e := newTBChain(t, append([]*wallet.Key{owner, gwKey, user}, miners...))
	var d lsubnet.Digest
	d[0] = 0x42
	e.send(owner, &lsubnet.MsgCreateSubnet{Owner: owner.Address(), Name: "tiny", TaskType: subnet.TaskTextGeneration, Digests: []lsubnet.Digest{d}})
	if err := subnet.NewLedgerChain(e.c, gwKey).Register(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	e.send(gwKey, &lsubnet.MsgAddStake{Staker: gwKey.Address(), Hotkey: gwKey.Address(), Netuid: 1, Amount: 10 * tx.UnitsPerDEAI})
	for _, k := range miners {
		startStoppableMiner(t, e.c, k, backend, d.String())
	}
	return &settleNet{e: e, gwKey: gwKey, user: user, miners: miners}
}

func (n *settleNet) gateway(t *testing.T, c chain.Client, storePath string) (*gateway.Gateway, *httptest.Server, func()) {
	t.Helper()
	return n.gatewayLog(t, c, storePath, nil)
}

func (n *settleNet) gatewayLog(t *testing.T, c chain.Client, storePath string, log *slog.Logger) (*gateway.Gateway, *httptest.Server, func()) {
	t.Helper()
	st, err := gateway.OpenFileStore(storePath)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(gateway.Options{Key: n.gwKey, Network: &gateway.LedgerNetwork{Client: n.e.c, Netuids: []uint16{1}}, Chain: c,
		Keys: map[string]tx.Address{"sk-user": n.user.Address()}, Prices: map[string]tx.Amount{"tiny": 3}, FeeBps: 1000, Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	closed := false
	closeFn := func() {
		if !closed {
			closed = true
			srv.Close()
			st.Close()
		}
	}
	t.Cleanup(closeFn)
	return g, srv, closeFn
}

func (n *settleNet) balance(a tx.Address) tx.Amount {
	var acct ledger.Account
	n.e.query("/account/"+a.String(), &acct)
	return acct.Balance
}

func (n *settleNet) balances() map[string]tx.Amount {
	out := map[string]tx.Amount{}
	for _, k := range n.miners {
		out[k.Address().String()] = n.balance(k.Address())
	}
	return out
}

func gwDo(t *testing.T, method, url, body string) []byte {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer sk-user")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
	return b
}

func gwUsage(t *testing.T, srv *httptest.Server) gateway.Usage {
	t.Helper()
	var u gateway.Usage
	if err := json.Unmarshal(gwDo(t, http.MethodGet, srv.URL+"/v1/usage", ""), &u); err != nil {
		t.Fatal(err)
	}
	return u
}

func gwSettlements(t *testing.T, srv *httptest.Server) gateway.Settlements {
	t.Helper()
	var s gateway.Settlements
	if err := json.Unmarshal(gwDo(t, http.MethodGet, srv.URL+"/v1/gateway/settlements", ""), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// complete sends n non-deterministic completions (never cached).
func complete(t *testing.T, srv *httptest.Server, n int) {
	t.Helper()
	for range n {
		gwDo(t, http.MethodPost, srv.URL+"/v1/completions", `{"model":"tiny","prompt":"Once","max_tokens":8,"temperature":0.8}`)
	}
}

// TestGatewaySettlesMiners: the gateway pays each miner exactly what its
// verified receipts earned, less the fee, once; the store restores the
// balances and the dues after a restart.
func TestGatewaySettlesMiners(t *testing.T) {
	n := newSettleNet(t)
	path := filepath.Join(t.TempDir(), "gw.jsonl")
	g, srv, closeGW := n.gateway(t, n.e.c, path)
	const funds = 100_000
	hash := n.e.send(n.user, &tx.MsgSend{From: n.user.Address(), To: g.Address(), Amount: funds})
	gwDo(t, http.MethodPost, srv.URL+"/v1/deposits", `{"tx_hash":"`+hash+`"}`)
	complete(t, srv, 6)

	s := gwSettlements(t, srv)
	u := gwUsage(t, srv)
	if u.Spent != 6*20*3 || s.Earned+s.Fees != u.Spent || s.Fees != u.Spent/10 || s.Paid != 0 || s.Owed != s.Earned {
		t.Fatalf("before settling: usage %+v, settlements %+v", u, s)
	}
	before := n.balances()
	paid, err := g.Settle(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	after := n.balances()
	got, want := map[string]tx.Amount{}, map[string]tx.Amount{}
	for _, k := range n.miners {
		a := k.Address().String()
		if d := after[a] - before[a]; d != 0 {
			got[a] = d
		}
	}
	for _, d := range s.Miners {
		want[d.Miner] = d.Owed
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("miners' balance rises (-owed +got):\n%s", diff)
	}
	var sum tx.Amount
	for _, p := range paid {
		sum += p.Amount
	}
	if sum+s.Fees != u.Spent {
		t.Errorf("paid %v + fees %v != spent %v", sum, s.Fees, u.Spent)
	}
	s2 := gwSettlements(t, srv)
	if s2.Paid != s.Earned || s2.Owed != 0 || s2.Settlements != 1 || s2.LastTx == "" {
		t.Errorf("after settling: %+v", s2)
	}
	if again, err := g.Settle(t.Context()); err != nil || len(again) != 0 {
		t.Errorf("second settle paid %v, err %v; want nothing", again, err)
	}
	if diff := cmp.Diff(after, n.balances()); diff != "" {
		t.Errorf("second settle moved balances:\n%s", diff)
	}

	// New debt, then a restart from the store file.
	complete(t, srv, 2)
	u, s = gwUsage(t, srv), gwSettlements(t, srv)
	closeGW()
	g2, srv2, _ := n.gateway(t, n.e.c, path)
	if diff := cmp.Diff(u, gwUsage(t, srv2)); diff != "" {
		t.Errorf("usage after restart (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(s, gwSettlements(t, srv2)); diff != "" {
		t.Errorf("settlements after restart (-before +after):\n%s", diff)
	}
	before = n.balances()
	if _, err := g2.Settle(t.Context()); err != nil {
		t.Fatal(err)
	}
	var rise tx.Amount
	for a, b := range n.balances() {
		rise += b - before[a]
	}
	if rise != s.Owed || rise != 2*20*3*9/10 {
		t.Errorf("after restart the miners got %v, owed %v", rise, s.Owed)
	}
}

// lossyChain loses BroadcastCommit's answer: the tx is either committed
// (send) or never sent, and the caller sees an error either way.
type lossyChain struct {
	chain.Client
	send bool
}

func (l *lossyChain) BroadcastCommit(ctx context.Context, raw []byte) (chain.TxResult, error) {
	if l.send {
		l.Client.BroadcastCommit(ctx, raw) //nolint:errcheck // the answer is what gets lost
	}
	return chain.TxResult{}, errors.New("connection reset")
}

// TestGatewaySettlementSurvivesALostAnswer: a settlement whose outcome was
// lost stays pending across a restart and is resolved from the chain,
// paid exactly once whether it had committed or not.
func TestGatewaySettlementSurvivesALostAnswer(t *testing.T) {
	for _, committed := range []bool{true, false} {
		name := map[bool]string{true: "committed", false: "never sent"}[committed]
		t.Run(name, func(t *testing.T) {
			n := newSettleNet(t)
			path := filepath.Join(t.TempDir(), "gw.jsonl")
			g, srv, closeGW := n.gateway(t, &lossyChain{Client: n.e.c, send: committed}, path)
			hash := n.e.send(n.user, &tx.MsgSend{From: n.user.Address(), To: g.Address(), Amount: 100_000})
			gwDo(t, http.MethodPost, srv.URL+"/v1/deposits", `{"tx_hash":"`+hash+`"}`)
			complete(t, srv, 3)
			owed := gwSettlements(t, srv).Owed
			before := n.balances()
			if _, err := g.Settle(t.Context()); err == nil {
				t.Fatal("settle with a lost answer: no error")
			}
			if s := gwSettlements(t, srv); s.PendingTx == "" || s.Paid != 0 {
				t.Fatalf("after a lost answer: %+v", s)
			}
			closeGW()
			g2, srv2, _ := n.gateway(t, n.e.c, path)
			if s := gwSettlements(t, srv2); s.PendingTx == "" {
				t.Fatalf("restart forgot the pending settlement: %+v", s)
			}
			if _, err := g2.Settle(t.Context()); err != nil {
				t.Fatal(err)
			}
			if again, err := g2.Settle(t.Context()); err != nil || len(again) != 0 {
				t.Errorf("second settle paid %v, err %v", again, err)
			}
			var rise tx.Amount
			for a, b := range n.balances() {
				rise += b - before[a]
			}
			if s := gwSettlements(t, srv2); rise != owed || s.Owed != 0 || s.PendingTx != "" || s.Settlements != 1 {
				t.Errorf("miners got %v of %v owed; settlements %+v", rise, owed, s)
			}
		})
	}
}
