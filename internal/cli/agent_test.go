package cli_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/cli"
)

type agentServiceJSON struct {
	Name         string
	Owner        string
	Endpoint     string
	Price        string
	SchemaDigest string `json:"schema_digest"`
	Capabilities []string
	Description  string
	Expiry       uint64
}

// balance returns addr's balance in udeai.
func (h *upHarness) balance(addr string) uint64 {
	h.t.Helper()
	var bal struct{ Balance string }
	h.jsonOK(&bal, "query", "balance", addr)
	n, err := strconv.ParseUint(bal.Balance, 10, 64)
	if err != nil {
		h.t.Fatalf("balance of %s = %q: %v", addr, bal.Balance, err)
	}
	return n
}

func findNames(ss []agentServiceJSON) string {
	var names []string
	for _, s := range ss {
		names = append(names, s.Name)
	}
	return strings.Join(names, ",")
}

// TestAgentRegistryCLI drives the service registry through the CLI on a
// real node: register by two owners, discovery by price, capability and
// owner, show, update, renew, deregister, and the refusals.
func TestAgentRegistryCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	t.Setenv(cli.PassphraseEnv, "")
	addrs := freeAddrs(t, 2)
	h := &upHarness{t: t, home: t.TempDir(), rpc: addrs[0], p2p: addrs[1]}
	_, stopUp := h.startUp()
	defer stopUp()
	alice, alicePass := h.newKey("alice")
	h.jsonOK(&struct{}{}, "tx", "send", "--to", alice, "--amount", "10deai")
	asAlice := []string{"--from", "alice", "--passphrase-file", alicePass}

	schema := filepath.Join(t.TempDir(), "schema.json")
	if err := os.WriteFile(schema, []byte(`{"type":"object"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	sum256 := sha256.Sum256([]byte(`{"type":"object"}`))
	digest := hex.EncodeToString(sum256[:])

	// Bad input is refused before anything is sent.
	h.fails("service name", "agent", "register", "Bad_Name", "--endpoint", "http://127.0.0.1:9", "--price", "1udeai", "--schema-digest", digest)
	h.fails("--schema FILE or --schema-digest", "agent", "register", "x.acme", "--endpoint", "http://127.0.0.1:9", "--price", "1udeai")
	h.fails("--price", "agent", "register", "x.acme", "--endpoint", "http://127.0.0.1:9", "--price", "5", "--schema-digest", digest)
	h.fails("--schema-digest", "agent", "register", "x.acme", "--endpoint", "http://127.0.0.1:9", "--price", "1udeai", "--schema-digest", "abc")

	var reg struct {
		Code   uint32
		Name   string
		Owner  string
		Expiry uint64
		Height int64
		Fee    string
	}
	// --blocks counts from the latest height when the tx was built, a
	// block or two before the one it landed in; the fee is for the blocks
	// from there.
	h.jsonOK(&reg, append([]string{"agent", "register", "summarize.acme", "--endpoint", "http://127.0.0.1:9/v1", "--price", "0.002deai",
		"--schema", schema, "--capability", "text", "--capability", "llm/summarize", "--description", "summaries", "--blocks", "1000"}, asAlice...)...)
	if reg.Code != 0 || reg.Owner != alice || reg.Fee != strconv.FormatUint(reg.Expiry-uint64(reg.Height), 10)+"udeai" || reg.Expiry < uint64(reg.Height)+990 || reg.Expiry > uint64(reg.Height)+1000 {
		t.Fatalf("register = %+v", reg)
	}
	h.jsonOK(&reg, "agent", "register", "fetch.acme", "--endpoint", "http://127.0.0.1:9/fetch", "--price", "1000udeai",
		"--schema-digest", "sha256:"+digest, "--capability", "data/fetch")

	// A taken name is refused by the ledger, with its reason.
	h.fails("is taken by "+alice, "agent", "register", "summarize.acme", "--endpoint", "http://127.0.0.1:9", "--price", "1udeai", "--schema-digest", digest)

	var sv agentServiceJSON
	h.jsonOK(&sv, "agent", "show", "summarize.acme")
	if sv.Owner != alice || sv.Price != "2000" || sv.SchemaDigest != digest || strings.Join(sv.Capabilities, ",") != "llm/summarize,text" || sv.Description != "summaries" {
		t.Fatalf("show = %+v", sv)
	}
	if out := h.textOK("agent", "show", "summarize.acme"); !strings.Contains(out, "0.002deai per call") {
		t.Errorf("show text:\n%s", out)
	}

	var found []agentServiceJSON
	h.jsonOK(&found, "agent", "find")
	if got := findNames(found); got != "fetch.acme,summarize.acme" {
		t.Errorf("find = %s, want fetch.acme then summarize.acme (by price)", got)
	}
	h.jsonOK(&found, "agent", "find", "--capability", "llm/summarize")
	if got := findNames(found); got != "summarize.acme" {
		t.Errorf("find --capability llm/summarize = %s", got)
	}
	h.jsonOK(&found, "agent", "find", "--max-price", "0.0015deai")
	if got := findNames(found); got != "fetch.acme" {
		t.Errorf("find --max-price 0.0015deai = %s", got)
	}
	h.jsonOK(&found, "agent", "find", "--owner", alice)
	if got := findNames(found); got != "summarize.acme" {
		t.Errorf("find --owner alice = %s", got)
	}
	if out := h.textOK("agent", "find"); !strings.Contains(out, "NAME") || strings.Index(out, "fetch.acme") > strings.Index(out, "summarize.acme") {
		t.Errorf("find text:\n%s", out)
	}
	h.fails("capability", "agent", "find", "--capability", "Bad Tag")

	// Update changes only what is given; another owner may not update.
	h.jsonOK(&reg, append([]string{"agent", "update", "summarize.acme", "--price", "500udeai"}, asAlice...)...)
	h.jsonOK(&sv, "agent", "show", "summarize.acme")
	if sv.Price != "500" || sv.Endpoint != "http://127.0.0.1:9/v1" || sv.SchemaDigest != digest || len(sv.Capabilities) != 2 {
		t.Fatalf("after update: %+v", sv)
	}
	h.jsonOK(&found, "agent", "find")
	if got := findNames(found); got != "summarize.acme,fetch.acme" {
		t.Errorf("find after the price cut = %s", got)
	}
	h.fails("belongs to "+alice, "agent", "update", "summarize.acme", "--price", "1udeai")

	before := sv.Expiry
	h.jsonOK(&reg, append([]string{"agent", "renew", "summarize.acme", "--blocks", "50"}, asAlice...)...)
	h.jsonOK(&sv, "agent", "show", "summarize.acme")
	if sv.Expiry != before+50 || reg.Expiry != before+50 || reg.Fee != "50udeai" {
		t.Errorf("renew: expiry %d (result %+v), want %d", sv.Expiry, reg, before+50)
	}

	h.jsonOK(&reg, append([]string{"agent", "deregister", "summarize.acme"}, asAlice...)...)
	if code, _, errOut := h.run("agent", "show", "summarize.acme"); code == 0 || !strings.Contains(errOut, "not registered") {
		t.Errorf("show after deregister: exit %d, %s", code, errOut)
	}
	h.jsonOK(&found, "agent", "find")
	if got := findNames(found); got != "fetch.acme" {
		t.Errorf("find after deregister = %s", got)
	}
}

type permissionJSON struct {
	Owner           string
	Agent           string
	Allowance       string
	PeriodBlocks    uint64 `json:"period_blocks"`
	Active          bool
	Revoked         bool
	PeriodRemaining string `json:"period_remaining"`
	TotalRemaining  string `json:"total_remaining"`
	NextPeriodAt    uint64 `json:"next_period_at"`
	Expiry          uint64
	Spendable       string
}

// TestAgentSpendCLI grants an agent key a spend permission, spends within
// it, is refused above the per-call max and the period allowance, and is
// refused after the kill switch.
func TestAgentSpendCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	t.Setenv(cli.PassphraseEnv, "")
	addrs := freeAddrs(t, 2)
	h := &upHarness{t: t, home: t.TempDir(), rpc: addrs[0], p2p: addrs[1]}
	sum, stopUp := h.startUp()
	defer stopUp()
	dev := sum["dev_address"].(string)
	bot, botPass := h.newKey("bot")
	shop, _ := h.newKey("shop")
	h.jsonOK(&struct{}{}, "tx", "send", "--to", bot, "--amount", "1deai")
	asBot := []string{"--from", "bot", "--passphrase-file", botPass}

	h.fails("--period", "agent", "grant", bot, "--allowance", "3deai", "--period", "soon")
	h.fails("agent \"nope\"", "agent", "grant", "nope", "--allowance", "3deai", "--period", "10")
	h.fails("--allowance", "agent", "grant", bot, "--allowance", "3", "--period", "10")

	var g struct {
		Code   uint32
		Owner  string
		Agent  string
		Expiry uint64
		Height int64
	}
	h.jsonOK(&g, "agent", "grant", bot, "--allowance", "3deai", "--period", "1h", "--per-call-max", "2deai", "--total-cap", "10deai", "--expires-in", "1000")
	// --expires-in counts from the latest height when the tx was built,
	// a block or two before the one it landed in.
	if g.Code != 0 || g.Owner != dev || g.Agent != bot || g.Expiry < uint64(g.Height)+990 || g.Expiry > uint64(g.Height)+1000 {
		t.Fatalf("grant = %+v", g)
	}
	var p permissionJSON
	h.jsonOK(&p, "agent", "permission", dev, bot)
	// 1h at 200ms blocks is 18,000 blocks; allow for the first blocks'
	// uneven times.
	if !p.Active || p.Allowance != "3000000" || p.PeriodRemaining != "3000000" || p.TotalRemaining != "10000000" || p.Spendable != "2000000" ||
		p.PeriodBlocks < 6000 || p.PeriodBlocks > 40000 {
		t.Fatalf("permission = %+v", p)
	}
	if out := h.textOK("agent", "permission", dev, bot); !strings.Contains(out, "3deai per") || !strings.Contains(out, "next period at") {
		t.Errorf("permission text:\n%s", out)
	}

	// Days convert with the same block time; no --total-cap means none.
	bot2, _ := h.newKey("bot2")
	h.fails("--period 0", "agent", "grant", bot2, "--allowance", "1deai", "--period", "0")
	h.jsonOK(&g, "agent", "grant", bot2, "--allowance", "1deai", "--period", "1d", "--expires-in", "2d12h")
	var p2 permissionJSON
	h.jsonOK(&p2, "agent", "permission", dev, bot2)
	if p2.PeriodBlocks < 24*p.PeriodBlocks*2/3 || p2.PeriodBlocks > 24*p.PeriodBlocks*3/2 ||
		p2.Expiry < uint64(g.Height)+p2.PeriodBlocks*2 || p2.TotalRemaining != "18446744073709551615" {
		t.Errorf("grant --period 1d --expires-in 2d12h = %+v (1h was %d blocks)", p2, p.PeriodBlocks)
	}
	if out := h.textOK("agent", "permission", dev, bot2); !strings.Contains(out, "total cap         none") {
		t.Errorf("permission text without a total cap:\n%s", out)
	}

	devBefore, shopBefore := h.balance(dev), h.balance(shop)
	h.jsonOK(&struct{}{}, append([]string{"agent", "spend", "--owner", dev, "--to", shop, "1.5deai"}, asBot...)...)
	if d, s := devBefore-h.balance(dev), h.balance(shop)-shopBefore; d != 1_500_000 || s != 1_500_000 {
		t.Errorf("spend of 1.5deai moved %d from the owner and %d to the shop", d, s)
	}
	h.jsonOK(&p, "agent", "permission", dev, bot)
	if p.PeriodRemaining != "1500000" || p.TotalRemaining != "8500000" {
		t.Errorf("permission after spending 1.5deai = %+v", p)
	}

	// The agent opens and tops up a payment channel with the owner's
	// funds: the owner is its funder, the permission counts the debits.
	var opened struct {
		Channel string
		Owner   string
	}
	h.jsonOK(&opened, append([]string{"paych", "open", shop, "--deposit", "0.5deai", "--via-owner", dev}, asBot...)...)
	if opened.Owner != dev {
		t.Errorf("paych open --via-owner: funder %s, want the owner %s", opened.Owner, dev)
	}
	h.jsonOK(&struct{}{}, append([]string{"paych", "topup", opened.Channel, "0.25deai", "--via-owner", dev}, asBot...)...)
	var ch struct{ Balance, Funder, From string }
	h.jsonOK(&ch, "paych", "show", opened.Channel)
	if ch.Balance != "750000" || ch.Funder != dev || ch.From != bot {
		t.Errorf("channel funded through the permission = %+v", ch)
	}
	h.jsonOK(&p, "agent", "permission", dev, bot)
	if p.PeriodRemaining != "750000" {
		t.Errorf("period remaining after 1.5deai spent and 0.75deai into a channel = %s, want 750000", p.PeriodRemaining)
	}

	h.fails("exceeds the per-call max", append([]string{"agent", "spend", "--owner", dev, "--to", shop, "2.5deai"}, asBot...)...)
	h.fails("(rate_limited)", append([]string{"agent", "spend", "--owner", dev, "--to", shop, "0.8deai"}, asBot...)...)
	if got := h.balance(shop) - shopBefore; got != 1_500_000 {
		t.Errorf("refused spends moved money: shop got %d", got)
	}

	h.jsonOK(&struct{}{}, "agent", "revoke", bot)
	h.jsonOK(&p, "agent", "permission", dev, bot)
	if p.Active || !p.Revoked || p.Spendable != "0" {
		t.Errorf("permission after revoke = %+v", p)
	}
	h.fails("was revoked at height", append([]string{"agent", "spend", "--owner", dev, "--to", shop, "0.1deai"}, asBot...)...)
}
