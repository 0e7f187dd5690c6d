package tensor

import (
	"fmt"
	"strings"
)

// Type is a ggml tensor type; the numeric values are those stored in GGUF files.
type Type uint32

// The ggml types with a known block layout. Only F32, F16, BF16, Q8_0, Q4_0,
// Q4_K and Q6_K can be computed with; the others are known so that files
// holding them can be read and inspected.
const (
	F32  Type = 0
	F16  Type = 1
	Q4_0 Type = 2
	Q4_1 Type = 3
	Q5_0 Type = 6
	Q5_1 Type = 7
	Q8_0 Type = 8
	Q8_1 Type = 9
	Q2_K Type = 10
	Q3_K Type = 11
	Q4_K Type = 12
	Q5_K Type = 13
	Q6_K Type = 14
	Q8_K Type = 15
	I8   Type = 24
	I16  Type = 25
	I32  Type = 26
	I64  Type = 27
	F64  Type = 28
	BF16 Type = 30
)

// Block sizes of the quantized formats.
const (
	QK8_0 = 32  // elements per Q8_0 block
	QK4_0 = 32  // elements per Q4_0 block
	QK_K  = 256 // elements per K-quant super-block

	BlockQ8_0 = 34  // bytes: f16 d + 32 int8
	BlockQ4_0 = 18  // bytes: f16 d + 16 bytes of nibbles
	BlockQ4_K = 144 // bytes: f16 d, f16 dmin, 12 scale bytes, 128 nibble bytes
	BlockQ6_K = 210 // bytes: 128 ql, 64 qh, 16 int8 scales, f16 d
	BlockQ8_K = 292 // bytes: f32 d, 256 int8, 16 int16 block sums
)

type typeInfo struct {
	name       string
	blockSize  int // elements per block
	blockBytes int // bytes per block
}

// typeTable is a pure lookup table.
var typeTable = map[Type]typeInfo{
	F32:  {"F32", 1, 4},
	F16:  {"F16", 1, 2},
	Q4_0: {"Q4_0", 32, 18},
	Q4_1: {"Q4_1", 32, 20},
	Q5_0: {"Q5_0", 32, 22},
	Q5_1: {"Q5_1", 32, 24},
	Q8_0: {"Q8_0", 32, 34},
	Q8_1: {"Q8_1", 32, 36},
	Q2_K: {"Q2_K", 256, 84},
	Q3_K: {"Q3_K", 256, 110},
	Q4_K: {"Q4_K", 256, 144},
	Q5_K: {"Q5_K", 256, 176},
	Q6_K: {"Q6_K", 256, 210},
	Q8_K: {"Q8_K", 256, 292},
	I8:   {"I8", 1, 1},
	I16:  {"I16", 1, 2},
	I32:  {"I32", 1, 4},
	I64:  {"I64", 1, 8},
	F64:  {"F64", 1, 8},
	BF16: {"BF16", 1, 2},
}

// Known reports whether t has a known block layout.
func (t Type) Known() bool { _, ok := typeTable[t]; return ok }

// Computable reports whether the kernels of this package can multiply with a
// matrix of type t.
func (t Type) Computable() bool {
	switch t {
	case F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q6_K:
		return true
	}
	return false
}

func (t Type) String() string {
	if ti, ok := typeTable[t]; ok {
		return ti.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// BlockSize is the number of elements per block (1 for plain types, 0 if unknown).
func (t Type) BlockSize() int { return typeTable[t].blockSize }

// BlockBytes is the number of bytes per block (0 if unknown).
func (t Type) BlockBytes() int { return typeTable[t].blockBytes }

// RowBytes returns the byte size of n elements of type t. n must be a
// multiple of the block size.
func (t Type) RowBytes(n int) (int, error) {
	ti, ok := typeTable[t]
	if !ok {
		return 0, fmt.Errorf("unknown tensor type %d", uint32(t))
	}
	if n < 0 || n%ti.blockSize != 0 {
		return 0, fmt.Errorf("%s row of %d elements is not a multiple of the block size %d", ti.name, n, ti.blockSize)
	}
	return n / ti.blockSize * ti.blockBytes, nil
}

// ParseType parses a type name such as "q8_0" or "F32" (case-insensitive).
func ParseType(s string) (Type, error) {
	for t, ti := range typeTable {
		if strings.EqualFold(ti.name, s) {
			return t, nil
		}
	}
	return 0, fmt.Errorf("unknown tensor type %q", s)
}
