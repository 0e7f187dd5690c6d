package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/cli"
)

// freeAddrs returns n distinct loopback tcp:// addresses that were free a
// moment ago.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var ls []net.Listener
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, "tcp://"+l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for a writer goroutine and a reader.
type syncBuffer struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type upHarness struct {
	t    *testing.T
	home string
	rpc  string
	p2p  string
}

// startUp runs `deai up` in this process until the returned stop is called;
// it returns once the summary (JSON) is printed.
func (h *upHarness) startUp(extra ...string) (summary map[string]any, stop func()) {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errb syncBuffer
	done := make(chan int, 1)
	args := append([]string{"up", "--home", h.home, "--rpc-addr", h.rpc, "--p2p-addr", h.p2p, "--block-time", "200ms", "--chain-only", "-o", "json"}, extra...)
	go func() { done <- cli.Run(ctx, args, strings.NewReader(""), &out, &errb) }()
	deadline := time.After(60 * time.Second)
	for {
		if s := out.String(); strings.HasSuffix(strings.TrimSpace(s), "}") {
			if err := json.Unmarshal([]byte(s), &summary); err == nil {
				break
			}
		}
		select {
		case code := <-done:
			cancel()
			h.t.Fatalf("deai up exited early with %d\nstdout: %s\nstderr: %s", code, out.String(), errb.String())
		case <-deadline:
			cancel()
			h.t.Fatalf("deai up printed no summary in 60s\nstderr: %s", errb.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return summary, func() {
		cancel()
		if code := <-done; code != 0 {
			h.t.Errorf("deai up exit %d after interrupt\nstderr: %s", code, errb.String())
		}
	}
}

// run executes a client command against the harness's node.
func (h *upHarness) run(args ...string) (int, string, string) {
	h.t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(h.t.Context(), append(args, "--home", h.home), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func (h *upHarness) jsonOK(v any, args ...string) {
	h.t.Helper()
	code, out, errOut := h.run(append(args, "-o", "json")...)
	if code != 0 {
		h.t.Fatalf("deai %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		h.t.Fatalf("deai %s: output %q: %v", strings.Join(args, " "), out, err)
	}
}

// TestUpSendQueryRestart drives the README's flow through the CLI: deai up on
// a fresh home, a transfer from the dev key, queries, rejected transfers, and
// a restart that continues the same chain.
func TestUpSendQueryRestart(t *testing.T) {
	t.Setenv(cli.PassphraseEnv, "") // unset-equivalent is not possible; empty means "generate"
	addrs := freeAddrs(t, 2)
	h := &upHarness{t: t, home: t.TempDir(), rpc: addrs[0], p2p: addrs[1]}

	sum, stop := h.startUp()
	if sum["initialized_now"] != true || sum["chain_id"] != "deai-devnet" {
		t.Fatalf("summary %v: want a newly initialized deai-devnet", sum)
	}
	dev, _ := sum["dev_address"].(string)
	if !strings.HasPrefix(dev, "deai1") || sum["dev_balance"] != "1000000000000000" {
		t.Fatalf("summary %v: want a funded deai1 dev address", sum)
	}

	// A recipient key, created through the wallet CLI.
	t.Setenv(cli.PassphraseEnv, "recipient pass")
	var bob struct{ Address string }
	h.jsonOK(&bob, "wallet", "new", "bob", "--mnemonic-out", t.TempDir()+"/bob.mnemonic")
	t.Setenv(cli.PassphraseEnv, "")

	// With DEAI_PASSPHRASE empty, the dev key's generated passphrase file is
	// found by `tx send` on its own.
	var sent struct {
		Hash   string
		Code   uint32
		Height int64
		Fee    string
	}
	h.jsonOK(&sent, "tx", "send", "--to", bob.Address, "--amount", "2.5deai")
	if sent.Code != 0 || sent.Height < 1 || sent.Fee != "1000" {
		t.Fatalf("tx send = %+v: want committed with the 1000udeai minimum fee", sent)
	}
	var bal struct{ Balance string }
	h.jsonOK(&bal, "query", "balance", bob.Address)
	if bal.Balance != "2500000" {
		t.Errorf("bob's balance = %s, want 2500000", bal.Balance)
	}
	var rec struct {
		Height int64
		Code   uint32
	}
	h.jsonOK(&rec, "query", "tx", sent.Hash)
	if rec.Height != sent.Height || rec.Code != 0 {
		t.Errorf("query tx = %+v, want height %d code 0", rec, sent.Height)
	}

	// Rejections: exit code 2 and the ledger's reason; nothing changes.
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"insufficient funds", []string{"--amount", "2000000000deai"}, "insufficient funds"},
		{"fee below minimum", []string{"--amount", "1deai", "--fee", "1udeai"}, "fee"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, _ := h.run(append([]string{"tx", "send", "--to", bob.Address}, tt.args...)...)
			if code != 2 || !strings.Contains(out, tt.want) {
				t.Errorf("exit %d, output %q: want exit 2 mentioning %q", code, out, tt.want)
			}
		})
	}
	for _, bad := range [][]string{
		{"tx", "send", "--to", "deai1notanaddress", "--amount", "1deai"},
		{"tx", "send", "--to", bob.Address, "--amount", "1"},
		{"query", "balance", "cosmos1xyz"},
		{"query", "block", "-3"},
	} {
		if code, _, errOut := h.run(bad...); code == 0 || errOut == "" {
			t.Errorf("deai %v: exit %d, stderr %q: want a clear error", bad, code, errOut)
		}
	}
	var sup struct {
		Burned        string
		TotalBalances string `json:"total_balances"`
	}
	h.jsonOK(&sup, "query", "supply")
	if sup.Burned != "1000" || sup.TotalBalances != "999999999999000" {
		t.Errorf("supply = %+v: want 1000 burned, the rest in balances", sup)
	}
	var blk struct{ Height int64 }
	h.jsonOK(&blk, "query", "block")
	stop()

	// Restart: same chain, height continues, state kept.
	sum2, stop2 := h.startUp()
	defer stop2()
	if sum2["initialized_now"] != false || sum2["height"].(float64) < float64(blk.Height) {
		t.Fatalf("restart summary %v: want the existing chain at height ≥ %d", sum2, blk.Height)
	}
	h.jsonOK(&bal, "query", "balance", bob.Address)
	if bal.Balance != "2500000" {
		t.Errorf("after restart bob's balance = %s, want 2500000", bal.Balance)
	}
}

func TestInitRefusesExistingHome(t *testing.T) {
	t.Setenv(cli.PassphraseEnv, "")
	home := t.TempDir()
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := cli.Run(t.Context(), append(args, "--home", home), strings.NewReader(""), &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := run("init"); code != 0 {
		t.Fatalf("init: exit %d: %s", code, out)
	}
	if code, out := run("init"); code == 0 || !strings.Contains(out, "already initialized") {
		t.Fatalf("second init: exit %d, %q: want an already-initialized error", code, out)
	}
	if code, out := run("init", "--block-time", "0s", "--home", t.TempDir()); code == 0 || !strings.Contains(out, "block_time") {
		t.Fatalf("init --block-time 0s: exit %d, %q: want a block_time error", code, out)
	}
}

func TestBenchLedgerSmoke(t *testing.T) {
	addrs := freeAddrs(t, 2)
	var out, errb bytes.Buffer
	code := cli.Run(t.Context(), []string{"bench", "ledger", "--txs", "400", "--senders", "8", "--block-time", "100ms",
		"--rpc-addr", addrs[0], "--p2p-addr", addrs[1], "-o", "json"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("bench: exit %d: %s", code, errb.String())
	}
	var res []struct {
		Mode            string
		Committed       int
		Failed          int
		SupplyConserved bool `json:"supply_conserved"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 {
		t.Fatalf("got %d results, want inproc and rpc", len(res))
	}
	for _, r := range res {
		if r.Committed != 400 || r.Failed != 0 || !r.SupplyConserved {
			t.Errorf("%s: %+v: want 400 committed, none failed, supply conserved", r.Mode, r)
		}
	}
}

func TestBenchInferSmoke(t *testing.T) {
	var out, errb bytes.Buffer
	code := cli.Run(t.Context(), []string{"bench", "infer", "--model", "../../../shared/models/stories260K.gguf",
		"--threads", "1", "--pp", "16", "--tg", "16", "--reps", "1", "-o", "json"}, strings.NewReader(""), &out, &errb)
	if code != 0 {
		t.Fatalf("bench infer: exit %d: %s", code, errb.String())
	}
	var res struct {
		Results []struct {
			Test      string
			TokPerSec float64 `json:"tok_per_s"`
		}
		PeakRSSBytes int64 `json:"peak_rss_bytes"`
	}
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Results) != 2 || res.Results[0].Test != "pp16" || res.Results[1].Test != "tg16" {
		t.Fatalf("results %+v: want pp16 and tg16", res.Results)
	}
	for _, r := range res.Results {
		if r.TokPerSec <= 0 {
			t.Errorf("%s: %v tok/s, want a positive rate", r.Test, r.TokPerSec)
		}
	}
	if res.PeakRSSBytes <= 0 {
		t.Errorf("peak RSS %d: want it read from /proc", res.PeakRSSBytes)
	}
	if code := cli.Run(t.Context(), []string{"bench", "infer", "--model", "../../../shared/models/stories260K.gguf", "--pp", "4000", "--tg", "200"},
		strings.NewReader(""), &out, &errb); code == 0 {
		t.Error("bench infer beyond the context: want an error")
	}
}
