package tensor

// The AVX-512 VNNI prompt GEMM multiplies tiles of vnniR weight rows by
// groups of vnniT activation vectors. A ZMM register holds the eight lane
// sums of one block for two vectors, interleaved (lane 2k+t is lane k of
// vector t of the pair), so one VPDPBUSD computes 2×8 exact integer lane
// sums, and the float work (convert, scale, add) is done 16 lanes at a time.
// VPDPBUSD multiplies unsigned by signed bytes: the activations are stored
// as x+128 (unsigned) and the weights signed (Q4_0 as q-8), and the lane
// sums start from -128·Σw of their four weights, so they are exactly
// Σw·x. The float operations per lane are those of dotQ8_0Go/dotQ4_0Go
// (d = dw*dx rounded to float32, acc[k] += float32(d*float32(lane)), hsum8),
// so the result equals MatVec's bit for bit. Layouts:
//
//   - activations, once per MatMul: for group g, block b and pair p (vectors
//     8g+2p and 8g+2p+1), byte 8k+4t+i of xa[((g*nb+b)*4+p)*64:] is
//     x_{8g+2p+t}[32b+4k+i]+128; dxa[(g*nb+b)*8+j] is vector 8g+j's scale;
//   - weights, once per tile of vnniR rows: for block b and row r, byte
//     8k+4t+i of w[(b*4+r)*64:] is the row's weight 32b+4k+i (t = 0, 1: each
//     group of four twice), c[(b*4+r)*16+2k+t] = -128·Σ of that group, and
//     d[(b*4+r)*8:+8] is the row's scale eight times.
const (
	vnniR = 4
	vnniT = 8
)

// vnniTile is one thread's packed weight tile and scale products.
type vnniTile struct {
	w  []byte
	c  []int32
	d  []float32
	ds []float32 // per block the vnniR×vnniT products d(r)·dx(t) of one group
}

func (s *vnniTile) ensure(nb int) {
	if len(s.w) < nb*vnniR*64 {
		s.w = make([]byte, nb*vnniR*64)
		s.c = make([]int32, nb*vnniR*16)
		s.d = make([]float32, nb*vnniR*8)
		s.ds = make([]float32, nb*vnniR*vnniT)
	}
}

// packActsVNNI packs the first groups*vnniT vectors of vs (prepared for
// Q8_0) into g.xa and g.dxa.
func (g *gemmBuf) packActsVNNI(vs []Vec, nb, groups int) {
	g.ensureActsVNNI(nb, groups)
	for gi := 0; gi < groups; gi++ {
		g.packGroupVNNI(vs[gi*vnniT:(gi+1)*vnniT], nb, gi)
	}
}

// ensureActsVNNI sizes g.xa and g.dxa for groups groups of nb blocks and
// forgets what they held.
func (g *gemmBuf) ensureActsVNNI(nb, groups int) {
	n := groups * nb * vnniT
	if cap(g.xa) < n*32 {
		g.xa = make([]byte, n*32)
		g.dxa = make([]float32, n)
	}
	g.xa, g.dxa = g.xa[:n*32], g.dxa[:n]
	g.packed = nil
}

// packedFor reports whether g holds vs packed for nb blocks by the last
// packActsVNNI of a MatMul and every vector is still quantized (Vec.Set
// clears that).
func (g *gemmBuf) packedFor(vs []Vec, nb int) bool {
	if g.packed != &vs[0] || g.packedN != len(vs) || g.packedNB != nb {
		return false
	}
	for i := range vs {
		if !vs[i].q8ok {
			return false
		}
	}
	return true
}

// packGroupVNNI packs the vnniT vectors vs (prepared for Q8_0) as group gi.
func (g *gemmBuf) packGroupVNNI(vs []Vec, nb, gi int) {
	for p := 0; p < vnniT/2; p++ {
		v0, v1 := &vs[2*p], &vs[2*p+1]
		if useVNNI {
			interleaveQ8VNNI(&v0.q8[0], &v1.q8[0], nb, &g.xa[(gi*nb*4+p)*64])
		} else {
			interleaveQ8Go(v0.q8, v1.q8, nb, g.xa[(gi*nb*4+p)*64:])
		}
	}
	for j := 0; j < vnniT; j++ {
		d := vs[j].q8d
		for b := 0; b < nb; b++ {
			g.dxa[(gi*nb+b)*vnniT+j] = d[b]
		}
	}
}

// interleaveQ8Go writes the nb blocks of the Q8_0 vectors a and b as pairs
// (x+128, four bytes of a then four of b) at dst, 256 bytes apart.
func interleaveQ8Go(a, b []byte, nb int, dst []byte) {
	for blk := 0; blk < nb; blk++ {
		qa := a[blk*BlockQ8_0+2 : (blk+1)*BlockQ8_0]
		qb := b[blk*BlockQ8_0+2 : (blk+1)*BlockQ8_0]
		o := dst[blk*256 : blk*256+64]
		for k := 0; k < 8; k++ {
			for i := 0; i < 4; i++ {
				o[8*k+i] = qa[4*k+i] ^ 0x80
				o[8*k+4+i] = qb[4*k+i] ^ 0x80
			}
		}
	}
}

// packW4VNNI packs rows r..r+3 of m (Q8_0 or Q4_0) into s.
func (m *Matrix) packW4VNNI(r int, s *vnniTile) {
	nb := m.Cols / QK8_0
	if useVNNI {
		if m.Type == Q4_0 {
			packW4Q4VNNI(&m.Data[r*m.rowBytes], m.rowBytes, nb, &s.w[0], &s.c[0], &s.d[0])
		} else {
			packW4Q8VNNI(&m.Data[r*m.rowBytes], m.rowBytes, nb, &s.w[0], &s.c[0], &s.d[0])
		}
		return
	}
	packW4VNNIGo(m, r, s)
}

func packW4VNNIGo(m *Matrix, r int, s *vnniTile) {
	nb := m.Cols / QK8_0
	var q [32]int8
	for b := 0; b < nb; b++ {
		for i := 0; i < vnniR; i++ {
			row := m.Data[(r+i)*m.rowBytes : (r+i+1)*m.rowBytes]
			var blk []byte
			if m.Type == Q4_0 {
				blk = row[b*BlockQ4_0 : (b+1)*BlockQ4_0]
				for j := range 16 {
					q[j] = int8(blk[2+j]&0x0f) - 8
					q[j+16] = int8(blk[2+j]>>4) - 8
				}
			} else {
				blk = row[b*BlockQ8_0 : (b+1)*BlockQ8_0]
				for j := range 32 {
					q[j] = int8(blk[2+j])
				}
			}
			o := (b*vnniR + i)
			for k := 0; k < 8; k++ {
				var sum int32
				for j := 0; j < 4; j++ {
					s.w[o*64+8*k+j] = byte(q[4*k+j])
					s.w[o*64+8*k+4+j] = byte(q[4*k+j])
					sum += int32(q[4*k+j])
				}
				s.c[o*16+2*k] = -128 * sum
				s.c[o*16+2*k+1] = -128 * sum
			}
			d := F16ToF32(uint16(blk[0]) | uint16(blk[1])<<8)
			for j := 0; j < 8; j++ {
				s.d[o*8+j] = d
			}
		}
	}
}

// gemmTileVNNI computes dst[(8g+t)*stride+r] for the packed tile and the
// first groups groups of g, prefetching next (the raw rows of the next tile;
// may be empty).
func gemmTileVNNI(s *vnniTile, g *gemmBuf, nb, groups int, dst []float32, stride int, next []byte) {
	_ = dst[(groups*vnniT-1)*stride+vnniR-1]
	if useVNNI {
		pf := &s.w[0]
		if len(next) > 0 {
			pf = &next[0]
		}
		gemmVNNI4x8(&s.w[0], &s.c[0], &s.d[0], &g.xa[0], &g.dxa[0], nb, groups, &dst[0], stride, &s.ds[0], pf, len(next))
		return
	}
	gemmTileVNNIGo(s, g.xa, g.dxa, nb, groups, dst, stride)
}

// gemmTileVNNIGo is the kernel's definition on the packed layouts.
func gemmTileVNNIGo(s *vnniTile, xa []byte, dxa []float32, nb, groups int, dst []float32, stride int) {
	for g := 0; g < groups; g++ {
		for r := 0; r < vnniR; r++ {
			for t := 0; t < vnniT; t++ {
				p, h := t/2, t%2
				var acc [8]float32
				for b := 0; b < nb; b++ {
					o := b*vnniR + r
					d := s.d[o*8] * dxa[(g*nb+b)*vnniT+t]
					xo := ((g*nb+b)*4 + p) * 64
					for k := 0; k < 8; k++ {
						l := s.c[o*16+2*k+h]
						for i := 0; i < 4; i++ {
							l += int32(xa[xo+8*k+4*h+i]) * int32(int8(s.w[o*64+8*k+4*h+i]))
						}
						acc[k] += float32(d * float32(l))
					}
				}
				dst[(g*vnniT+t)*stride+r] = hsum8(&acc)
			}
		}
	}
}
