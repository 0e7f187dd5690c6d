package wallet

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// Cheap KDF parameters: tests only. Production uses DefaultKDF.
var (
	testScrypt = KDF{Name: KDFScrypt, N: 16, R: 1, P: 1}
	testArgon  = KDF{Name: KDFArgon2id, Time: 1, MemoryKiB: 8, Threads: 1}
)

func testKeystore(t *testing.T) *Keystore {
	t.Helper()
	ks, err := Open(filepath.Join(t.TempDir(), "keys"), WithKDF(testScrypt))
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func testKey(t *testing.T, b byte) *Key {
	t.Helper()
	k, err := FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// snapshot returns every file under dir with its bytes and mode.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += " " + string(b)
		}
		out[strings.TrimPrefix(p, dir)] = v
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return out
}

func TestCreateLoadRoundTrip(t *testing.T) {
	for _, kdf := range []KDF{testScrypt, testArgon} {
		t.Run(kdf.Name, func(t *testing.T) {
			ks, err := Open(filepath.Join(t.TempDir(), "keys"), WithKDF(kdf))
			if err != nil {
				t.Fatal(err)
			}
			pass := []byte("correct horse")
			k, mnemonic, err := ks.Create("alice", pass)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ks.Load("alice", pass)
			if err != nil {
				t.Fatal(err)
			}
			if !got.PrivateKey().Equal(k.PrivateKey()) {
				t.Error("loaded key differs from created key")
			}
			rec, err := FromMnemonic(mnemonic, "")
			if err != nil {
				t.Fatal(err)
			}
			if rec.Address() != k.Address() {
				t.Errorf("mnemonic recovers %s, want %s", rec.Address(), k.Address())
			}
			info, err := ks.Info("alice")
			if err != nil {
				t.Fatal(err)
			}
			want := Info{Name: "alice", Address: k.Address(), PubKey: k.PubKey(), KDF: kdf.Name}
			if diff := cmp.Diff(want, info); diff != "" {
				t.Errorf("Info (-want +got):\n%s", diff)
			}
			data, err := os.ReadFile(ks.Path("alice"))
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(data, []byte(strings.Fields(mnemonic)[0]+" "+strings.Fields(mnemonic)[1])) {
				t.Error("keystore file contains the mnemonic")
			}
		})
	}
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("POSIX modes do not apply on Windows")
	}
	ks := testKeystore(t)
	if err := ks.Add("bob", testKey(t, 1), []byte("pw")); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]fs.FileMode{ks.Dir(): 0o700 | fs.ModeDir, ks.Path("bob"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s: mode %v, want %v", path, fi.Mode(), want)
		}
	}
	// An existing, too-open directory is tightened on the next write.
	if err := os.Chmod(ks.Dir(), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ks.Add("carol", testKey(t, 2), []byte("pw")); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(ks.Dir()); fi.Mode().Perm() != 0o700 {
		t.Errorf("dir mode %v after write, want 0700", fi.Mode().Perm())
	}
	// No temp files are left behind.
	entries, err := os.ReadDir(ks.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"bob.json", "carol.json"}, names); diff != "" {
		t.Errorf("dir entries (-want +got):\n%s", diff)
	}
}

func TestNeverOverwrite(t *testing.T) {
	ks := testKeystore(t)
	if err := ks.Add("alice", testKey(t, 1), []byte("pw")); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, ks.Dir())
	other := testKey(t, 2)
	calls := map[string]func() error{
		"Add":    func() error { return ks.Add("alice", other, []byte("pw2")) },
		"Create": func() error { _, _, err := ks.Create("alice", []byte("pw2")); return err },
		"Import": func() error { _, err := ks.Import("alice", abandonArt, "", []byte("pw2")); return err },
		"ImportFile": func() error {
			data, err := ks.Export("alice")
			if err != nil {
				return err
			}
			_, err = ks.ImportFile("alice", data, []byte("pw"))
			return err
		},
		"writeNew": func() error { return writeNew(ks.Dir(), ks.Path("alice"), []byte("x")) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			err := call()
			if !errors.Is(err, ErrExist) && !errors.Is(err, fs.ErrExist) {
				t.Errorf("error = %v, want ErrExist", err)
			}
			if diff := cmp.Diff(before, snapshot(t, ks.Dir())); diff != "" {
				t.Errorf("keystore changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestConcurrentCreateOneWins(t *testing.T) {
	ks := testKeystore(t)
	const n = 8
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errc <- ks.Add("race", testKey(t, byte(i+1)), []byte("pw"))
		}()
	}
	wg.Wait()
	close(errc)
	ok := 0
	for err := range errc {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, ErrExist):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Errorf("%d creators succeeded, want 1", ok)
	}
}

func TestInvalidNames(t *testing.T) {
	ks := testKeystore(t)
	long := strings.Repeat("a", 65)
	for _, name := range []string{"", "Alice", "../x", "a/b", ".hidden", "a.b", "-x", "_x", "a b", long, "ä"} {
		t.Run(name, func(t *testing.T) {
			if err := ks.Add(name, testKey(t, 1), []byte("pw")); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Add(%q) error = %v, want ErrInvalidName", name, err)
			}
			if _, err := ks.Load(name, []byte("pw")); !errors.Is(err, ErrInvalidName) {
				t.Errorf("Load(%q) error = %v, want ErrInvalidName", name, err)
			}
		})
	}
	for _, name := range []string{"a", "0", "dev", "my-key_2", strings.Repeat("z", 64)} {
		if err := ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q) = %v, want nil", name, err)
		}
	}
}

// editJSON rewrites one field of a stored keystore file.
func editJSON(t *testing.T, data []byte, edit func(f *fileJSON)) []byte {
	t.Helper()
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	edit(&f)
	out, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLoadBadFiles: each kind of damage gives its own error, and nothing in
// the keystore changes.
func TestLoadBadFiles(t *testing.T) {
	pass := []byte("right")
	ks := testKeystore(t)
	if err := ks.Add("alice", testKey(t, 1), pass); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(ks.Path("alice"))
	if err != nil {
		t.Fatal(err)
	}
	other := testKey(t, 2)
	flip := func(s string) string {
		b, _ := hex.DecodeString(s)
		b[len(b)/2] ^= 1
		return hex.EncodeToString(b)
	}
	tests := []struct {
		name    string
		data    []byte
		pass    string
		want    error
		wantMsg string
	}{
		{"wrong passphrase", good, "wrong", ErrWrongPassphrase, "wrong passphrase"},
		{"empty file", nil, "right", ErrCorrupt, "not valid JSON"},
		{"not JSON", []byte("hello"), "right", ErrCorrupt, "not valid JSON"},
		{"truncated JSON", good[:len(good)/2], "right", ErrCorrupt, "not valid JSON"},
		{"no version", []byte(`{"name":"alice"}`), "right", ErrCorrupt, "no version"},
		{"future version", editJSON(t, good, func(f *fileJSON) { f.Version = 2 }), "right", ErrVersion, "version 2"},
		{"unknown field", bytes.Replace(good, []byte(`"version": 1,`), []byte(`"version": 1, "extra": 1,`), 1), "right", ErrCorrupt, "unknown field"},
		{"trailing data", append(append([]byte{}, good...), "{}"...), "right", ErrCorrupt, "not valid JSON"},
		{"truncated ciphertext", editJSON(t, good, func(f *fileJSON) { f.Cipher.Ciphertext = f.Cipher.Ciphertext[:40] }), "right", ErrCorrupt, "truncated"},
		{"odd hex", editJSON(t, good, func(f *fileJSON) { f.Cipher.Nonce = f.Cipher.Nonce[:3] }), "right", ErrCorrupt, "not hex"},
		{"bad cipher", editJSON(t, good, func(f *fileJSON) { f.Cipher.Name = "aes-gcm" }), "right", ErrCorrupt, "cipher"},
		{"bad kdf", editJSON(t, good, func(f *fileJSON) { f.KDF.Name = "md5" }), "right", ErrCorrupt, "unknown kdf"},
		{"huge kdf", editJSON(t, good, func(f *fileJSON) { f.KDF.N = 1 << 30 }), "right", ErrCorrupt, "scrypt N"},
		{"short salt", editJSON(t, good, func(f *fileJSON) { f.KDF.Salt = "00" }), "right", ErrCorrupt, "salt"},
		{"bad address", editJSON(t, good, func(f *fileJSON) { f.Address = "deai1xyz" }), "right", ErrCorrupt, "address"},
		{"address of another key", editJSON(t, good, func(f *fileJSON) { f.Address = other.Address().String() }), "right", ErrTampered, "does not belong"},
		{"address and pubkey of another key", editJSON(t, good, func(f *fileJSON) {
			f.Address = other.Address().String()
			f.PubKey = hex.EncodeToString(other.PubKey())
		}), "right", ErrTampered, "authentication tag"},
		{"renamed inside", editJSON(t, good, func(f *fileJSON) { f.Name = "bob" }), "right", ErrTampered, `holds the key named "bob"`},
		{"flipped ciphertext", editJSON(t, good, func(f *fileJSON) { f.Cipher.Ciphertext = flip(f.Cipher.Ciphertext) }), "right", ErrTampered, "authentication tag"},
		{"flipped nonce", editJSON(t, good, func(f *fileJSON) { f.Cipher.Nonce = flip(f.Cipher.Nonce) }), "right", ErrTampered, "authentication tag"},
		{"flipped check", editJSON(t, good, func(f *fileJSON) { f.KDF.Check = flip(f.KDF.Check) }), "right", ErrWrongPassphrase, "wrong passphrase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(ks.Path("alice"), tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, ks.Dir())
			_, err := ks.Load("alice", []byte(tt.pass))
			if !errors.Is(err, tt.want) {
				t.Fatalf("Load error = %v, want %v", err, tt.want)
			}
			for _, other := range []error{ErrWrongPassphrase, ErrCorrupt, ErrVersion, ErrTampered, ErrNotExist} {
				if other != tt.want && errors.Is(err, other) {
					t.Errorf("error %v also matches %v", err, other)
				}
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tt.wantMsg)
			}
			if diff := cmp.Diff(before, snapshot(t, ks.Dir())); diff != "" {
				t.Errorf("Load changed the keystore (-before +after):\n%s", diff)
			}
			// Importing the damaged file under a new name writes nothing.
			if _, err := ks.ImportFile("copy", tt.data, []byte(tt.pass)); !errors.Is(err, tt.want) {
				t.Errorf("ImportFile error = %v, want %v", err, tt.want)
			}
			if _, err := os.Stat(ks.Path("copy")); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("ImportFile of a bad file wrote %s", ks.Path("copy"))
			}
		})
	}
}

func TestLoadMissing(t *testing.T) {
	ks := testKeystore(t)
	if has, err := ks.Has("nobody"); has || err != nil {
		t.Errorf("Has(nobody) = %v, %v; want false, nil", has, err)
	}
	if _, err := ks.Has("No"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Has(No) error = %v, want ErrInvalidName", err)
	}
	if err := ks.Add("somebody", testKey(t, 1), nil); err != nil {
		t.Fatal(err)
	}
	if has, err := ks.Has("somebody"); !has || err != nil {
		t.Errorf("Has(somebody) = %v, %v; want true, nil", has, err)
	}
	_, err := ks.Load("nobody", []byte("pw"))
	if !errors.Is(err, ErrNotExist) {
		t.Errorf("Load error = %v, want ErrNotExist", err)
	}
	if _, err := ks.Export("nobody"); !errors.Is(err, ErrNotExist) {
		t.Errorf("Export error = %v, want ErrNotExist", err)
	}
}

func TestListAndExportImport(t *testing.T) {
	ks := testKeystore(t)
	if got, err := ks.List(); err != nil || len(got) != 0 {
		t.Fatalf("List on a missing dir = %v, %v; want empty", got, err)
	}
	a, b := testKey(t, 1), testKey(t, 2)
	if err := ks.Add("bob", b, []byte("pb")); err != nil {
		t.Fatal(err)
	}
	if err := ks.Add("alice", a, []byte("pa")); err != nil {
		t.Fatal(err)
	}
	// Unrelated files are ignored; a broken key file is reported but does not
	// hide the good ones.
	if err := os.WriteFile(filepath.Join(ks.Dir(), "notes.txt"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ks.Dir(), "broken.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := ks.List()
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "broken") {
		t.Errorf("List error = %v, want ErrCorrupt naming broken", err)
	}
	want := []Info{
		{Name: "alice", Address: a.Address(), PubKey: a.PubKey(), KDF: KDFScrypt},
		{Name: "bob", Address: b.Address(), PubKey: b.PubKey(), KDF: KDFScrypt},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List (-want +got):\n%s", diff)
	}

	data, err := ks.Export("alice")
	if err != nil {
		t.Fatal(err)
	}
	ks2, err := Open(filepath.Join(t.TempDir(), "other"), WithKDF(testArgon))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks2.ImportFile("alice2", data, []byte("wrong")); !errors.Is(err, ErrWrongPassphrase) {
		t.Errorf("ImportFile with wrong passphrase = %v, want ErrWrongPassphrase", err)
	}
	k, err := ks2.ImportFile("alice2", data, []byte("pa"))
	if err != nil {
		t.Fatal(err)
	}
	if k.Address() != a.Address() {
		t.Errorf("imported %s, want %s", k.Address(), a.Address())
	}
	loaded, err := ks2.Load("alice2", []byte("pa"))
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.PrivateKey().Equal(a.PrivateKey()) {
		t.Error("imported key differs")
	}
}

func TestImportMnemonicReproducesAddress(t *testing.T) {
	ks := testKeystore(t)
	k1, mnemonic, err := ks.Create("one", []byte("p1"))
	if err != nil {
		t.Fatal(err)
	}
	k2, err := ks.Import("two", "\n "+mnemonic+" \n", "", []byte("p2"))
	if err != nil {
		t.Fatal(err)
	}
	if k1.Address() != k2.Address() {
		t.Errorf("import gives %s, create gave %s", k2.Address(), k1.Address())
	}
	if _, err := ks.Import("three", "not a mnemonic", "", []byte("p")); err == nil {
		t.Error("Import accepted a bad mnemonic")
	}
	if _, err := os.Stat(ks.Path("three")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("a failed Import wrote a file")
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file); err == nil {
		t.Error("Open(a file) succeeded")
	}
	if _, err := Open(dir, WithKDF(KDF{Name: "scrypt", N: 3, R: 1, P: 1})); err == nil {
		t.Error("Open with invalid KDF succeeded")
	}
	if err := DefaultKDF().Validate(); err != nil {
		t.Errorf("DefaultKDF invalid: %v", err)
	}
}

// TestKeyRedaction: no way of printing a Key shows its secret.
func TestKeyRedaction(t *testing.T) {
	k := testKey(t, 0xab)
	seed := k.PrivateKey().Seed()
	secrets := []string{
		hex.EncodeToString(seed), strings.ToUpper(hex.EncodeToString(seed)),
		hex.EncodeToString(k.PrivateKey()),
		base64.StdEncoding.EncodeToString(seed), base64.RawURLEncoding.EncodeToString(seed),
		base64.StdEncoding.EncodeToString(k.PrivateKey()),
		fmt.Sprint([]byte(seed)), fmt.Sprint([]byte(k.PrivateKey())[:8]),
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("key", "k", k, "kv", *k)
	slog.New(slog.NewTextHandler(&logBuf, nil)).Info("key", "k", k)
	js, err := json.Marshal(k)
	if err != nil {
		t.Fatal(err)
	}
	jsv, err := json.Marshal(struct{ K Key }{*k})
	if err != nil {
		t.Fatal(err)
	}
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%x", "%X", "%q", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, k), fmt.Sprintf(verb, *k), fmt.Sprintf(verb, struct{ K *Key }{k}), fmt.Sprintf(verb, []Key{*k}))
	}
	outs = append(outs, k.String(), string(js), string(jsv), logBuf.String())
	for _, out := range outs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("output %q contains secret %q", out, s)
			}
		}
	}
	if !strings.Contains(string(js), k.Address().String()) || !strings.Contains(string(js), hex.EncodeToString(k.PubKey())) {
		t.Errorf("JSON %s lacks the public fields", js)
	}
	if !strings.Contains(logBuf.String(), k.Address().String()) {
		t.Errorf("log %s lacks the address", logBuf.String())
	}
	var zero Key
	if _, err := json.Marshal(zero); err != nil {
		t.Errorf("marshal zero Key: %v", err)
	}
}
