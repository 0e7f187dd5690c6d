package wallet

import (
	"crypto/ed25519"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/errs"
)

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSLIP10Vectors checks the official SLIP-0010 ed25519 test vectors 1 and 2
// (https://github.com/satoshilabs/slips/blob/master/slip-0010.md).
func TestSLIP10Vectors(t *testing.T) {
	const h = hardened
	const seed1 = "000102030405060708090a0b0c0d0e0f"
	const seed2 = "fffcf9f6f3f0edeae7e4e1dedbd8d5d2cfccc9c6c3c0bdbab7b4b1aeaba8a5a29f9c999693908d8a8784817e7b7875726f6c696663605d5a5754514e4b484542"
	tests := []struct {
		name, seed string
		path       []uint32
		chain      string
		priv       string
	}{
		{"1/m", seed1, nil, "90046a93de5380a72b5e45010748567d5ea02bbf6522f979e05c0d8d8ca9fffb", "2b4be7f19ee27bbf30c667b642d5f4aa69fd169872f8fc3059c08ebae2eb19e7"},
		{"1/m/0H", seed1, []uint32{0 | h}, "8b59aa11380b624e81507a27fedda59fea6d0b779a778918a2fd3590e16e9c69", "68e0fe46dfb67e368c75379acec591dad19df3cde26e63b93a8e704f1dade7a3"},
		{"1/m/0H/1H", seed1, []uint32{0 | h, 1 | h}, "a320425f77d1b5c2505a6b1b27382b37368ee640e3557c315416801243552f14", "b1d0bad404bf35da785a64ca1ac54b2617211d2777696fbffaf208f746ae84f2"},
		{"1/m/0H/1H/2H", seed1, []uint32{0 | h, 1 | h, 2 | h}, "2e69929e00b5ab250f49c3fb1c12f252de4fed2c1db88387094a0f8c4c9ccd6c", "92a5b23c0b8a99e37d07df3fb9966917f5d06e02ddbd909c7e184371463e9fc9"},
		{"1/m/0H/1H/2H/2H", seed1, []uint32{0 | h, 1 | h, 2 | h, 2 | h}, "8f6d87f93d750e0efccda017d662a1b31a266e4a6f5993b15f5c1f07f74dd5cc", "30d1dc7e5fc04c31219ab25a27ae00b50f6fd66622f6e9c913253d6511d1e662"},
		{"1/m/0H/1H/2H/2H/1000000000H", seed1, []uint32{0 | h, 1 | h, 2 | h, 2 | h, 1000000000 | h}, "68789923a0cac2cd5a29172a475fe9e0fb14cd6adb5ad98a3fa70333e7afa230", "8f94d394a8e8fd6b1bc2f3f49f5c47e385281d5c17e65324b0f62483e37e8793"},
		{"2/m", seed2, nil, "ef70a74db9c3a5af931b5fe73ed8e1a53464133654fd55e7a66f8570b8e33c3b", "171cb88b1b3c1db25add599712e36245d75bc65a1a5c9e18d76f9f2b1eab4012"},
		{"2/m/0H", seed2, []uint32{0 | h}, "0b78a3226f915c082bf118f83618a618ab6dec793752624cbeb622acb562862d", "1559eb2bbec5790b0c65d8693e4d0875b1747f4970ae8b650486ed7470845635"},
		{"2/m/0H/2147483647H", seed2, []uint32{0 | h, 2147483647 | h}, "138f0b2551bcafeca6ff2aa88ba8ed0ed8de070841f0c4ef0165df8181eaad7f", "ea4f5bfe8694d8bb74b7b59404632fd5968b774ed545e810de9c32a4fb4192f4"},
		{"2/m/0H/2147483647H/1H", seed2, []uint32{0 | h, 2147483647 | h, 1 | h}, "73bd9fff1cfbde33a1b846c27085f711c0fe2d66fd32e139d3ebc28e5a4a6b90", "3757c7577170179c7868353ada796c839135b3d30554bbb74a4b1e4a5a58505c"},
		{"2/m/0H/2147483647H/1H/2147483646H", seed2, []uint32{0 | h, 2147483647 | h, 1 | h, 2147483646 | h}, "0902fe8a29f9140480a00ef244bd183e8a13288e4412d8389d140aac1794825a", "5837736c89570de861ebc173b1086da4f505d4adb387c6a1b1342d5e4ac9ec72"},
		{"2/m/0H/2147483647H/1H/2147483646H/2H", seed2, []uint32{0 | h, 2147483647 | h, 1 | h, 2147483646 | h, 2 | h}, "5d70af781f3a37b829f0d060924d5e960bdc02e85423494afc0b1a41bbe196d4", "551d333177df541ad876a60ea71f00447931c0a9da16f227c11ea080d7391b8d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, chain := deriveSLIP10(mustHex(t, tt.seed), tt.path)
			got := [2]string{hex.EncodeToString(chain[:]), hex.EncodeToString(key[:])}
			if diff := cmp.Diff([2]string{tt.chain, tt.priv}, got); diff != "" {
				t.Errorf("chain code, private key (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSLIP10PublicKey checks the public key of vector 1's master node, which
// SLIP-0010 writes as 0x00 || ed25519 public key.
func TestSLIP10PublicKey(t *testing.T) {
	key, _ := deriveSLIP10(mustHex(t, "000102030405060708090a0b0c0d0e0f"), nil)
	pub := ed25519.NewKeyFromSeed(key[:]).Public().(ed25519.PublicKey)
	got := "00" + hex.EncodeToString(pub)
	if want := "00a4b2856bfec510abab89753fac1ac0e1112364e7d250545963f135f2a33188ed"; got != want {
		t.Errorf("public key = %s, want %s", got, want)
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		in      string
		want    []uint32
		wantErr bool
	}{
		{in: "m", want: []uint32{}},
		{in: DefaultPath, want: []uint32{44 | hardened, CoinType | hardened, hardened, hardened, hardened}},
		{in: "m/0H/2147483647H", want: []uint32{hardened, 2147483647 | hardened}},
		{in: "m/0", wantErr: true},
		{in: "m/2147483648'", wantErr: true},
		{in: "x/0'", wantErr: true},
		{in: "m/-1'", wantErr: true},
		{in: "m//", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := parsePath(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parsePath(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if err == nil {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
		})
	}
}

// The 24-word all-"abandon … art" vector (entropy 0x00…00) from the BIP-39
// reference vectors; its address is pinned so a change of path, coin type or
// derivation cannot pass unnoticed.
const abandonArt = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon art"

func TestFromMnemonic(t *testing.T) {
	k, err := FromMnemonic(abandonArt, "")
	if err != nil {
		t.Fatal(err)
	}
	// Recompute by hand from the BIP-39 reference seed for this mnemonic with
	// passphrase "TREZOR", to tie FromMnemonic to the published vector.
	seed := mustHex(t, "bda85446c68413707090a52022edd26a1c9462295029f2e60cd7c4f2bbd3097170af7a4d73245cafa9c3cca8d561a7c3de6f5d4a10be8ed2a5e608d68f92fcc8")
	path, err := parsePath(DefaultPath)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := deriveSLIP10(seed, path)
	want, err := FromSeed(priv[:])
	if err != nil {
		t.Fatal(err)
	}
	trezor, err := FromMnemonic(abandonArt, "TREZOR")
	if err != nil {
		t.Fatal(err)
	}
	if trezor.Address() != want.Address() {
		t.Errorf("FromMnemonic(TREZOR) = %s, want %s (from the BIP-39 vector seed)", trezor.Address(), want.Address())
	}
	if k.Address() == trezor.Address() {
		t.Error("BIP-39 passphrase did not change the key")
	}
	// Spacing and case do not matter.
	messy := "  " + strings.ToUpper(strings.ReplaceAll(abandonArt, " ", " \n\t")) + "\n"
	k2, err := FromMnemonic(messy, "")
	if err != nil {
		t.Fatal(err)
	}
	if k2.Address() != k.Address() {
		t.Errorf("normalized mnemonic gave %s, want %s", k2.Address(), k.Address())
	}
}

func TestFromMnemonicErrors(t *testing.T) {
	tests := []struct{ name, mnemonic, wantMsg string }{
		{"empty", "", "0 words"},
		{"13 words", strings.Repeat("abandon ", 12) + "about", "13 words, want"},
		{"unknown word", strings.Replace(abandonArt, "art", "artt", 1), "word 24 is not in"},
		{"bad checksum", strings.Replace(abandonArt, "art", "zoo", 1), "checksum"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromMnemonic(tt.mnemonic, "")
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not contain %q", err, tt.wantMsg)
			}
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("kind = %v, want invalid", errs.KindOf(err))
			}
		})
	}
}

func TestNewMnemonic(t *testing.T) {
	m1, err := NewMnemonic()
	if err != nil {
		t.Fatal(err)
	}
	m2, err := NewMnemonic()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(strings.Fields(m1)); n != MnemonicWords {
		t.Errorf("%d words, want %d", n, MnemonicWords)
	}
	if m1 == m2 {
		t.Error("two mnemonics are equal")
	}
	if _, err := FromMnemonic(m1, ""); err != nil {
		t.Errorf("new mnemonic does not recover: %v", err)
	}
}

func TestFromSeed(t *testing.T) {
	seed := make([]byte, 32)
	seed[0] = 7
	a, err := FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	b, err := FromSeed(seed)
	if err != nil {
		t.Fatal(err)
	}
	if a.Address() != b.Address() || !a.PubKey().Equal(b.PubKey()) {
		t.Error("FromSeed is not deterministic")
	}
	msg := []byte("hello")
	if !ed25519.Verify(a.PubKey(), msg, a.Sign(msg)) {
		t.Error("signature does not verify")
	}
	if !a.PrivateKey().Equal(ed25519.NewKeyFromSeed(seed)) {
		t.Error("PrivateKey differs from ed25519.NewKeyFromSeed")
	}
	for _, n := range []int{0, 31, 33, 64} {
		if _, err := FromSeed(make([]byte, n)); err == nil || errs.KindOf(err) != errs.Invalid {
			t.Errorf("FromSeed(%d bytes) error = %v, want invalid", n, err)
		}
	}
}
