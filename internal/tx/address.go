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

// String returns the bech32 form, deai1…. It is on the ledger's hot path
// (every event names addresses), so it encodes directly instead of going
// through the generic bech32 package; TestAddressStringMatchesBech32 keeps
// the two in agreement.
func (a Address) String() string {
	// 20 bytes = 160 bits = 32 groups of 5 bits.
	var out [len(AddressPrefix) + 1 + 32 + 6]byte
	copy(out[:], AddressPrefix)
	out[len(AddressPrefix)] = '1'
	d := out[len(AddressPrefix)+1:]
	chk := hrpPolymod
	for i := 0; i < 32; i++ {
		bit := i * 5
		byteIdx, shift := bit/8, bit%8
		v := uint16(a[byteIdx]) << 8
		if byteIdx+1 < AddressLen {
			v |= uint16(a[byteIdx+1])
		}
		g := byte(v>>(11-shift)) & 31
		chk = polymodStep(chk) ^ uint32(g)
		d[i] = bech32Charset[g]
	}
	for i := 0; i < 6; i++ {
		chk = polymodStep(chk)
	}
	chk ^= 1
	for i := 0; i < 6; i++ {
		d[32+i] = bech32Charset[(chk>>(5*(5-i)))&31]
	}
	return string(out[:])
}

const bech32Charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"

func polymodStep(chk uint32) uint32 {
	b := chk >> 25
	chk = (chk & 0x1ffffff) << 5
	chk ^= -(b & 1) & 0x3b6a57b2
	chk ^= -(b >> 1 & 1) & 0x26508e6d
	chk ^= -(b >> 2 & 1) & 0x1ea119fa
	chk ^= -(b >> 3 & 1) & 0x3d4233dd
	chk ^= -(b >> 4 & 1) & 0x2a1462b3
	return chk
}

// hrpPolymod is the checksum state after the expanded prefix.
var hrpPolymod = func() uint32 {
	chk := uint32(1)
	for i := 0; i < len(AddressPrefix); i++ {
		chk = polymodStep(chk) ^ uint32(AddressPrefix[i]>>5)
	}
	chk = polymodStep(chk)
	for i := 0; i < len(AddressPrefix); i++ {
		chk = polymodStep(chk) ^ uint32(AddressPrefix[i]&31)
	}
	return chk
}()

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
