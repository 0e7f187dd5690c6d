#include "textflag.h"

// Batched attention with one query per vector lane (see attn_block.go):
// every lane computes exactly what Scores, Softmax and AccumRows compute for
// its query alone.

// SFIRST starts the partial sums sa, sb of keys a (R11) and b (R12) with
// the products of the qT row at qo(R10) and the keys' elements at ko: 0+p.
#define SFIRST(qo, ko, sa, sb) \
	VMOVUPS     qo(R10), Z8; \
	VMULPS.BCST ko(R11), Z8, sa; \
	VMULPS.BCST ko(R12), Z8, sb; \
	VADDPS      Z31, sa, sa; \
	VADDPS      Z31, sb, sb

// SNEXT adds the next chunk's products to sa, sb.
#define SNEXT(qo, ko, sa, sb) \
	VMOVUPS     qo(R10), Z8; \
	VMULPS.BCST ko(R11), Z8, Z9; \
	VMULPS.BCST ko(R12), Z8, Z10; \
	VADDPS      Z9, sa, sa; \
	VADDPS      Z10, sb, sb

// SCM computes c[m] = (s[m]+s[8+m]) + (s[16+m]+s[24+m]) of DotF32's body
// for keys a and b into da and db, each s[l] summed over the 32-element
// chunks in order (qm = 64m and km = 4m: row m of qT and element m).
#define SCM(qm, km, loop, done, da, db) \
	MOVQ   nch-8(SP), R8; \
	LEAQ   qm(SI), R10; \
	LEAQ   km(DI), R11; \
	LEAQ   (R11)(BX*1), R12; \
	SFIRST(0, 0, Z0, Z4); \
	SFIRST(512, 32, Z1, Z5); \
	SFIRST(1024, 64, Z2, Z6); \
	SFIRST(1536, 96, Z3, Z7); \
	DECQ   R8; \
	JZ     done; \
loop: \
	ADDQ   $2048, R10; \
	ADDQ   $128, R11; \
	ADDQ   $128, R12; \
	SNEXT(0, 0, Z0, Z4); \
	SNEXT(512, 32, Z1, Z5); \
	SNEXT(1024, 64, Z2, Z6); \
	SNEXT(1536, 96, Z3, Z7); \
	DECQ   R8; \
	JNZ    loop; \
done: \
	VADDPS Z1, Z0, Z0; \
	VADDPS Z3, Z2, Z2; \
	VADDPS Z2, Z0, da; \
	VADDPS Z5, Z4, Z4; \
	VADDPS Z7, Z6, Z6; \
	VADDPS Z6, Z4, db

// func scoresQ16AVX512(qT, k *float32, hd, stride, n int, out *float32, div float32)
// out[16j+l] = DotF32(q_l, k[j*stride:][:hd]) / div for j < n, l < 16, with
// q_l[i] = qT[16i+l] (hd ≥ 32): DotF32's 32 partial sums, c[m], hsum8 and
// the tail added in index order, computed for two keys at a time.
TEXT ·scoresQ16AVX512(SB), NOSPLIT, $24-52
	MOVQ         qT+0(FP), SI
	MOVQ         k+8(FP), DI
	MOVQ         hd+16(FP), AX
	MOVQ         stride+24(FP), R9
	SHLQ         $2, R9
	MOVQ         n+32(FP), CX
	MOVQ         out+40(FP), DX
	VBROADCASTSS div+48(FP), Z30
	VPXORD       Z31, Z31, Z31
	MOVQ         AX, R8
	SHRQ         $5, R8
	MOVQ         R8, nch-8(SP)
	MOVQ         AX, R8
	ANDQ         $31, R8
	MOVQ         R8, tail-16(SP)
	ANDQ         $-32, AX
	MOVQ         AX, body-24(SP)

sqpair:
	// Keys j (DI) and j+1 (DI+BX); the last odd key is paired with itself.
	MOVQ R9, BX
	CMPQ CX, $1
	JNE  sqgo
	XORQ BX, BX

sqgo:
	// hsum8 = ((c0+c4)+(c2+c6)) + ((c1+c5)+(c3+c7)) into Z16, Z17.
	SCM(0, 0, sq0, sq0d, Z16, Z17)
	SCM(256, 16, sq4, sq4d, Z18, Z19)
	VADDPS Z18, Z16, Z16
	VADDPS Z19, Z17, Z17
	SCM(128, 8, sq2, sq2d, Z20, Z21)
	SCM(384, 24, sq6, sq6d, Z18, Z19)
	VADDPS Z18, Z20, Z20
	VADDPS Z19, Z21, Z21
	VADDPS Z20, Z16, Z16
	VADDPS Z21, Z17, Z17
	SCM(64, 4, sq1, sq1d, Z20, Z21)
	SCM(320, 20, sq5, sq5d, Z18, Z19)
	VADDPS Z18, Z20, Z20
	VADDPS Z19, Z21, Z21
	SCM(192, 12, sq3, sq3d, Z22, Z23)
	SCM(448, 28, sq7, sq7d, Z18, Z19)
	VADDPS Z18, Z22, Z22
	VADDPS Z19, Z23, Z23
	VADDPS Z22, Z20, Z20
	VADDPS Z23, Z21, Z21
	VADDPS Z20, Z16, Z16
	VADDPS Z21, Z17, Z17

	// The tail, element by element.
	MOVQ  tail-16(SP), R8
	TESTQ R8, R8
	JZ    sqdiv
	MOVQ  body-24(SP), AX
	MOVQ  AX, R10
	SHLQ  $6, R10
	ADDQ  SI, R10
	LEAQ  (DI)(AX*4), R11
	LEAQ  (R11)(BX*1), R12

sqtail:
	VMOVUPS     0(R10), Z8
	VMULPS.BCST 0(R11), Z8, Z9
	VMULPS.BCST 0(R12), Z8, Z10
	VADDPS      Z9, Z16, Z16
	VADDPS      Z10, Z17, Z17
	ADDQ        $64, R10
	ADDQ        $4, R11
	ADDQ        $4, R12
	DECQ        R8
	JNZ         sqtail

sqdiv:
	VDIVPS  Z30, Z16, Z16
	VMOVUPS Z16, 0(DX)
	CMPQ    CX, $1
	JEQ     sqdone
	VDIVPS  Z30, Z17, Z17
	VMOVUPS Z17, 64(DX)
	LEAQ    (DI)(R9*2), DI
	ADDQ    $128, DX
	SUBQ    $2, CX
	JNZ     sqpair

sqdone:
	VZEROUPPER
	RET

// Constants of Exp (exp.go), as float64 bit patterns, and its float32 limit.
DATA expc<>+0(SB)/8, $0x40571547652b82fe  // 64/ln2
DATA expc<>+8(SB)/8, $0x3f862e42fee00000  // ln2Hi/64
DATA expc<>+16(SB)/8, $0x3d8a39ef35793c76 // ln2Lo/64
DATA expc<>+24(SB)/8, $0x3fa5555555555555 // 1/24
DATA expc<>+32(SB)/8, $0x3fc5555555555555 // 1/6
DATA expc<>+40(SB)/8, $0x3fe0000000000000 // 0.5
DATA expc<>+48(SB)/8, $0x3ff0000000000000 // 1
DATA expc<>+56(SB)/8, $0x8000000000000000 // sign bit
DATA expc<>+64(SB)/8, $16
DATA expc<>+72(SB)/8, $32
DATA expc<>+80(SB)/4, $63
DATA expc<>+84(SB)/4, $1023
DATA expc<>+88(SB)/4, $0xc2cff1b4         // -103.97208 (float32)
DATA expc<>+92(SB)/4, $0x42b17218         // 88.72284 (float32)
GLOBL expc<>(SB), RODATA|NOPTR, $96

// EXP8 computes Exp of the 8 float32 in in (a Y register) into out (may be
// in): Exp's float64 operations, 8 lanes at a time; the 2^(j/64) table is in
// Z24..Z31 and selected with permutes. Constants: Z14 64/ln2, Z15 ln2Hi/64,
// Z16 ln2Lo/64, Z17 1/24, Z18 1/6, Z19 0.5, Z20 1, Z21 the sign bit.
// Temporaries Z4..Z12, K4, K5. Inputs below -103.97208 are left to the
// caller (zero); inputs are not NaN and at most 88.
#define EXP8(in, out) \
	VCVTPS2PD      in, Z4; \
	VMULPD         Z14, Z4, Z5; \
	VANDPD         Z21, Z5, Z6; \
	VORPD          Z19, Z6, Z6; \
	VADDPD         Z6, Z5, Z6; \
	VCVTTPD2DQ     Z6, Y7; \
	VCVTDQ2PD      Y7, Z8; \
	VMULPD         Z15, Z8, Z5; \
	VSUBPD         Z5, Z4, Z4; \
	VMULPD         Z16, Z8, Z5; \
	VSUBPD         Z5, Z4, Z4; \
	VMULPD         Z17, Z4, Z5; \
	VADDPD         Z18, Z5, Z5; \
	VMULPD         Z4, Z5, Z5; \
	VADDPD         Z19, Z5, Z5; \
	VMULPD         Z4, Z5, Z5; \
	VADDPD         Z20, Z5, Z5; \
	VMULPD         Z4, Z5, Z5; \
	VADDPD         Z20, Z5, Z5; \
	VPANDD.BCST    expc<>+80(SB), Y7, Y6; \
	VPMOVZXDQ      Y6, Z6; \
	VMOVDQA64      Z6, Z9; \
	VPERMI2PD      Z25, Z24, Z9; \
	VMOVDQA64      Z6, Z10; \
	VPERMI2PD      Z27, Z26, Z10; \
	VPTESTMQ.BCST  expc<>+64(SB), Z6, K4; \
	VMOVAPD        Z10, K4, Z9; \
	VMOVDQA64      Z6, Z10; \
	VPERMI2PD      Z29, Z28, Z10; \
	VMOVDQA64      Z6, Z11; \
	VPERMI2PD      Z31, Z30, Z11; \
	VMOVAPD        Z11, K4, Z10; \
	VPTESTMQ.BCST  expc<>+72(SB), Z6, K5; \
	VMOVAPD        Z10, K5, Z9; \
	VMULPD         Z9, Z5, Z5; \
	VPSRAD         $6, Y7, Y7; \
	VPADDD.BCST    expc<>+84(SB), Y7, Y7; \
	VPMOVSXDQ      Y7, Z12; \
	VPSLLQ         $52, Z12, Z12; \
	VMULPD         Z12, Z5, Z5; \
	VCVTPD2PS      Z5, out

// func softmaxQ16AVX512(s *float32, n int, masks *uint16) (ok bool)
// For each lane l: Softmax of s[16j+l] over the j < n whose masks[j] has
// bit l (j = 0 always does, and those j are 0..p for some p): the maximum,
// x = Exp(s-max) with the sum added in j order from zero, then s /= sum.
// Reports false, having changed nothing, if such an s is NaN.
TEXT ·softmaxQ16AVX512(SB), NOSPLIT, $0-25
	MOVQ s+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ masks+16(FP), DX

	// The maximum, and NaN lanes gathered in K3.
	VMOVUPS 0(SI), Z0
	KMOVW   0(DX), K1
	VCMPPS  $3, Z0, Z0, K1, K3
	MOVQ    $1, AX
	CMPQ    CX, $1
	JEQ     smaxdone

smax:
	KMOVW   (DX)(AX*2), K1
	MOVQ    AX, R8
	SHLQ    $6, R8
	VMOVUPS (SI)(R8*1), Z1
	VCMPPS  $3, Z1, Z1, K1, K2
	KORW    K2, K3, K3
	VMAXPS  Z1, Z0, K1, Z0
	INCQ    AX
	CMPQ    AX, CX
	JLT     smax

smaxdone:
	KORTESTW K3, K3
	JNZ      snan

	VBROADCASTSD expc<>+0(SB), Z14
	VBROADCASTSD expc<>+8(SB), Z15
	VBROADCASTSD expc<>+16(SB), Z16
	VBROADCASTSD expc<>+24(SB), Z17
	VBROADCASTSD expc<>+32(SB), Z18
	VBROADCASTSD expc<>+40(SB), Z19
	VBROADCASTSD expc<>+48(SB), Z20
	VBROADCASTSD expc<>+56(SB), Z21
	VBROADCASTSS expc<>+88(SB), Z22
	LEAQ         ·exp2Table(SB), R8
	VMOVUPD      0(R8), Z24
	VMOVUPD      64(R8), Z25
	VMOVUPD      128(R8), Z26
	VMOVUPD      192(R8), Z27
	VMOVUPD      256(R8), Z28
	VMOVUPD      320(R8), Z29
	VMOVUPD      384(R8), Z30
	VMOVUPD      448(R8), Z31
	VXORPS       Z2, Z2, Z2
	MOVQ         SI, R9
	MOVQ         DX, R10
	MOVQ         CX, R11

sexp:
	KMOVW         0(R10), K1
	VMOVUPS       0(R9), Z1
	VSUBPS        Z0, Z1, Z1
	EXP8(Y1, Y13)
	VEXTRACTF32X8 $1, Z1, Y3
	EXP8(Y3, Y3)
	VINSERTF32X8  $1, Y3, Z13, Z13
	VCMPPS        $1, Z22, Z1, K6
	VXORPS        Z13, Z13, K6, Z13
	VMOVUPS       Z13, 0(R9)
	VADDPS        Z13, Z2, K1, Z2
	ADDQ          $64, R9
	ADDQ          $2, R10
	DECQ          R11
	JNZ           sexp

	MOVQ SI, R9
	MOVQ CX, R11

sdiv:
	VMOVUPS 0(R9), Z1
	VDIVPS  Z2, Z1, Z1
	VMOVUPS Z1, 0(R9)
	ADDQ    $64, R9
	DECQ    R11
	JNZ     sdiv
	VZEROUPPER
	MOVB    $1, ok+24(FP)
	RET

snan:
	VZEROUPPER
	MOVB $0, ok+24(FP)
	RET

// AMUL adds p_j (Z16) times element off of value row j (R12) to acc, in
// the lanes of K1.
#define AMUL(off, acc, t) \
	VMULPS.BCST off(R12), Z16, t; \
	VADDPS      t, acc, K1, acc

// func accumQ16AVX512(p, v *float32, hd, stride, n int, masks *uint16, o *float32)
// o[16c+l] = Σ p[16j+l]·v[j*stride+c] over the j < n whose masks[j] has
// bit l, accumulated in j order from zero (AccumRows per lane), for c < hd
// (a multiple of 8).
TEXT ·accumQ16AVX512(SB), NOSPLIT, $0-56
	MOVQ p+0(FP), SI
	MOVQ v+8(FP), DI
	MOVQ hd+16(FP), R8
	MOVQ stride+24(FP), R9
	SHLQ $2, R9
	MOVQ n+32(FP), CX
	MOVQ masks+40(FP), DX
	MOVQ o+48(FP), R10

ac16:
	CMPQ   R8, $16
	JLT    ac8
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	VXORPS Z8, Z8, Z8
	VXORPS Z9, Z9, Z9
	VXORPS Z10, Z10, Z10
	VXORPS Z11, Z11, Z11
	VXORPS Z12, Z12, Z12
	VXORPS Z13, Z13, Z13
	VXORPS Z14, Z14, Z14
	VXORPS Z15, Z15, Z15
	MOVQ   SI, R11
	MOVQ   DI, R12
	MOVQ   DX, R13
	MOVQ   CX, BX

ac16j:
	KMOVW   0(R13), K1
	VMOVUPS 0(R11), Z16
	AMUL(0, Z0, Z17)
	AMUL(4, Z1, Z18)
	AMUL(8, Z2, Z19)
	AMUL(12, Z3, Z20)
	AMUL(16, Z4, Z17)
	AMUL(20, Z5, Z18)
	AMUL(24, Z6, Z19)
	AMUL(28, Z7, Z20)
	AMUL(32, Z8, Z17)
	AMUL(36, Z9, Z18)
	AMUL(40, Z10, Z19)
	AMUL(44, Z11, Z20)
	AMUL(48, Z12, Z17)
	AMUL(52, Z13, Z18)
	AMUL(56, Z14, Z19)
	AMUL(60, Z15, Z20)
	ADDQ    $64, R11
	ADDQ    R9, R12
	ADDQ    $2, R13
	DECQ    BX
	JNZ     ac16j

	VMOVUPS Z0, 0(R10)
	VMOVUPS Z1, 64(R10)
	VMOVUPS Z2, 128(R10)
	VMOVUPS Z3, 192(R10)
	VMOVUPS Z4, 256(R10)
	VMOVUPS Z5, 320(R10)
	VMOVUPS Z6, 384(R10)
	VMOVUPS Z7, 448(R10)
	VMOVUPS Z8, 512(R10)
	VMOVUPS Z9, 576(R10)
	VMOVUPS Z10, 640(R10)
	VMOVUPS Z11, 704(R10)
	VMOVUPS Z12, 768(R10)
	VMOVUPS Z13, 832(R10)
	VMOVUPS Z14, 896(R10)
	VMOVUPS Z15, 960(R10)
	ADDQ    $1024, R10
	ADDQ    $64, DI
	SUBQ    $16, R8
	JMP     ac16

ac8:
	CMPQ   R8, $8
	JLT    acdone
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3
	VXORPS Z4, Z4, Z4
	VXORPS Z5, Z5, Z5
	VXORPS Z6, Z6, Z6
	VXORPS Z7, Z7, Z7
	MOVQ   SI, R11
	MOVQ   DI, R12
	MOVQ   DX, R13
	MOVQ   CX, BX

ac8j:
	KMOVW   0(R13), K1
	VMOVUPS 0(R11), Z16
	AMUL(0, Z0, Z17)
	AMUL(4, Z1, Z18)
	AMUL(8, Z2, Z19)
	AMUL(12, Z3, Z20)
	AMUL(16, Z4, Z17)
	AMUL(20, Z5, Z18)
	AMUL(24, Z6, Z19)
	AMUL(28, Z7, Z20)
	ADDQ    $64, R11
	ADDQ    R9, R12
	ADDQ    $2, R13
	DECQ    BX
	JNZ     ac8j

	VMOVUPS Z0, 0(R10)
	VMOVUPS Z1, 64(R10)
	VMOVUPS Z2, 128(R10)
	VMOVUPS Z3, 192(R10)
	VMOVUPS Z4, 256(R10)
	VMOVUPS Z5, 320(R10)
	VMOVUPS Z6, 384(R10)
	VMOVUPS Z7, 448(R10)
	ADDQ    $512, R10
	ADDQ    $32, DI
	SUBQ    $8, R8
	JMP     ac8

acdone:
	VZEROUPPER
	RET

// func swigluAVX512(gs, u *float32, n int) (done int)
// gs[i] = float32(x*(1/(1+Exp(-x)))) * u[i] with x = gs[i], 16 lanes at a
// time (SwiGLU's operations; Exp's as in EXP8), for i < n (a multiple of
// 16), stopping before the first 16 that hold an x with !(-x <= 88.72284)
// (NaN or a large negative x, left to the caller's Go path); returns the
// count done.
TEXT ·swigluAVX512(SB), NOSPLIT, $0-32
	MOVQ         gs+0(FP), SI
	MOVQ         u+8(FP), DI
	MOVQ         n+16(FP), CX
	XORQ         AX, AX
	VBROADCASTSD expc<>+0(SB), Z14
	VBROADCASTSD expc<>+8(SB), Z15
	VBROADCASTSD expc<>+16(SB), Z16
	VBROADCASTSD expc<>+24(SB), Z17
	VBROADCASTSD expc<>+32(SB), Z18
	VBROADCASTSD expc<>+40(SB), Z19
	VBROADCASTSD expc<>+48(SB), Z20
	VBROADCASTSD expc<>+56(SB), Z21
	VBROADCASTSS expc<>+88(SB), Z22
	VBROADCASTSS expc<>+92(SB), Z23
	LEAQ         ·exp2Table(SB), R8
	VMOVUPD      0(R8), Z24
	VMOVUPD      64(R8), Z25
	VMOVUPD      128(R8), Z26
	VMOVUPD      192(R8), Z27
	VMOVUPD      256(R8), Z28
	VMOVUPD      320(R8), Z29
	VMOVUPD      384(R8), Z30
	VMOVUPD      448(R8), Z31
	MOVL         $0x80000000, R9
	VPBROADCASTD R9, Z2
	MOVL         $0x3f800000, R9
	VPBROADCASTD R9, Z3

swloop:
	CMPQ          AX, CX
	JGE           swdone
	VMOVUPS       (SI)(AX*4), Z0
	VXORPS        Z2, Z0, Z1
	VCMPPS        $6, Z23, Z1, K6
	KORTESTW      K6, K6
	JNZ           swdone
	EXP8(Y1, Y13)
	VEXTRACTF32X8 $1, Z1, Y11
	EXP8(Y11, Y11)
	VINSERTF32X8  $1, Y11, Z13, Z13
	VCMPPS        $1, Z22, Z1, K6
	VXORPS        Z13, Z13, K6, Z13
	VADDPS        Z3, Z13, Z13
	VDIVPS        Z13, Z3, Z13
	VMULPS        Z13, Z0, Z0
	VMULPS        (DI)(AX*4), Z0, Z0
	VMOVUPS       Z0, (SI)(AX*4)
	ADDQ          $16, AX
	JMP           swloop

swdone:
	VZEROUPPER
	MOVQ AX, done+24(FP)
	RET

// QROUND rounds the 16 float32 y in z half away from zero, exactly
// (trunc(y), plus ±1 where |y - trunc(y)| ≥ 0.5: roundF's
// trunc(float64(y) ± 0.5)), and converts them to int32 in z. Constants:
// Z31 0x7fffffff, Z28 0.5, Z27 the sign bit, Z29 1.0.
#define QROUND(z) \
	VRNDSCALEPS $0x0B, z, Z20; \
	VSUBPS      Z20, z, Z21; \
	VPANDD      Z31, Z21, Z21; \
	VCMPPS      $0x1D, Z28, Z21, K4; \
	VPANDD      Z27, z, Z22; \
	VPORD       Z29, Z22, Z22; \
	VADDPS      Z22, Z20, K4, Z20; \
	VCVTTPS2DQ  Z20, z

// func quantQ8_0AVX512(x *float32, dst *byte, nb int) (finite bool)
// QuantizeQ8_0 for finite inputs, 16 blocks at a time: amax by the integer
// max of the |x| patterns, d = amax/127 and id = 1/d (0 where d is 0) for
// 16 blocks in one vector, d stored as f16 rounded to nearest even, q =
// round half away from zero of x*id. Reports whether every input was
// finite; at the first group of blocks that is not it stops, and the caller
// quantizes in Go; likewise where 1/d overflows.
TEXT ·quantQ8_0AVX512(SB), NOSPLIT, $160-25
	MOVQ         x+0(FP), SI
	MOVQ         dst+8(FP), DI
	MOVQ         nb+16(FP), CX
	MOVL         $0x7fffffff, AX
	VPBROADCASTD AX, Z31
	MOVL         $0x42fe0000, AX
	VPBROADCASTD AX, Z30
	MOVL         $0x3f800000, AX
	VPBROADCASTD AX, Z29
	MOVL         $0x3f000000, AX
	VPBROADCASTD AX, Z28
	MOVL         $0x80000000, AX
	VPBROADCASTD AX, Z27
	MOVL         $0x7f800000, AX
	VPBROADCASTD AX, Z26
	VPXORD       Z25, Z25, Z25

qvgroup:
	MOVQ CX, BX
	CMPQ BX, $16
	JLE  qvg
	MOVQ $16, BX

qvg:
	// amax of each block into 0(SP)[b].
	MOVQ SI, R8
	XORQ R9, R9

qva:
	VPANDD        0(R8), Z31, Z0
	VPANDD        64(R8), Z31, Z1
	VPMAXUD       Z1, Z0, Z0
	VEXTRACTI64X4 $1, Z0, Y1
	VPMAXUD       Y1, Y0, Y0
	VEXTRACTI128  $1, Y0, X1
	VPMAXUD       X1, X0, X0
	VPSHUFD       $0x4E, X0, X1
	VPMAXUD       X1, X0, X0
	VPSHUFD       $0xB1, X0, X1
	VPMAXUD       X1, X0, X0
	VMOVD         X0, (SP)(R9*4)
	ADDQ          $128, R8
	INCQ          R9
	CMPQ          R9, BX
	JLT           qva

	// The group's lanes: d, id and f16(d) for 16 blocks at once.
	MOVL      $1, AX
	SHLXL     BX, AX, AX
	DECL      AX
	KMOVW     AX, K1
	VMOVDQU32 0(SP), Z0
	VPCMPUD   $5, Z26, Z0, K1, K2
	KORTESTW  K2, K2
	JNZ       qvnonfinite
	VDIVPS    Z30, Z0, Z1
	VDIVPS    Z1, Z29, Z2
	VCMPPS    $4, Z25, Z1, K3
	VMOVAPS.Z Z2, K3, Z2
	// 1/d overflowed (a block of denormals): the Go path's results.
	VPCMPUD   $5, Z26, Z2, K1, K2
	KORTESTW  K2, K2
	JNZ       qvnonfinite
	VMOVUPS   Z2, 64(SP)
	VCVTPS2PH $0, Z1, Y3
	VMOVDQU   Y3, 128(SP)

	MOVQ SI, R8
	XORQ R9, R9

qvb:
	VBROADCASTSS 64(SP)(R9*4), Z2
	VMULPS       0(R8), Z2, Z4
	VMULPS       64(R8), Z2, Z5
	QROUND(Z4)
	QROUND(Z5)
	VPMOVDB      Z4, 2(DI)
	VPMOVDB      Z5, 18(DI)
	MOVW         128(SP)(R9*2), AX
	MOVW         AX, 0(DI)
	ADDQ         $128, R8
	ADDQ         $34, DI
	INCQ         R9
	CMPQ         R9, BX
	JLT          qvb

	MOVQ R8, SI
	SUBQ BX, CX
	JNZ  qvgroup
	VZEROUPPER
	MOVB $1, finite+24(FP)
	RET

qvnonfinite:
	VZEROUPPER
	MOVB $0, finite+24(FP)
	RET

// func gatherQ16AVX512(q *float32, qStride, nq, hd int, qT *float32)
// qT[16i+l] = q[l*qStride+i] for i < hd, l < nq; 0 for the lanes l ≥ nq.
TEXT ·gatherQ16AVX512(SB), NOSPLIT, $0-40
	MOVQ    q+0(FP), SI
	MOVQ    qStride+8(FP), AX
	MOVQ    nq+16(FP), BX
	MOVQ    hd+24(FP), CX
	MOVQ    qT+32(FP), DI
	// Z1 = l*qStride, K2 = the lanes l < nq.
	VPBROADCASTD AX, Z2
	MOVQ         $0x0706050403020100, AX
	VMOVQ        AX, X3
	MOVQ         $0x0f0e0d0c0b0a0908, AX
	VPINSRQ      $1, AX, X3, X3
	VPMOVZXBD    X3, Z1
	VPMULLD      Z2, Z1, Z1
	MOVL         $1, AX
	SHLXL        BX, AX, AX
	DECL         AX
	KMOVW        AX, K2

gqloop:
	KMOVW       K2, K1
	VXORPS      Z0, Z0, Z0
	VGATHERDPS  (SI)(Z1*4), K1, Z0
	VMOVUPS     Z0, 0(DI)
	ADDQ        $4, SI
	ADDQ        $64, DI
	DECQ        CX
	JNZ         gqloop
	VZEROUPPER
	RET

// func scatterQ16AVX512(o *float32, hd, nq int, out *float32, outStride int)
// out[l*outStride+c] = o[16c+l] for c < hd, l < nq.
TEXT ·scatterQ16AVX512(SB), NOSPLIT, $0-40
	MOVQ         o+0(FP), SI
	MOVQ         hd+8(FP), CX
	MOVQ         nq+16(FP), BX
	MOVQ         out+24(FP), DI
	MOVQ         outStride+32(FP), AX
	VPBROADCASTD AX, Z2
	MOVQ         $0x0706050403020100, AX
	VMOVQ        AX, X3
	MOVQ         $0x0f0e0d0c0b0a0908, AX
	VPINSRQ      $1, AX, X3, X3
	VPMOVZXBD    X3, Z1
	VPMULLD      Z2, Z1, Z1
	MOVL         $1, AX
	SHLXL        BX, AX, AX
	DECL         AX
	KMOVW        AX, K2

sqloop:
	KMOVW       K2, K1
	VMOVUPS     0(SI), Z0
	VSCATTERDPS Z0, K1, (DI)(Z1*4)
	ADDQ        $64, SI
	ADDQ        $4, DI
	DECQ        CX
	JNZ         sqloop
	VZEROUPPER
	RET
