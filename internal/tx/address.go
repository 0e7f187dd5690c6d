package tx

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"

	"github.com/btcsuite/btcd/btcutil/bech32"
)

// AddressPrefix is the bech32 human-readable part of every deai address.
const AddressPrefix = "deai"

// AddressLen is the length of an address in bytes.
const AddressLen = 20

// Address identifies an account: the first 20 bytes of sha256(ed25519 public key).
type Address [AddressLen]byte

// AddressFromPubKey derives the account address of an ed25519 public key.
func AddressFromPubKey(pub ed25519.PublicKey) Address {
	sum := sha256.Sum256(pub)
	var a Address
	copy(a[:], sum[:AddressLen])
	return a
}

// IsZero reports whether a is the all-zero address.
func (a Address) IsZero() bool { return a == Address{} }

// String returns the bech32 form, deai1….
func (a Address) String() string {
	conv, err := bech32.ConvertBits(a[:], 8, 5, true)
	if err != nil {
		panic(err) // unreachable: 8→5 conversion of 20 bytes cannot fail
	}
	s, err := bech32.Encode(AddressPrefix, conv)
	if err != nil {
		panic(err) // unreachable: fixed prefix and length
	}
	return s
}

// ParseAddress decodes a bech32 deai1… address.
func ParseAddress(s string) (Address, error) {
	var a Address
	hrp, data, err := bech32.Decode(s)
	if err != nil {
		return a, fmt.Errorf("parse address %q: %w", s, err)
	}
	if hrp != AddressPrefix {
		return a, fmt.Errorf("parse address %q: prefix %q, want %q", s, hrp, AddressPrefix)
	}
	raw, err := bech32.ConvertBits(data, 5, 8, false)
	if err != nil {
		return a, fmt.Errorf("parse address %q: %w", s, err)
	}
	if len(raw) != AddressLen {
		return a, fmt.Errorf("parse address %q: %d bytes, want %d", s, len(raw), AddressLen)
	}
	copy(a[:], raw)
	return a, nil
}

// MarshalText implements encoding.TextMarshaler (bech32 form).
func (a Address) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (a *Address) UnmarshalText(b []byte) error {
	p, err := ParseAddress(string(b))
	if err != nil {
		return err
	}
	*a = p
	return nil
}
