package tensor

import (
	"fmt"
	"unsafe"
)

// Matrix is a read-only 2-D weight tensor: Rows rows of Cols elements of
// Type, row-major, typically a view into a memory-mapped file.
type Matrix struct {
	Type       Type
	Rows, Cols int
	Data       []byte
	rowBytes   int
	f32        []float32 // Data viewed as float32 when Type == F32
}

// NewMatrix wraps data (at least rows*RowBytes(cols) bytes) without copying,
// except that misaligned F32 data is copied once.
func NewMatrix(t Type, rows, cols int, data []byte) (*Matrix, error) {
	if !t.Computable() {
		return nil, fmt.Errorf("matrix of type %s: not supported", t)
	}
	if rows <= 0 || cols <= 0 {
		return nil, fmt.Errorf("matrix shape %dx%d: not positive", rows, cols)
	}
	rb, err := t.RowBytes(cols)
	if err != nil {
		return nil, err
	}
	if rows > len(data)/rb {
		return nil, fmt.Errorf("matrix %s %dx%d needs %d bytes, have %d", t, rows, cols, rows*rb, len(data))
	}
	m := &Matrix{Type: t, Rows: rows, Cols: cols, Data: data[:rows*rb], rowBytes: rb}
	if t == F32 {
		m.f32 = bytesAsF32(m.Data)
	}
	return m, nil
}

// bytesAsF32 views b as float32s, copying only if b is not 4-byte aligned.
func bytesAsF32(b []byte) []float32 {
	if len(b) == 0 {
		return nil
	}
	if uintptr(unsafe.Pointer(&b[0]))%4 != 0 {
		c := make([]byte, len(b)+4)
		off := int((4 - uintptr(unsafe.Pointer(&c[0]))%4) % 4)
		copy(c[off:], b)
		b = c[off : off+len(b)]
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4)
}

// F32View views a little-endian float32 byte slice as []float32 (amd64 and
// arm64 are little-endian), copying only if misaligned.
func F32View(b []byte) []float32 { return bytesAsF32(b) }

// VecType is the activation format this matrix is multiplied with.
func (m *Matrix) VecType() Type {
	switch m.Type {
	case Q8_0, Q4_0:
		return Q8_0
	case Q4_K, Q6_K:
		return Q8_K
	}
	return F32
}

// Row dequantizes row i into dst[:Cols].
func (m *Matrix) Row(i int, dst []float32) {
	if m.f32 != nil {
		copy(dst[:m.Cols], m.f32[i*m.Cols:])
		return
	}
	// Dequantize only fails on a wrong type or length, both checked by NewMatrix.
	_ = Dequantize(m.Type, m.Data[i*m.rowBytes:(i+1)*m.rowBytes], dst[:m.Cols])
}

// Vec is an activation vector prepared for matmuls: the float32 values plus
// lazily computed Q8_0 and Q8_K quantizations, each computed once however
// many matrices the vector is multiplied with. Buffers are reused.
type Vec struct {
	X          []float32
	q8, qk     []byte
	q8d        []float32 // the Q8_0 block scales as float32
	q8ok, qkok bool
}

// Set points the vector at x and invalidates the quantized forms.
func (v *Vec) Set(x []float32) { v.X, v.q8ok, v.qkok = x, false, false }

// prepare makes the quantized form for t available. Called before any
// parallel work, so the workers only read.
func (v *Vec) prepare(t Type) {
	switch t {
	case Q8_0:
		if !v.q8ok {
			n := len(v.X) / QK8_0 * BlockQ8_0
			if cap(v.q8) < n {
				v.q8 = make([]byte, n)
			}
			v.q8 = v.q8[:n]
			QuantizeQ8_0(v.q8, v.X)
			nb := len(v.X) / QK8_0
			if cap(v.q8d) < nb {
				v.q8d = make([]float32, nb)
			}
			v.q8d = v.q8d[:nb]
			for b := range v.q8d {
				v.q8d[b] = F16ToF32(uint16(v.q8[b*BlockQ8_0]) | uint16(v.q8[b*BlockQ8_0+1])<<8)
			}
			v.q8ok = true
		}
	case Q8_K:
		if !v.qkok {
			n := len(v.X) / QK_K * BlockQ8_K
			if cap(v.qk) < n {
				v.qk = make([]byte, n)
			}
			v.qk = v.qk[:n]
			QuantizeQ8_K(v.qk, v.X)
			v.qkok = true
		}
	}
}

// dotRow is row r of m times v (v prepared for m.VecType()).
func (m *Matrix) dotRow(r int, v *Vec) float32 {
	switch m.Type {
	case F32:
		return DotF32(m.f32[r*m.Cols:(r+1)*m.Cols], v.X)
	case F16:
		return dotF16(m.Data[r*m.rowBytes:(r+1)*m.rowBytes], v.X[:m.Cols])
	case BF16:
		return dotBF16(m.Data[r*m.rowBytes:(r+1)*m.rowBytes], v.X[:m.Cols])
	case Q8_0:
		return dotQ8_0(m.Data[r*m.rowBytes:(r+1)*m.rowBytes], v.q8, m.Cols/QK8_0)
	case Q4_0:
		return dotQ4_0(m.Data[r*m.rowBytes:(r+1)*m.rowBytes], v.q8, m.Cols/QK4_0)
	case Q4_K:
		if useAVX2 {
			return dotQ4KAVX2(m.Data[r*m.rowBytes:(r+1)*m.rowBytes], v.qk, m.Cols/QK_K)
		}
		return dotQ4K(m.Data[r*m.rowBytes:(r+1)*m.rowBytes], v.qk, m.Cols/QK_K)
	case Q6_K:
		if useAVX2 {
			return dotQ6KAVX2(m.Data[r*m.rowBytes:(r+1)*m.rowBytes], v.qk, m.Cols/QK_K)
		}
		return dotQ6K(m.Data[r*m.rowBytes:(r+1)*m.rowBytes], v.qk, m.Cols/QK_K)
	}
	panic("tensor: dotRow on unsupported type " + m.Type.String())
}

// mmTask computes dst[t*stride+r] = row r · vs[t] for rows in [lo, hi).
type mmTask struct {
	m      *Matrix
	v      *Vec // single vector (MatVec), or
	vs     []Vec
	dst    []float32
	stride int
	// gemm, when groups > 0: the first groups*gemmT vectors of vs packed
	// for the tiled Q8_0/Q4_0 kernel.
	gemm   *gemmBuf
	groups int
	vnni   bool // groups of vnniT vectors for the AVX-512 VNNI kernel
}

func (t *mmTask) run(lo, hi, tid int) {
	if t.v != nil {
		m, v, dst := t.m, t.v, t.dst
		if m.matVecRows(lo, hi, v, dst) {
			return
		}
		for r := lo; r < hi; r++ {
			dst[r] = m.dotRow(r, v)
		}
		return
	}
	if t.groups > 0 && t.vnni {
		m := t.m
		nb := m.Cols / QK8_0
		s := &t.gemm.scratch[tid].v
		s.ensure(nb)
		end := lo + (hi-lo)/vnniR*vnniR
		for r := lo; r < end; r += vnniR {
			m.packW4VNNI(r, s)
			next := m.Data[min((r+vnniR)*m.rowBytes, len(m.Data)):min((r+2*vnniR)*m.rowBytes, len(m.Data))]
			gemmTileVNNI(s, t.gemm, nb, t.groups, t.dst[r:], t.stride, next)
		}
		t.rows(end, hi, 0)
		t.rows(lo, end, t.groups*vnniT)
		return
	}
	if t.groups > 0 {
		m := t.m
		nb := m.Cols / QK8_0
		s := &t.gemm.scratch[tid]
		s.ensure(nb)
		end := lo + (hi-lo)/gemmR*gemmR
		for r := lo; r < end; r += gemmR {
			m.packW3(r, s)
			gemmTile(s, t.gemm, m.Type == Q4_0, nb, t.groups, t.dst[r:], t.stride)
		}
		t.rows(end, hi, 0)
		t.rows(lo, end, t.groups*gemmT)
		return
	}
	t.rows(lo, hi, 0)
}

// rows computes rows [lo, hi) for the vectors from i0 on.
func (t *mmTask) rows(lo, hi, i0 int) {
	if lo >= hi || i0 >= len(t.vs) {
		return
	}
	if useAVX2 && t.m.Type == F32 && t.m.Cols >= 32 {
		// Pairs of vectors, one call per pair over a block of rows small
		// enough (about 32 KiB) to stay in cache for all the pairs.
		blk := max(4, 32<<10/t.m.rowBytes)
		pairs := (len(t.vs) - i0) / 2
		for b := lo; b < hi; b += blk {
			e := min(b+blk, hi)
			for i := i0; i < i0+2*pairs; i += 2 {
				x0, x1 := t.vs[i].X[:t.m.Cols], t.vs[i+1].X[:t.m.Cols]
				mm2F32RowsAVX2(&t.m.f32[b*t.m.Cols], &x0[0], &x1[0], t.m.Cols, e-b, t.m.rowBytes,
					&t.dst[i*t.stride+b], &t.dst[(i+1)*t.stride+b])
			}
		}
		i0 += 2 * pairs
		if i0 == len(t.vs) {
			return
		}
	}
	vs := t.vs[i0:]
	var out [4]float32
	for r := lo; r < hi; r++ {
		i := 0
		for i < len(vs) {
			k := t.m.dotMulti(r, vs[i:], &out)
			if k == 0 {
				break
			}
			for j, o := range out[:k] {
				t.dst[(i0+i+j)*t.stride+r] = o
			}
			i += k
		}
		for ; i < len(vs); i++ {
			t.dst[(i0+i)*t.stride+r] = t.m.dotRow(r, &vs[i])
		}
	}
}

// parallelMin is the amount of work (matrix elements × vectors) below which a
// matmul runs on the caller alone: waking a worker costs more than it saves.
const parallelMin = 1 << 16

// rowChunk is the number of rows a thread takes at a time; gemmChunk is
// that for the tiled batched kernel (a multiple of gemmR).
const (
	rowChunk        = 16
	gemmChunk       = 8 * gemmR
	chunksPerThread = 4
)

// MatVec computes dst[r] = Σ_c m[r][c]·v[c] for every row. The result does
// not depend on p's thread count.
func MatVec(p *Pool, dst []float32, m *Matrix, v *Vec) {
	if len(dst) < m.Rows || len(v.X) < m.Cols {
		panic(fmt.Sprintf("tensor: MatVec %dx%d with dst %d, x %d", m.Rows, m.Cols, len(dst), len(v.X)))
	}
	v.prepare(m.VecType())
	run(p, m, &mmTask{m: m, v: v, dst: dst}, m.Rows*m.Cols)
}

func run(p *Pool, m *Matrix, t *mmTask, work int) {
	if p == nil {
		t.run(0, m.Rows, 0)
		return
	}
	// About chunksPerThread chunks per thread: enough for a fast thread to
	// take over a slow one's share, few enough that claiming them (an atomic
	// on a shared cache line) costs little next to the rows.
	unit := rowChunk
	if t.groups > 0 {
		unit = gemmChunk
	}
	chunk := max(unit, m.Rows/(p.threads*chunksPerThread)/unit*unit)
	p.mm = *t
	p.parallel(m.Rows, chunk, work >= parallelMin, &p.mm)
	p.mm = mmTask{}
}

// MatMul computes, for each vector vs[t], dst[t*stride+r] = row r · vs[t].
// Each weight row is read once for all vectors (prompt processing).
func MatMul(p *Pool, dst []float32, m *Matrix, vs []Vec, stride int) {
	if len(vs) == 0 {
		return
	}
	if stride < m.Rows || len(dst) < (len(vs)-1)*stride+m.Rows {
		panic(fmt.Sprintf("tensor: MatMul dst too small: %d for %d vectors of %d", len(dst), len(vs), m.Rows))
	}
	vt := m.VecType()
	for i := range vs {
		if len(vs[i].X) < m.Cols {
			panic(fmt.Sprintf("tensor: MatMul vector of %d for %d columns", len(vs[i].X), m.Cols))
		}
	}
	t := &mmTask{m: m, vs: vs, dst: dst, stride: stride}
	if useVNNI && (m.Type == Q8_0 || m.Type == Q4_0) && len(vs) >= vnniT && m.Rows >= vnniR {
		// Quantize and pack the vectors by group of vnniT on the pool,
		// unless the last VNNI MatMul packed these same vectors (Vec.Set
		// since then would have cleared their quantized form).
		var g *gemmBuf
		if p != nil {
			g = &p.gemm
		} else {
			g = &gemmBuf{scratch: make([]gemmScratch, 1)}
		}
		nb := m.Cols / QK8_0
		t.gemm, t.groups, t.vnni = g, len(vs)/vnniT, true
		if !g.packedFor(vs, nb) {
			g.ensureActsVNNI(nb, t.groups)
			pt := prepTask{vs: vs, t: vt, g: g, nb: nb, groups: t.groups}
			chunks := (len(vs) + vnniT - 1) / vnniT
			if p != nil && len(vs) >= 2*vnniT {
				p.prep = pt
				p.parallel(chunks, 1, true, &p.prep)
				p.prep = prepTask{}
			} else {
				pt.run(0, chunks, 0)
			}
			g.packed, g.packedN, g.packedNB = &vs[0], len(vs), nb
		}
		run(p, m, t, m.Rows*m.Cols*len(vs))
		return
	}
	if p != nil && vt != F32 && len(vs) >= 8 {
		p.prep = prepTask{vs: vs, t: vt}
		p.parallel(len(vs), 4, true, &p.prep)
		p.prep = prepTask{}
	} else {
		for i := range vs {
			vs[i].prepare(vt)
		}
	}
	if (m.Type == Q8_0 || m.Type == Q4_0) && len(vs) >= gemmT && m.Rows >= gemmR {
		var g *gemmBuf
		if p != nil {
			g = &p.gemm
		} else {
			g = &gemmBuf{scratch: make([]gemmScratch, 1)}
		}
		t.gemm = g
		t.groups = len(vs) / gemmT
		g.packActs(vs, m.Cols/QK8_0, t.groups, m.Type == Q4_0)
	}
	run(p, m, t, m.Rows*m.Cols*len(vs))
}

// prepTask quantizes vectors [lo, hi) of vs for type t (each vector's own
// buffers, so threads do not share any). With g set, the range is of groups
// of vnniT vectors instead, each quantized and, if one of the first groups,
// packed into g.
type prepTask struct {
	vs         []Vec
	t          Type
	g          *gemmBuf
	nb, groups int
}

func (p *prepTask) run(lo, hi, _ int) {
	if p.g == nil {
		for i := lo; i < hi; i++ {
			p.vs[i].prepare(p.t)
		}
		return
	}
	for gi := lo; gi < hi; gi++ {
		vs := p.vs[gi*vnniT : min((gi+1)*vnniT, len(p.vs))]
		for i := range vs {
			vs[i].prepare(p.t)
		}
		if gi < p.groups {
			p.g.packGroupVNNI(vs, p.nb, gi)
		}
	}
}
