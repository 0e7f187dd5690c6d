package cli_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/cli"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
	"github.com/deai-network/deai/internal/wire"
)

const modelPath = "../../../shared/models/stories260K.gguf"

// TestMinerCLI is the smoke test of `deai miner` against a real node: it
// registers its hotkey (paying the burn), publishes its endpoint and the
// model's digest, answers a request signed by a staked hotkey with a valid
// receipt, and exits 0 when its context is cancelled.
func TestMinerCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	t.Setenv(cli.PassphraseEnv, "")
	model, err := os.ReadFile(modelPath)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(model)
	digest := hex.EncodeToString(sum[:])

	addrs := freeAddrs(t, 2)
	h := &upHarness{t: t, home: t.TempDir(), rpc: addrs[0], p2p: addrs[1]}
	_, stop := h.startUp()
	defer stop()

	h.jsonOK(&struct{}{}, "subnet", "create", "--name", "stories", "--task", "text-generation", "--digest", digest)
	miner, minerPass := h.newKey("miner")
	gw, gwPass := h.newKey("gw")
	h.jsonOK(&struct{}{}, "tx", "send", "--to", miner, "--amount", "10deai")
	h.jsonOK(&struct{}{}, "tx", "send", "--to", gw, "--amount", "10deai")
	// gw is a staked caller (a validator or gateway): the miner serves only
	// hotkeys with stake on the subnet.
	h.jsonOK(&struct{}{}, "subnet", "register", "1", "--from", "gw", "--passphrase-file", gwPass)
	h.jsonOK(&struct{}{}, "subnet", "stake", "add", "1", "--amount", "10deai", "--hotkey", gw)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Run(ctx, []string{"miner", "--home", h.home, "--subnet", "1", "--hotkey", "miner", "--passphrase-file", minerPass,
			"--model", modelPath, "--addr", "127.0.0.1:0", "--region", "local", "--max-concurrent", "2"}, strings.NewReader(""), &out, &errb)
	}()

	// The miner registers and publishes its endpoint.
	var endpoint string
	deadline := time.Now().Add(60 * time.Second)
	for endpoint == "" {
		select {
		case code := <-done:
			t.Fatalf("deai miner exited early with %d: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("miner published no endpoint in 60s; stderr: %s", errb.String())
		}
		var mg metagraph
		h.jsonOK(&mg, "subnet", "metagraph", "1")
		for _, n := range mg.Neurons {
			if n.Hotkey == miner && n.Endpoint != "" {
				if n.ModelDigest != digest || n.Region != "local" {
					t.Errorf("miner neuron %+v: want digest %s and region local", n, digest)
				}
				endpoint = n.Endpoint
			}
		}
		time.Sleep(100 * time.Millisecond)
	}

	ks, err := wallet.Open(filepath.Join(h.home, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	gwKey, err := ks.Load("gw", []byte("gw passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	minerAddr, err := tx.ParseAddress(miner)
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"prompt":"Once upon a time","max_tokens":8,"temperature":0}`)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, endpoint+"/v1/completions", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	wire.Sign(req, body, gwKey, minerAddr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !strings.Contains(string(respBody), `"text"`) {
		t.Fatalf("signed completion: %d %s %v", resp.StatusCode, respBody, err)
	}
	rc, err := wire.CheckResponse(resp, body, respBody, minerAddr)
	if err != nil {
		t.Fatalf("receipt: %v", err)
	}
	if rc.ModelDigest != digest || rc.Netuid != 1 || rc.CompletionTokens == 0 {
		t.Errorf("receipt %+v: want subnet 1, digest %s and completion tokens", rc, digest)
	}

	// An unsigned request is refused.
	resp, err = http.Post(endpoint+"/v1/completions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Error("unsigned request served")
	}

	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("deai miner exit %d after cancel; stderr: %s", code, errb.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("deai miner did not stop within 60s of cancel")
	}
	if !strings.Contains(errb.String(), "listening on http://127.0.0.1:") {
		t.Errorf("stderr %q: want the listening address", errb.String())
	}

	// deai validator opens its hotkey, its model and the node, and refuses
	// a hotkey that is not registered on the subnet.
	_, idlePass := h.newKey("idle")
	code, _, errOut := h.run("validator", "--subnet", "1", "--hotkey", "idle", "--passphrase-file", idlePass, "--model", modelPath)
	if code == 0 || !strings.Contains(errOut, "not registered on subnet 1") {
		t.Errorf("validator with an unregistered hotkey: exit %d, stderr %q", code, errOut)
	}
}

// TestMinerFlags checks the flag combinations deai miner refuses before it
// opens a key, a model or the node.
func TestMinerFlags(t *testing.T) {
	base := []string{"--subnet", "1", "--hotkey", "m"}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"neither model nor backend", base, "exactly one of --model and --backend"},
		{"both", append(base, "--model", modelPath, "--backend", "http://127.0.0.1:1"), "exactly one of --model and --backend"},
		{"backend without digest", append(base, "--backend", "http://127.0.0.1:1"), "--backend needs --model-digest"},
		{"model with digest", append(base, "--model", modelPath, "--model-digest", strings.Repeat("ab", 32)), "--model-digest goes with --backend"},
		{"no subnet", []string{"--hotkey", "m", "--model", modelPath}, `"subnet" not set`},
		{"no hotkey", []string{"--subnet", "1", "--model", modelPath}, `"hotkey" not set`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := cli.Run(t.Context(), append([]string{"miner", "--home", t.TempDir()}, tc.args...), strings.NewReader(""), &out, &errb)
			if code == 0 || !strings.Contains(errb.String(), tc.want) {
				t.Errorf("exit %d, stderr %q: want a failure mentioning %q", code, errb.String(), tc.want)
			}
		})
	}
}
