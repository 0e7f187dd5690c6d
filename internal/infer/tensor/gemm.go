package tensor

// The batched Q8_0/Q4_0 GEMM of prompt processing multiplies tiles of
// gemmR weight rows by groups of gemmT activation vectors, so each weight
// block load serves gemmT vectors and each activation block load gemmR rows.
// Both operands are first packed:
//
//   - activations, once per MatMul: for group g and block b the gemmT
//     vectors' 32 int8 quants are at xq[(g*nb+b)*128+32t:] and their scales
//     (float32) at xd[(g*nb+b)*4+t];
//   - weights, once per tile of gemmR rows (then used by every group): for
//     block b, row r's 32 int8 quants are at w[b*96+32r:] and its scale at
//     dw[b*16+4r+k] for k < 4 (dw[b*16+12:16] is zero). Q4_0 nibbles are
//     expanded to unsigned bytes q (the weight is q-8): VPMADDUBSW then takes
//     them as they are, and the kernel subtracts 8·Σx, precomputed per
//     vector, block and lane in xc (laid out like xq), instead of moving the
//     weights' signs onto the activations pair by pair.
//
// Each output is computed exactly as dotQ8_0Go/dotQ4_0Go computes it (the
// same integer lane sums, d = dw*dx rounded to float32, acc[k] += d*lane
// rounded, hsum8), so the result equals MatVec's bit for bit.
const (
	gemmR = 3
	gemmT = 4
)

// gemmScratch holds one thread's packed weight tile.
type gemmScratch struct {
	w  []byte
	dw []float32
	ds []float32 // the kernels' scale products of one group (nb*16)
	v  vnniTile  // the AVX-512 VNNI kernel's tile
}

func (s *gemmScratch) ensure(nb int) {
	if len(s.w) < nb*gemmR*32 {
		s.w = make([]byte, nb*gemmR*32)
		s.dw = make([]float32, nb*16)
		s.ds = make([]float32, nb*16)
	}
}

// gemmBuf is the packed activations of one MatMul and the per-thread tiles.
type gemmBuf struct {
	xq      []byte
	xd      []float32
	xc      []int32 // Q4_0 only: xc[(g*nb+b)*32+8t+k] = 8·Σ of x's lane k
	xa      []byte  // the VNNI kernel's activations (gemm_vnni.go)
	dxa     []float32
	scratch []gemmScratch // one per thread
	// The vectors xa holds: &vs[0], len(vs) and nb of the MatMul that
	// packed them (nil: none).
	packed   *Vec
	packedN  int
	packedNB int
}

// packActs packs the first groups*gemmT vectors of vs (prepared for Q8_0),
// with the corrections xc when q4.
func (g *gemmBuf) packActs(vs []Vec, nb, groups int, q4 bool) {
	n := groups * nb * gemmT
	if cap(g.xq) < n*32 {
		g.xq = make([]byte, n*32)
		g.xd = make([]float32, n)
	}
	g.xq, g.xd = g.xq[:n*32], g.xd[:n]
	for gi := 0; gi < groups; gi++ {
		for t := 0; t < gemmT; t++ {
			v := &vs[gi*gemmT+t]
			for b := 0; b < nb; b++ {
				o := (gi*nb + b) * gemmT
				copy(g.xq[(o+t)*32:(o+t+1)*32], v.q8[b*BlockQ8_0+2:(b+1)*BlockQ8_0])
				g.xd[o+t] = v.q8d[b]
			}
		}
	}
	if !q4 {
		return
	}
	if cap(g.xc) < n*8 {
		g.xc = make([]int32, n*8)
	}
	g.xc = g.xc[:n*8]
	if useAVX2 {
		corrQ4AVX2(&g.xq[0], n, &g.xc[0])
		return
	}
	for i := range g.xc {
		x := g.xq[4*i : 4*i+4]
		g.xc[i] = 8 * (int32(int8(x[0])) + int32(int8(x[1])) + int32(int8(x[2])) + int32(int8(x[3])))
	}
}

// packW3 packs rows r, r+1, r+2 of m (Q8_0 or Q4_0) into s.
func (m *Matrix) packW3(r int, s *gemmScratch) {
	nb := m.Cols / QK8_0
	if useAVX2 {
		if m.Type == Q4_0 {
			packW3Q4_0AVX2(&m.Data[r*m.rowBytes], m.rowBytes, nb, &s.w[0], &s.dw[0])
		} else {
			packW3Q8_0AVX2(&m.Data[r*m.rowBytes], m.rowBytes, nb, &s.w[0], &s.dw[0])
		}
		return
	}
	packW3Go(m, r, s)
}

func packW3Go(m *Matrix, r int, s *gemmScratch) {
	nb := m.Cols / QK8_0
	for i := 0; i < gemmR; i++ {
		row := m.Data[(r+i)*m.rowBytes : (r+i+1)*m.rowBytes]
		for b := 0; b < nb; b++ {
			dst := s.w[b*96+32*i : b*96+32*i+32]
			var blk []byte
			if m.Type == Q4_0 {
				blk = row[b*BlockQ4_0 : (b+1)*BlockQ4_0]
				for j := range 16 {
					dst[j] = blk[2+j] & 0x0f
					dst[j+16] = blk[2+j] >> 4
				}
			} else {
				blk = row[b*BlockQ8_0 : (b+1)*BlockQ8_0]
				copy(dst, blk[2:34])
			}
			d := F16ToF32(uint16(blk[0]) | uint16(blk[1])<<8)
			for k := range 4 {
				s.dw[b*16+4*i+k] = d
				s.dw[b*16+12+k] = 0
			}
		}
	}
}

// gemmTile computes dst[(4g+t)*stride+r] for the packed tile (Q4_0 when
// q4) and groups.
func gemmTile(s *gemmScratch, g *gemmBuf, q4 bool, nb, groups int, dst []float32, stride int) {
	_ = dst[(groups*gemmT-1)*stride+gemmR-1]
	if useAVX2 {
		if q4 {
			gemmQ4x3x4AVX2(&s.w[0], &s.dw[0], &g.xq[0], &g.xd[0], nb, groups, &dst[0], stride, &g.xc[0], &s.ds[0])
		} else {
			gemmQ8x3x4AVX2(&s.w[0], &s.dw[0], &g.xq[0], &g.xd[0], nb, groups, &dst[0], stride, &s.ds[0])
		}
		return
	}
	gemmTileGo(s.w, s.dw, g.xq, g.xd, q4, nb, groups, dst, stride)
}

// gemmTileGo is the kernels' definition: weights int8 (Q8_0) or q-8 (Q4_0).
func gemmTileGo(w []byte, dw []float32, xq []byte, xd []float32, q4 bool, nb, groups int, dst []float32, stride int) {
	wv := func(b byte) int32 {
		if q4 {
			return int32(b) - 8
		}
		return int32(int8(b))
	}
	for g := 0; g < groups; g++ {
		var acc [gemmR][gemmT][8]float32
		for b := 0; b < nb; b++ {
			o := (g*nb + b) * gemmT
			for r := 0; r < gemmR; r++ {
				qw := w[b*96+32*r : b*96+32*r+32]
				for t := 0; t < gemmT; t++ {
					d := dw[b*16+4*r+t] * xd[o+t]
					qx := xq[(o+t)*32 : (o+t+1)*32]
					for k := range 8 {
						l := wv(qw[4*k])*int32(int8(qx[4*k])) +
							wv(qw[4*k+1])*int32(int8(qx[4*k+1])) +
							wv(qw[4*k+2])*int32(int8(qx[4*k+2])) +
							wv(qw[4*k+3])*int32(int8(qx[4*k+3]))
						acc[r][t][k] += float32(d * float32(l))
					}
				}
			}
		}
		for t := 0; t < gemmT; t++ {
			for r := 0; r < gemmR; r++ {
				dst[(g*gemmT+t)*stride+r] = hsum8(&acc[r][t])
			}
		}
	}
}
