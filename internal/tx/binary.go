package tx

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// The helpers below are the building blocks of every canonical encoding in
// deai (transactions, messages, ledger records): fixed-width big-endian
// integers and byte strings with a fixed-width length prefix. Fixed widths
// make every encoding canonical by construction: one value, one byte string.

// AppendU8 appends v.
func AppendU8(dst []byte, v uint8) []byte { return append(dst, v) }

// AppendU16 appends v big-endian.
func AppendU16(dst []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(dst, v) }

// AppendU32 appends v big-endian.
func AppendU32(dst []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(dst, v) }

// AppendU64 appends v big-endian.
func AppendU64(dst []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(dst, v) }

// AppendBytes8 appends a 1-byte length and b; len(b) must be < 256.
func AppendBytes8(dst, b []byte) []byte {
	if len(b) > 0xff {
		panic("tx: AppendBytes8: value too long")
	}
	return append(append(dst, byte(len(b))), b...)
}

// AppendBytes16 appends a 2-byte length and b; len(b) must be < 65536.
func AppendBytes16(dst, b []byte) []byte {
	if len(b) > 0xffff {
		panic("tx: AppendBytes16: value too long")
	}
	return append(AppendU16(dst, uint16(len(b))), b...)
}

// AppendString16 appends a 2-byte length and s.
func AppendString16(dst []byte, s string) []byte {
	if len(s) > 0xffff {
		panic("tx: AppendString16: value too long")
	}
	return append(AppendU16(dst, uint16(len(s))), s...)
}

// errShort is the cause of every read past the end.
var errShort = errors.New("unexpected end of input")

// Reader decodes the encodings written by the Append helpers. The first
// error sticks: later reads return zero values, and Err or Done report it.
// Every length is checked against the remaining input before anything is
// allocated; returned slices alias the input.
type Reader struct {
	b   []byte
	off int
	err error
}

// NewReader returns a Reader over b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Err returns the first error, if any.
func (r *Reader) Err() error { return r.err }

// Len returns the number of unread bytes.
func (r *Reader) Len() int { return len(r.b) - r.off }

// Offset returns the number of bytes read so far.
func (r *Reader) Offset() int { return r.off }

// Fail records err (if no error is recorded yet).
func (r *Reader) Fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// Done returns the first error, or an error if unread bytes remain.
func (r *Reader) Done() error {
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.b) {
		return fmt.Errorf("%d trailing bytes", len(r.b)-r.off)
	}
	return nil
}

// Fixed returns the next n bytes.
func (r *Reader) Fixed(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.err = fmt.Errorf("%w at offset %d: need %d bytes, have %d", errShort, r.off, n, len(r.b)-r.off)
		return nil
	}
	v := r.b[r.off : r.off+n : r.off+n]
	r.off += n
	return v
}

// U8 reads one byte.
func (r *Reader) U8() uint8 {
	v := r.Fixed(1)
	if v == nil {
		return 0
	}
	return v[0]
}

// U16 reads a big-endian uint16.
func (r *Reader) U16() uint16 {
	v := r.Fixed(2)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint16(v)
}

// U32 reads a big-endian uint32.
func (r *Reader) U32() uint32 {
	v := r.Fixed(4)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint32(v)
}

// U64 reads a big-endian uint64.
func (r *Reader) U64() uint64 {
	v := r.Fixed(8)
	if v == nil {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// Bytes8 reads a 1-byte length and that many bytes, failing if the length
// exceeds max.
func (r *Reader) Bytes8(max int) []byte {
	n := int(r.U8())
	return r.bounded(n, max)
}

// Bytes16 reads a 2-byte length and that many bytes, failing if the length
// exceeds max.
func (r *Reader) Bytes16(max int) []byte {
	n := int(r.U16())
	return r.bounded(n, max)
}

func (r *Reader) bounded(n, max int) []byte {
	if r.err != nil {
		return nil
	}
	if n > max {
		r.err = fmt.Errorf("length %d at offset %d exceeds limit %d", n, r.off, max)
		return nil
	}
	v := r.Fixed(n)
	if v == nil && r.err == nil {
		return []byte{}
	}
	return v
}

// The helpers below are the canonical encodings the ledger modules share
// for their messages and records: length-prefixed strings and lists,
// booleans as one byte 0 or 1. Encoders never panic: a string longer than
// its prefix allows is cut (such values fail validation anyway) and a list
// longer than 255 is cut at 255, so one value has one encoding.

// AppendStr8 appends a u8 length and s, cut at 255 bytes.
func AppendStr8(dst []byte, s string) []byte {
	if len(s) > 0xff {
		s = s[:0xff]
	}
	return AppendBytes8(dst, []byte(s))
}

// AppendStr16 appends a u16 length and s, cut at 65,535 bytes.
func AppendStr16(dst []byte, s string) []byte {
	if len(s) > 0xffff {
		s = s[:0xffff]
	}
	return AppendString16(dst, s)
}

// Str8 reads what AppendStr8 wrote.
func (r *Reader) Str8() string { return string(r.Bytes8(0xff)) }

// Str16 reads what AppendStr16 wrote.
func (r *Reader) Str16() string { return string(r.Bytes16(0xffff)) }

// Count8 is the u8 count of a list of n elements (at most 255 are encoded).
func Count8(n int) int { return min(n, 0xff) }

// Count reads a u8 count and checks that count elements of at least
// minSize bytes fit in what is left, so nothing is allocated for a lying
// count; what names the elements in the error.
func (r *Reader) Count(minSize int, what string) int {
	n := int(r.U8())
	if r.err == nil && n*minSize > r.Len() {
		r.Fail(fmt.Errorf("%d %s cannot fit in %d bytes", n, what, r.Len()))
	}
	if r.err != nil {
		return 0
	}
	return n
}

// AppendBool appends 1 for true, 0 for false.
func AppendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 1)
	}
	return append(dst, 0)
}

// Bool reads a byte that must be 0 or 1.
func (r *Reader) Bool() bool {
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

// AppendStrs appends a u8 count and each string with AppendStr8.
func AppendStrs(dst []byte, ss []string) []byte {
	n := Count8(len(ss))
	dst = append(dst, byte(n))
	for _, s := range ss[:n] {
		dst = AppendStr8(dst, s)
	}
	return dst
}

// Strs reads what AppendStrs wrote; an empty list reads as nil, like the
// zero value it came from.
func (r *Reader) Strs() []string {
	n := r.Count(1, "strings")
	if n == 0 {
		return nil
	}
	ss := make([]string, n)
	for i := range ss {
		ss[i] = r.Str8()
	}
	return ss
}

// AppendAddrs appends a u8 count and the raw addresses.
func AppendAddrs(dst []byte, as []Address) []byte {
	n := Count8(len(as))
	dst = append(dst, byte(n))
	for _, a := range as[:n] {
		dst = append(dst, a[:]...)
	}
	return dst
}

// Addrs reads what AppendAddrs wrote; an empty list reads as nil.
func (r *Reader) Addrs() []Address {
	n := r.Count(AddressLen, "addresses")
	if n == 0 {
		return nil
	}
	as := make([]Address, n)
	for i := range as {
		copy(as[i][:], r.Fixed(AddressLen))
	}
	return as
}

// Addr reads one raw address.
func (r *Reader) Addr() Address {
	var a Address
	copy(a[:], r.Fixed(AddressLen))
	return a
}
