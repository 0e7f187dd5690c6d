package cli_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/cli"
	"github.com/deai-network/deai/internal/wallet"
)

// walletHarness runs `deai wallet …` against a temp home and keeps every
// byte the CLI printed, for the leak test.
type walletHarness struct {
	t    *testing.T
	home string
	dir  string // scratch files: mnemonics, exports, passphrase files
	outs []string
}

func newWalletHarness(t *testing.T) *walletHarness {
	t.Helper()
	t.Setenv(cli.PassphraseEnv, "test passphrase")
	return &walletHarness{t: t, home: t.TempDir(), dir: t.TempDir()}
}

// run executes deai with args (plus --home) and returns the exit code,
// stdout and stderr.
func (h *walletHarness) run(stdin string, args ...string) (int, string, string) {
	h.t.Helper()
	var out, errb bytes.Buffer
	code := cli.Run(h.t.Context(), append(args, "--home", h.home), strings.NewReader(stdin), &out, &errb)
	h.outs = append(h.outs, out.String(), errb.String())
	return code, out.String(), errb.String()
}

// ok runs a command that must succeed.
func (h *walletHarness) ok(stdin string, args ...string) string {
	h.t.Helper()
	code, out, errOut := h.run(stdin, args...)
	if code != 0 {
		h.t.Fatalf("deai %s: exit %d\nstderr: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// fail runs a command that must fail with an error mentioning want.
func (h *walletHarness) fail(want, stdin string, args ...string) {
	h.t.Helper()
	code, _, errOut := h.run(stdin, args...)
	if code == 0 {
		h.t.Fatalf("deai %s: succeeded, want an error mentioning %q", strings.Join(args, " "), want)
	}
	if !strings.Contains(errOut, want) {
		h.t.Errorf("deai %s: stderr %q does not mention %q", strings.Join(args, " "), errOut, want)
	}
}

func (h *walletHarness) path(name string) string { return filepath.Join(h.dir, name) }

func (h *walletHarness) keyFile(name string) string {
	return filepath.Join(h.home, "keys", name+".json")
}

// newKey creates name and returns the address and recovery phrase.
func (h *walletHarness) newKey(name string) (addr, mnemonic string) {
	h.t.Helper()
	mf := h.path(name + ".mnemonic")
	var got struct {
		Name, Address, PubKey string
		MnemonicFile          string `json:"mnemonic_file"`
		Mnemonic              string
	}
	decodeJSON(h.t, h.ok("", "wallet", "new", name, "--mnemonic-out", mf, "-o", "json"), &got)
	if got.Name != name || got.MnemonicFile != mf || got.Mnemonic != "" {
		h.t.Errorf("new output = %+v", got)
	}
	b, err := os.ReadFile(mf)
	if err != nil {
		h.t.Fatal(err)
	}
	return got.Address, strings.TrimSpace(string(b))
}

func decodeJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, s)
	}
}

// dirState returns every file under dirs with its mode and content.
func dirState(t *testing.T, dirs ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			out[p] = fi.Mode().String() + " " + string(b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func TestWalletNew(t *testing.T) {
	h := newWalletHarness(t)
	addr, mnemonic := h.newKey("alice")
	if n := len(strings.Fields(mnemonic)); n != 24 {
		t.Fatalf("mnemonic has %d words, want 24", n)
	}
	k, err := wallet.FromMnemonic(mnemonic, "")
	if err != nil {
		t.Fatal(err)
	}
	if k.Address().String() != addr {
		t.Errorf("mnemonic recovers %s, new printed %s", k.Address(), addr)
	}
	if runtime.GOOS != "windows" {
		for path, want := range map[string]fs.FileMode{
			h.path("alice.mnemonic"):      0o600,
			h.keyFile("alice"):            0o600,
			filepath.Join(h.home, "keys"): 0o700 | fs.ModeDir,
		} {
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode() != want {
				t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
			}
		}
	}

	// Text output, phrase to stdout on explicit request.
	out := h.ok("", "wallet", "new", "bob", "--mnemonic-out", "-")
	for _, want := range []string{`Created key "bob"`, "address: deai1", "Recovery phrase (shown only now"} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	var j map[string]string
	decodeJSON(t, h.ok("", "wallet", "new", "carol", "--mnemonic-out", "-", "-o", "json"), &j)
	if len(strings.Fields(j["mnemonic"])) != 24 || !strings.HasPrefix(j["address"], "deai1") || len(j["pub_key"]) != 64 {
		t.Errorf("json output = %v", j)
	}
}

func TestWalletNewErrors(t *testing.T) {
	h := newWalletHarness(t)
	h.newKey("alice")
	emptyPass := h.path("empty-pass")
	if err := os.WriteFile(emptyPass, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	existing := h.path("alice.mnemonic")
	before := dirState(t, h.home, h.dir)

	tests := []struct {
		name  string
		unset bool // no $DEAI_PASSPHRASE
		want  string
		args  []string
	}{
		{"exists", false, `key "alice" already exists`, []string{"alice", "--mnemonic-out", h.path("x")}},
		{"invalid name", false, "invalid key name", []string{"Bad/Name", "--mnemonic-out", h.path("x")}},
		{"no args", false, "accepts 1 arg", nil},
		{"stdout not a terminal", false, "stdout is not a terminal", []string{"dave"}},
		{"mnemonic file exists", false, "never overwritten", []string{"dave", "--mnemonic-out", existing}},
		{"no passphrase source", true, "stdin is not a terminal; use --passphrase-file", []string{"dave", "--mnemonic-out", h.path("x")}},
		{"empty passphrase", false, "empty passphrase", []string{"dave", "--mnemonic-out", h.path("x"), "--passphrase-file", emptyPass}},
		{"missing passphrase file", false, "read passphrase file", []string{"dave", "--mnemonic-out", h.path("x"), "--passphrase-file", h.path("nope")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.unset {
				t.Setenv(cli.PassphraseEnv, "")
				os.Unsetenv(cli.PassphraseEnv)
			}
			h.t = t
			h.fail(tt.want, "", append([]string{"wallet", "new"}, tt.args...)...)
			if diff := cmp.Diff(before, dirState(t, h.home, h.dir)); diff != "" {
				t.Errorf("a failed new changed files (-before +after):\n%s", diff)
			}
		})
	}
}

func TestWalletImportMnemonic(t *testing.T) {
	h := newWalletHarness(t)
	addr, mnemonic := h.newKey("alice")

	// Extra whitespace and a passphrase file with a trailing newline.
	pf := h.path("pass")
	if err := os.WriteFile(pf, []byte("file passphrase\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := h.ok("\n  "+mnemonic+"\n", "wallet", "import", "restored", "--passphrase-file", pf)
	if !strings.Contains(out, addr) {
		t.Errorf("import printed %q, want address %s", out, addr)
	}
	ks, err := wallet.Open(filepath.Join(h.home, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Load("restored", []byte("file passphrase")); err != nil {
		t.Errorf("passphrase from file (line ending trimmed) does not unlock: %v", err)
	}

	// A passphrase file that others can read works, with a warning.
	if runtime.GOOS != "windows" {
		open := h.path("open-pass")
		if err := os.WriteFile(open, []byte("pw"), 0o644); err != nil {
			t.Fatal(err)
		}
		if code, _, errOut := h.run(mnemonic, "wallet", "import", "warned", "--passphrase-file", open); code != 0 || !strings.Contains(errOut, "warning: passphrase file") {
			t.Errorf("import with a 0644 passphrase file: exit %d, stderr %q; want success with a warning", code, errOut)
		}
	}

	// A BIP-39 passphrase gives another key.
	bf := h.path("bip39")
	if err := os.WriteFile(bf, []byte("TREZOR\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var j map[string]string
	decodeJSON(t, h.ok(mnemonic, "wallet", "import", "with-bip39", "--bip39-passphrase-file", bf, "-o", "json"), &j)
	want, err := wallet.FromMnemonic(mnemonic, "TREZOR")
	if err != nil {
		t.Fatal(err)
	}
	if j["address"] != want.Address().String() || j["address"] == addr {
		t.Errorf("bip39 import address = %s, want %s", j["address"], want.Address())
	}

	before := dirState(t, h.home)
	words := strings.Fields(mnemonic)
	words[0], words[1] = words[1], words[0]
	tests := []struct {
		name, stdin, want string
		args              []string
	}{
		{"exists", mnemonic, "already exists", []string{"alice"}},
		{"empty stdin", "", "0 words", []string{"x"}},
		{"not words", "hello world", "2 words", []string{"x"}},
		{"bad checksum", strings.Join(words, " "), "checksum", []string{"x"}},
		{"bip39 with keystore", "", "applies to recovery phrases", []string{"x", "--keystore", pf, "--bip39-passphrase-file", bf}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.t = t
			h.fail(tt.want, tt.stdin, append([]string{"wallet", "import"}, tt.args...)...)
			if diff := cmp.Diff(before, dirState(t, h.home)); diff != "" {
				t.Errorf("a failed import changed the keystore (-before +after):\n%s", diff)
			}
		})
	}
}

func TestWalletListShow(t *testing.T) {
	h := newWalletHarness(t)
	if out := h.ok("", "wallet", "list"); !strings.Contains(out, "no keys") {
		t.Errorf("empty list = %q", out)
	}
	var empty []any
	decodeJSON(t, h.ok("", "wallet", "list", "-o", "json"), &empty)
	if len(empty) != 0 {
		t.Errorf("empty json list = %v", empty)
	}
	addrB, _ := h.newKey("bob")
	addrA, mA := h.newKey("alice")
	kA, err := wallet.FromMnemonic(mA, "")
	if err != nil {
		t.Fatal(err)
	}

	// No passphrase is needed for list and show.
	t.Setenv(cli.PassphraseEnv, "")
	os.Unsetenv(cli.PassphraseEnv)

	out := h.ok("", "wallet", "list")
	want := "NAME   ADDRESS\nalice  " + addrA + "\nbob    " + addrB + "\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("list (-want +got):\n%s", diff)
	}
	var list []map[string]string
	decodeJSON(t, h.ok("", "wallet", "list", "-o", "json"), &list)
	if len(list) != 2 || list[0]["name"] != "alice" || list[0]["address"] != addrA || list[1]["address"] != addrB {
		t.Errorf("json list = %v", list)
	}

	var show map[string]string
	decodeJSON(t, h.ok("", "wallet", "show", "alice", "-o", "json"), &show)
	wantShow := map[string]string{"name": "alice", "address": addrA, "pub_key": hex.EncodeToString(kA.PubKey())}
	if diff := cmp.Diff(wantShow, show); diff != "" {
		t.Errorf("show json (-want +got):\n%s", diff)
	}
	text := h.ok("", "wallet", "show", "alice")
	if diff := cmp.Diff("name:    alice\naddress: "+addrA+"\npub_key: "+wantShow["pub_key"]+"\n", text); diff != "" {
		t.Errorf("show text (-want +got):\n%s", diff)
	}
	h.fail("no such key", "", "wallet", "show", "nobody")
	h.fail("invalid key name", "", "wallet", "show", "../alice")

	// A corrupt file is named in the error; list still shows the good keys.
	if err := os.WriteFile(h.keyFile("broken"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := h.run("", "wallet", "list")
	if code == 0 || !strings.Contains(errOut, "broken") || !strings.Contains(errOut, "corrupt") || !strings.Contains(out, addrA) {
		t.Errorf("list with a corrupt file: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	h.fail("keystore file is corrupt", "", "wallet", "show", "broken")
}

func TestWalletExportImportKeystore(t *testing.T) {
	h := newWalletHarness(t)
	addr, _ := h.newKey("alice")
	stored, err := os.ReadFile(h.keyFile("alice"))
	if err != nil {
		t.Fatal(err)
	}

	// To stdout: the stored file, byte for byte, even with -o json.
	for _, args := range [][]string{{"wallet", "export", "alice"}, {"wallet", "export", "alice", "-o", "json"}} {
		if out := h.ok("", args...); out != string(stored) {
			t.Errorf("%v wrote %q, want the stored file", args, out)
		}
	}
	// To a file.
	exp := h.path("alice.keystore")
	var j map[string]string
	decodeJSON(t, h.ok("", "wallet", "export", "alice", "--out", exp, "-o", "json"), &j)
	if j["file"] != exp || j["address"] != addr {
		t.Errorf("export json = %v", j)
	}
	got, err := os.ReadFile(exp)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, stored) {
		t.Error("exported file differs from the stored one")
	}
	if fi, err := os.Stat(exp); err != nil || (runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600) {
		t.Errorf("export file mode: %v %v", fi, err)
	}
	h.fail("never overwritten", "", "wallet", "export", "alice", "--out", exp)
	h.fail("no such key", "", "wallet", "export", "nobody")

	// Import into another home under a new name.
	h2 := &walletHarness{t: t, home: t.TempDir(), dir: h.dir}
	out := h2.ok("", "wallet", "import", "moved", "--keystore", exp)
	if !strings.Contains(out, addr) {
		t.Errorf("import --keystore printed %q, want %s", out, addr)
	}
	h.outs = append(h.outs, h2.outs...)

	// Bad keystore files and passphrases: clear errors, nothing written.
	corrupt := h.path("corrupt.keystore")
	if err := os.WriteFile(corrupt, stored[:len(stored)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	truncated := h.path("truncated.keystore")
	var f map[string]any
	if err := json.Unmarshal(stored, &f); err != nil {
		t.Fatal(err)
	}
	c := f["cipher"].(map[string]any)
	c["ciphertext"] = c["ciphertext"].(string)[:20]
	tb, _ := json.Marshal(f)
	if err := os.WriteFile(truncated, tb, 0o600); err != nil {
		t.Fatal(err)
	}
	before := dirState(t, h.home)
	tests := []struct {
		name, pass, want string
		args             []string
	}{
		{"wrong passphrase", "wrong", "wrong passphrase", []string{"x", "--keystore", exp}},
		{"corrupt", "test passphrase", "keystore file is corrupt: not valid JSON", []string{"x", "--keystore", corrupt}},
		{"truncated ciphertext", "test passphrase", "truncated", []string{"x", "--keystore", truncated}},
		{"missing file", "test passphrase", "read keystore file", []string{"x", "--keystore", h.path("nope")}},
		{"name taken", "test passphrase", "already exists", []string{"alice", "--keystore", exp}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(cli.PassphraseEnv, tt.pass)
			h.t = t
			h.fail(tt.want, "", append([]string{"wallet", "import"}, tt.args...)...)
			if diff := cmp.Diff(before, dirState(t, h.home)); diff != "" {
				t.Errorf("a failed import changed the keystore (-before +after):\n%s", diff)
			}
		})
	}
}

// TestWalletNoSecretLeak runs every wallet command, then searches all CLI
// output and every file written (keystore, exports) for the private key and
// seed in hex and base64. Only the mnemonic file may hold the phrase.
func TestWalletNoSecretLeak(t *testing.T) {
	h := newWalletHarness(t)
	addr, mnemonic := h.newKey("alice")
	h.ok("", "wallet", "list")
	h.ok("", "wallet", "list", "-o", "json")
	h.ok("", "wallet", "show", "alice")
	h.ok("", "wallet", "show", "alice", "-o", "json")
	h.ok("", "wallet", "export", "alice")
	h.ok("", "wallet", "export", "alice", "--out", h.path("exported"))
	h.ok(mnemonic, "wallet", "import", "again", "-o", "json")
	h.ok("", "wallet", "import", "third", "--keystore", h.path("exported"))
	h.fail("wrong passphrase", "", "wallet", "import", "fourth", "--keystore", h.path("exported"), "--passphrase-file", h.path("alice.mnemonic"))

	k, err := wallet.FromMnemonic(mnemonic, "")
	if err != nil {
		t.Fatal(err)
	}
	if k.Address().String() != addr {
		t.Fatal("wrong key")
	}
	seed, priv := k.PrivateKey().Seed(), []byte(k.PrivateKey())
	var secrets []string
	for _, b := range [][]byte{seed, priv} {
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			secrets = append(secrets, enc.EncodeToString(b))
		}
		secrets = append(secrets, hex.EncodeToString(b), strings.ToUpper(hex.EncodeToString(b)))
	}
	// Plus the mnemonic, which only its own file may hold.
	secrets = append(secrets, strings.Join(strings.Fields(mnemonic)[:3], " "))

	haystacks := map[string]string{}
	for i, o := range h.outs {
		haystacks[fmt.Sprintf("output %d", i)] = o
	}
	for p, content := range dirState(t, h.home, h.dir) {
		if p == h.path("alice.mnemonic") {
			continue
		}
		haystacks[p] = content
	}
	if len(haystacks) < 20 {
		t.Fatalf("only %d outputs and files to search", len(haystacks))
	}
	for where, s := range haystacks {
		for _, secret := range secrets {
			if strings.Contains(s, secret) {
				t.Errorf("%s contains a secret (%.8s…)", where, secret)
			}
		}
		// Also the raw bytes, in case something wrote binary.
		if bytes.Contains([]byte(s), seed) {
			t.Errorf("%s contains the raw seed", where)
		}
	}
}
