package market

import (
	"fmt"

	"github.com/deai-network/deai/internal/tx"
)

// Canonical binary encodings of the shared types, used by the messages and
// the stored records. Integers are big-endian and fixed width, strings and
// lists carry a length prefix, bools are one byte 0 or 1; so one value has
// one encoding. Encoders never panic: a string longer than its prefix
// allows is cut (and fails validation anyway), a list longer than 255 is
// cut at 255.

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
// minSize bytes can fit in what is left, so nothing is allocated for a
// lying count.
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

func appendStrs(dst []byte, ss []string) []byte {
	n := count8(len(ss))
	dst = append(dst, byte(n))
	for _, s := range ss[:n] {
		dst = appendStr8(dst, s)
	}
	return dst
}

// readStrs returns nil for an empty list, like the zero value the
// encoding came from.
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

// appendAttrs appends u8 count ‖ count × (key u8 len ‖ value u16 len).
func appendAttrs(dst []byte, as []Attribute) []byte {
	n := count8(len(as))
	dst = append(dst, byte(n))
	for _, a := range as[:n] {
		dst = appendStr8(dst, a.Key)
		dst = appendStr16(dst, a.Value)
	}
	return dst
}

func readAttrs(r *tx.Reader) []Attribute {
	n := readCount(r, 3, "attributes")
	if n == 0 {
		return nil
	}
	as := make([]Attribute, n)
	for i := range as {
		as[i].Key = readStr8(r)
		as[i].Value = readStr16(r)
	}
	return as
}

// appendGroupSpec appends name ‖ billing u8 ‖ signed_by (all_of, any_of as
// string lists) ‖ attributes ‖ u8 count ‖ units, each: id u32 ‖ count u32
// ‖ price u64 ‖ resources.
func appendGroupSpec(dst []byte, g *GroupSpec) []byte {
	dst = appendStr8(dst, g.Name)
	dst = append(dst, g.Billing)
	dst = appendStrs(dst, g.Requirements.SignedBy.AllOf)
	dst = appendStrs(dst, g.Requirements.SignedBy.AnyOf)
	dst = appendAttrs(dst, g.Requirements.Attributes)
	n := count8(len(g.Units))
	dst = append(dst, byte(n))
	for i := range g.Units[:n] {
		u := &g.Units[i]
		dst = tx.AppendU32(dst, u.ID)
		dst = tx.AppendU32(dst, u.Count)
		dst = tx.AppendU64(dst, u.Price)
		dst = appendResources(dst, &u.Resources)
	}
	return dst
}

func readGroupSpec(r *tx.Reader) GroupSpec {
	var g GroupSpec
	g.Name = readStr8(r)
	g.Billing = r.U8()
	g.Requirements.SignedBy.AllOf = readStrs(r)
	g.Requirements.SignedBy.AnyOf = readStrs(r)
	g.Requirements.Attributes = readAttrs(r)
	n := readCount(r, 4+4+8+resourcesMinLen, "resource units")
	if n > 0 {
		g.Units = make([]ResourceUnit, n)
	}
	for i := range g.Units {
		u := &g.Units[i]
		u.ID = r.U32()
		u.Count = r.U32()
		u.Price = r.U64()
		u.Resources = readResources(r)
	}
	return g
}

// resourcesMinLen is the smallest encoding of Resources.
const resourcesMinLen = 8 + 8 + 1 + 4 + 1 + 1 + 1

// appendResources appends cpu u64 ‖ memory u64 ‖ u8 count × volume (name,
// size u64, class, persistent bool) ‖ gpu (units u32, alternatives as a
// string list, sharing) ‖ u8 count × endpoint (kind u8, seq u32).
func appendResources(dst []byte, res *Resources) []byte {
	dst = tx.AppendU64(dst, res.CPUMilli)
	dst = tx.AppendU64(dst, res.MemoryBytes)
	n := count8(len(res.Storage))
	dst = append(dst, byte(n))
	for _, v := range res.Storage[:n] {
		dst = appendStr8(dst, v.Name)
		dst = tx.AppendU64(dst, v.SizeBytes)
		dst = appendStr8(dst, v.Class)
		dst = appendBool(dst, v.Persistent)
	}
	dst = tx.AppendU32(dst, res.GPU.Units)
	dst = appendStrs(dst, res.GPU.Attributes)
	dst = appendStr8(dst, res.GPU.Sharing)
	n = count8(len(res.Endpoints))
	dst = append(dst, byte(n))
	for _, e := range res.Endpoints[:n] {
		dst = append(dst, e.Kind)
		dst = tx.AppendU32(dst, e.Seq)
	}
	return dst
}

func readResources(r *tx.Reader) Resources {
	var res Resources
	res.CPUMilli = r.U64()
	res.MemoryBytes = r.U64()
	if n := readCount(r, 1+8+1+1, "volumes"); n > 0 {
		res.Storage = make([]Volume, n)
		for i := range res.Storage {
			v := &res.Storage[i]
			v.Name = readStr8(r)
			v.SizeBytes = r.U64()
			v.Class = readStr8(r)
			v.Persistent = readBool(r)
		}
	}
	res.GPU.Units = r.U32()
	res.GPU.Attributes = readStrs(r)
	res.GPU.Sharing = readStr8(r)
	if n := readCount(r, 5, "endpoints"); n > 0 {
		res.Endpoints = make([]Endpoint, n)
		for i := range res.Endpoints {
			res.Endpoints[i].Kind = r.U8()
			res.Endpoints[i].Seq = r.U32()
		}
	}
	return res
}

func appendGroupSpecs(dst []byte, gs []GroupSpec) []byte {
	n := count8(len(gs))
	dst = append(dst, byte(n))
	for i := range gs[:n] {
		dst = appendGroupSpec(dst, &gs[i])
	}
	return dst
}

// groupSpecMinLen is the smallest encoding of a GroupSpec.
const groupSpecMinLen = 1 + 1 + 1 + 1 + 1 + 1

func readGroupSpecs(r *tx.Reader) []GroupSpec {
	n := readCount(r, groupSpecMinLen, "groups")
	if n == 0 {
		return nil
	}
	gs := make([]GroupSpec, n)
	for i := range gs {
		gs[i] = readGroupSpec(r)
	}
	return gs
}
