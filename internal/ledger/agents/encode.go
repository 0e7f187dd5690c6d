package agents

import (
	"encoding/hex"
	"fmt"

	"github.com/deai-network/deai/internal/tx"
)

// Canonical binary encodings shared by the messages and the stored
// records: big-endian fixed-width integers, length-prefixed strings and
// lists, so one value has one encoding. Encoders never panic: a string
// longer than its prefix allows is cut (and fails validation anyway), a
// list longer than 255 is cut at 255.

func appendStr8(dst []byte, s string) []byte {
	if len(s) > 0xff {
		s = s[:0xff]
	}
	return tx.AppendBytes8(dst, []byte(s))
}

func appendStr16(dst []byte, s string) []byte {
	if len(s) > 0xffff {
		s = s[:0xffff]
	}
	return tx.AppendString16(dst, s)
}

func readStr8(r *tx.Reader) string  { return string(r.Bytes8(0xff)) }
func readStr16(r *tx.Reader) string { return string(r.Bytes16(0xffff)) }

// count8 is the u8 count of a list of n elements (at most 255 are encoded).
func count8(n int) int { return min(n, 0xff) }

// readCount reads a u8 count and checks that count elements of at least
// minSize bytes fit in what is left, so nothing is allocated for a lying
// count.
func readCount(r *tx.Reader, minSize int, what string) int {
	n := int(r.U8())
	if r.Err() == nil && n*minSize > r.Len() {
		r.Fail(fmt.Errorf("%d %s cannot fit in %d bytes", n, what, r.Len()))
	}
	if r.Err() != nil {
		return 0
	}
	return n
}

func appendStrs(dst []byte, ss []string) []byte {
	n := count8(len(ss))
	dst = append(dst, byte(n))
	for _, s := range ss[:n] {
		dst = appendStr8(dst, s)
	}
	return dst
}

// readStrs returns nil for an empty list, like the zero value the encoding
// came from.
func readStrs(r *tx.Reader) []string {
	n := readCount(r, 1, "strings")
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = readStr8(r)
	}
	return ss
}

func appendAddrs(dst []byte, as []tx.Address) []byte {
	n := count8(len(as))
	dst = append(dst, byte(n))
	for _, a := range as[:n] {
		dst = append(dst, a[:]...)
	}
	return dst
}

func readAddrs(r *tx.Reader) []tx.Address {
	n := readCount(r, tx.AddressLen, "addresses")
	if n == 0 {
		return nil
	}
	as := make([]tx.Address, n)
	for i := range as {
		copy(as[i][:], r.Fixed(tx.AddressLen))
	}
	return as
}

func readAddr(r *tx.Reader) tx.Address {
	var a tx.Address
	copy(a[:], r.Fixed(tx.AddressLen))
	return a
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}

func readBool(r *tx.Reader) bool {
	switch v := r.U8(); v {
	case 0:
		return false
	case 1:
		return true
	default:
		r.Fail(fmt.Errorf("bool byte %d at offset %d, want 0 or 1", v, r.Offset()-1))
		return false
	}
}

// Digest is a 32-byte digest, such as a service's schema digest. JSON and
// String use lower-case hex.
type Digest [32]byte

// ParseDigest parses 64 hex digits.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	if len(s) != 2*len(d) {
		return d, fmt.Errorf("parse digest %q: want 64 hex digits", s)
	}
	if _, err := hex.Decode(d[:], []byte(s)); err != nil {
		return d, fmt.Errorf("parse digest %q: %w", s, err)
	}
	return d, nil
}

func (d Digest) String() string { return hex.EncodeToString(d[:]) }

// IsZero reports whether d is all zeros (no digest).
func (d Digest) IsZero() bool { return d == Digest{} }

// MarshalText implements encoding.TextMarshaler.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Digest) UnmarshalText(b []byte) error {
	v, err := ParseDigest(string(b))
	*d = v
	return err
}
