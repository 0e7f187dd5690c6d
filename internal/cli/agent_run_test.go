package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/cli"
)

// runResultJSON is `deai agent run --once -o json`.
type runResultJSON struct {
	Run    uint64
	Output string
	Paid   string
	Steps  map[string]struct {
		Text  string
		Spent string
		Tx    string
	}
}

// agentLogJSON is `deai agent log -o json`.
type agentLogJSON struct {
	Path     string
	Verified bool
	Error    string
	Totals   struct {
		Paid     string
		Payments int
		OnChain  string `json:"on_chain"`
		Actions  int
		Refused  int
	}
	Entries []struct {
		Entry struct {
			Seq          uint64
			Kind         string
			Run          uint64
			Step         string
			Counterparty string
			Amount       string
			TxHash       string `json:"tx"`
			Detail       string
		}
		Hash string
	}
}

type approvalJSON struct {
	ID           string
	Counterparty string
	Amount       string
	Expires      time.Time
	Signer       string
}

// writeSpec writes an agent spec into a temp directory.
func writeSpec(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAgentRunCLI drives `deai agent run --once`, `agent log` and `agent
// kill` on a real node: a transfer step moves exactly its amount and is in
// the verified audit log with its tx hash; the kill switch stops it and
// --resume lets it run again; a tampered copy of the log does not verify.
func TestAgentRunCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	t.Setenv(cli.PassphraseEnv, "")
	addrs := freeAddrs(t, 3)
	h := &upHarness{t: t, home: t.TempDir(), rpc: addrs[0], p2p: addrs[1]}
	_, stopUp := h.startUp()
	defer stopUp()
	bot, botPass := h.newKey("bot")
	shop, _ := h.newKey("shop")
	h.jsonOK(&struct{}{}, "tx", "send", "--to", bot, "--amount", "5deai")

	spec := writeSpec(t, "payer.yaml", fmt.Sprintf(`name: payer
budget: {total: 2deai}
triggers:
  - http: {listen: %q}
steps:
  - id: pay
    transfer: {to: %s, amount: 0.25deai}
  - id: note
    value: "sent {{.Steps.pay.Tx}} for {{.Input}}"
`, strings.TrimPrefix(addrs[2], "tcp://"), shop))
	runOnce := []string{"agent", "run", spec, "--key", "bot", "--passphrase-file", botPass, "--once"}

	before := h.balance(shop)
	var res runResultJSON
	h.jsonOK(&res, append(runOnce, "--input", "hello")...)
	pay := res.Steps["pay"]
	if res.Run != 1 || res.Paid != "0" || pay.Spent != "250000" || len(pay.Tx) != 64 ||
		res.Output != "sent "+pay.Tx+" for hello" || res.Steps["note"].Text != res.Output {
		t.Fatalf("run --once = %+v", res)
	}
	if got := h.balance(shop) - before; got != 250_000 {
		t.Fatalf("the shop got %d, want 250000", got)
	}

	t.Run("AgentLog", func(t *testing.T) {
		var lg agentLogJSON
		h.jsonOK(&lg, "agent", "log", "--agent", "payer")
		if !lg.Verified || lg.Error != "" || lg.Path != filepath.Join(h.home, "agents", "payer", "audit.log") ||
			lg.Totals.OnChain != "250000" || lg.Totals.Actions != 1 || lg.Totals.Paid != "0" || lg.Totals.Refused != 0 {
			t.Fatalf("log = %+v", lg)
		}
		var kinds []string
		for _, e := range lg.Entries {
			kinds = append(kinds, e.Entry.Kind)
		}
		if got, want := strings.Join(kinds, ","), "start,run,action,run_done"; got != want {
			t.Errorf("log kinds = %s, want %s", got, want)
		}

		h.jsonOK(&lg, "agent", "log", "--agent", "payer", "--kind", "action")
		if len(lg.Entries) != 1 {
			t.Fatalf("--kind action: %d entries, want 1: %+v", len(lg.Entries), lg.Entries)
		}
		if e := lg.Entries[0].Entry; e.Run != 1 || e.Step != "pay" || e.Counterparty != shop || e.Amount != "250000" || e.TxHash != pay.Tx {
			t.Errorf("action entry = %+v, want run 1 step pay to %s of 250000 tx %s", e, shop, pay.Tx)
		}
		// Filters choose what is shown; the totals are the whole log's.
		h.jsonOK(&lg, "agent", "log", "--agent", "payer", "--run", "2")
		if len(lg.Entries) != 0 || lg.Totals.OnChain != "250000" {
			t.Errorf("--run 2: %+v, want no entries and the whole log's totals", lg)
		}
		out := h.textOK("agent", "log", "--state", filepath.Join(h.home, "agents", "payer"))
		if !strings.Contains(out, "tx "+pay.Tx) || !strings.Contains(out, "on chain 250000udeai in 1 actions") || !strings.Contains(out, "log verified") {
			t.Errorf("log text:\n%s", out)
		}
	})

	t.Run("AgentKill", func(t *testing.T) {
		before := h.balance(shop)
		out := h.textOK("agent", "kill", "--agent", "payer")
		if !strings.Contains(out, "kill switch on") {
			t.Errorf("kill: %s", out)
		}
		code, _, errOut := h.run(runOnce...)
		if code != 1 || !strings.Contains(errOut, "kill switch") {
			t.Fatalf("run after kill: exit %d, stderr %q: want exit 1 naming the kill switch", code, errOut)
		}
		if got := h.balance(shop); got != before {
			t.Fatalf("a killed agent moved %d to the shop", got-before)
		}
		if out := h.textOK("agent", "kill", "--agent", "payer", "--resume"); !strings.Contains(out, "kill switch off") {
			t.Errorf("kill --resume: %s", out)
		}
		if _, err := os.Stat(filepath.Join(h.home, "agents", "payer", "KILL")); !os.IsNotExist(err) {
			t.Errorf("KILL after --resume: %v", err)
		}
		var res runResultJSON
		h.jsonOK(&res, runOnce...)
		if res.Run != 1 || res.Steps["pay"].Spent != "250000" {
			t.Errorf("run after resume = %+v", res)
		}
		if got := h.balance(shop) - before; got != 250_000 {
			t.Errorf("after kill and resume the shop got %d, want 250000", got)
		}
		var lg agentLogJSON
		h.jsonOK(&lg, "agent", "log", "--agent", "payer", "--kind", "payment_refused")
		if len(lg.Entries) != 1 || !strings.Contains(lg.Entries[0].Entry.Detail, "kill switch") ||
			!lg.Verified || lg.Totals.OnChain != "500000" || lg.Totals.Actions != 4 {
			t.Errorf("log after kill and resume = %+v: want one refusal, 500000 on chain in 2 transfers and 2 kill actions", lg)
		}
	})

	t.Run("AgentLogBroken", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(h.home, "agents", "payer", "audit.log"))
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.SplitAfter(string(raw), "\n")
		tests := []struct {
			name, want string
			edit       func([]string) []string
		}{
			{"changed", "line 3: hash does not match", func(ls []string) []string {
				// The last digit of line 3's time.
				i := strings.Index(ls[2], `"time_ms":`) + len(`"time_ms":`) + 12
				b := []byte(ls[2])
				b[i] = '0' + (b[i]-'0'+1)%10
				return append(append(append([]string{}, ls[:2]...), string(b)), ls[3:]...)
			}},
			{"removed", "line 3", func(ls []string) []string {
				return append(append([]string{}, ls[:2]...), ls[3:]...)
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := filepath.Join(t.TempDir(), "audit.log")
				if err := os.WriteFile(p, []byte(strings.Join(tt.edit(lines), "")), 0o600); err != nil {
					t.Fatal(err)
				}
				code, out, _ := h.run("agent", "log", p, "-o", "json")
				var lg agentLogJSON
				if err := json.Unmarshal([]byte(out), &lg); err != nil {
					t.Fatalf("log -o json: %q: %v", out, err)
				}
				if code != 1 || lg.Verified || !strings.Contains(lg.Error, "audit log does not verify: "+tt.want) || len(lg.Entries) != 2 {
					t.Errorf("exit %d, log %+v: want exit 1, not verified, %q and the 2 entries before", code, lg, tt.want)
				}
				code, out, _ = h.run("agent", "log", p)
				if code != 1 || !strings.Contains(out, "LOG BROKEN: audit log does not verify: "+tt.want) {
					t.Errorf("text: exit %d:\n%s", code, out)
				}
			})
		}
	})
}

// TestAgentApproveCLI: a transfer above approve_above fails its run and
// waits for the owner; `deai agent approve` lists it, refuses unknown,
// malformed and expired ids, and signs it with the owner's key; a running
// agent (`deai agent run` without --once, triggered over HTTP) applies the
// signature and the next run pays exactly the amount.
func TestAgentApproveCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	t.Setenv(cli.PassphraseEnv, "")
	addrs := freeAddrs(t, 3)
	h := &upHarness{t: t, home: t.TempDir(), rpc: addrs[0], p2p: addrs[1]}
	_, stopUp := h.startUp()
	defer stopUp()
	bot, botPass := h.newKey("bot")
	shop, _ := h.newKey("shop")
	owner, ownerPass := h.newKey("owner")
	h.jsonOK(&struct{}{}, "tx", "send", "--to", bot, "--amount", "5deai")
	var ownerKey struct {
		Address string
		PubKey  string `json:"pub_key"`
	}
	h.jsonOK(&ownerKey, "wallet", "show", "owner")
	if ownerKey.Address != owner || len(ownerKey.PubKey) != 64 {
		t.Fatalf("wallet show owner = %+v", ownerKey)
	}
	listen := strings.TrimPrefix(addrs[2], "tcp://")
	spec := writeSpec(t, "big.yaml", fmt.Sprintf(`name: big
key: bot
budget: {total: 2deai, approve_above: 0.1deai, owner_key: %s}
triggers:
  - http: {listen: %q, path: /go}
steps:
  - id: pay
    transfer: {to: %s, amount: 0.5deai}
`, ownerKey.PubKey, listen, shop))
	approvals := filepath.Join(h.home, "agents", "big", "approvals")
	before := h.balance(shop)

	// The key comes from the file's key:.
	code, out, errOut := h.run("agent", "run", spec, "--passphrase-file", botPass, "--once", "-o", "json")
	var res runResultJSON
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 || !strings.Contains(errOut, "approval") || res.Run != 1 || len(res.Steps) != 0 {
		t.Fatalf("run above approve_above: exit %d, result %q (%v), stderr %q: want exit 1 waiting for approval", code, out, err, errOut)
	}
	var pend []approvalJSON
	h.jsonOK(&pend, "agent", "approve", "--agent", "big")
	if len(pend) != 1 || pend[0].Amount != "500000" || pend[0].Counterparty != shop || !strings.HasPrefix(pend[0].ID, "ap-") ||
		time.Until(pend[0].Expires) < 10*time.Minute {
		t.Fatalf("pending = %+v, want one of 500000 to %s for about 15 minutes", pend, shop)
	}
	if out := h.textOK("agent", "approve", "--agent", "big"); !strings.Contains(out, pend[0].ID) || !strings.Contains(out, "500000udeai") {
		t.Errorf("pending text:\n%s", out)
	}

	asOwner := []string{"--agent", "big", "--from", "owner", "--passphrase-file", ownerPass}
	expired := `{"id":"ap-9-old","counterparty":"` + shop + `","amount":"500000","expires":"2020-01-01T00:00:00Z"}`
	if err := os.WriteFile(filepath.Join(approvals, "ap-9-old.json"), []byte(expired), 0o600); err != nil {
		t.Fatal(err)
	}
	h.fails("no pending approval ap-1-0000000000000000", append([]string{"agent", "approve", "ap-1-0000000000000000"}, asOwner...)...)
	h.fails("malformed", append([]string{"agent", "approve", "../big/x"}, asOwner...)...)
	h.fails("expired at 2020-01-01T00:00:00Z", append([]string{"agent", "approve", "ap-9-old"}, asOwner...)...)
	os.Remove(filepath.Join(approvals, "ap-9-old.json"))

	var signed approvalJSON
	h.jsonOK(&signed, append([]string{"agent", "approve", pend[0].ID}, asOwner...)...)
	if signed.ID != pend[0].ID || signed.Signer != owner || signed.Amount != "500000" {
		t.Errorf("approve = %+v", signed)
	}
	if raw, err := os.ReadFile(filepath.Join(approvals, pend[0].ID+".sig")); err != nil || len(raw) != 129 {
		t.Fatalf("%s.sig = %q, %v: want 64 bytes in hex and a newline", pend[0].ID, raw, err)
	}
	if got := h.balance(shop); got != before {
		t.Fatalf("the shop got %d before the owner approved", got-before)
	}
	// The pending approval is kept in the budget's state, so the next
	// --once run (another process) applies the signature and pays.
	var paid runResultJSON
	h.jsonOK(&paid, "agent", "run", spec, "--passphrase-file", botPass, "--once")
	if got := h.balance(shop) - before; got != 500_000 {
		t.Fatalf("after the approval the shop got %d, want 500000", got)
	}
	if _, err := os.Stat(filepath.Join(approvals, pend[0].ID+".sig")); !os.IsNotExist(err) {
		t.Errorf("the used signature is still there: %v", err)
	}
	before = h.balance(shop)

	// The running agent, triggered over HTTP.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"agent", "run", spec, "--passphrase-file", botPass, "--home", h.home}, strings.NewReader(""), &stdout, &stderr)
	}()
	trigger := func() (int, map[string]any) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := http.Post("http://"+listen+"/go", "text/plain", strings.NewReader("now"))
			if err == nil {
				defer resp.Body.Close()
				raw, _ := io.ReadAll(resp.Body)
				var v map[string]any
				if err := json.Unmarshal(raw, &v); err != nil {
					t.Fatalf("trigger answered %d %q: %v", resp.StatusCode, raw, err)
				}
				return resp.StatusCode, v
			}
			select {
			case code := <-done:
				t.Fatalf("agent run exited %d: %s", code, stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("trigger: %v\nstderr: %s", err, stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	// That approval is used up: the first trigger waits for the owner
	// again.
	status, body := trigger()
	if status != http.StatusForbidden || body["error"] != "approval_required" {
		t.Fatalf("trigger above approve_above: %d %v, want 403 approval_required", status, body)
	}
	h.jsonOK(&pend, "agent", "approve", "--agent", "big")
	var id string
	for _, a := range pend {
		if a.ID != signed.ID {
			id = a.ID
		}
	}
	if id == "" || len(pend) > 2 {
		t.Fatalf("pending after the trigger = %+v", pend)
	}
	h.jsonOK(&signed, append([]string{"agent", "approve", id}, asOwner...)...)
	// The agent takes the signature within a second.
	sig := filepath.Join(approvals, id+".sig")
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(sig); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still there after 10s", sig)
		}
	}
	status, body = trigger()
	if status != http.StatusOK || body["run"] != float64(2) {
		t.Fatalf("trigger after approval: %d %v, want 200 and run 2", status, body)
	}
	if got := h.balance(shop) - before; got != 500_000 {
		t.Errorf("the shop got %d, want 500000", got)
	}
	// The approval is used up: the next run waits again.
	if status, body = trigger(); status != http.StatusForbidden {
		t.Errorf("third trigger: %d %v, want 403", status, body)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("agent run exit %d after cancel: %s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("agent run did not stop 30s after cancel")
	}
	if !strings.Contains(stderr.String(), "agent big (") || !strings.Contains(stderr.String(), "running") {
		t.Errorf("stderr: %s", stderr.String())
	}

	var lg agentLogJSON
	h.jsonOK(&lg, "agent", "log", "--agent", "big")
	var kinds []string
	for _, e := range lg.Entries {
		if k := e.Entry.Kind; k == "approval_pending" || k == "approved" || k == "action" {
			kinds = append(kinds, k)
		}
	}
	if !lg.Verified || lg.Totals.OnChain != "1000000" || lg.Totals.Actions != 2 ||
		!strings.HasSuffix(strings.Join(kinds, ","), "approval_pending,approved,action,approval_pending") {
		t.Errorf("log = verified %v totals %+v kinds %v", lg.Verified, lg.Totals, kinds)
	}
}

// TestAgentRunBadInput: specs and flags that are refused with exit status
// 2 before anything is signed or sent (no node needed).
func TestAgentRunBadInput(t *testing.T) {
	t.Setenv(cli.PassphraseEnv, "")
	h := &upHarness{t: t, home: t.TempDir()}
	const steps = `triggers:
  - every: 1h
steps:
  - value: hi
`
	tests := []struct {
		name, spec string
		args       []string
		want       string
	}{
		{"unknown field", "name: a\nbudget: {total: 1deai}\ncolour: red\n" + steps, nil, `unknown field "colour"`},
		{"no total", "name: a\nbudget: {per_call: 1deai}\n" + steps, nil, "budget.total"},
		{"no key", "name: a\nbudget: {total: 1deai}\n" + steps, nil, "--key NAME or key:"},
		{"bad owner key", "name: a\nkey: k\nbudget: {total: 1deai, approve_above: 1udeai}\n" + steps, nil, "budget.owner_key"},
		{"no steps", "name: a\nbudget: {total: 1deai}\n", []string{"--key", "k"}, "steps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := writeSpec(t, "a.yaml", tt.spec)
			h := &upHarness{t: t, home: h.home}
			h.fails(tt.want, append([]string{"agent", "run", p, "--once"}, tt.args...)...)
		})
	}
	h.fails("--agent NAME or --state DIR", "agent", "log")
	h.fails("not both", "agent", "log", "--agent", "a", "--state", t.TempDir())
	h.fails("not both", "agent", "log", "x.log", "--agent", "a")
	h.fails("malformed", "agent", "approve", `..\x`, "--agent", "a")
	h.fails("no pending approval", "agent", "approve", "ap-1-00", "--agent", "a")
	h.fails("--agent NAME or --state DIR", "agent", "kill")
	var none []approvalJSON
	h.jsonOK(&none, "agent", "approve", "--agent", "a")
	if none == nil || len(none) != 0 {
		t.Errorf("approve without pending = %v, want []", none)
	}
	if code, _, _ := h.run("agent", "log", "--agent", "a"); code == 0 {
		t.Errorf("log of an agent with no log: exit 0")
	}
}
