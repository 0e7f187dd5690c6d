package tensor

import (
	"encoding/binary"
	"math"
)

// Canonical summation orders. Every kernel below is the definition; the
// assembly versions reproduce it exactly. No kernel uses fused multiply-add:
// products are rounded to float32 before they are added.
//
//   - F32 (and F16/BF16 after exact conversion): 32 partial sums s[j] over the
//     elements i < n-n%32 with i%32 == j, added in index order; then
//     c[k] = (s[k]+s[8+k]) + (s[16+k]+s[24+k]) for k < 8; then hsum8(c); then
//     the tail elements are added one by one in index order.
//   - Q8_0·Q8_0 and Q4_0·Q8_0: per block an exact integer sum for each lane
//     k < 8 over elements 4k..4k+3; acc[k] += float32(d_w*d_x) * float32(lane);
//     the result is hsum8(acc).
//   - Q4_K·Q8_K and Q6_K·Q8_K: per super-block exact integer sums, then
//     acc += d*float32(isum) and acc -= dmin*float32(msum) in block order.
//
// hsum8(v) = ((v0+v4)+(v2+v6)) + ((v1+v5)+(v3+v7)).

func hsum8(v *[8]float32) float32 {
	t0, t1, t2, t3 := v[0]+v[4], v[1]+v[5], v[2]+v[6], v[3]+v[7]
	return (t0 + t2) + (t1 + t3)
}

// DotF32 returns the dot product of a and b (len(b) >= len(a)) in the
// canonical order, using SIMD when available.
func DotF32(a, b []float32) float32 {
	if len(a) == 0 {
		return 0
	}
	b = b[:len(a)]
	if useAVX2 {
		return dotF32AVX2(a, b)
	}
	return dotF32Go(a, b)
}

func dotF32Go(a, b []float32) float32 {
	n := len(a)
	b = b[:n]
	body := n - n%32
	var s [32]float32
	for i := 0; i < body; i += 32 {
		aa := a[i : i+32 : i+32]
		bb := b[i : i+32 : i+32]
		for j := range 32 {
			s[j] += float32(aa[j] * bb[j])
		}
	}
	return finishF32(&s, a[body:], b[body:])
}

// finishF32 reduces the 32 partial sums and adds the tail.
func finishF32(s *[32]float32, ta, tb []float32) float32 {
	var c [8]float32
	for k := range 8 {
		c[k] = (s[k] + s[8+k]) + (s[16+k] + s[24+k])
	}
	r := hsum8(&c)
	for i := range ta {
		r += float32(ta[i] * tb[i])
	}
	return r
}

// dotF16 is the dot product of n f16 values in w with x (canonical F32 order).
func dotF16(w []byte, x []float32) float32 {
	n := len(x)
	body := n - n%32
	var s [32]float32
	for i := 0; i < body; i += 32 {
		for j := range 32 {
			s[j] += float32(F16ToF32(binary.LittleEndian.Uint16(w[2*(i+j):])) * x[i+j])
		}
	}
	var c [8]float32
	for k := range 8 {
		c[k] = (s[k] + s[8+k]) + (s[16+k] + s[24+k])
	}
	r := hsum8(&c)
	for i := body; i < n; i++ {
		r += float32(F16ToF32(binary.LittleEndian.Uint16(w[2*i:])) * x[i])
	}
	return r
}

func dotBF16(w []byte, x []float32) float32 {
	n := len(x)
	body := n - n%32
	var s [32]float32
	for i := 0; i < body; i += 32 {
		for j := range 32 {
			s[j] += float32(BF16ToF32(binary.LittleEndian.Uint16(w[2*(i+j):])) * x[i+j])
		}
	}
	var c [8]float32
	for k := range 8 {
		c[k] = (s[k] + s[8+k]) + (s[16+k] + s[24+k])
	}
	r := hsum8(&c)
	for i := body; i < n; i++ {
		r += float32(BF16ToF32(binary.LittleEndian.Uint16(w[2*i:])) * x[i])
	}
	return r
}

// dotQ8_0 is the dot product of nb Q8_0 blocks of w with nb Q8_0 blocks of x.
func dotQ8_0(w, x []byte, nb int) float32 {
	if nb == 0 {
		return 0
	}
	if useAVX2 {
		return dotQ8_0AVX2(&w[0], &x[0], nb)
	}
	return dotQ8_0Go(w, x, nb)
}

func dotQ8_0Go(w, x []byte, nb int) float32 {
	var acc [8]float32
	for b := 0; b < nb; b++ {
		bw := w[b*BlockQ8_0 : b*BlockQ8_0+BlockQ8_0 : b*BlockQ8_0+BlockQ8_0]
		bx := x[b*BlockQ8_0 : b*BlockQ8_0+BlockQ8_0 : b*BlockQ8_0+BlockQ8_0]
		d := F16ToF32(uint16(bw[0])|uint16(bw[1])<<8) * F16ToF32(uint16(bx[0])|uint16(bx[1])<<8)
		qw := bw[2:34]
		qx := bx[2:34]
		for k := range 8 {
			l := int32(int8(qw[4*k]))*int32(int8(qx[4*k])) +
				int32(int8(qw[4*k+1]))*int32(int8(qx[4*k+1])) +
				int32(int8(qw[4*k+2]))*int32(int8(qx[4*k+2])) +
				int32(int8(qw[4*k+3]))*int32(int8(qx[4*k+3]))
			acc[k] += float32(d * float32(l))
		}
	}
	return hsum8(&acc)
}

// dotQ4_0 is the dot product of nb Q4_0 blocks of w with nb Q8_0 blocks of x.
func dotQ4_0(w, x []byte, nb int) float32 {
	if nb == 0 {
		return 0
	}
	if useAVX2 {
		return dotQ4_0AVX2(&w[0], &x[0], nb)
	}
	return dotQ4_0Go(w, x, nb)
}

func dotQ4_0Go(w, x []byte, nb int) float32 {
	var acc [8]float32
	var q [32]int32
	for b := 0; b < nb; b++ {
		bw := w[b*BlockQ4_0 : b*BlockQ4_0+BlockQ4_0 : b*BlockQ4_0+BlockQ4_0]
		bx := x[b*BlockQ8_0 : b*BlockQ8_0+BlockQ8_0 : b*BlockQ8_0+BlockQ8_0]
		d := F16ToF32(uint16(bw[0])|uint16(bw[1])<<8) * F16ToF32(uint16(bx[0])|uint16(bx[1])<<8)
		for j := range 16 {
			q[j] = int32(bw[2+j]&0x0f) - 8
			q[j+16] = int32(bw[2+j]>>4) - 8
		}
		qx := bx[2:34]
		for k := range 8 {
			l := q[4*k]*int32(int8(qx[4*k])) +
				q[4*k+1]*int32(int8(qx[4*k+1])) +
				q[4*k+2]*int32(int8(qx[4*k+2])) +
				q[4*k+3]*int32(int8(qx[4*k+3]))
			acc[k] += float32(d * float32(l))
		}
	}
	return hsum8(&acc)
}

func q8KScale(bx []byte) float32 { return math.Float32frombits(binary.LittleEndian.Uint32(bx)) }

// dotQ4K is the dot product of nb Q4_K blocks of w with nb Q8_K blocks of x.
func dotQ4K(w, x []byte, nb int) float32 {
	var acc float32
	for b := 0; b < nb; b++ {
		bw := w[b*BlockQ4_K : (b+1)*BlockQ4_K]
		bx := x[b*BlockQ8_K : (b+1)*BlockQ8_K]
		dx := q8KScale(bx)
		d := F16ToF32(binary.LittleEndian.Uint16(bw)) * dx
		dmin := F16ToF32(binary.LittleEndian.Uint16(bw[2:])) * dx
		scales := bw[4:16]
		qw := bw[16:144]
		qx := bx[4 : 4+256]
		var isum, msum int32
		for j := range 4 {
			sc1, m1 := scaleMinK4(2*j, scales)
			sc2, m2 := scaleMinK4(2*j+1, scales)
			q := qw[32*j : 32*j+32]
			lo := qx[64*j : 64*j+32]
			hi := qx[64*j+32 : 64*j+64]
			var s1, s2 int32
			for l := range 32 {
				s1 += int32(q[l]&0xf) * int32(int8(lo[l]))
				s2 += int32(q[l]>>4) * int32(int8(hi[l]))
			}
			isum += int32(sc1)*s1 + int32(sc2)*s2
			bs1 := int32(int16(binary.LittleEndian.Uint16(bx[260+8*j:]))) + int32(int16(binary.LittleEndian.Uint16(bx[262+8*j:])))
			bs2 := int32(int16(binary.LittleEndian.Uint16(bx[264+8*j:]))) + int32(int16(binary.LittleEndian.Uint16(bx[266+8*j:])))
			msum += int32(m1)*bs1 + int32(m2)*bs2
		}
		acc += float32(d * float32(isum))
		acc -= float32(dmin * float32(msum))
	}
	return acc
}

// dotQ6K is the dot product of nb Q6_K blocks of w with nb Q8_K blocks of x.
func dotQ6K(w, x []byte, nb int) float32 {
	var acc float32
	for b := 0; b < nb; b++ {
		bw := w[b*BlockQ6_K : (b+1)*BlockQ6_K]
		bx := x[b*BlockQ8_K : (b+1)*BlockQ8_K]
		d := F16ToF32(binary.LittleEndian.Uint16(bw[208:])) * q8KScale(bx)
		qx := bx[4 : 4+256]
		var isum int32
		for n := range 2 {
			ql := bw[64*n : 64*n+64]
			qh := bw[128+32*n : 128+32*n+32]
			sc := bw[192+8*n : 192+8*n+8]
			y := qx[128*n : 128*n+128]
			var sub [8]int32
			for l := range 32 {
				is := l / 16
				q1 := int32((ql[l]&0xf)|((qh[l]>>0)&3)<<4) - 32
				q2 := int32((ql[l+32]&0xf)|((qh[l]>>2)&3)<<4) - 32
				q3 := int32((ql[l]>>4)|((qh[l]>>4)&3)<<4) - 32
				q4 := int32((ql[l+32]>>4)|((qh[l]>>6)&3)<<4) - 32
				sub[is] += q1 * int32(int8(y[l]))
				sub[is+2] += q2 * int32(int8(y[l+32]))
				sub[is+4] += q3 * int32(int8(y[l+64]))
				sub[is+6] += q4 * int32(int8(y[l+96]))
			}
			for k := range 8 {
				isum += int32(int8(sc[k])) * sub[k]
			}
		}
		acc += float32(d * float32(isum))
	}
	return acc
}

// Axpy computes y[i] += a*x[i] for i < len(x), each product rounded to
// float32 before the addition (elementwise, so SIMD and Go agree exactly).
func Axpy(a float32, x, y []float32) {
	n := len(x)
	y = y[:n]
	body := 0
	if useAVX2 && n >= 8 {
		body = n - n%8
		axpyAVX2(a, &x[0], &y[0], body)
	}
	for i := body; i < n; i++ {
		y[i] += float32(a * x[i])
	}
}
