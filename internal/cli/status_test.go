package cli_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/cli"
)

// TestStatus runs deai status against a real node: the node's height and
// chain id, the dev account, a created subnet, and a gateway that answers
// (401 without a key counts as up) and one that does not.
func TestStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a node; skipped with -short")
	}
	t.Setenv(cli.PassphraseEnv, "")
	addrs := freeAddrs(t, 3)
	h := &upHarness{t: t, home: t.TempDir(), rpc: addrs[0], p2p: addrs[1]}
	sum, stop := h.startUp()
	defer stop()
	h.jsonOK(&struct{}{}, "subnet", "create", "--name", "tiny stories", "--task", "text-generation", "--digest", testDigest)

	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/models" {
			http.NotFound(w, r)
			return
		}
		http.Error(w, `{"error":{"message":"no key"}}`, http.StatusUnauthorized)
	}))
	defer gw.Close()

	var st struct {
		Node struct {
			ChainID         string    `json:"chain_id"`
			Height          int64     `json:"height"`
			LatestBlockTime time.Time `json:"latest_block_time"`
			CatchingUp      bool      `json:"catching_up"`
			Validator       string    `json:"validator"`
			ValidatorPower  int64     `json:"validator_power"`
		}
		Dev *struct {
			Name, Address, Balance string
		}
		Subnets []struct {
			Netuid  uint16
			Name    string
			Task    string
			Neurons uint16
		}
		Gateway struct {
			URL    string
			Up     bool
			Status int
			Error  string
		}
	}
	h.jsonOK(&st, "status", "--gateway", gw.URL)
	if st.Node.ChainID != "deai-devnet" || st.Node.Height < 2 || st.Node.CatchingUp || st.Node.Validator == "" || st.Node.ValidatorPower <= 0 {
		t.Errorf("node %+v: want deai-devnet, a few blocks, in sync, a validator with power", st.Node)
	}
	if age := time.Since(st.Node.LatestBlockTime); age < 0 || age > time.Minute {
		t.Errorf("latest block time %v is %v old", st.Node.LatestBlockTime, age)
	}
	if st.Dev == nil || st.Dev.Name != "dev" || st.Dev.Address != sum["dev_address"] || st.Dev.Balance == "" || st.Dev.Balance == "0" {
		t.Errorf("dev %+v: want the funded dev account %v", st.Dev, sum["dev_address"])
	}
	if len(st.Subnets) != 1 || st.Subnets[0].Netuid != 1 || st.Subnets[0].Name != "tiny stories" || st.Subnets[0].Task != "text-generation" || st.Subnets[0].Neurons != 0 {
		t.Errorf("subnets %+v: want netuid 1 'tiny stories' with no miners", st.Subnets)
	}
	if !st.Gateway.Up || st.Gateway.Status != http.StatusUnauthorized || st.Gateway.URL != gw.URL {
		t.Errorf("gateway %+v: want up with 401", st.Gateway)
	}

	// Nothing listens on the third address: the gateway is reported down,
	// the command still succeeds; text output names each part.
	code, out, errOut := h.run("status", "--gateway", "http://"+addrs[2])
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"deai-devnet", "in sync", sum["dev_address"].(string), "not answering", "tiny stories"} {
		if !strings.Contains(out, want) {
			t.Errorf("text status lacks %q:\n%s", want, out)
		}
	}
}

// TestStatusNoNode: without a node the command fails and says so.
func TestStatusNoNode(t *testing.T) {
	addrs := freeAddrs(t, 1)
	h := &upHarness{t: t, home: t.TempDir()}
	code, _, errOut := h.run("status", "--node", "tcp://"+addrs[0])
	if code == 0 || !strings.Contains(errOut, "connect to node") {
		t.Errorf("status without a node: exit %d, stderr %q", code, errOut)
	}
}

// TestCompletion: cobra's completion command writes a bash script that
// completes deai's own subcommands.
func TestCompletion(t *testing.T) {
	for _, shell := range []string{"bash", "zsh", "fish", "powershell"} {
		t.Run(shell, func(t *testing.T) {
			h := &upHarness{t: t, home: t.TempDir()}
			code, out, errOut := h.run("completion", shell)
			if code != 0 || !strings.Contains(out, "deai") || len(out) < 500 {
				t.Errorf("completion %s: exit %d, %d bytes, stderr %q", shell, code, len(out), errOut)
			}
		})
	}
	var out, errb strings.Builder
	if code := cli.Run(t.Context(), []string{"__complete", "sta"}, strings.NewReader(""), &out, &errb); code != 0 || !strings.Contains(out.String(), "status") {
		t.Errorf("__complete sta: exit %d, out %q: want status offered", code, out.String())
	}
}
