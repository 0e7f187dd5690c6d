package wallet

import (
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/tx"
)

// Key is an ed25519 account key. Its zero value is not usable; build one with
// FromSeed, FromMnemonic or Keystore.Load.
//
// Printing a Key (fmt, JSON, slog) shows only its address and public key.
type Key struct {
	priv ed25519.PrivateKey
	addr tx.Address
}

// FromSeed builds the key whose ed25519 seed (RFC 8032 private key) is seed,
// which must be ed25519.SeedSize (32) bytes. The same seed always gives the
// same key: use it for tests and deterministic dev accounts, never with a
// guessable seed for real funds.
func FromSeed(seed []byte) (*Key, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, errs.E("wallet: key from seed", errs.Invalid, "seed is %d bytes, want %d", len(seed), ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return &Key{priv: priv, addr: tx.AddressFromPubKey(priv.Public().(ed25519.PublicKey))}, nil
}

// PubKey returns the ed25519 public key.
func (k *Key) PubKey() ed25519.PublicKey {
	return k.priv.Public().(ed25519.PublicKey)
}

// Address returns the account address derived from the public key.
func (k *Key) Address() tx.Address { return k.addr }

// Sign signs msg with ed25519 (pure, no pre-hash).
func (k *Key) Sign(msg []byte) []byte { return ed25519.Sign(k.priv, msg) }

// PrivateKey returns the raw ed25519 private key (seed || public key) for code
// that must hand a key to a library signer. Never log, print or store the
// result; prefer Sign.
func (k *Key) PrivateKey() ed25519.PrivateKey { return k.priv }

// seed returns the 32-byte ed25519 seed, the secret the keystore encrypts.
func (k *Key) seed() []byte { return k.priv.Seed() }

// String returns a redacted description: the address only.
func (k Key) String() string { return "wallet.Key{" + k.addr.String() + "}" }

// GoString redacts %#v as well.
func (k Key) GoString() string { return k.String() }

// Format redacts every fmt verb, including %x and %+v.
func (k Key) Format(f fmt.State, verb rune) { fmt.Fprint(f, k.String()) }

// MarshalJSON writes only the public half.
func (k Key) MarshalJSON() ([]byte, error) {
	var pub string
	if len(k.priv) == ed25519.PrivateKeySize {
		pub = hex.EncodeToString(k.priv.Public().(ed25519.PublicKey))
	}
	return json.Marshal(struct {
		Address tx.Address `json:"address"`
		PubKey  string     `json:"pub_key"`
	}{k.addr, pub})
}

// LogValue makes slog log only the address.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.addr.String()) }
