package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Dequantize converts n elements of type t in src to float32 in dst.
func Dequantize(t Type, src []byte, dst []float32) error {
	n := len(dst)
	rb, err := t.RowBytes(n)
	if err != nil {
		return err
	}
	if len(src) < rb {
		return fmt.Errorf("dequantize %s: %d bytes for %d elements, want %d", t, len(src), n, rb)
	}
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case Q8_0:
		for b := 0; b < n/QK8_0; b++ {
			blk := src[b*BlockQ8_0:]
			d := F16ToF32(binary.LittleEndian.Uint16(blk))
			for j := 0; j < QK8_0; j++ {
				dst[b*QK8_0+j] = d * float32(int8(blk[2+j]))
			}
		}
	case Q4_0:
		for b := 0; b < n/QK4_0; b++ {
			blk := src[b*BlockQ4_0:]
			d := F16ToF32(binary.LittleEndian.Uint16(blk))
			for j := 0; j < 16; j++ {
				dst[b*32+j] = d * float32(int(blk[2+j]&0x0f)-8)
				dst[b*32+j+16] = d * float32(int(blk[2+j]>>4)-8)
			}
		}
	case Q4_K:
		for b := 0; b < n/QK_K; b++ {
			dequantQ4K(src[b*BlockQ4_K:(b+1)*BlockQ4_K], dst[b*QK_K:(b+1)*QK_K])
		}
	case Q6_K:
		for b := 0; b < n/QK_K; b++ {
			dequantQ6K(src[b*BlockQ6_K:(b+1)*BlockQ6_K], dst[b*QK_K:(b+1)*QK_K])
		}
	case Q8_K:
		for b := 0; b < n/QK_K; b++ {
			blk := src[b*BlockQ8_K:]
			d := math.Float32frombits(binary.LittleEndian.Uint32(blk))
			for j := 0; j < QK_K; j++ {
				dst[b*QK_K+j] = d * float32(int8(blk[4+j]))
			}
		}
	default:
		return fmt.Errorf("dequantize: type %s is not supported", t)
	}
	return nil
}

// scaleMinK4 extracts the 6-bit scale and min of sub-block j of a Q4_K block
// (ggml get_scale_min_k4).
func scaleMinK4(j int, q []byte) (uint8, uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	return (q[j+4] & 0xf) | ((q[j-4] >> 6) << 4), (q[j+4] >> 4) | ((q[j] >> 6) << 4)
}

func dequantQ4K(blk []byte, y []float32) {
	d := F16ToF32(binary.LittleEndian.Uint16(blk))
	dmin := F16ToF32(binary.LittleEndian.Uint16(blk[2:]))
	scales := blk[4:16]
	q := blk[16:144]
	is := 0
	for j := 0; j < QK_K; j += 64 {
		sc, m := scaleMinK4(is, scales)
		d1, m1 := d*float32(sc), dmin*float32(m)
		sc, m = scaleMinK4(is+1, scales)
		d2, m2 := d*float32(sc), dmin*float32(m)
		for l := 0; l < 32; l++ {
			y[j+l] = d1*float32(q[l]&0xf) - m1
			y[j+32+l] = d2*float32(q[l]>>4) - m2
		}
		q = q[32:]
		is += 2
	}
}

func dequantQ6K(blk []byte, y []float32) {
	ql := blk[0:128]
	qh := blk[128:192]
	sc := blk[192:208]
	d := F16ToF32(binary.LittleEndian.Uint16(blk[208:]))
	for n := 0; n < 2; n++ {
		for l := 0; l < 32; l++ {
			is := l / 16
			q1 := int(int8((ql[l]&0xf)|((qh[l]>>0)&3)<<4)) - 32
			q2 := int(int8((ql[l+32]&0xf)|((qh[l]>>2)&3)<<4)) - 32
			q3 := int(int8((ql[l]>>4)|((qh[l]>>4)&3)<<4)) - 32
			q4 := int(int8((ql[l+32]>>4)|((qh[l]>>6)&3)<<4)) - 32
			y[l] = d * float32(int8(sc[is])) * float32(q1)
			y[l+32] = d * float32(int8(sc[is+2])) * float32(q2)
			y[l+64] = d * float32(int8(sc[is+4])) * float32(q3)
			y[l+96] = d * float32(int8(sc[is+6])) * float32(q4)
		}
		y = y[128:]
		ql = ql[64:]
		qh = qh[32:]
		sc = sc[8:]
	}
}

// Quantize converts x to type t, appending to dst and returning the result.
// len(x) must be a multiple of t's block size. Supported: F32, F16, BF16,
// Q8_0, Q4_0, Q4_K, Q6_K, Q8_K.
func Quantize(t Type, dst []byte, x []float32) ([]byte, error) {
	rb, err := t.RowBytes(len(x))
	if err != nil {
		return dst, err
	}
	start := len(dst)
	dst = append(dst, make([]byte, rb)...)
	out := dst[start:]
	switch t {
	case F32:
		for i, v := range x {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range x {
			binary.LittleEndian.PutUint16(out[2*i:], F32ToF16(v))
		}
	case BF16:
		for i, v := range x {
			binary.LittleEndian.PutUint16(out[2*i:], F32ToBF16(v))
		}
	case Q8_0:
		QuantizeQ8_0(out, x)
	case Q4_0:
		for b := 0; b < len(x)/32; b++ {
			quantQ4_0Block(out[b*BlockQ4_0:], x[b*32:b*32+32])
		}
	case Q4_K:
		for b := 0; b < len(x)/QK_K; b++ {
			quantQ4KBlock(out[b*BlockQ4_K:], x[b*QK_K:(b+1)*QK_K])
		}
	case Q6_K:
		for b := 0; b < len(x)/QK_K; b++ {
			quantQ6KBlock(out[b*BlockQ6_K:], x[b*QK_K:(b+1)*QK_K])
		}
	case Q8_K:
		QuantizeQ8_K(out, x)
	default:
		return dst[:start], fmt.Errorf("quantize: type %s is not supported", t)
	}
	return dst, nil
}

// roundF rounds half away from zero, like C's roundf, without a branch on
// the sign (v±0.5 is exact in float64 for the magnitudes quantizers see).
// NaN and results outside int32 (x*id with id = 1/d overflowed for a block
// of denormal values) give math.MinInt32 on every architecture, the value
// amd64's conversion gives.
func roundF(v float32) int32 {
	r := float64(v)
	r += math.Copysign(0.5, r)
	if !(r > math.MinInt32-1 && r < math.MaxInt32+1) {
		return math.MinInt32
	}
	return int32(r)
}

// QuantizeQ8_0 writes x (len a multiple of 32) as Q8_0 blocks into dst, which
// must hold len(x)/32*34 bytes. This is ggml's reference quantizer: d =
// max|x|/127, q = round(x/d).
func QuantizeQ8_0(dst []byte, x []float32) {
	nb := len(x) / QK8_0
	if useAVX2 && nb > 0 {
		_ = x[nb*QK8_0-1]
		_ = dst[nb*BlockQ8_0-1]
		if useAVX512 {
			if quantQ8_0AVX512(&x[0], &dst[0], nb) {
				return
			}
		} else if quantQ8_0AVX2(&x[0], &dst[0], nb) {
			return
		}
		// NaN or Inf somewhere: the Go path defines those results.
	}
	quantizeQ8_0Go(dst, x)
}

func quantizeQ8_0Go(dst []byte, x []float32) {
	for b := 0; b < len(x)/QK8_0; b++ {
		xs := x[b*QK8_0 : b*QK8_0+QK8_0]
		blk := dst[b*BlockQ8_0 : b*BlockQ8_0+BlockQ8_0]
		var amax float32
		for _, v := range xs {
			amax = max(amax, math.Float32frombits(math.Float32bits(v)&0x7fffffff))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		binary.LittleEndian.PutUint16(blk, F32ToF16(d))
		for j, v := range xs {
			blk[2+j] = byte(int8(roundF(v * id)))
		}
	}
}

func quantQ4_0Block(blk []byte, xs []float32) {
	var amax, max float32
	for _, v := range xs {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, max = a, v
		}
	}
	d := max / -8
	var id float32
	if d != 0 {
		id = 1 / d
	}
	binary.LittleEndian.PutUint16(blk, F32ToF16(d))
	for j := 0; j < 16; j++ {
		x0 := xs[j]*id + 8.5
		x1 := xs[j+16]*id + 8.5
		q0 := min(15, int(x0))
		q1 := min(15, int(x1))
		blk[2+j] = byte(q0) | byte(q1)<<4
	}
}

// QuantizeQ8_K writes x (len a multiple of 256) as Q8_K blocks into dst, the
// activation format for K-quant dot products (ggml quantize_row_q8_K_ref).
func QuantizeQ8_K(dst []byte, x []float32) {
	for b := 0; b < len(x)/QK_K; b++ {
		xs := x[b*QK_K : (b+1)*QK_K]
		blk := dst[b*BlockQ8_K : (b+1)*BlockQ8_K]
		var amax, max float32
		for _, v := range xs {
			if a := float32(math.Abs(float64(v))); a > amax {
				amax, max = a, v
			}
		}
		if amax == 0 {
			clear(blk)
			continue
		}
		iscale := -128 / max
		for j, v := range xs {
			blk[4+j] = byte(int8(min(127, roundF(iscale*v))))
		}
		for j := 0; j < QK_K/16; j++ {
			var s int16
			for l := 0; l < 16; l++ {
				s += int16(int8(blk[4+16*j+l]))
			}
			binary.LittleEndian.PutUint16(blk[4+256+2*j:], uint16(s))
		}
		binary.LittleEndian.PutUint32(blk, math.Float32bits(1/iscale))
	}
}

// quantQ4KBlock is a simple reference Q4_K quantizer: per 32-element
// sub-block a min and a scale, both quantized to 6 bits against the block's
// f16 super-scales. It is not ggml's iterative optimizer but produces valid
// blocks with comparable error.
func quantQ4KBlock(blk []byte, xs []float32) {
	var scales, mins [8]float32
	for j := 0; j < 8; j++ {
		sub := xs[32*j : 32*j+32]
		lo, hi := sub[0], sub[0]
		for _, v := range sub {
			lo, hi = min(lo, v), max(hi, v)
		}
		lo = min(lo, 0)
		scales[j] = (hi - lo) / 15
		mins[j] = -lo
	}
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		maxScale, maxMin = max(maxScale, scales[j]), max(maxMin, mins[j])
	}
	d := maxScale / 63
	dmin := maxMin / 63
	binary.LittleEndian.PutUint16(blk, F32ToF16(d))
	binary.LittleEndian.PutUint16(blk[2:], F32ToF16(dmin))
	d = F16ToF32(F32ToF16(d))
	dmin = F16ToF32Bits(dmin)
	var ls, lm [8]uint8
	for j := 0; j < 8; j++ {
		if d > 0 {
			ls[j] = uint8(min(63, roundF(scales[j]/d)))
		}
		if dmin > 0 {
			lm[j] = uint8(min(63, roundF(mins[j]/dmin)))
		}
	}
	sc := blk[4:16]
	for j := 0; j < 8; j++ {
		if j < 4 {
			sc[j] = ls[j]
			sc[j+4] = lm[j]
		} else {
			sc[j+4] = (ls[j] & 0xf) | (lm[j]&0xf)<<4
			sc[j-4] |= (ls[j] >> 4) << 6
			sc[j] |= (lm[j] >> 4) << 6
		}
	}
	var l [256]uint8
	for j := 0; j < 8; j++ {
		dd := d * float32(ls[j])
		mm := dmin * float32(lm[j])
		for i := 0; i < 32; i++ {
			var q int32
			if dd > 0 {
				q = roundF((xs[32*j+i] + mm) / dd)
			}
			l[32*j+i] = uint8(max(0, min(15, q)))
		}
	}
	q := blk[16:144]
	for j := 0; j < QK_K; j += 64 {
		for i := 0; i < 32; i++ {
			q[j/2+i] = l[j+i] | l[j+32+i]<<4
		}
	}
}

// F16ToF32Bits rounds f to the nearest f16 value and returns it as float32.
func F16ToF32Bits(f float32) float32 { return F16ToF32(F32ToF16(f)) }

// quantQ6KBlock is a simple reference Q6_K quantizer: per 16-element
// sub-block an int8 scale, values in -32..31.
func quantQ6KBlock(blk []byte, xs []float32) {
	var scales [16]float32
	var maxAbsScale float32
	var maxScale float32
	for j := 0; j < 16; j++ {
		var amax, mx float32
		for _, v := range xs[16*j : 16*j+16] {
			if a := float32(math.Abs(float64(v))); a > amax {
				amax, mx = a, v
			}
		}
		scales[j] = mx / -32
		if a := float32(math.Abs(float64(scales[j]))); a > maxAbsScale {
			maxAbsScale, maxScale = a, scales[j]
		}
	}
	clear(blk)
	if maxAbsScale == 0 {
		return
	}
	iscale := -128 / maxScale
	d := 1 / iscale
	binary.LittleEndian.PutUint16(blk[208:], F32ToF16(d))
	d = F16ToF32Bits(d)
	var l [256]uint8
	for j := 0; j < 16; j++ {
		s := int8(min(127, roundF(iscale*scales[j])))
		blk[192+j] = byte(s)
		dd := d * float32(s)
		for i := 0; i < 16; i++ {
			var q int32
			if dd != 0 {
				q = roundF(xs[16*j+i] / dd)
			}
			l[16*j+i] = uint8(max(-32, min(31, q)) + 32)
		}
	}
	ql := blk[0:128]
	qh := blk[128:192]
	for j := 0; j < QK_K; j += 128 {
		for i := 0; i < 32; i++ {
			q1 := l[j+i] & 0xf
			q2 := l[j+i+32] & 0xf
			q3 := l[j+i+64] & 0xf
			q4 := l[j+i+96] & 0xf
			ql[j/2+i] = q1 | q3<<4
			ql[j/2+i+32] = q2 | q4<<4
			qh[j/4+i] = (l[j+i] >> 4) | (l[j+i+32]>>4)<<2 | (l[j+i+64]>>4)<<4 | (l[j+i+96]>>4)<<6
		}
	}
}
