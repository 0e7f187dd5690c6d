package cli_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/cli"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/verify"
	"github.com/deai-network/deai/internal/wallet"
	"github.com/deai-network/deai/internal/wire"
)

// TestVerifyReceiptCLI: an honest receipt re-executes to the same tokens
// (exit 0), one claiming other tokens is refuted (exit 1), a tampered or
// misapplied one is invalid (exit 1), the model is found by digest, and
// without it the receipt is only checked (exit 0, not re-executed).
func TestVerifyReceiptCLI(t *testing.T) {
	const model = "../../../shared/models/stories260K.gguf"
	eng, err := node.OpenSubnetEngine(node.SubnetEngineOptions{Path: model, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	k, err := wallet.FromSeed(bytes.Repeat([]byte{5}, 32))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	request := []byte(`{"max_tokens":8,"messages":[{"content":"Once upon a time","role":"user"}],"seed":3,"temperature":0.7}`)
	res, err := verify.Reexecute(context.Background(), eng.Handler, request)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(mut func(*wire.Receipt)) string {
		r := wire.Receipt{Netuid: 1, RequestHash: sha256.Sum256(request), ResponseHash: sha256.Sum256([]byte("resp")), ModelDigest: eng.Digest,
			PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens, TokensDigest: res.TokensDigest, Miner: k.Address(), TimeUnixMs: time.Now().UnixMilli()}
		if mut != nil {
			mut(&r)
		}
		if err := r.Sign(k); err != nil {
			t.Fatal(err)
		}
		h, err := r.EncodeHeader()
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := cli.Run(context.Background(), append(args, "--home", dir), strings.NewReader(""), &out, &errb)
		return code, out.String() + errb.String()
	}
	reqPath := write("request.json", string(request))
	honest := write("honest.txt", sign(nil))

	code, out := run("verify", "receipt", honest, "--request", reqPath, "--model", model)
	if code != 0 || !strings.Contains(out, "HONEST") {
		t.Fatalf("honest receipt: exit %d\n%s", code, out)
	}
	code, out = run("verify", "receipt", honest, "--request", reqPath, "--model", model, "-o", "json")
	var v struct {
		Valid, Reexecuted, Honest bool
		Miner                     string
	}
	if err := json.Unmarshal([]byte(out), &v); code != 0 || err != nil || !v.Honest || v.Miner != k.Address().String() {
		t.Fatalf("json: exit %d %v\n%s", code, err, out)
	}
	lying := write("lying.txt", sign(func(r *wire.Receipt) { r.TokensDigest = "00ff" }))
	if code, out := run("verify", "receipt", lying, "--request", reqPath, "--model", model); code != 1 || !strings.Contains(out, "REFUTED") {
		t.Fatalf("lying receipt: exit %d\n%s", code, out)
	}
	tampered := []byte(sign(nil))
	tampered[40] ^= 'A' ^ 'B' // still base64, other bytes
	if tampered[40] == sign(nil)[40] {
		tampered[40] = 'C'
	}
	if code, out := run("verify", "receipt", write("tampered.txt", string(tampered)), "--request", reqPath); code != 1 && code != 2 {
		t.Fatalf("tampered receipt: exit %d\n%s", code, out)
	}
	if code, out := run("verify", "receipt", honest, "--request", write("other.json", `{"prompt":"x"}`)); code != 1 || !strings.Contains(out, "INVALID") {
		t.Fatalf("receipt for another request: exit %d\n%s", code, out)
	}
	// The model found by its digest in --models; a JSON file with the
	// request inside.
	models := filepath.Join(dir, "models")
	os.MkdirAll(models, 0o755)
	src, _ := os.ReadFile(model)
	os.WriteFile(filepath.Join(models, "m.gguf"), src, 0o644)
	bundle, _ := json.Marshal(map[string]any{"receipt": sign(nil), "request": json.RawMessage(request)})
	if code, out := run("verify", "receipt", write("bundle.json", string(bundle)), "--models", models); code != 0 || !strings.Contains(out, "HONEST") {
		t.Fatalf("model by digest: exit %d\n%s", code, out)
	}
	// No model: checked, not re-executed.
	if code, out := run("verify", "receipt", honest, "--request", reqPath, "--models", t.TempDir()); code != 0 || !strings.Contains(out, "not re-executed") {
		t.Fatalf("without the model: exit %d\n%s", code, out)
	}
	if code, _ := run("verify", "receipt", write("garbage.txt", "not a receipt"), "--request", reqPath); code != 2 {
		t.Fatalf("garbage: exit %d, want 2", code)
	}
	if code, _ := run("verify", "receipt", honest); code != 2 {
		t.Fatalf("no request: exit %d, want 2", code)
	}
}
