package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/cli"
)

// paychSettleDelay is the settle delay of the test chain: its genesis
// lowers the minimum from 900 blocks so that the window passes in about a
// second of 200ms blocks.
const paychSettleDelay = 5

// initShortSettleHome writes a home with `deai init` and sets the paych
// module's genesis params to allow a settle delay of paychSettleDelay.
func (h *upHarness) initShortSettleHome() {
	h.t.Helper()
	h.jsonOK(&struct{}{}, "init", "--rpc-addr", h.rpc, "--p2p-addr", h.p2p, "--block-time", "200ms")
	path := filepath.Join(h.home, "config", "genesis.json")
	b, err := os.ReadFile(path)
	if err != nil {
		h.t.Fatal(err)
	}
	var g map[string]json.RawMessage
	if err := json.Unmarshal(b, &g); err != nil {
		h.t.Fatal(err)
	}
	var app map[string]any
	if err := json.Unmarshal(g["app_state"], &app); err != nil {
		h.t.Fatal(err)
	}
	app["modules"] = map[string]any{"paych": map[string]any{"params": map[string]any{
		"min_settle_delay": paychSettleDelay, "max_settle_delay": 2_592_000, "min_deposit": "1000", "max_lanes": 1024,
	}}}
	if g["app_state"], err = json.Marshal(app); err != nil {
		h.t.Fatal(err)
	}
	if b, err = json.MarshalIndent(g, "", "  "); err != nil {
		h.t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		h.t.Fatal(err)
	}
}

type channelJSON struct {
	ID         string
	State      string
	Balance    string
	Redeemed   string
	Refunded   string
	Escrowed   string
	SettlingAt uint64 `json:"settling_at"`
	AsOf       uint64 `json:"as_of"`
	Settled    bool
	LaneList   []struct {
		Lane     uint32
		Nonce    uint64
		Redeemed string
	} `json:"lane_list"`
}

// minFee is the devnet genesis's minimum fee, what every tx here pays.
const minFee = 1000

// TestPaychCLI drives a payment channel through the CLI on a real node:
// open, vouchers signed by the payer and redeemed by the payee, a replayed
// and a stale voucher refused, settle, collect refused inside the window
// and allowed after it.
func TestPaychCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	t.Setenv(cli.PassphraseEnv, "")
	addrs := freeAddrs(t, 2)
	h := &upHarness{t: t, home: t.TempDir(), rpc: addrs[0], p2p: addrs[1]}
	h.initShortSettleHome()
	sum, stopUp := h.startUp()
	defer stopUp()
	dev := sum["dev_address"].(string)
	payee, payeePass := h.newKey("payee")
	h.jsonOK(&struct{}{}, "tx", "send", "--to", payee, "--amount", "1deai")
	asPayee := []string{"--from", "payee", "--passphrase-file", payeePass}

	h.fails("--deposit", "paych", "open", payee, "--deposit", "5")
	h.fails("payee \"nope\"", "paych", "open", "nope", "--deposit", "5deai")
	h.fails("settle delay of 2 blocks, want 5", "paych", "open", payee, "--deposit", "5deai", "--settle-delay", "2")

	var opened struct {
		Code    uint32
		Channel string
		To      string
		Owner   string
	}
	h.jsonOK(&opened, "paych", "open", payee, "--deposit", "5deai", "--settle-delay", "5")
	id := opened.Channel
	if opened.Code != 0 || len(id) != 64 || opened.To != payee || opened.Owner != dev {
		t.Fatalf("open = %+v", opened)
	}
	var ch channelJSON
	h.jsonOK(&ch, "paych", "show", id)
	if ch.ID != id || ch.State != "open" || ch.Balance != "5000000" || ch.Redeemed != "0" || ch.Escrowed != "5000000" || len(ch.LaneList) != 0 {
		t.Fatalf("show after open = %+v", ch)
	}
	var top struct {
		Code    uint32
		Channel string
	}
	h.jsonOK(&top, "paych", "topup", id, "1deai")
	h.jsonOK(&ch, "paych", "show", id)
	if top.Channel != id || ch.Balance != "6000000" || ch.Escrowed != "6000000" {
		t.Fatalf("show after a 1deai top-up = %+v", ch)
	}
	h.fails("amount", "paych", "topup", id, "1")
	var list []channelJSON
	h.jsonOK(&list, "paych", "list", "--from", dev)
	if len(list) != 1 || list[0].ID != id {
		t.Errorf("list --from dev = %+v", list)
	}
	h.jsonOK(&list, "paych", "list", "--to", payee, "--state", "open")
	if len(list) != 1 || list[0].ID != id {
		t.Errorf("list --to payee = %+v", list)
	}
	h.fails("give one of", "paych", "list", "--from", dev, "--to", payee)

	var v1, v2 struct {
		Encoded string
		Nonce   uint64
		Amount  string
		Channel string
	}
	h.jsonOK(&v1, "paych", "voucher", id, "--lane", "0", "--nonce", "1", "--amount", "0.5deai")
	h.jsonOK(&v2, "paych", "voucher", id, "--lane", "0", "--nonce", "2", "--amount", "1deai")
	if v2.Nonce != 2 || v2.Amount != "1000000" || v2.Channel != id || v2.Encoded == "" {
		t.Fatalf("voucher = %+v", v2)
	}
	if out := strings.TrimSpace(h.textOK("paych", "voucher", id, "--lane", "0", "--nonce", "2", "--amount", "1deai")); out != v2.Encoded {
		t.Errorf("voucher text %q, want the encoding %q (ed25519 signatures are deterministic)", out, v2.Encoded)
	}
	h.fails("channel id", "paych", "voucher", "abc", "--nonce", "1", "--amount", "1deai")
	h.fails("--nonce", "paych", "voucher", id, "--amount", "1deai")
	h.fails("pays from "+dev, append([]string{"paych", "voucher", id, "--nonce", "3", "--amount", "2deai"}, asPayee...)...)
	h.fails("not base64", append([]string{"paych", "redeem", "!!"}, asPayee...)...)

	before := h.balance(payee)
	var red struct {
		Code     uint32
		Paid     string
		Redeemed string
	}
	h.jsonOK(&red, append([]string{"paych", "redeem", v2.Encoded}, asPayee...)...)
	if got := h.balance(payee) - before; red.Paid != "1000000udeai" || got != 1_000_000-minFee {
		t.Errorf("redeem = %+v, payee balance +%d: want paid 1deai, +%d after the fee", red, got, 1_000_000-minFee)
	}
	h.fails("replayed voucher", append([]string{"paych", "redeem", v2.Encoded}, asPayee...)...)
	h.fails("stale voucher", append([]string{"paych", "redeem", v1.Encoded}, asPayee...)...)
	h.jsonOK(&ch, "paych", "show", id)
	if ch.Redeemed != "1000000" || ch.Escrowed != "5000000" || len(ch.LaneList) != 1 || ch.LaneList[0].Nonce != 2 || ch.LaneList[0].Redeemed != "1000000" {
		t.Fatalf("show after redeem = %+v", ch)
	}

	var settle struct {
		Code       uint32
		Height     int64
		SettlingAt uint64 `json:"settling_at"`
	}
	h.jsonOK(&settle, "paych", "settle", id)
	if settle.SettlingAt != uint64(settle.Height)+paychSettleDelay {
		t.Fatalf("settle = %+v, want settling at its height + %d", settle, paychSettleDelay)
	}
	h.fails("(rate_limited)", "paych", "collect", id)
	h.jsonOK(&ch, "paych", "show", id)
	if ch.State != "settling" || ch.SettlingAt != settle.SettlingAt {
		t.Fatalf("show while settling = %+v", ch)
	}
	for deadline := time.Now().Add(20 * time.Second); !ch.Settled; time.Sleep(200 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("channel not settled after 20s: %+v", ch)
		}
		h.jsonOK(&ch, "paych", "show", id)
	}
	devBefore := h.balance(dev)
	var coll struct {
		Code   uint32
		Refund string
	}
	h.jsonOK(&coll, "paych", "collect", id)
	if got := h.balance(dev) - devBefore; coll.Refund != "5000000udeai" || got != 5_000_000-minFee {
		t.Errorf("collect = %+v, funder balance +%d: want a refund of 5deai, +%d after the fee", coll, got, 5_000_000-minFee)
	}
	h.jsonOK(&ch, "paych", "show", id)
	if ch.State != "closed" || ch.Refunded != "5000000" || ch.Escrowed != "0" {
		t.Errorf("show after collect = %+v", ch)
	}
	if out := h.textOK("paych", "show", id); !strings.Contains(out, "closed") || !strings.Contains(out, "refunded 5deai") {
		t.Errorf("show text:\n%s", out)
	}
}
