package market

import (
	"github.com/deai-network/deai/internal/tx"
)

// Canonical binary encodings of the market's types, built on tx's shared
// helpers (AppendStr8, Reader.Str8, AppendStrs, AppendBool, Reader.Count):
// big-endian fixed-width integers, length-prefixed strings and lists,
// bools as one byte 0 or 1, so one value has one encoding.

// appendAttrs appends u8 count ‖ count × (key u8 len ‖ value u16 len).
func appendAttrs(dst []byte, as []Attribute) []byte {
	n := tx.Count8(len(as))
	dst = append(dst, byte(n))
	for _, a := range as[:n] {
		dst = tx.AppendStr8(dst, a.Key)
		dst = tx.AppendStr16(dst, a.Value)
	}
	return dst
}

func readAttrs(r *tx.Reader) []Attribute {
	n := r.Count(3, "attributes")
	if n == 0 {
		return nil
	}
	as := make([]Attribute, n)
	for i := range as {
		as[i].Key = r.Str8()
		as[i].Value = r.Str16()
	}
	return as
}

// appendGroupSpec appends name ‖ billing u8 ‖ signed_by (all_of, any_of as
// string lists) ‖ attributes ‖ u8 count ‖ units, each: id u32 ‖ count u32
// ‖ price u64 ‖ resources.
func appendGroupSpec(dst []byte, g *GroupSpec) []byte {
	dst = tx.AppendStr8(dst, g.Name)
	dst = append(dst, g.Billing)
	dst = tx.AppendStrs(dst, g.Requirements.SignedBy.AllOf)
	dst = tx.AppendStrs(dst, g.Requirements.SignedBy.AnyOf)
	dst = appendAttrs(dst, g.Requirements.Attributes)
	n := tx.Count8(len(g.Units))
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
	g.Name = r.Str8()
	g.Billing = r.U8()
	g.Requirements.SignedBy.AllOf = r.Strs()
	g.Requirements.SignedBy.AnyOf = r.Strs()
	g.Requirements.Attributes = readAttrs(r)
	n := r.Count(4+4+8+resourcesMinLen, "resource units")
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
	n := tx.Count8(len(res.Storage))
	dst = append(dst, byte(n))
	for _, v := range res.Storage[:n] {
		dst = tx.AppendStr8(dst, v.Name)
		dst = tx.AppendU64(dst, v.SizeBytes)
		dst = tx.AppendStr8(dst, v.Class)
		dst = tx.AppendBool(dst, v.Persistent)
	}
	dst = tx.AppendU32(dst, res.GPU.Units)
	dst = tx.AppendStrs(dst, res.GPU.Attributes)
	dst = tx.AppendStr8(dst, res.GPU.Sharing)
	n = tx.Count8(len(res.Endpoints))
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
	if n := r.Count(1+8+1+1, "volumes"); n > 0 {
		res.Storage = make([]Volume, n)
		for i := range res.Storage {
			v := &res.Storage[i]
			v.Name = r.Str8()
			v.SizeBytes = r.U64()
			v.Class = r.Str8()
			v.Persistent = r.Bool()
		}
	}
	res.GPU.Units = r.U32()
	res.GPU.Attributes = r.Strs()
	res.GPU.Sharing = r.Str8()
	if n := r.Count(5, "endpoints"); n > 0 {
		res.Endpoints = make([]Endpoint, n)
		for i := range res.Endpoints {
			res.Endpoints[i].Kind = r.U8()
			res.Endpoints[i].Seq = r.U32()
		}
	}
	return res
}

func appendGroupSpecs(dst []byte, gs []GroupSpec) []byte {
	n := tx.Count8(len(gs))
	dst = append(dst, byte(n))
	for i := range gs[:n] {
		dst = appendGroupSpec(dst, &gs[i])
	}
	return dst
}

// groupSpecMinLen is the smallest encoding of a GroupSpec.
const groupSpecMinLen = 1 + 1 + 1 + 1 + 1 + 1

func readGroupSpecs(r *tx.Reader) []GroupSpec {
	n := r.Count(groupSpecMinLen, "groups")
	if n == 0 {
		return nil
	}
	gs := make([]GroupSpec, n)
	for i := range gs {
		gs[i] = readGroupSpec(r)
	}
	return gs
}
