package runner_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/abciapp/abciapptest"
	"github.com/deai-network/deai/internal/agent"
	"github.com/deai-network/deai/internal/agent/runner"
	"github.com/deai-network/deai/internal/chain/chaintest"
	"github.com/deai-network/deai/internal/ledger"
	lagents "github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

func key(t testing.TB, b byte) *wallet.Key {
	t.Helper()
	k, err := wallet.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// twin is the real ledger (bank, agents, paych) behind the in-memory chain
// client; every tx is committed in its own block.
func twin(t testing.TB, funded ...*wallet.Key) *chaintest.Client {
	t.Helper()
	return abciapptest.Twin(t, []ledger.Module{lagents.New(), paych.New()}, abciapptest.Accounts(funded)...)
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func newRunner(t *testing.T, c *chaintest.Client, k *wallet.Key, spec, dir string) *runner.Runner {
	t.Helper()
	s, err := runner.Parse([]byte(spec))
	if err != nil {
		t.Fatalf("parse spec: %v\n%s", err, spec)
	}
	r, err := runner.New(t.Context(), runner.Options{Spec: s, Dir: dir, StateDir: filepath.Join(dir, "state-"+s.Name), Key: k, Chain: c})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// started runs a runner until the test ends (or stop is called) and
// waits for its services to listen.
func started(t *testing.T, c *chaintest.Client, k *wallet.Key, spec, dir string) (r *runner.Runner, stop func()) {
	t.Helper()
	r = newRunner(t, c, k, spec, dir)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var stopped bool
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	t.Cleanup(stop)
	s, _ := runner.Parse([]byte(spec))
	for _, sv := range s.Services {
		waitListen(t, sv.Listen)
	}
	return r, stop
}

func waitListen(t *testing.T, addr string) {
	t.Helper()
	for i := 0; i < 200; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s never listened", addr)
}

func readLog(t *testing.T, path string) []agent.VerifiedEntry {
	t.Helper()
	es, err := agent.ReadAuditFile(path)
	if err != nil {
		t.Fatalf("audit log %s: %v", path, err)
	}
	return es
}

// TestPipeline: a fetcher sells data, a summarizer sells a transform of
// what it is given, and a pipeline agent buys from both through the
// registry; every payment is a voucher the payee kept, the budgets, the
// audit logs and (after the payees redeem) the ledger agree exactly, a
// failing service is not paid, and the budget stops the pipeline with
// no payment once spent.
func TestPipeline(t *testing.T) {
	fetchK, sumK, pipeK := key(t, 1), key(t, 2), key(t, 3)
	c := twin(t, fetchK, sumK, pipeK)
	dir := t.TempDir()
	fAddr, sAddr := freeAddr(t), freeAddr(t)
	os.WriteFile(filepath.Join(dir, "news.json"), []byte(`{"headline":"GPUs are cheap today"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "schema.json"), []byte(`{"type":"object"}`), 0o644)

	fetcher, stopFetcher := started(t, c, fetchK, fmt.Sprintf(`
name: fetcher
budget: {total: 1deai}
redeem_interval: 200ms
services:
  - name: news.fetch
    listen: %[1]s
    path: /news
    price: 300udeai
    require_signature: true
    register: {endpoint: "http://%[1]s/news", description: latest news, capabilities: [data, news], schema: schema.json}
    steps:
      - id: doc
        read: {file: news.json}
      - value: '{"headline":{{json .Steps.doc.JSON.headline}},"for":{{json .Caller}}}'
`, fAddr), dir)
	summarizer, stopSummarizer := started(t, c, sumK, fmt.Sprintf(`
name: summarizer
budget: {total: 1deai}
redeem_interval: 200ms
services:
  - name: text.summarize
    listen: %[1]s
    price: 500udeai
    register: {endpoint: "http://%[1]s/", capabilities: [summarize], schema: schema.json}
    steps:
      - id: check
        value: '{{if eq .Input "fail"}}{{fail "asked to fail"}}{{end}}ok'
      - value: 'summary: {{.Input}}'
`, sAddr), dir)
	pipeSpec := fmt.Sprintf(`
name: pipeline
budget: {total: 4000udeai, per_call: 600udeai}
channels: {deposit: 1000udeai, lanes: 2}
triggers:
  - http: {listen: %s}
steps:
  - id: news
    call: {service: news.fetch}
  - id: summary
    call:
      service: text.summarize
      body: '{{if .Input}}{{.Input}}{{else}}{{.Steps.news.JSON.headline}}{{end}}'
outputs:
  - file: out/summaries.jsonl
    value: '{"run":{{.Run}},"summary":{{json .Steps.summary.Text}},"for":{{json .Steps.news.JSON.for}}}'
`, freeAddr(t))
	pipe := newRunner(t, c, pipeK, pipeSpec, dir)
	ctx := t.Context()

	// The fetcher takes only signed agent messages: an unsigned call is
	// refused before it is asked to pay.
	resp, err := http.Get("http://" + fAddr + "/news")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), agent.CodeUnsigned) {
		t.Fatalf("unsigned call: %d %s, want 401 %s", resp.StatusCode, b, agent.CodeUnsigned)
	}

	type want struct {
		input string
		paid  tx.Amount
		err   error
	}
	runs := []want{
		{paid: 800},
		{input: "fail", paid: 300, err: runner.ErrStep}, // the summarizer fails: only the fetch is paid
		{paid: 800},
		{paid: 800}, // restart before this one
		{paid: 800},
		{paid: 300, err: agent.ErrBudgetExceeded}, // 3800 spent: the summary's 500 does not fit
		{paid: 0, err: agent.ErrBudgetExceeded},
	}
	for i, w := range runs {
		if i == 3 {
			// A restart resumes the channels and lanes where they were.
			if err := pipe.Close(); err != nil {
				t.Fatal(err)
			}
			pipe = newRunner(t, c, pipeK, pipeSpec, dir)
		}
		res, err := pipe.RunOnce(ctx, []byte(w.input))
		if w.err == nil && err != nil || w.err != nil && !errors.Is(err, w.err) {
			t.Fatalf("run %d: error %v, want %v", i+1, err, w.err)
		}
		if res.Paid != w.paid {
			t.Fatalf("run %d: paid %s, want %s (%v)", i+1, res.Paid, w.paid, err)
		}
	}
	const spent = 3800
	if u := pipe.Budget().Usage(); u.Spent != spent {
		t.Fatalf("budget spent %s, want %d", u.Spent, spent)
	}
	paid := pipe.Paid()
	if paid[fetchK.Address()] != 1800 || paid[sumK.Address()] != 2000 {
		t.Fatalf("paid per payee %v, want fetcher 1800 and summarizer 2000", paid)
	}
	if err := pipe.Close(); err != nil {
		t.Fatal(err)
	}

	// The payees redeem (every 200ms); the ledger then holds exactly what
	// the pipeline's budget spent.
	redeemed := func() tx.Amount {
		var chans []paych.Channel
		if err := agent.NewLedgerChain(c, pipeK).Query(ctx, "/paych/channels/from/"+pipeK.Address().String(), &chans); err != nil {
			t.Fatal(err)
		}
		var sum tx.Amount
		for _, ch := range chans {
			var ls []paych.Lane
			if err := agent.NewLedgerChain(c, pipeK).Query(ctx, "/paych/lanes/"+ch.ID.String(), &ls); err != nil {
				t.Fatal(err)
			}
			for _, l := range ls {
				sum += l.Redeemed
			}
		}
		return sum
	}
	deadline := time.Now().Add(20 * time.Second)
	for redeemed() != spent && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := redeemed(); got != spent {
		t.Fatalf("ledger redeemed %s, want %d", got, spent)
	}
	stopFetcher()
	stopSummarizer()
	_, _ = fetcher, summarizer

	pl := readLog(t, runner.AuditPath(filepath.Join(dir, "state-pipeline")))
	if s, n := agent.SumAudit(pl, agent.AuditPayment); s != spent || n != 10 {
		t.Fatalf("pipeline audit: %d payments of %s, want 10 of %d", n, s, spent)
	}
	var opens, topUps int
	for _, e := range pl {
		switch e.Entry.Step {
		case "open_channel":
			opens++
		case "top_up":
			topUps++
		}
	}
	if opens != 2 || topUps != 2 {
		t.Fatalf("pipeline audit: %d channel opens and %d top-ups, want 2 and 2", opens, topUps)
	}
	if _, n := agent.SumAudit(pl, agent.AuditPaymentRefused); n != 3 {
		t.Fatalf("pipeline audit: %d refused payments, want 3 (the failed summary, then twice the budget)", n)
	}
	if s, _ := agent.SumAudit(readLog(t, runner.AuditPath(filepath.Join(dir, "state-fetcher"))), agent.AuditEarned); s != 1800 {
		t.Fatalf("fetcher earned %s in its log, want 1800", s)
	}
	sl := readLog(t, runner.AuditPath(filepath.Join(dir, "state-summarizer")))
	if s, _ := agent.SumAudit(sl, agent.AuditEarned); s != 2000 {
		t.Fatalf("summarizer earned %s in its log, want 2000", s)
	}
	if _, n := agent.SumAudit(sl, agent.AuditRunFailed); n != 1 {
		t.Fatalf("summarizer logged %d failed calls, want 1", n)
	}
	out, err := os.ReadFile(filepath.Join(dir, "out", "summaries.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 4 || lines[0] != `{"run":1,"summary":"summary: GPUs are cheap today","for":"`+pipeK.Address().String()+`"}` {
		t.Fatalf("outputs:\n%s", out)
	}
}

// TestApprovalKillAndTransfer: a transfer above the approval threshold
// waits for the owner's signature (written where `deai agent approve`
// writes it), then moves exactly its amount on chain; the kill switch
// stops payments until it is removed.
func TestApprovalKillAndTransfer(t *testing.T) {
	agentK, ownerK, to := key(t, 4), key(t, 5), key(t, 6)
	c := twin(t, agentK)
	dir := t.TempDir()
	r, _ := started(t, c, agentK, fmt.Sprintf(`
name: payer
budget: {total: 1deai, approve_above: 100udeai, owner_key: %s}
triggers:
  - http: {listen: %s}
steps:
  - transfer: {to: %s, amount: 150udeai}
`, hex.EncodeToString(ownerK.PubKey()), freeAddr(t), to.Address()), dir)
	ctx := t.Context()
	balance := func() tx.Amount {
		var a ledger.Account
		err := agent.NewLedgerChain(c, agentK).Query(ctx, "/account/"+to.Address().String(), &a)
		if agent.IsNotFound(err) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		return a.Balance
	}
	if _, err := r.RunOnce(ctx, nil); !errors.Is(err, agent.ErrApprovalRequired) {
		t.Fatalf("first run: %v, want an approval wait", err)
	}
	adir := runner.ApprovalsDir(r.StateDir())
	ents, _ := filepath.Glob(filepath.Join(adir, "*.json"))
	if len(ents) != 1 || balance() != 0 {
		t.Fatalf("pending approvals %v, balance %s", ents, balance())
	}
	raw, _ := os.ReadFile(ents[0])
	var a agent.Approval
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatal(err)
	}
	if a.Amount != 150 || a.Counterparty != to.Address() {
		t.Fatalf("pending approval %+v", a)
	}
	// A signature by another key is refused; the owner's is taken.
	bad := agent.SignApproval(agentK.PrivateKey(), a)
	sigPath := filepath.Join(adir, a.ID+".sig")
	os.WriteFile(sigPath, []byte(hex.EncodeToString(bad)), 0o600)
	waitGone(t, sigPath)
	if _, err := r.RunOnce(ctx, nil); !errors.Is(err, agent.ErrApprovalRequired) {
		t.Fatalf("after a forged approval: %v, want another approval wait", err)
	}
	ents, _ = filepath.Glob(filepath.Join(adir, "*.json"))
	if len(ents) != 1 {
		t.Fatalf("pending approvals %v", ents)
	}
	raw, _ = os.ReadFile(ents[0])
	json.Unmarshal(raw, &a)
	sigPath = filepath.Join(adir, a.ID+".sig")
	os.WriteFile(sigPath, []byte(hex.EncodeToString(agent.SignApproval(ed25519.PrivateKey(ownerK.PrivateKey()), a))), 0o600)
	waitGone(t, sigPath)
	if _, err := r.RunOnce(ctx, nil); err != nil {
		t.Fatalf("approved run: %v", err)
	}
	if b := balance(); b != 150 {
		t.Fatalf("recipient has %s, want 150", b)
	}

	kill := runner.KillPath(r.StateDir())
	os.WriteFile(kill, nil, 0o600)
	time.Sleep(1500 * time.Millisecond) // the control loop looks every second
	if _, err := r.RunOnce(ctx, nil); !errors.Is(err, agent.ErrKilled) {
		t.Fatalf("killed run: %v, want %v", err, agent.ErrKilled)
	}
	if b := balance(); b != 150 {
		t.Fatalf("recipient has %s after the kill, want 150", b)
	}
	es := readLog(t, runner.AuditPath(r.StateDir()))
	if s, n := agent.SumAudit(es, agent.AuditAction); n < 2 || s != 150 {
		t.Fatalf("audit actions: %d worth %s, want the transfer of 150 and the kill", n, s)
	}
	if _, n := agent.SumAudit(es, agent.AuditApproved); n != 1 {
		t.Fatalf("audit: %d approvals, want 1", n)
	}
	if _, n := agent.SumAudit(es, agent.AuditApprovalPending); n != 2 {
		t.Fatalf("audit: %d pending approvals, want 2", n)
	}
}

func waitGone(t *testing.T, path string) {
	t.Helper()
	for i := 0; i < 400; i++ {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%s was never picked up", path)
}

// TestHTTPTriggerAndOutputs: a POST to the trigger runs the agent with
// the body as .Input and answers the run; the outputs go to a file and an
// HTTP endpoint; a run the budget refuses answers 402 budget_exceeded.
func TestHTTPTriggerAndOutputs(t *testing.T) {
	agentK, to := key(t, 7), key(t, 8)
	c := twin(t, agentK)
	dir := t.TempDir()
	got := make(chan string, 4)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Method + " " + string(b)
	}))
	defer sink.Close()
	trig := freeAddr(t)
	started(t, c, agentK, fmt.Sprintf(`
name: poster
budget: {total: 100udeai}
triggers:
  - http: {listen: %s, path: /go}
steps:
  - id: pay
    transfer: {to: %s, amount: 60udeai}
  - id: greet
    value: 'hello {{trim .Input}} (tx {{truncate 6 .Steps.pay.Tx}})'
outputs:
  - file: out.txt
  - http: %s
    value: '{{json .Steps.greet.Text}}'
`, trig, to.Address(), sink.URL), dir)
	waitListen(t, trig)
	post := func() (int, map[string]any) {
		resp, err := http.Post("http://"+trig+"/go", "text/plain", strings.NewReader(" world \n"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, m
	}
	status, m := post()
	out, _ := m["output"].(string)
	if status != http.StatusOK || !strings.HasPrefix(out, "hello world (tx ") {
		t.Fatalf("first run: %d %v", status, m)
	}
	if g := <-got; g != "POST "+strconvQuote(out) {
		t.Fatalf("the HTTP output got %q, want the run's text as JSON", g)
	}
	file, _ := os.ReadFile(filepath.Join(dir, "out.txt"))
	if string(file) != out+"\n" {
		t.Fatalf("file output %q", file)
	}
	// 60 of 100 spent: the next transfer does not fit.
	if status, m := post(); status != http.StatusPaymentRequired || m["error"] != "budget_exceeded" {
		t.Fatalf("second run: %d %v, want 402 budget_exceeded", status, m)
	}
	select {
	case g := <-got:
		t.Fatalf("a failed run was output: %q", g)
	default:
	}
}

func strconvQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
