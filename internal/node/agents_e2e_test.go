package node_test

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/agent"
	"github.com/deai-network/deai/internal/agent/runner"
	"github.com/deai-network/deai/internal/gateway"
	"github.com/deai-network/deai/internal/ledger/paych"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/subnet"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

// freeListen returns a loopback address nothing listens on.
func freeListen(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// runAgent loads an example spec and runs it until stop.
func runAgent(t *testing.T, c *marketNet, k *wallet.Key, file, state string) (*runner.Runner, func()) {
	t.Helper()
	s, err := runner.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	r, err := runner.New(t.Context(), runner.Options{Spec: s, Dir: filepath.Dir(file), StateDir: state, Key: k, Chain: c.c,
		Leaser: node.AgentLeaser(c.c, k)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent %s: %v", s.Name, err)
		}
	}
	t.Cleanup(stop)
	for _, sv := range s.Services {
		deadline := time.Now().Add(30 * time.Second)
		for {
			conn, err := net.Dial("tcp", sv.Listen)
			if err == nil {
				conn.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("agent %s never listened on %s", s.Name, sv.Listen)
			}
			select {
			case err := <-done:
				stopped = true
				t.Fatalf("agent %s stopped: %v", s.Name, err)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return r, stop
}

// redeemedFrom sums what the ledger redeemed on every channel from a to
// payee (all payees when payee is zero).
func redeemedFrom(t *testing.T, c *marketNet, from, payee tx.Address) tx.Amount {
	t.Helper()
	var chans []paych.Channel
	c.query("/paych/channels/from/"+from.String(), &chans)
	var sum tx.Amount
	for _, ch := range chans {
		if !payee.IsZero() && ch.To != payee {
			continue
		}
		var ls []paych.Lane
		c.query("/paych/lanes/"+ch.ID.String(), &ls)
		for _, l := range ls {
			sum += l.Redeemed
		}
	}
	return sum
}

// TestAgentsExampleEndToEnd runs examples/agents on a real CometBFT node
// with a subnet serving stories260K and a gateway paid with vouchers: the
// fetcher sells headlines, the summarizer sells summaries it buys from
// the gateway, and the pipeline buys both every interval until its daily
// budget is spent. What each agent's budget spent, what its signed audit
// log says it paid and what the ledger redeemed on its channels are the
// same amounts.
func TestAgentsExampleEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node, miners, a gateway and three agents")
	}
	ctx := t.Context()
	net := startAgentNet(t)
	owner, gwKey, miner := seedKey(t, 0x81), seedKey(t, 0x82), seedKey(t, 0x83)
	fetchK, sumK, pipeK := seedKey(t, 0x84), seedKey(t, 0x85), seedKey(t, 0x86)
	net.fund(owner, gwKey, miner, fetchK, sumK, pipeK)

	eng, err := node.OpenSubnetEngine(node.SubnetEngineOptions{Path: modelPath, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	d, err := lsubnet.ParseDigest(eng.Digest)
	if err != nil {
		t.Fatal(err)
	}
	net.send(owner, &lsubnet.MsgCreateSubnet{Owner: owner.Address(), Name: "stories260K", TaskType: subnet.TaskTextGeneration, Digests: []lsubnet.Digest{d}})
	if err := subnet.NewLedgerChain(net.c, gwKey).Register(ctx, 1); err != nil {
		t.Fatal(err)
	}
	net.send(gwKey, &lsubnet.MsgAddStake{Staker: gwKey.Address(), Hotkey: gwKey.Address(), Netuid: 1, Amount: 10 * tx.UnitsPerDEAI})
	startStoppableMiner(t, net.c, miner, eng.Handler, eng.Digest)

	st, err := net.chainID()
	if err != nil {
		t.Fatal(err)
	}
	gwStore, err := gateway.OpenFileStore(filepath.Join(t.TempDir(), "gateway.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { gwStore.Close() })
	gwChain := agent.NewLedgerChain(net.c, gwKey)
	pw, err := node.GatewayPayments(ctx, node.GatewayPaymentsOptions{ChainID: st, Key: gwKey.PrivateKey(), Channels: gwChain, Store: gwStore})
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(gateway.Options{Key: gwKey, Network: &gateway.LedgerNetwork{Client: net.c, Netuids: []uint16{1}}, Store: gwStore, Payments: pw})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g.Handler())
	t.Cleanup(srv.Close)

	work := t.TempDir()
	out := filepath.Join(work, "digest.jsonl")
	t.Setenv("FETCHER_LISTEN", freeListen(t))
	t.Setenv("SUMMARIZER_LISTEN", freeListen(t))
	t.Setenv("PIPELINE_LISTEN", freeListen(t))
	t.Setenv("PIPELINE_EVERY", "300ms")
	t.Setenv("PIPELINE_OUT", out)
	t.Setenv("DEAI_GATEWAY_URL", srv.URL+"/v1")
	t.Setenv("DEAI_GATEWAY_ADDRESS", gwKey.Address().String())
	examples := filepath.Join("..", "..", "examples", "agents")
	_, stopFetcher := runAgent(t, net, fetchK, filepath.Join(examples, "fetcher.yaml"), filepath.Join(work, "fetcher"))
	summarizer, stopSummarizer := runAgent(t, net, sumK, filepath.Join(examples, "summarizer.yaml"), filepath.Join(work, "summarizer"))
	pipeline, stopPipeline := runAgent(t, net, pipeK, filepath.Join(examples, "pipeline.yaml"), filepath.Join(work, "pipeline"))

	// Three runs of 1000 + 5000 fill the day's 18000; the runs after that
	// are refused by the budget before anything is paid.
	const daily = 18000
	deadline := time.Now().Add(2 * time.Minute)
	for {
		u := pipeline.Budget().Usage()
		if u.Spent == daily && u.Reserved == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the pipeline spent %s of its day's %d in two minutes", u.Spent, daily)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // a few more ticks: each refused, nothing paid
	stopPipeline()
	stopSummarizer() // redeems what it earned, on the way out
	stopFetcher()
	if _, err := (&agent.Redeemer{Paywall: pw.Paywall(), Chain: gwChain}).RedeemOnce(ctx); err != nil {
		t.Fatal(err)
	}

	if u := pipeline.Budget().Usage(); u.Spent != daily {
		t.Fatalf("pipeline spent %s, want %d", u.Spent, daily)
	}
	pl := readAudit(t, filepath.Join(work, "pipeline"))
	if s, n := agent.SumAudit(pl, agent.AuditPayment); s != daily || n != 6 {
		t.Fatalf("pipeline audit: %d payments of %s, want 6 of %d", n, s, daily)
	}
	if _, n := agent.SumAudit(pl, agent.AuditRunDone); n != 3 {
		t.Fatalf("pipeline audit: %d runs done, want 3", n)
	}
	if _, n := agent.SumAudit(pl, agent.AuditRunFailed); n < 1 {
		t.Fatal("pipeline audit: no run refused by the budget")
	}
	if got := redeemedFrom(t, net, pipeK.Address(), fetchK.Address()); got != 3000 {
		t.Fatalf("ledger: fetcher redeemed %s from the pipeline, want 3000", got)
	}
	if got := redeemedFrom(t, net, pipeK.Address(), sumK.Address()); got != 15000 {
		t.Fatalf("ledger: summarizer redeemed %s from the pipeline, want 15000", got)
	}
	if s, _ := agent.SumAudit(readAudit(t, filepath.Join(work, "fetcher")), agent.AuditEarned); s != 3000 {
		t.Fatalf("fetcher audit: earned %s, want 3000", s)
	}
	sl := readAudit(t, filepath.Join(work, "summarizer"))
	if s, _ := agent.SumAudit(sl, agent.AuditEarned); s != 15000 {
		t.Fatalf("summarizer audit: earned %s, want 15000", s)
	}

	// The summarizer paid the gateway per call with vouchers: its budget,
	// its log, the gateway's credit and the ledger agree.
	sumSpent := summarizer.Budget().Usage().Spent
	if s, n := agent.SumAudit(sl, agent.AuditPayment); s != sumSpent || n != 3 || sumSpent == 0 {
		t.Fatalf("summarizer audit: %d payments of %s, budget spent %s; want 3 equal to the budget", n, s, sumSpent)
	}
	if got := redeemedFrom(t, net, sumK.Address(), gwKey.Address()); got != sumSpent {
		t.Fatalf("ledger: the gateway redeemed %s from the summarizer, its budget spent %s", got, sumSpent)
	}
	gu := g.Usage(sumK.Address())
	if gu.Deposited != sumSpent || gu.Requests != 3 || gu.Spent == 0 || gu.Spent > gu.Deposited {
		t.Fatalf("gateway usage of the summarizer %+v; vouchers kept %s", gu, sumSpent)
	}

	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], `"news_paid":"1000udeai","summary_paid":"5000udeai","summary":"`) {
		t.Fatalf("digest file:\n%s", raw)
	}
}

func readAudit(t *testing.T, state string) []agent.VerifiedEntry {
	t.Helper()
	es, err := agent.ReadAuditFile(runner.AuditPath(state))
	if err != nil {
		t.Fatalf("audit log of %s: %v", state, err)
	}
	return es
}

// startAgentNet is a real single-validator node with 200 ms blocks; its
// dev key is in the tenant field (see fund).
func startAgentNet(t *testing.T) *marketNet {
	t.Helper()
	c, dev := startDevNode(t, 200*time.Millisecond)
	return &marketNet{t: t, c: c, tenant: dev}
}

// fund sends 1000 deai from the dev key (the tenant field of
// startAgentNet) to each key, in one tx.
func (m *marketNet) fund(ks ...*wallet.Key) {
	m.t.Helper()
	var msgs []tx.Msg
	for _, k := range ks {
		msgs = append(msgs, &tx.MsgSend{From: m.tenant.Address(), To: k.Address(), Amount: 1000 * tx.UnitsPerDEAI})
	}
	m.send(m.tenant, msgs...)
}

func (m *marketNet) chainID() (string, error) {
	st, err := m.c.Status(m.t.Context())
	return st.ChainID, err
}
