package cli_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/cli"
)

func TestAuditCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node and a provider")
	}
	t.Setenv(cli.PassphraseEnv, "")
	addrs := freeAddrs(t, 3)
	h := &upHarness{t: t, home: t.TempDir(), rpc: addrs[0], p2p: addrs[1]}
	sum, stopUp := h.startUp()
	defer stopUp()
	dev := sum["dev_address"].(string)
	provAddr, provPass := h.newKey("provider")

	// Signing for an address that is not a provider is refused by the ledger.
	h.fails("code 13 (not_found)", "audit", "sign", provAddr, "tier=gold")
	h.fails("want key=value", "audit", "sign", provAddr, "tier")
	h.fails("provider \"nope\"", "audit", "sign", "nope", "tier=gold")

	h.jsonOK(&struct{}{}, "tx", "send", "--to", provAddr, "--amount", "100deai")
	listen := strings.TrimPrefix(addrs[2], "tcp://")
	h.startProvider(fmt.Sprintf(dockerProviderTOML, listen, "exec", t.TempDir()), "--passphrase-file", provPass, "--exec-allow", "/bin/true")

	var signed struct {
		Code     uint32
		Auditor  string
		Provider string
	}
	h.jsonOK(&signed, "audit", "sign", provAddr, "tier=gold", "region=local")
	if signed.Code != 0 || signed.Auditor != dev || signed.Provider != provAddr {
		t.Fatalf("audit sign = %+v", signed)
	}
	var p struct {
		Owner   string
		Audited []struct {
			Auditor    string
			Attributes []struct{ Key, Value string }
		}
	}
	h.jsonOK(&p, "audit", "list", provAddr)
	if len(p.Audited) != 1 || p.Audited[0].Auditor != dev || len(p.Audited[0].Attributes) != 2 ||
		p.Audited[0].Attributes[0].Key != "region" || p.Audited[0].Attributes[1].Value != "gold" {
		t.Fatalf("audit list = %+v", p)
	}
	if out := h.textOK("audit", "list", provAddr); !strings.Contains(out, "signed by "+dev) || !strings.Contains(out, "tier=gold") {
		t.Errorf("audit list text:\n%s", out)
	}
	h.jsonOK(&struct{}{}, "audit", "revoke", provAddr, "tier")
	h.jsonOK(&p, "audit", "list", provAddr)
	if len(p.Audited) != 1 || len(p.Audited[0].Attributes) != 1 || p.Audited[0].Attributes[0].Key != "region" {
		t.Fatalf("after revoking tier: %+v", p)
	}
}
