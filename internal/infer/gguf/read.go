package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/bits"
	"os"
	"slices"

	"github.com/deai-network/deai/internal/infer/tensor"
)

// File is a parsed GGUF file. Tensor data slices point into the file's
// mapping and stay valid until Close.
type File struct {
	Version    uint32
	KVs        []KV
	Tensors    []TensorInfo
	Alignment  uint64
	DataOffset uint64 // absolute offset of the tensor data
	Size       int64  // file size in bytes

	kvIndex     map[string]int
	tensorIndex map[string]int
	data        []byte       // the whole file
	unmap       func() error // nil when data is an ordinary slice
}

// ErrFormat is wrapped by every error about a malformed file.
var ErrFormat = errors.New("malformed gguf")

func formatErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}

// Open maps the file at path read-only (reading it into memory where mapping
// is unavailable) and parses it.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open gguf: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat gguf %s: %w", path, err)
	}
	size := st.Size()
	if size < 24 {
		return nil, formatErr("%s: %d bytes is too short", path, size)
	}
	data, unmap, err := mapFile(fh, size)
	if err != nil {
		return nil, fmt.Errorf("read gguf %s: %w", path, err)
	}
	f, err := Parse(data)
	if err != nil {
		if unmap != nil {
			_ = unmap()
		}
		return nil, fmt.Errorf("parse gguf %s: %w", path, err)
	}
	f.unmap = unmap
	return f, nil
}

// Close releases the mapping. Tensor data must not be used afterwards.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	u := f.unmap
	f.unmap, f.data = nil, nil
	return u()
}

// decoder reads little-endian values from b with bounds checks.
type decoder struct {
	b   []byte
	off uint64
	err error
}

func (d *decoder) remaining() uint64 { return uint64(len(d.b)) - d.off }

func (d *decoder) need(n uint64) bool {
	if d.err != nil {
		return false
	}
	if n > d.remaining() {
		d.err = formatErr("need %d bytes at offset %d, file has %d", n, d.off, len(d.b))
		return false
	}
	return true
}

func (d *decoder) bytes(n uint64) []byte {
	if !d.need(n) {
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

func (d *decoder) u8() uint8 {
	if p := d.bytes(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if p := d.bytes(2); p != nil {
		return binary.LittleEndian.Uint16(p)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if p := d.bytes(4); p != nil {
		return binary.LittleEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if p := d.bytes(8); p != nil {
		return binary.LittleEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) str(maxLen uint64) string {
	n := d.u64()
	if d.err != nil {
		return ""
	}
	if n > maxLen {
		d.err = formatErr("string of %d bytes at offset %d exceeds %d", n, d.off-8, maxLen)
		return ""
	}
	return string(d.bytes(n))
}

// count reads an element count and checks that count elements of at least
// minSize bytes each fit in the rest of the file.
func (d *decoder) count(what string, minSize uint64) uint64 {
	n := d.u64()
	if d.err != nil {
		return 0
	}
	if minSize == 0 {
		minSize = 1
	}
	if n > d.remaining()/minSize {
		d.err = formatErr("%s count %d cannot fit in the %d remaining bytes", what, n, d.remaining())
		return 0
	}
	return n
}

func readSlice[T any](d *decoder, n uint64, read func() T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = read()
		if d.err != nil {
			return nil
		}
	}
	return out
}

func (d *decoder) value(t ValueType, depth int) any {
	switch t {
	case TypeUint8:
		return d.u8()
	case TypeInt8:
		return int8(d.u8())
	case TypeUint16:
		return d.u16()
	case TypeInt16:
		return int16(d.u16())
	case TypeUint32:
		return d.u32()
	case TypeInt32:
		return int32(d.u32())
	case TypeFloat32:
		return math.Float32frombits(d.u32())
	case TypeUint64:
		return d.u64()
	case TypeInt64:
		return int64(d.u64())
	case TypeFloat64:
		return math.Float64frombits(d.u64())
	case TypeBool:
		b := d.u8()
		if b > 1 && d.err == nil {
			d.err = formatErr("bool value %d at offset %d", b, d.off-1)
		}
		return b == 1
	case TypeString:
		return d.str(math.MaxUint64)
	case TypeArray:
		if depth >= maxArrayDepth {
			d.err = formatErr("arrays nested deeper than %d", maxArrayDepth)
			return nil
		}
		et := ValueType(d.u32())
		ms, ok := et.minSize()
		if !ok {
			if d.err == nil {
				d.err = formatErr("unknown array element type %d at offset %d", et, d.off-4)
			}
			return nil
		}
		n := d.count("array", ms)
		if d.err != nil {
			return nil
		}
		return Array{Type: et, Values: d.array(et, n, depth+1)}
	}
	if d.err == nil {
		d.err = formatErr("unknown value type %d at offset %d", t, d.off-4)
	}
	return nil
}

func (d *decoder) array(et ValueType, n uint64, depth int) any {
	switch et {
	case TypeUint8:
		return readSlice(d, n, d.u8)
	case TypeInt8:
		return readSlice(d, n, func() int8 { return int8(d.u8()) })
	case TypeUint16:
		return readSlice(d, n, d.u16)
	case TypeInt16:
		return readSlice(d, n, func() int16 { return int16(d.u16()) })
	case TypeUint32:
		return readSlice(d, n, d.u32)
	case TypeInt32:
		return readSlice(d, n, func() int32 { return int32(d.u32()) })
	case TypeFloat32:
		return readSlice(d, n, func() float32 { return math.Float32frombits(d.u32()) })
	case TypeUint64:
		return readSlice(d, n, d.u64)
	case TypeInt64:
		return readSlice(d, n, func() int64 { return int64(d.u64()) })
	case TypeFloat64:
		return readSlice(d, n, func() float64 { return math.Float64frombits(d.u64()) })
	case TypeBool:
		return readSlice(d, n, func() bool { return d.value(TypeBool, depth).(bool) })
	case TypeString:
		return readSlice(d, n, func() string { return d.str(math.MaxUint64) })
	case TypeArray:
		return readSlice(d, n, func() Array {
			v, _ := d.value(TypeArray, depth).(Array)
			return v
		})
	}
	return nil
}

// Parse parses a whole GGUF file held in b. The File refers to b.
func Parse(b []byte) (*File, error) {
	d := &decoder{b: b}
	if magic := d.u32(); d.err == nil && magic != Magic {
		return nil, formatErr("bad magic %#x", magic)
	}
	f := &File{Size: int64(len(b)), data: b, Alignment: DefaultAlignment}
	f.Version = d.u32()
	if d.err == nil && f.Version != 2 && f.Version != 3 {
		return nil, formatErr("unsupported version %d", f.Version)
	}
	nTensors := d.count("tensor", 8+4+4+8) // name length, n_dims, type, offset
	nKV := d.count("metadata", 8+4+1)
	if d.err != nil {
		return nil, d.err
	}
	f.KVs = make([]KV, 0, nKV)
	f.kvIndex = make(map[string]int, nKV)
	for i := uint64(0); i < nKV; i++ {
		key := d.str(MaxKeyLen)
		t := ValueType(d.u32())
		v := d.value(t, 0)
		if d.err != nil {
			return nil, fmt.Errorf("metadata %d (%q): %w", i, key, d.err)
		}
		if _, dup := f.kvIndex[key]; dup {
			return nil, formatErr("duplicate metadata key %q", key)
		}
		f.kvIndex[key] = len(f.KVs)
		f.KVs = append(f.KVs, KV{Key: key, Value: v})
	}
	if v, ok := f.kvIndex["general.alignment"]; ok {
		a, isU32 := f.KVs[v].Value.(uint32)
		if !isU32 || a == 0 || a&(a-1) != 0 {
			return nil, formatErr("general.alignment %v is not a power-of-two uint32", f.KVs[v].Value)
		}
		f.Alignment = uint64(a)
	}
	f.Tensors = make([]TensorInfo, 0, nTensors)
	f.tensorIndex = make(map[string]int, nTensors)
	for i := uint64(0); i < nTensors; i++ {
		ti, err := readTensorInfo(d)
		if err != nil {
			return nil, fmt.Errorf("tensor %d: %w", i, err)
		}
		if _, dup := f.tensorIndex[ti.Name]; dup {
			return nil, formatErr("duplicate tensor %q", ti.Name)
		}
		if ti.Offset%f.Alignment != 0 {
			return nil, formatErr("tensor %q offset %d is not a multiple of the alignment %d", ti.Name, ti.Offset, f.Alignment)
		}
		f.tensorIndex[ti.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, ti)
	}
	f.DataOffset = align(d.off, f.Alignment)
	if f.DataOffset > uint64(len(b)) {
		if len(f.Tensors) > 0 {
			return nil, formatErr("tensor data offset %d past the end of the file (%d bytes)", f.DataOffset, len(b))
		}
		f.DataOffset = uint64(len(b))
	}
	if err := f.checkRanges(); err != nil {
		return nil, err
	}
	return f, nil
}

func align(o, a uint64) uint64 { return o + (a-o%a)%a }

func readTensorInfo(d *decoder) (TensorInfo, error) {
	var ti TensorInfo
	ti.Name = d.str(MaxNameLen)
	nd := d.u32()
	if d.err != nil {
		return ti, d.err
	}
	if nd == 0 || nd > MaxDims {
		return ti, formatErr("tensor %q has %d dimensions", ti.Name, nd)
	}
	if !d.need(uint64(nd) * 8) {
		return ti, d.err
	}
	ti.Dims = make([]uint64, nd)
	n := uint64(1)
	for i := range ti.Dims {
		ti.Dims[i] = d.u64()
		if ti.Dims[i] == 0 || ti.Dims[i] > math.MaxInt64 {
			return ti, formatErr("tensor %q dimension %d is %d", ti.Name, i, ti.Dims[i])
		}
		hi, lo := bits.Mul64(n, ti.Dims[i])
		if hi != 0 || lo > math.MaxInt64 {
			return ti, formatErr("tensor %q element count overflows", ti.Name)
		}
		n = lo
	}
	ti.Type = tensor.Type(d.u32())
	ti.Offset = d.u64()
	if d.err != nil {
		return ti, d.err
	}
	if !ti.Type.Known() {
		return ti, formatErr("tensor %q has unknown type %d", ti.Name, uint32(ti.Type))
	}
	bs, bb := uint64(ti.Type.BlockSize()), uint64(ti.Type.BlockBytes())
	if ti.Dims[0]%bs != 0 {
		return ti, formatErr("tensor %q row of %d is not a multiple of the %s block size %d", ti.Name, ti.Dims[0], ti.Type, bs)
	}
	hi, size := bits.Mul64(n/bs, bb)
	if hi != 0 || size > math.MaxInt64 {
		return ti, formatErr("tensor %q byte size overflows", ti.Name)
	}
	ti.Size = size
	return ti, nil
}

// checkRanges verifies that every tensor lies inside the file and that no
// two tensors overlap.
func (f *File) checkRanges() error {
	avail := uint64(len(f.data)) - f.DataOffset
	order := make([]int, len(f.Tensors))
	for i := range order {
		order[i] = i
	}
	for _, ti := range f.Tensors {
		if ti.Offset > avail || ti.Size > avail-ti.Offset {
			return formatErr("tensor %q bytes [%d, +%d) extend past the end of the data (%d bytes)", ti.Name, ti.Offset, ti.Size, avail)
		}
	}
	slices.SortFunc(order, func(a, b int) int {
		oa, ob := f.Tensors[a].Offset, f.Tensors[b].Offset
		switch {
		case oa < ob:
			return -1
		case oa > ob:
			return 1
		}
		return 0
	})
	for i := 1; i < len(order); i++ {
		p, q := &f.Tensors[order[i-1]], &f.Tensors[order[i]]
		if p.Offset+p.Size > q.Offset {
			return formatErr("tensors %q and %q overlap", p.Name, q.Name)
		}
	}
	return nil
}

// Tensor returns the description of the named tensor.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tensorIndex[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// TensorData returns the bytes of a tensor of this file (a view, not a copy).
func (f *File) TensorData(ti *TensorInfo) []byte {
	start := f.DataOffset + ti.Offset
	return f.data[start : start+ti.Size : start+ti.Size]
}

// Get returns a metadata value.
func (f *File) Get(key string) (any, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return nil, false
	}
	return f.KVs[i].Value, true
}

// GetString returns a string value.
func (f *File) GetString(key string) (string, bool) {
	v, _ := f.Get(key)
	s, ok := v.(string)
	return s, ok
}

// GetUint returns a non-negative integer value of any integer type.
func (f *File) GetUint(key string) (uint64, bool) {
	v, _ := f.Get(key)
	return toUint(v)
}

func toUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	}
	return 0, false
}

// GetFloat returns a floating-point value (float32 or float64; integers are
// converted).
func (f *File) GetFloat(key string) (float64, bool) {
	v, _ := f.Get(key)
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if u, ok := toUint(v); ok {
		return float64(u), true
	}
	return 0, false
}

// GetBool returns a bool value.
func (f *File) GetBool(key string) (bool, bool) {
	v, _ := f.Get(key)
	b, ok := v.(bool)
	return b, ok
}

// GetArray returns an array value.
func (f *File) GetArray(key string) (Array, bool) {
	v, _ := f.Get(key)
	a, ok := v.(Array)
	return a, ok
}

// GetStrings returns a string array.
func (f *File) GetStrings(key string) ([]string, bool) {
	a, _ := f.GetArray(key)
	s, ok := a.Values.([]string)
	return s, ok
}

// GetFloat32s returns a float32 array.
func (f *File) GetFloat32s(key string) ([]float32, bool) {
	a, _ := f.GetArray(key)
	s, ok := a.Values.([]float32)
	return s, ok
}

// GetInt32s returns an integer array of any integer element type as int32s
// (values out of the int32 range fail).
func (f *File) GetInt32s(key string) ([]int32, bool) {
	a, ok := f.GetArray(key)
	if !ok {
		return nil, false
	}
	if s, ok := a.Values.([]int32); ok {
		return s, true
	}
	out := make([]int32, 0, a.Len())
	switch s := a.Values.(type) {
	case []uint8:
		for _, x := range s {
			out = append(out, int32(x))
		}
	case []int8:
		for _, x := range s {
			out = append(out, int32(x))
		}
	case []uint16:
		for _, x := range s {
			out = append(out, int32(x))
		}
	case []int16:
		for _, x := range s {
			out = append(out, int32(x))
		}
	case []uint32:
		for _, x := range s {
			if x > math.MaxInt32 {
				return nil, false
			}
			out = append(out, int32(x))
		}
	default:
		return nil, false
	}
	return out, true
}

// Bytes returns the whole file (the mapping); valid until Close.
func (f *File) Bytes() []byte { return f.data }
