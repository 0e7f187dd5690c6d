package cli_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/cli"
)

const testDigest = "sha256:7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730"

// newKey creates keystore key name with a passphrase file and returns its
// address and the file.
func (h *upHarness) newKey(name string) (addr, passFile string) {
	h.t.Helper()
	dir := h.t.TempDir()
	passFile = filepath.Join(dir, name+".pass")
	if err := os.WriteFile(passFile, []byte(name+" passphrase\n"), 0o600); err != nil {
		h.t.Fatal(err)
	}
	var k struct{ Address string }
	h.jsonOK(&k, "wallet", "new", name, "--passphrase-file", passFile, "--mnemonic-out", filepath.Join(dir, name+".mnemonic"))
	return k.Address, passFile
}

// rejected runs a command that the ledger must reject: exit 2, and the
// output names want.
func (h *upHarness) rejected(want string, args ...string) {
	h.t.Helper()
	code, out, errOut := h.run(args...)
	if code != 2 || !strings.Contains(out, want) {
		h.t.Errorf("deai %s: exit %d, output %q %q: want exit 2 mentioning %q", strings.Join(args, " "), code, out, errOut, want)
	}
}

type metagraph struct {
	Epoch   uint64
	Neurons []struct {
		UID             uint16
		Hotkey          string
		Stake           string
		Incentive       uint16
		Dividends       uint16
		Emission        string
		ValidatorPermit bool `json:"validator_permit"`
		Endpoint        string
		ModelDigest     string `json:"model_digest"`
		Region          string
		Weights         []struct{ UID, Value uint16 }
	}
}

// waitEpoch polls the metagraph until the subnet's epoch counter reaches n.
func (h *upHarness) waitEpoch(netuid string, n uint64) metagraph {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var mg metagraph
		h.jsonOK(&mg, "subnet", "metagraph", netuid)
		if mg.Epoch >= n {
			return mg
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("subnet %s still at epoch %d after 60s, want %d", netuid, mg.Epoch, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestSubnetCLI drives a subnet through the CLI against a real node: create,
// params, register, serve, stake, weights, an epoch, the metagraph, commit
// and reveal, and the ledger's rejections.
func TestSubnetCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node for several epochs")
	}
	t.Setenv(cli.PassphraseEnv, "")
	addrs := freeAddrs(t, 2)
	h := &upHarness{t: t, home: t.TempDir(), rpc: addrs[0], p2p: addrs[1]}
	sum, stop := h.startUp()
	defer stop()
	dev := sum["dev_address"].(string)

	var created struct {
		Code   uint32
		Netuid uint16
		Signer string
	}
	h.jsonOK(&created, "subnet", "create", "--name", "tiny stories", "--task", "text-generation", "--digest", testDigest)
	if created.Code != 0 || created.Netuid != 1 || created.Signer != dev {
		t.Fatalf("create = %+v", created)
	}
	var list []struct {
		Netuid   uint16
		Name     string
		TaskType string `json:"task_type"`
	}
	h.jsonOK(&list, "subnet", "list")
	if len(list) != 1 || list[0].Name != "tiny stories" || list[0].TaskType != "text-generation" {
		t.Fatalf("list = %+v", list)
	}
	if code, out, _ := h.run("subnet", "list"); code != 0 || !strings.Contains(out, "tiny stories") {
		t.Errorf("list text: %d %q", code, out)
	}
	h.jsonOK(&struct{}{}, "subnet", "params", "set", "1", "--tempo", "10", "--activity-cutoff", "200",
		"--weights-rate-limit", "0", "--commit-reveal=false")
	var params struct {
		Tempo        uint64
		CommitReveal bool   `json:"commit_reveal"`
		MaxUIDs      uint16 `json:"max_uids"`
	}
	h.jsonOK(&params, "subnet", "params", "show", "1")
	if params.Tempo != 10 || params.CommitReveal || params.MaxUIDs != 256 {
		t.Fatalf("params after set: %+v", params)
	}

	// The owner registers and stakes; bob, funded by dev, registers as a
	// miner and serves; carol cannot afford the registration price.
	var reg struct {
		Code uint32
		UID  *uint16
		Burn string
	}
	h.jsonOK(&reg, "subnet", "register", "1")
	if reg.Code != 0 || reg.UID == nil || *reg.UID != 0 || reg.Burn == "" {
		t.Fatalf("register dev = %+v", reg)
	}
	bob, bobPass := h.newKey("bob")
	carol, carolPass := h.newKey("carol")
	h.jsonOK(&struct{}{}, "tx", "send", "--to", bob, "--amount", "10deai")
	h.jsonOK(&struct{}{}, "tx", "send", "--to", carol, "--amount", "0.01deai")
	reg.UID = nil
	h.jsonOK(&reg, "subnet", "register", "1", "--from", "bob", "--passphrase-file", bobPass)
	if reg.UID == nil || *reg.UID != 1 {
		t.Fatalf("register bob = %+v", reg)
	}
	h.rejected("insufficient funds", "subnet", "register", "1", "--from", "carol", "--passphrase-file", carolPass)
	h.jsonOK(&struct{}{}, "subnet", "serve", "1", "--from", "bob", "--passphrase-file", bobPass,
		"--endpoint", "http://127.0.0.1:9000/v1", "--digest", testDigest, "--region", "local")
	h.jsonOK(&struct{}{}, "subnet", "stake", "add", "1", "--amount", "100deai")

	// The owner needs no permit: it weights bob's uid.
	h.jsonOK(&struct{}{}, "subnet", "set-weights", "1", "--uids", "1", "--weights", "65535")
	h.rejected("uid 5", "subnet", "set-weights", "1", "--uids", "1,5", "--weights", "1,1")
	h.rejected("rate_limited", "subnet", "serve", "1", "--from", "bob", "--passphrase-file", bobPass,
		"--endpoint", "http://127.0.0.1:9001", "--digest", testDigest)
	h.rejected("unauthorized", "subnet", "params", "set", "1", "--tempo", "20", "--from", "bob", "--passphrase-file", bobPass)
	h.rejected("no validator permit", "subnet", "set-weights", "1", "--uids", "0", "--weights", "1", "--from", "bob", "--passphrase-file", bobPass)
	for _, bad := range [][]string{
		{"subnet", "params", "set", "1", "--tempo", "5"},                               // out of bounds: refused before signing
		{"subnet", "params", "set", "1"},                                               // nothing to change
		{"subnet", "set-weights", "1", "--uids", "1,2", "--weights", "1"},              // length mismatch
		{"subnet", "set-weights", "1", "--uids", "1", "--weights", "0"},                // all zero
		{"subnet", "serve", "1", "--endpoint", "ftp://x", "--digest", testDigest},      // bad URL
		{"subnet", "show", "0"},                                                        // bad netuid
		{"subnet", "show", "9"},                                                        // no such subnet
		{"subnet", "create", "--name", "x", "--digest", "abc"},                         // bad digest
		{"subnet", "reveal-weights", "1", "--uids", "1", "--weights", "1"},             // no salt
		{"subnet", "stake", "remove", "1", "--amount", "1deai", "--hotkey", "deai1xx"}, // bad hotkey
	} {
		if code, _, errOut := h.run(bad...); code == 0 || errOut == "" {
			t.Errorf("deai %v: exit %d, stderr %q: want a clear error", bad, code, errOut)
		}
	}

	// After an epoch the metagraph shows bob earning the miner incentive.
	mg := h.waitEpoch("1", 2)
	if len(mg.Neurons) != 2 {
		t.Fatalf("metagraph %+v", mg)
	}
	owner, miner := mg.Neurons[0], mg.Neurons[1]
	if owner.Hotkey != dev || owner.Stake != "100000000" || !owner.ValidatorPermit || len(owner.Weights) != 1 {
		t.Errorf("owner uid %+v", owner)
	}
	if miner.Hotkey != bob || miner.Incentive != 65535 || miner.Emission == "0" || miner.Endpoint != "http://127.0.0.1:9000/v1" ||
		miner.ModelDigest != strings.TrimPrefix(testDigest, "sha256:") || miner.Region != "local" {
		t.Errorf("miner uid %+v", miner)
	}
	if code, out, _ := h.run("subnet", "metagraph", "1"); code != 0 || !strings.Contains(out, bob) || !strings.Contains(out, "CONSENSUS") {
		t.Errorf("metagraph text: %d %q", code, out)
	}
	if code, out, _ := h.run("subnet", "show", "1"); code != 0 || !strings.Contains(out, "tempo") || !strings.Contains(out, "7d865e95") {
		t.Errorf("show text: %d %q", code, out)
	}
	var si struct{ Total string }
	h.jsonOK(&si, "subnet", "stake", "show", "1", dev)
	if si.Total != "100000000" {
		t.Errorf("stake show %+v", si)
	}
	var sup struct{ Minted, Burned string }
	h.jsonOK(&sup, "query", "supply")
	if sup.Minted == "0" {
		t.Errorf("supply %+v: nothing minted after two epochs", sup)
	}

	// Commit-reveal: the reveal waits for the next epoch.
	h.jsonOK(&struct{}{}, "subnet", "params", "set", "1", "--commit-reveal")
	var commit struct {
		Code       uint32
		Salt       string
		CommitHash string `json:"commit_hash"`
	}
	h.jsonOK(&commit, "subnet", "commit-weights", "1", "--uids", "1", "--weights", "7")
	if commit.Code != 0 || len(commit.Salt) != 64 || len(commit.CommitHash) != 64 {
		t.Fatalf("commit = %+v", commit)
	}
	var now struct{ Epoch uint64 }
	h.jsonOK(&now, "subnet", "show", "1")
	h.rejected("rate_limited", "subnet", "reveal-weights", "1", "--uids", "1", "--weights", "7", "--salt", commit.Salt)
	h.waitEpoch("1", now.Epoch+1)
	h.rejected("matches none", "subnet", "reveal-weights", "1", "--uids", "1", "--weights", "8", "--salt", commit.Salt)
	h.jsonOK(&struct{}{}, "subnet", "reveal-weights", "1", "--uids", "1", "--weights", "7", "--salt", commit.Salt)
}

// TestSubnetEpochSim runs the epoch simulator on the yuma package's golden
// inputs.
func TestSubnetEpochSim(t *testing.T) {
	for _, name := range []string{"v2_three_epochs", "yuma3_liquid_alpha", "no_weights_permits"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("..", "ledger", "yuma", "testdata", "sim")
			var out, errb bytes.Buffer
			code := cli.Run(t.Context(), []string{"subnet", "epoch-sim", "--in", filepath.Join(dir, name+".in.json")}, strings.NewReader(""), &out, &errb)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errb.String())
			}
			want, err := os.ReadFile(filepath.Join(dir, name+".out.json"))
			if err != nil {
				t.Fatal(err)
			}
			var got, exp any
			if err := json.Unmarshal(out.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(want, &exp); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, exp) {
				t.Errorf("output differs from %s.out.json:\n%s", name, out.String())
			}
		})
	}
	in, err := os.ReadFile(filepath.Join("..", "ledger", "yuma", "testdata", "sim", "v2_three_epochs.in.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := cli.Run(t.Context(), []string{"subnet", "epoch-sim", "--in", "-"}, bytes.NewReader(in), &out, &errb); code != 0 || !strings.HasPrefix(out.String(), `{"epochs":`) {
		t.Errorf("stdin: exit %d %q %q", code, out.String(), errb.String())
	}
	if code := cli.Run(t.Context(), []string{"subnet", "epoch-sim", "--in", "-"}, strings.NewReader(`{"n": 2}`), &out, &errb); code == 0 {
		t.Error("bad input accepted")
	}
}
