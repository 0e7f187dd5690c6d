package wallet

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"github.com/cosmos/go-bip39"
	"golang.org/x/text/unicode/norm"

	"github.com/deai-network/deai/internal/errs"
)

// CoinType is the BIP-44 coin type in DefaultPath. 1118 is deai's own choice
// (not a SLIP-44 registration); it is fixed forever, because changing it would
// change every address recovered from a mnemonic.
const CoinType = 1118

// DefaultPath is the SLIP-0010 derivation path of a deai account key:
// m/44'/1118'/0'/0'/0'. Ed25519 under SLIP-0010 has hardened steps only.
const DefaultPath = "m/44'/1118'/0'/0'/0'"

// MnemonicWords is the length of the mnemonics this package creates (256
// bits of entropy).
const MnemonicWords = 24

// hardened is the SLIP-0010 / BIP-32 hardened index offset.
const hardened uint32 = 1 << 31

// NewMnemonic returns a fresh 24-word BIP-39 mnemonic from crypto/rand.
func NewMnemonic() (string, error) {
	entropy := make([]byte, 32)
	if _, err := rand.Read(entropy); err != nil {
		return "", fmt.Errorf("wallet: read entropy: %w", err)
	}
	m, err := bip39.NewMnemonic(entropy)
	clear(entropy)
	if err != nil {
		return "", fmt.Errorf("wallet: new mnemonic: %w", err)
	}
	return m, nil
}

// NormalizeMnemonic lower-cases a mnemonic and collapses its whitespace, so a
// phrase typed with extra spaces or newlines recovers the same key.
func NormalizeMnemonic(mnemonic string) string {
	return strings.Join(strings.Fields(strings.ToLower(norm.NFKD.String(mnemonic))), " ")
}

// FromMnemonic derives the key at DefaultPath from a BIP-39 mnemonic (any
// valid length; deai creates 24 words) and an optional BIP-39 passphrase
// ("" for none). The mnemonic's words and checksum are checked.
func FromMnemonic(mnemonic, bip39Passphrase string) (*Key, error) {
	seed, err := mnemonicSeed(mnemonic, bip39Passphrase)
	if err != nil {
		return nil, err
	}
	defer clear(seed)
	path, err := parsePath(DefaultPath)
	if err != nil {
		return nil, err // unreachable: DefaultPath is valid
	}
	priv, _ := deriveSLIP10(seed, path)
	defer clear(priv[:])
	return FromSeed(priv[:])
}

// mnemonicSeed validates mnemonic and returns its 64-byte BIP-39 seed.
func mnemonicSeed(mnemonic, bip39Passphrase string) ([]byte, error) {
	m := NormalizeMnemonic(mnemonic)
	words := strings.Fields(m)
	switch len(words) {
	case 12, 15, 18, 21, 24:
	default:
		return nil, errs.E("wallet: mnemonic", errs.Invalid, "%d words, want 12, 15, 18, 21 or 24", len(words))
	}
	for i, w := range words {
		if _, ok := bip39.ReverseWordMap[w]; !ok {
			return nil, errs.E("wallet: mnemonic", errs.Invalid, "word %d is not in the BIP-39 English word list", i+1)
		}
	}
	// The word list is checked above so the error below can only be a bad checksum.
	seed, err := bip39.NewSeedWithErrorChecking(m, norm.NFKD.String(bip39Passphrase))
	if err != nil {
		return nil, errs.E("wallet: mnemonic", errs.Invalid, "checksum does not match: a word is wrong or out of order")
	}
	return seed, nil
}

// deriveSLIP10 derives the ed25519 private key and chain code at path from a
// BIP-39 seed, following SLIP-0010. Every index in path must be hardened.
func deriveSLIP10(seed []byte, path []uint32) (key, chainCode [32]byte) {
	mac := hmac.New(sha512.New, []byte("ed25519 seed"))
	mac.Write(seed)
	sum := mac.Sum(nil)
	copy(key[:], sum[:32])
	copy(chainCode[:], sum[32:])
	for _, idx := range path {
		var data [1 + 32 + 4]byte
		copy(data[1:], key[:])
		binary.BigEndian.PutUint32(data[33:], idx)
		mac := hmac.New(sha512.New, chainCode[:])
		mac.Write(data[:])
		clear(sum)
		sum = mac.Sum(nil)
		clear(data[:])
		copy(key[:], sum[:32])
		copy(chainCode[:], sum[32:])
	}
	clear(sum)
	return key, chainCode
}

// parsePath parses "m/44'/1118'/0'" (or with H instead of ') into hardened
// indexes. Unhardened steps are rejected: ed25519 SLIP-0010 has none.
func parsePath(p string) ([]uint32, error) {
	parts := strings.Split(p, "/")
	if parts[0] != "m" {
		return nil, errs.E("wallet: parse path", errs.Invalid, "%q does not start with m", p)
	}
	out := make([]uint32, 0, len(parts)-1)
	for _, s := range parts[1:] {
		num, ok := strings.CutSuffix(s, "'")
		if !ok {
			num, ok = strings.CutSuffix(s, "H")
		}
		if !ok {
			return nil, errs.E("wallet: parse path", errs.Invalid, "%q: step %q is not hardened; ed25519 allows hardened steps only", p, s)
		}
		n, err := strconv.ParseUint(num, 10, 31)
		if err != nil {
			return nil, errs.Wrap("wallet: parse path", errs.Invalid, fmt.Errorf("%q: step %q: %w", p, s, err))
		}
		out = append(out, uint32(n)|hardened)
	}
	return out, nil
}
