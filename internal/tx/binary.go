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
