#include "textflag.h"

// HSUM8 reduces Y0 to X0[0] as ((v0+v4)+(v2+v6)) + ((v1+v5)+(v3+v7)).
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS       X1, X0, X0; \
	VMOVHLPS     X0, X0, X1; \
	VADDPS       X1, X0, X0; \
	VMOVSHDUP    X0, X1; \
	VADDSS       X1, X0, X0

// func dotF32AVX2Body(a, b *float32, n int) float32
// n is a positive multiple of 32. Partial sums s[j] over i%32 == j, product
// rounded then added (no FMA), reduced as c[k] = (s[k]+s[8+k]) +
// (s[16+k]+s[24+k]) and HSUM8, matching dotF32Go.
TEXT ·dotF32AVX2Body(SB), NOSPLIT, $0-28
	MOVQ a+0(FP), SI
	MOVQ b+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

f32loop:
	VMOVUPS 0(SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VMULPS  0(DI), Y4, Y4
	VMULPS  32(DI), Y5, Y5
	VMULPS  64(DI), Y6, Y6
	VMULPS  96(DI), Y7, Y7
	VADDPS  Y4, Y0, Y0
	VADDPS  Y5, Y1, Y1
	VADDPS  Y6, Y2, Y2
	VADDPS  Y7, Y3, Y3
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	JNZ     f32loop

	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ8_0AVX2(w, x *byte, nb int) float32
TEXT ·dotQ8_0AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS    Y0, Y0, Y0
	VPCMPEQW  Y15, Y15, Y15
	VPSRLW    $15, Y15, Y15

q8loop:
	MOVWLZX      0(SI), AX
	MOVWLZX      0(DI), BX
	VMOVD        AX, X1
	VMOVD        BX, X2
	VCVTPH2PS    X1, X1
	VCVTPH2PS    X2, X2
	VMULSS       X2, X1, X1
	VBROADCASTSS X1, Y1
	VMOVDQU      2(SI), Y2
	VMOVDQU      2(DI), Y3
	VPSIGNB      Y2, Y2, Y4
	VPSIGNB      Y2, Y3, Y5
	VPMADDUBSW   Y5, Y4, Y6
	VPMADDWD     Y15, Y6, Y6
	VCVTDQ2PS    Y6, Y6
	VMULPS       Y1, Y6, Y6
	VADDPS       Y6, Y0, Y0
	ADDQ         $34, SI
	ADDQ         $34, DI
	DECQ         CX
	JNZ          q8loop

	HSUM8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ4_0AVX2(w, x *byte, nb int) float32
TEXT ·dotQ4_0AVX2(SB), NOSPLIT, $0-28
	MOVQ w+0(FP), SI
	MOVQ x+8(FP), DI
	MOVQ nb+16(FP), CX
	VXORPS       Y0, Y0, Y0
	VPCMPEQW     Y15, Y15, Y15
	VPSRLW       $15, Y15, Y15
	MOVQ         $0x0F0F0F0F0F0F0F0F, AX
	VMOVQ        AX, X14
	VPBROADCASTQ X14, Y14
	MOVQ         $0x0808080808080808, AX
	VMOVQ        AX, X13
	VPBROADCASTQ X13, Y13

q4loop:
	MOVWLZX      0(SI), AX
	MOVWLZX      0(DI), BX
	VMOVD        AX, X1
	VMOVD        BX, X2
	VCVTPH2PS    X1, X1
	VCVTPH2PS    X2, X2
	VMULSS       X2, X1, X1
	VBROADCASTSS X1, Y1
	VMOVDQU      2(SI), X2
	VPSRLW       $4, X2, X3
	VINSERTI128  $1, X3, Y2, Y2
	VPAND        Y14, Y2, Y2
	VPSUBB       Y13, Y2, Y2
	VMOVDQU      2(DI), Y3
	VPSIGNB      Y2, Y2, Y4
	VPSIGNB      Y2, Y3, Y5
	VPMADDUBSW   Y5, Y4, Y6
	VPMADDWD     Y15, Y6, Y6
	VCVTDQ2PS    Y6, Y6
	VMULPS       Y1, Y6, Y6
	VADDPS       Y6, Y0, Y0
	ADDQ         $18, SI
	ADDQ         $34, DI
	DECQ         CX
	JNZ          q4loop

	HSUM8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// Row-loop kernels: dst[r] = row r · x for r < rows, each row computed
// exactly as by the single-row kernel above (same order), without a Go call
// per row.

// func rowsQ8_0AVX2(w, x *byte, nb, rowBytes int, dst *float32, rows int, xd *float32)
// xd holds the activation block scales as float32.
TEXT ·rowsQ8_0AVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), R12
	MOVQ x+8(FP), R13
	MOVQ nb+16(FP), R8
	MOVQ rowBytes+24(FP), R9
	MOVQ dst+32(FP), DX
	MOVQ rows+40(FP), BX
	MOVQ xd+48(FP), R11
	VPCMPEQW  Y15, Y15, Y15
	VPSRLW    $15, Y15, Y15

rq8row:
	MOVQ   R12, SI
	MOVQ   R13, DI
	MOVQ   R8, CX
	MOVQ   R11, AX
	VXORPS Y0, Y0, Y0

rq8loop:
	MOVWLZX      0(SI), R10
	VMOVD        R10, X1
	VCVTPH2PS    X1, X1
	VMULSS       0(AX), X1, X1
	ADDQ         $4, AX
	VBROADCASTSS X1, Y1
	VMOVDQU      2(SI), Y2
	VMOVDQU      2(DI), Y3
	VPSIGNB      Y2, Y2, Y4
	VPSIGNB      Y2, Y3, Y5
	VPMADDUBSW   Y5, Y4, Y6
	VPMADDWD     Y15, Y6, Y6
	VCVTDQ2PS    Y6, Y6
	VMULPS       Y1, Y6, Y6
	VADDPS       Y6, Y0, Y0
	ADDQ         $34, SI
	ADDQ         $34, DI
	DECQ         CX
	JNZ          rq8loop

	HSUM8
	VMOVSS X0, 0(DX)
	ADDQ   $4, DX
	ADDQ   R9, R12
	DECQ   BX
	JNZ    rq8row
	VZEROUPPER
	RET

// func rowsQ4_0AVX2(w, x *byte, nb, rowBytes int, dst *float32, rows int, xd *float32)
TEXT ·rowsQ4_0AVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), R12
	MOVQ x+8(FP), R13
	MOVQ nb+16(FP), R8
	MOVQ rowBytes+24(FP), R9
	MOVQ dst+32(FP), DX
	MOVQ rows+40(FP), BX
	MOVQ xd+48(FP), R11
	VPCMPEQW     Y15, Y15, Y15
	VPSRLW       $15, Y15, Y15
	MOVQ         $0x0F0F0F0F0F0F0F0F, AX
	VMOVQ        AX, X14
	VPBROADCASTQ X14, Y14
	MOVQ         $0x0808080808080808, AX
	VMOVQ        AX, X13
	VPBROADCASTQ X13, Y13

rq4row:
	MOVQ   R12, SI
	MOVQ   R13, DI
	MOVQ   R8, CX
	MOVQ   R11, AX
	VXORPS Y0, Y0, Y0

rq4loop:
	MOVWLZX      0(SI), R10
	VMOVD        R10, X1
	VCVTPH2PS    X1, X1
	VMULSS       0(AX), X1, X1
	ADDQ         $4, AX
	VBROADCASTSS X1, Y1
	VMOVDQU      2(SI), X2
	VPSRLW       $4, X2, X3
	VINSERTI128  $1, X3, Y2, Y2
	VPAND        Y14, Y2, Y2
	VPSUBB       Y13, Y2, Y2
	VMOVDQU      2(DI), Y3
	VPSIGNB      Y2, Y2, Y4
	VPSIGNB      Y2, Y3, Y5
	VPMADDUBSW   Y5, Y4, Y6
	VPMADDWD     Y15, Y6, Y6
	VCVTDQ2PS    Y6, Y6
	VMULPS       Y1, Y6, Y6
	VADDPS       Y6, Y0, Y0
	ADDQ         $18, SI
	ADDQ         $34, DI
	DECQ         CX
	JNZ          rq4loop

	HSUM8
	VMOVSS X0, 0(DX)
	ADDQ   $4, DX
	ADDQ   R9, R12
	DECQ   BX
	JNZ    rq4row
	VZEROUPPER
	RET

// func rowsF32AVX2(w, x *float32, n, rowStride int, dst *float32, rows int)
// n is a positive multiple of 32; rowStride is in bytes.
TEXT ·rowsF32AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), R12
	MOVQ x+8(FP), R13
	MOVQ n+16(FP), R8
	MOVQ rowStride+24(FP), R9
	MOVQ dst+32(FP), DX
	MOVQ rows+40(FP), BX

rf32row:
	MOVQ   R12, SI
	MOVQ   R13, DI
	MOVQ   R8, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

rf32loop:
	VMOVUPS 0(SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VMULPS  0(DI), Y4, Y4
	VMULPS  32(DI), Y5, Y5
	VMULPS  64(DI), Y6, Y6
	VMULPS  96(DI), Y7, Y7
	VADDPS  Y4, Y0, Y0
	VADDPS  Y5, Y1, Y1
	VADDPS  Y6, Y2, Y2
	VADDPS  Y7, Y3, Y3
	ADDQ    $128, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	JNZ     rf32loop

	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8
	VMOVSS X0, 0(DX)
	ADDQ   $4, DX
	ADDQ   R9, R12
	DECQ   BX
	JNZ    rf32row
	VZEROUPPER
	RET

// func mm4Q8_0AVX2(w *byte, nb int, x0, x1, x2, x3 *byte, d0, d1, d2, d3 *float32, out *[4]float32)
// One weight row times four Q8_0 activation vectors (d* are their block
// scales as float32); each result is computed exactly as by the single-vector
// kernel.
TEXT ·mm4Q8_0AVX2(SB), NOSPLIT, $0-88
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), DX
	IMULQ $34, DX
	ADDQ SI, DX
	MOVQ x0+16(FP), DI
	MOVQ x1+24(FP), R8
	MOVQ x2+32(FP), R9
	MOVQ x3+40(FP), R10
	MOVQ d0+48(FP), R11
	MOVQ d1+56(FP), R12
	MOVQ d2+64(FP), R13
	MOVQ d3+72(FP), BX
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $15, Y15, Y15
	XORQ     AX, AX
	XORQ     CX, CX
	VXORPS   Y10, Y10, Y10
	VXORPS   Y11, Y11, Y11
	VXORPS   Y12, Y12, Y12
	VXORPS   Y13, Y13, Y13

mm4Q8_0AVX2loop:
	PREFETCHT0   384(SI)
	VPINSRW      $0, 0(SI), X6, X6
	VCVTPH2PS    X6, X6
	VMOVDQU      2(SI), Y4
	VPSIGNB      Y4, Y4, Y5
	VMOVDQU      2(DI)(AX*1), Y7
	VPSIGNB      Y4, Y7, Y7
	VPMADDUBSW   Y7, Y5, Y7
	VPMADDWD     Y15, Y7, Y7
	VCVTDQ2PS    Y7, Y7
	VMULSS       (R11)(CX*1), X6, X8
	VBROADCASTSS X8, Y8
	VMULPS       Y8, Y7, Y7
	VADDPS       Y7, Y10, Y10
	VMOVDQU      2(R8)(AX*1), Y7
	VPSIGNB      Y4, Y7, Y7
	VPMADDUBSW   Y7, Y5, Y7
	VPMADDWD     Y15, Y7, Y7
	VCVTDQ2PS    Y7, Y7
	VMULSS       (R12)(CX*1), X6, X8
	VBROADCASTSS X8, Y8
	VMULPS       Y8, Y7, Y7
	VADDPS       Y7, Y11, Y11
	VMOVDQU      2(R9)(AX*1), Y7
	VPSIGNB      Y4, Y7, Y7
	VPMADDUBSW   Y7, Y5, Y7
	VPMADDWD     Y15, Y7, Y7
	VCVTDQ2PS    Y7, Y7
	VMULSS       (R13)(CX*1), X6, X8
	VBROADCASTSS X8, Y8
	VMULPS       Y8, Y7, Y7
	VADDPS       Y7, Y12, Y12
	VMOVDQU      2(R10)(AX*1), Y7
	VPSIGNB      Y4, Y7, Y7
	VPMADDUBSW   Y7, Y5, Y7
	VPMADDWD     Y15, Y7, Y7
	VCVTDQ2PS    Y7, Y7
	VMULSS       (BX)(CX*1), X6, X8
	VBROADCASTSS X8, Y8
	VMULPS       Y8, Y7, Y7
	VADDPS       Y7, Y13, Y13
	ADDQ         $34, SI
	ADDQ         $34, AX
	ADDQ         $4, CX
	CMPQ         SI, DX
	JNE          mm4Q8_0AVX2loop

	MOVQ out+80(FP), DX
	VMOVUPS Y10, Y0
	HSUM8
	VMOVSS  X0, 0(DX)
	VMOVUPS Y11, Y0
	HSUM8
	VMOVSS  X0, 4(DX)
	VMOVUPS Y12, Y0
	HSUM8
	VMOVSS  X0, 8(DX)
	VMOVUPS Y13, Y0
	HSUM8
	VMOVSS  X0, 12(DX)
	VZEROUPPER
	RET

// func mm4Q4_0AVX2(w *byte, nb int, x0, x1, x2, x3 *byte, d0, d1, d2, d3 *float32, out *[4]float32)
// One weight row times four Q8_0 activation vectors (d* are their block
// scales as float32); each result is computed exactly as by the single-vector
// kernel.
TEXT ·mm4Q4_0AVX2(SB), NOSPLIT, $0-88
	MOVQ w+0(FP), SI
	MOVQ nb+8(FP), DX
	IMULQ $18, DX
	ADDQ SI, DX
	MOVQ x0+16(FP), DI
	MOVQ x1+24(FP), R8
	MOVQ x2+32(FP), R9
	MOVQ x3+40(FP), R10
	MOVQ d0+48(FP), R11
	MOVQ d1+56(FP), R12
	MOVQ d2+64(FP), R13
	MOVQ d3+72(FP), BX
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $15, Y15, Y15
	MOVQ         $0x0F0F0F0F0F0F0F0F, AX
	VMOVQ        AX, X2
	VPBROADCASTQ X2, Y2
	MOVQ         $0x0808080808080808, AX
	VMOVQ        AX, X3
	VPBROADCASTQ X3, Y3
	XORQ     AX, AX
	XORQ     CX, CX
	VXORPS   Y10, Y10, Y10
	VXORPS   Y11, Y11, Y11
	VXORPS   Y12, Y12, Y12
	VXORPS   Y13, Y13, Y13

mm4Q4_0AVX2loop:
	PREFETCHT0   384(SI)
	VPINSRW      $0, 0(SI), X6, X6
	VCVTPH2PS    X6, X6
	VMOVDQU      2(SI), X4
	VPSRLW       $4, X4, X7
	VINSERTI128  $1, X7, Y4, Y4
	VPAND        Y2, Y4, Y4
	VPSUBB       Y3, Y4, Y4
	VPSIGNB      Y4, Y4, Y5
	VMOVDQU      2(DI)(AX*1), Y7
	VPSIGNB      Y4, Y7, Y7
	VPMADDUBSW   Y7, Y5, Y7
	VPMADDWD     Y15, Y7, Y7
	VCVTDQ2PS    Y7, Y7
	VMULSS       (R11)(CX*1), X6, X8
	VBROADCASTSS X8, Y8
	VMULPS       Y8, Y7, Y7
	VADDPS       Y7, Y10, Y10
	VMOVDQU      2(R8)(AX*1), Y7
	VPSIGNB      Y4, Y7, Y7
	VPMADDUBSW   Y7, Y5, Y7
	VPMADDWD     Y15, Y7, Y7
	VCVTDQ2PS    Y7, Y7
	VMULSS       (R12)(CX*1), X6, X8
	VBROADCASTSS X8, Y8
	VMULPS       Y8, Y7, Y7
	VADDPS       Y7, Y11, Y11
	VMOVDQU      2(R9)(AX*1), Y7
	VPSIGNB      Y4, Y7, Y7
	VPMADDUBSW   Y7, Y5, Y7
	VPMADDWD     Y15, Y7, Y7
	VCVTDQ2PS    Y7, Y7
	VMULSS       (R13)(CX*1), X6, X8
	VBROADCASTSS X8, Y8
	VMULPS       Y8, Y7, Y7
	VADDPS       Y7, Y12, Y12
	VMOVDQU      2(R10)(AX*1), Y7
	VPSIGNB      Y4, Y7, Y7
	VPMADDUBSW   Y7, Y5, Y7
	VPMADDWD     Y15, Y7, Y7
	VCVTDQ2PS    Y7, Y7
	VMULSS       (BX)(CX*1), X6, X8
	VBROADCASTSS X8, Y8
	VMULPS       Y8, Y7, Y7
	VADDPS       Y7, Y13, Y13
	ADDQ         $18, SI
	ADDQ         $34, AX
	ADDQ         $4, CX
	CMPQ         SI, DX
	JNE          mm4Q4_0AVX2loop

	MOVQ out+80(FP), DX
	VMOVUPS Y10, Y0
	HSUM8
	VMOVSS  X0, 0(DX)
	VMOVUPS Y11, Y0
	HSUM8
	VMOVSS  X0, 4(DX)
	VMOVUPS Y12, Y0
	HSUM8
	VMOVSS  X0, 8(DX)
	VMOVUPS Y13, Y0
	HSUM8
	VMOVSS  X0, 12(DX)
	VZEROUPPER
	RET

// func axpyAVX2(a float32, x, y *float32, n int)
// y[i] += a*x[i] (product rounded, then added) for n a positive multiple of 8.
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS a+0(FP), Y0
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX

axpyloop:
	VMULPS  0(SI), Y0, Y1
	VADDPS  0(DI), Y1, Y1
	VMOVUPS Y1, 0(DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	SUBQ    $8, CX
	JNZ     axpyloop
	VZEROUPPER
	RET

// func mm2F32AVX2(w, x0, x1 *float32, n int, out *[2]float32)
// One f32 row times two vectors, n a positive multiple of 32, each result in
// dotF32's canonical order.
TEXT ·mm2F32AVX2(SB), NOSPLIT, $0-40
	MOVQ w+0(FP), SI
	MOVQ x0+8(FP), DI
	MOVQ x1+16(FP), R8
	MOVQ n+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

mm2loop:
	VMOVUPS 0(SI), Y8
	VMOVUPS 32(SI), Y9
	VMOVUPS 64(SI), Y10
	VMOVUPS 96(SI), Y11
	VMULPS  0(DI), Y8, Y12
	VMULPS  32(DI), Y9, Y13
	VMULPS  64(DI), Y10, Y14
	VMULPS  96(DI), Y11, Y15
	VADDPS  Y12, Y0, Y0
	VADDPS  Y13, Y1, Y1
	VADDPS  Y14, Y2, Y2
	VADDPS  Y15, Y3, Y3
	VMULPS  0(R8), Y8, Y12
	VMULPS  32(R8), Y9, Y13
	VMULPS  64(R8), Y10, Y14
	VMULPS  96(R8), Y11, Y15
	VADDPS  Y12, Y4, Y4
	VADDPS  Y13, Y5, Y5
	VADDPS  Y14, Y6, Y6
	VADDPS  Y15, Y7, Y7
	ADDQ    $128, SI
	ADDQ    $128, DI
	ADDQ    $128, R8
	SUBQ    $32, CX
	JNZ     mm2loop

	MOVQ   out+32(FP), DX
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	VADDPS Y6, Y4, Y4
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8
	VMOVSS X0, 0(DX)
	VMOVUPS Y4, Y0
	HSUM8
	VMOVSS X0, 4(DX)
	VZEROUPPER
	RET

// func q4kDotAVX2(qs, q8 *byte, sc *[8]int16) int32
// The exact integer Σ_j sc[j]·Σ_l q4[j][l]·q8[j][l] of one Q4_K super-block
// (qs: its 128 nibble bytes; q8: the Q8_K block's 256 int8 values).
TEXT ·q4kDotAVX2(SB), NOSPLIT, $0-28
	MOVQ         qs+0(FP), SI
	MOVQ         q8+8(FP), DI
	MOVQ         sc+16(FP), DX
	MOVQ         $0x0F0F0F0F0F0F0F0F, AX
	VMOVQ        AX, X14
	VPBROADCASTQ X14, Y14
	VPXOR        Y0, Y0, Y0
	MOVQ         $4, CX

q4kloop:
	VMOVDQU      0(SI), Y1
	VPAND        Y14, Y1, Y2
	VPSRLW       $4, Y1, Y3
	VPAND        Y14, Y3, Y3
	VPMADDUBSW   0(DI), Y2, Y2
	VPMADDUBSW   32(DI), Y3, Y3
	VPBROADCASTW 0(DX), Y4
	VPBROADCASTW 2(DX), Y5
	VPMADDWD     Y4, Y2, Y2
	VPMADDWD     Y5, Y3, Y3
	VPADDD       Y2, Y0, Y0
	VPADDD       Y3, Y0, Y0
	ADDQ         $32, SI
	ADDQ         $64, DI
	ADDQ         $4, DX
	DECQ         CX
	JNZ          q4kloop

	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0x4E, X0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0xB1, X0, X1
	VPADDD       X1, X0, X0
	VMOVD        X0, AX
	VZEROUPPER
	MOVL         AX, ret+24(FP)
	RET

// func q6kDotAVX2(ql, qh, q8 *byte, sc *[16]int16) int32
// The exact integer Σ_k sc[k]·Σ q6u·q8 over the 16 sub-blocks of one Q6_K
// super-block, with q6u the unsigned 6-bit values (0..63); the caller
// subtracts 32·Σ_k sc[k]·bsum[k].
TEXT ·q6kDotAVX2(SB), NOSPLIT, $0-36
	MOVQ         ql+0(FP), SI
	MOVQ         qh+8(FP), BX
	MOVQ         q8+16(FP), DI
	MOVQ         sc+24(FP), DX
	MOVQ         $0x0F0F0F0F0F0F0F0F, AX
	VMOVQ        AX, X14
	VPBROADCASTQ X14, Y14
	MOVQ         $0x0303030303030303, AX
	VMOVQ        AX, X13
	VPBROADCASTQ X13, Y13
	MOVQ         $0x0C0C0C0C0C0C0C0C, AX
	VMOVQ        AX, X12
	VPBROADCASTQ X12, Y12
	MOVQ         $0x3030303030303030, AX
	VMOVQ        AX, X11
	VPBROADCASTQ X11, Y11
	MOVQ         $0xC0C0C0C0C0C0C0C0, AX
	VMOVQ        AX, X10
	VPBROADCASTQ X10, Y10
	VPXOR        Y0, Y0, Y0
	MOVQ         $2, CX

q6kloop:
	VMOVDQU 0(SI), Y1
	VMOVDQU 32(SI), Y2
	VMOVDQU 0(BX), Y3
	VPAND   Y14, Y1, Y4
	VPAND   Y13, Y3, Y5
	VPSLLW  $4, Y5, Y5
	VPOR    Y5, Y4, Y4
	VPAND   Y14, Y2, Y6
	VPAND   Y12, Y3, Y7
	VPSLLW  $2, Y7, Y7
	VPOR    Y7, Y6, Y6
	VPSRLW  $4, Y1, Y8
	VPAND   Y14, Y8, Y8
	VPAND   Y11, Y3, Y9
	VPOR    Y9, Y8, Y8
	VPSRLW  $4, Y2, Y1
	VPAND   Y14, Y1, Y1
	VPAND   Y10, Y3, Y9
	VPSRLW  $2, Y9, Y9
	VPOR    Y9, Y1, Y1
	VPMADDUBSW   0(DI), Y4, Y4
	VPBROADCASTW 0(DX), X5
	VPBROADCASTW 2(DX), X7
	VINSERTI128  $1, X7, Y5, Y5
	VPMADDWD     Y5, Y4, Y4
	VPADDD       Y4, Y0, Y0
	VPMADDUBSW   32(DI), Y6, Y6
	VPBROADCASTW 4(DX), X5
	VPBROADCASTW 6(DX), X7
	VINSERTI128  $1, X7, Y5, Y5
	VPMADDWD     Y5, Y6, Y6
	VPADDD       Y6, Y0, Y0
	VPMADDUBSW   64(DI), Y8, Y8
	VPBROADCASTW 8(DX), X5
	VPBROADCASTW 10(DX), X7
	VINSERTI128  $1, X7, Y5, Y5
	VPMADDWD     Y5, Y8, Y8
	VPADDD       Y8, Y0, Y0
	VPMADDUBSW   96(DI), Y1, Y1
	VPBROADCASTW 12(DX), X5
	VPBROADCASTW 14(DX), X7
	VINSERTI128  $1, X7, Y5, Y5
	VPMADDWD     Y5, Y1, Y1
	VPADDD       Y1, Y0, Y0
	ADDQ    $64, SI
	ADDQ    $32, BX
	ADDQ    $128, DI
	ADDQ    $16, DX
	DECQ    CX
	JNZ     q6kloop

	VEXTRACTI128 $1, Y0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0x4E, X0, X1
	VPADDD       X1, X0, X0
	VPSHUFD      $0xB1, X0, X1
	VPADDD       X1, X0, X0
	VMOVD        X0, AX
	VZEROUPPER
	MOVL         AX, ret+32(FP)
	RET

// func rows2Q8_0AVX2(w, x *byte, nb, rowBytes int, dst *float32, pairs int, xd *float32)
// Two weight rows per pass sharing the activation loads; each row's result
// is computed exactly as by the single-row kernel. d = dw*dx is formed by a
// lane-wise multiply of the two broadcast scales (the same rounding).
TEXT ·rows2Q8_0AVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), R12
	MOVQ x+8(FP), R13
	MOVQ nb+16(FP), R8
	MOVQ rowBytes+24(FP), R9
	MOVQ dst+32(FP), DX
	MOVQ xd+48(FP), R11
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $15, Y15, Y15

rows2Q8_0AVX2row:
	MOVQ   R12, SI
	LEAQ   (R12)(R9*1), R10
	MOVQ   R13, DI
	MOVQ   R11, AX
	MOVQ   R8, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y9, Y9, Y9

rows2Q8_0AVX2loop:
	PREFETCHT0   384(SI)
	PREFETCHT0   384(R10)
	VMOVDQU      2(DI), Y3
	VBROADCASTSS 0(AX), Y7
	MOVWLZX      0(SI), BX
	VMOVD        BX, X1
	VCVTPH2PS    X1, X1
	VBROADCASTSS X1, Y1
	VMULPS       Y7, Y1, Y1
	VMOVDQU      2(SI), Y2
	VPSIGNB      Y2, Y2, Y4
	VPSIGNB      Y2, Y3, Y5
	VPMADDUBSW   Y5, Y4, Y6
	VPMADDWD     Y15, Y6, Y6
	VCVTDQ2PS    Y6, Y6
	VMULPS       Y1, Y6, Y6
	VADDPS       Y6, Y0, Y0
	MOVWLZX      0(R10), BX
	VMOVD        BX, X1
	VCVTPH2PS    X1, X1
	VBROADCASTSS X1, Y1
	VMULPS       Y7, Y1, Y1
	VMOVDQU      2(R10), Y8
	VPSIGNB      Y8, Y8, Y10
	VPSIGNB      Y8, Y3, Y11
	VPMADDUBSW   Y11, Y10, Y12
	VPMADDWD     Y15, Y12, Y12
	VCVTDQ2PS    Y12, Y12
	VMULPS       Y1, Y12, Y12
	VADDPS       Y12, Y9, Y9
	ADDQ         $34, SI
	ADDQ         $34, R10
	ADDQ         $34, DI
	ADDQ         $4, AX
	DECQ         CX
	JNZ          rows2Q8_0AVX2loop

	HSUM8
	VMOVSS  X0, 0(DX)
	VMOVUPS Y9, Y0
	HSUM8
	VMOVSS  X0, 4(DX)
	ADDQ    $8, DX
	LEAQ    (R12)(R9*2), R12
	DECQ    pairs+40(FP)
	JNZ     rows2Q8_0AVX2row
	VZEROUPPER
	RET

// func rows2Q4_0AVX2(w, x *byte, nb, rowBytes int, dst *float32, pairs int, xd *float32)
// Two weight rows per pass sharing the activation loads; each row's result
// is computed exactly as by the single-row kernel. d = dw*dx is formed by a
// lane-wise multiply of the two broadcast scales (the same rounding).
TEXT ·rows2Q4_0AVX2(SB), NOSPLIT, $0-56
	MOVQ w+0(FP), R12
	MOVQ x+8(FP), R13
	MOVQ nb+16(FP), R8
	MOVQ rowBytes+24(FP), R9
	MOVQ dst+32(FP), DX
	MOVQ xd+48(FP), R11
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $15, Y15, Y15
	MOVQ         $0x0F0F0F0F0F0F0F0F, BX
	VMOVQ        BX, X14
	VPBROADCASTQ X14, Y14
	MOVQ         $0x0808080808080808, BX
	VMOVQ        BX, X13
	VPBROADCASTQ X13, Y13

rows2Q4_0AVX2row:
	MOVQ   R12, SI
	LEAQ   (R12)(R9*1), R10
	MOVQ   R13, DI
	MOVQ   R11, AX
	MOVQ   R8, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y9, Y9, Y9

rows2Q4_0AVX2loop:
	PREFETCHT0   384(SI)
	PREFETCHT0   384(R10)
	VMOVDQU      2(DI), Y3
	VBROADCASTSS 0(AX), Y7
	MOVWLZX      0(SI), BX
	VMOVD        BX, X1
	VCVTPH2PS    X1, X1
	VBROADCASTSS X1, Y1
	VMULPS       Y7, Y1, Y1
	VMOVDQU      2(SI), X2
	VPSRLW       $4, X2, X6
	VINSERTI128  $1, X6, Y2, Y2
	VPAND        Y14, Y2, Y2
	VPSUBB       Y13, Y2, Y2
	VPSIGNB      Y2, Y2, Y4
	VPSIGNB      Y2, Y3, Y5
	VPMADDUBSW   Y5, Y4, Y6
	VPMADDWD     Y15, Y6, Y6
	VCVTDQ2PS    Y6, Y6
	VMULPS       Y1, Y6, Y6
	VADDPS       Y6, Y0, Y0
	MOVWLZX      0(R10), BX
	VMOVD        BX, X1
	VCVTPH2PS    X1, X1
	VBROADCASTSS X1, Y1
	VMULPS       Y7, Y1, Y1
	VMOVDQU      2(R10), X8
	VPSRLW       $4, X8, X12
	VINSERTI128  $1, X12, Y8, Y8
	VPAND        Y14, Y8, Y8
	VPSUBB       Y13, Y8, Y8
	VPSIGNB      Y8, Y8, Y10
	VPSIGNB      Y8, Y3, Y11
	VPMADDUBSW   Y11, Y10, Y12
	VPMADDWD     Y15, Y12, Y12
	VCVTDQ2PS    Y12, Y12
	VMULPS       Y1, Y12, Y12
	VADDPS       Y12, Y9, Y9
	ADDQ         $18, SI
	ADDQ         $18, R10
	ADDQ         $34, DI
	ADDQ         $4, AX
	DECQ         CX
	JNZ          rows2Q4_0AVX2loop

	HSUM8
	VMOVSS  X0, 0(DX)
	VMOVUPS Y9, Y0
	HSUM8
	VMOVSS  X0, 4(DX)
	ADDQ    $8, DX
	LEAQ    (R12)(R9*2), R12
	DECQ    pairs+40(FP)
	JNZ     rows2Q4_0AVX2row
	VZEROUPPER
	RET

// func quantQ8_0AVX2(x *float32, dst *byte, nb int) (finite bool)
// The AVX2 form of QuantizeQ8_0 for finite inputs, bit-identical to it: amax
// by max (exact: the integer max of the |x| bit patterns, which order like
// their values), d = amax/127, id = 1/d (0 when d is 0), d stored as f16
// rounded to nearest even, q = trunc(float64(x*id) ± 0.5). It reports
// whether every input was finite (an |x| pattern below 0x7f800000) and every
// 1/d too (not so for a block of denormals); at the first block that is not
// it stops, and the caller quantizes in Go.
TEXT ·quantQ8_0AVX2(SB), NOSPLIT, $0-25
	MOVQ x+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ nb+16(FP), CX
	MOVL $0x7fffffff, AX
	VMOVD AX, X15
	VPBROADCASTD X15, Y15
	MOVQ $0x8000000000000000, AX
	VMOVQ AX, X14
	VPBROADCASTQ X14, Y14
	MOVQ $0x3fe0000000000000, AX
	VMOVQ AX, X13
	VPBROADCASTQ X13, Y13

qloop:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS  Y15, Y0, Y4
	VANDPS  Y15, Y1, Y5
	VANDPS  Y15, Y2, Y6
	VANDPS  Y15, Y3, Y7
	VPMAXSD Y5, Y4, Y4
	VPMAXSD Y7, Y6, Y6
	VPMAXSD Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VPMAXSD X5, X4, X4
	VMOVHLPS X4, X4, X5
	VPMAXSD X5, X4, X4
	VMOVSHDUP X4, X5
	VPMAXSD X5, X4, X4
	VMOVD   X4, R8
	CMPL    R8, $0x7f800000
	JGE     qnonfinite
	// d = amax / 127
	MOVL    $0x42fe0000, AX
	VMOVD   AX, X5
	VDIVSS  X5, X4, X4
	// f16(d) -> dst[0:2]
	VCVTPS2PH $0, X4, X5
	VMOVD   X5, AX
	MOVW    AX, 0(DI)
	// id = d != 0 ? 1/d : 0
	MOVL    $0x3f800000, AX
	VMOVD   AX, X5
	VDIVSS  X4, X5, X5
	VXORPS  X6, X6, X6
	VCMPSS  $4, X6, X4, X6
	VANDPS  X6, X5, X5
	// 1/d overflowed (a block of denormals): the Go path's results.
	VMOVD   X5, R8
	CMPL    R8, $0x7f800000
	JAE     qnonfinite
	VBROADCASTSS X5, Y10
	VMULPS  Y10, Y0, Y0
	VMULPS  Y10, Y1, Y1
	VMULPS  Y10, Y2, Y2
	VMULPS  Y10, Y3, Y3
	VCVTPS2PD    X0, Y12
	VANDPD       Y14, Y12, Y11
	VORPD        Y13, Y11, Y11
	VADDPD       Y11, Y12, Y12
	VCVTTPD2DQY  Y12, X8
	VEXTRACTF128 $1, Y0, X12
	VCVTPS2PD    X12, Y12
	VANDPD       Y14, Y12, Y11
	VORPD        Y13, Y11, Y11
	VADDPD       Y11, Y12, Y12
	VCVTTPD2DQY  Y12, X9
	VPACKSSDW    X9, X8, X4
	VCVTPS2PD    X1, Y12
	VANDPD       Y14, Y12, Y11
	VORPD        Y13, Y11, Y11
	VADDPD       Y11, Y12, Y12
	VCVTTPD2DQY  Y12, X8
	VEXTRACTF128 $1, Y1, X12
	VCVTPS2PD    X12, Y12
	VANDPD       Y14, Y12, Y11
	VORPD        Y13, Y11, Y11
	VADDPD       Y11, Y12, Y12
	VCVTTPD2DQY  Y12, X9
	VPACKSSDW    X9, X8, X5
	VCVTPS2PD    X2, Y12
	VANDPD       Y14, Y12, Y11
	VORPD        Y13, Y11, Y11
	VADDPD       Y11, Y12, Y12
	VCVTTPD2DQY  Y12, X8
	VEXTRACTF128 $1, Y2, X12
	VCVTPS2PD    X12, Y12
	VANDPD       Y14, Y12, Y11
	VORPD        Y13, Y11, Y11
	VADDPD       Y11, Y12, Y12
	VCVTTPD2DQY  Y12, X9
	VPACKSSDW    X9, X8, X6
	VCVTPS2PD    X3, Y12
	VANDPD       Y14, Y12, Y11
	VORPD        Y13, Y11, Y11
	VADDPD       Y11, Y12, Y12
	VCVTTPD2DQY  Y12, X8
	VEXTRACTF128 $1, Y3, X12
	VCVTPS2PD    X12, Y12
	VANDPD       Y14, Y12, Y11
	VORPD        Y13, Y11, Y11
	VADDPD       Y11, Y12, Y12
	VCVTTPD2DQY  Y12, X9
	VPACKSSDW    X9, X8, X7
	VPACKSSWB    X5, X4, X4
	VPACKSSWB    X7, X6, X6
	VMOVDQU      X4, 2(DI)
	VMOVDQU      X6, 18(DI)
	ADDQ         $128, SI
	ADDQ         $34, DI
	DECQ         CX
	JNZ          qloop
	VZEROUPPER
	MOVB         $1, finite+24(FP)
	RET

qnonfinite:
	VZEROUPPER
	MOVB $0, finite+24(FP)
	RET

// func expSumAVX2(x *float32, n int, maxv float32, sum float32) float32
// x[i] = Exp(x[i]-maxv) for i < n (n a positive multiple of 4) and returns
// sum + Σ x[i] added one by one in index order: softmax's first pass,
// bit-identical to Exp for every non-NaN input ≤ 88 (softmax inputs are ≤ 0).
TEXT ·expSumAVX2(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS maxv+16(FP), X8
	VMOVSS       sum+20(FP), X6
	LEAQ         ·exp2Table(SB), R8
	MOVQ         $0x40571547652b82fe, AX
	VMOVQ        AX, X15
	VPBROADCASTQ X15, Y15
	MOVQ         $0x3f862e42fee00000, AX
	VMOVQ        AX, X14
	VPBROADCASTQ X14, Y14
	MOVQ         $0x3d8a39ef35793c76, AX
	VMOVQ        AX, X13
	VPBROADCASTQ X13, Y13
	MOVQ         $0x3fa5555555555555, AX
	VMOVQ        AX, X12
	VPBROADCASTQ X12, Y12
	MOVQ         $0x3fc5555555555555, AX
	VMOVQ        AX, X11
	VPBROADCASTQ X11, Y11
	MOVQ         $0x3fe0000000000000, AX
	VMOVQ        AX, X10
	VPBROADCASTQ X10, Y10
	MOVQ         $0x3ff0000000000000, AX
	VMOVQ        AX, X9
	VPBROADCASTQ X9, Y9

explaunch:
	VMOVUPS      0(SI), X0
	VSUBPS       X8, X0, X0
	VCVTPS2PD    X0, Y1
	VMULPD       Y15, Y1, Y2
	// t ± 0.5 with the sign of t, truncated: round half away from zero
	MOVQ         $0x8000000000000000, AX
	VMOVQ        AX, X3
	VPBROADCASTQ X3, Y3
	VANDPD       Y3, Y2, Y3
	VORPD        Y10, Y3, Y3
	VADDPD       Y3, Y2, Y3
	VCVTTPD2DQY  Y3, X4
	VCVTDQ2PD    X4, Y5
	VMULPD       Y14, Y5, Y7
	VSUBPD       Y7, Y1, Y1
	VMULPD       Y13, Y5, Y7
	VSUBPD       Y7, Y1, Y1
	VMULPD       Y12, Y1, Y7
	VADDPD       Y11, Y7, Y7
	VMULPD       Y1, Y7, Y7
	VADDPD       Y10, Y7, Y7
	VMULPD       Y1, Y7, Y7
	VADDPD       Y9, Y7, Y7
	VMULPD       Y1, Y7, Y7
	VADDPD       Y9, Y7, Y7
	// table[k & 63]
	MOVL         $63, AX
	VMOVD        AX, X2
	VPBROADCASTD X2, X2
	VPAND        X2, X4, X2
	VPCMPEQD     Y3, Y3, Y3
	VXORPD       Y5, Y5, Y5
	VGATHERDPD   Y3, (R8)(X2*8), Y5
	VMULPD       Y5, Y7, Y7
	// 2^(k>>6) built from its exponent bits
	VPSRAD       $6, X4, X4
	MOVL         $1023, AX
	VMOVD        AX, X2
	VPBROADCASTD X2, X2
	VPADDD       X2, X4, X4
	VPMOVSXDQ    X4, Y4
	VPSLLQ       $52, Y4, Y4
	VMULPD       Y4, Y7, Y7
	VCVTPD2PSY    Y7, X7
	// x < -103.97208 gives 0
	MOVL         $0xc2cff1b4, AX
	VMOVD        AX, X2
	VBROADCASTSS X2, X2
	VCMPPS       $1, X2, X0, X2
	VANDNPS      X7, X2, X7
	VMOVUPS      X7, 0(SI)
	// sequential sum
	VADDSS       X7, X6, X6
	VMOVSHDUP    X7, X2
	VADDSS       X2, X6, X6
	VMOVHLPS     X7, X7, X2
	VADDSS       X2, X6, X6
	VPSRLDQ      $12, X7, X2
	VADDSS       X2, X6, X6
	ADDQ         $16, SI
	SUBQ         $4, CX
	JNZ          explaunch
	VZEROUPPER
	VMOVSS       X6, ret+24(FP)
	RET

// func divAVX2(x *float32, n int, d float32)
// x[i] /= d for n a positive multiple of 8.
TEXT ·divAVX2(SB), NOSPLIT, $0-20
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	VBROADCASTSS d+16(FP), Y1

divloop:
	VMOVUPS 0(SI), Y0
	VDIVPS  Y1, Y0, Y0
	VMOVUPS Y0, 0(SI)
	ADDQ    $32, SI
	SUBQ    $8, CX
	JNZ     divloop
	VZEROUPPER
	RET

// func scoresTAVX2(q, kT *float32, hd, stride, n int, out *float32, div float32)
// out[t] = (Σ_{i<hd} q[i]·kT[i·stride+t]) / div for t < n (n a positive
// multiple of 8), each sum in order of i: attention scores against a
// transposed K cache, eight positions per vector.
TEXT ·scoresTAVX2(SB), NOSPLIT, $0-52
	MOVQ         q+0(FP), SI
	MOVQ         kT+8(FP), DI
	MOVQ         hd+16(FP), R8
	MOVQ         stride+24(FP), R9
	SHLQ         $2, R9
	MOVQ         n+32(FP), CX
	MOVQ         out+40(FP), DX
	VBROADCASTSS div+48(FP), Y15

stloop:
	VXORPS Y0, Y0, Y0
	MOVQ   SI, R10
	MOVQ   DI, R11
	MOVQ   R8, BX

siloop:
	VBROADCASTSS 0(R10), Y1
	VMULPS       0(R11), Y1, Y1
	VADDPS       Y1, Y0, Y0
	ADDQ         $4, R10
	ADDQ         R9, R11
	DECQ         BX
	JNZ          siloop

	VDIVPS  Y15, Y0, Y0
	VMOVUPS Y0, 0(DX)
	ADDQ    $32, DI
	ADDQ    $32, DX
	SUBQ    $8, CX
	JNZ     stloop
	VZEROUPPER
	RET

// func accumV8AVX2(a, v *float32, n, stride int, o *float32)
// o[0:8] = Σ_{t<n} a[t]·v[t·stride : t·stride+8], accumulated in t order.
TEXT ·accumV8AVX2(SB), NOSPLIT, $0-40
	MOVQ   a+0(FP), SI
	MOVQ   v+8(FP), DI
	MOVQ   n+16(FP), CX
	MOVQ   stride+24(FP), R9
	SHLQ   $2, R9
	MOVQ   o+32(FP), DX
	VXORPS Y0, Y0, Y0

avloop:
	PREFETCHT0   0(DI)(R9*4)
	VBROADCASTSS 0(SI), Y1
	VMULPS       0(DI), Y1, Y1
	VADDPS       Y1, Y0, Y0
	ADDQ         $4, SI
	ADDQ         R9, DI
	DECQ         CX
	JNZ          avloop

	VMOVUPS Y0, 0(DX)
	VZEROUPPER
	RET

// func mm2F32RowsAVX2(w, x0, x1 *float32, n, rows, rowBytes int, d0, d1 *float32)
// For each of rows rows of w (n columns, rows rowBytes apart; n ≥ 32):
// d0[r] = row·x0 and d1[r] = row·x1 in dotF32's canonical order (32-lane
// body, HSUM8, then the n%32 tail added one by one).
TEXT ·mm2F32RowsAVX2(SB), NOSPLIT, $0-64
	MOVQ w+0(FP), R12
	MOVQ x0+8(FP), R13
	MOVQ x1+16(FP), R11
	MOVQ n+24(FP), R8
	MOVQ rows+32(FP), BX
	MOVQ rowBytes+40(FP), R9
	MOVQ d0+48(FP), DX
	MOVQ d1+56(FP), R10

m2row:
	MOVQ   R12, SI
	MOVQ   R13, DI
	MOVQ   R11, AX
	MOVQ   R8, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

m2loop:
	CMPQ    CX, $32
	JLT     m2reduce
	VMOVUPS 0(SI), Y8
	VMOVUPS 32(SI), Y9
	VMOVUPS 64(SI), Y10
	VMOVUPS 96(SI), Y11
	VMULPS  0(DI), Y8, Y12
	VMULPS  32(DI), Y9, Y13
	VMULPS  64(DI), Y10, Y14
	VMULPS  96(DI), Y11, Y15
	VADDPS  Y12, Y0, Y0
	VADDPS  Y13, Y1, Y1
	VADDPS  Y14, Y2, Y2
	VADDPS  Y15, Y3, Y3
	VMULPS  0(AX), Y8, Y12
	VMULPS  32(AX), Y9, Y13
	VMULPS  64(AX), Y10, Y14
	VMULPS  96(AX), Y11, Y15
	VADDPS  Y12, Y4, Y4
	VADDPS  Y13, Y5, Y5
	VADDPS  Y14, Y6, Y6
	VADDPS  Y15, Y7, Y7
	ADDQ    $128, SI
	ADDQ    $128, DI
	ADDQ    $128, AX
	SUBQ    $32, CX
	JMP     m2loop

m2reduce:
	VADDPS  Y5, Y4, Y4
	VADDPS  Y7, Y6, Y6
	VADDPS  Y6, Y4, Y4
	VADDPS  Y1, Y0, Y0
	VADDPS  Y3, Y2, Y2
	VADDPS  Y2, Y0, Y0
	HSUM8
	VMOVAPS X0, X8
	VMOVUPS Y4, Y0
	HSUM8
	VMOVAPS X0, X9
	TESTQ   CX, CX
	JZ      m2store

m2tail:
	VMOVSS  0(SI), X10
	VMULSS  0(DI), X10, X11
	VADDSS  X11, X8, X8
	VMULSS  0(AX), X10, X11
	VADDSS  X11, X9, X9
	ADDQ    $4, SI
	ADDQ    $4, DI
	ADDQ    $4, AX
	DECQ    CX
	JNZ     m2tail

m2store:
	VMOVSS X8, 0(DX)
	VMOVSS X9, 0(R10)
	ADDQ   $4, DX
	ADDQ   $4, R10
	ADDQ   R9, R12
	DECQ   BX
	JNZ    m2row
	VZEROUPPER
	RET

// func rowsF16AVX2(w *byte, x *float32, n, rowBytes int, dst *float32, rows int)
// Rows of f16 weights (n a positive multiple of 32) times x, converted
// exactly to f32 and summed in dotF32's canonical order.
TEXT ·rowsF16AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), R12
	MOVQ x+8(FP), R13
	MOVQ n+16(FP), R8
	MOVQ rowBytes+24(FP), R9
	MOVQ dst+32(FP), DX
	MOVQ rows+40(FP), BX

rowsF16AVX2row:
	MOVQ   R12, SI
	MOVQ   R13, DI
	MOVQ   R8, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

rowsF16AVX2loop:
	VCVTPH2PS    0(SI), Y4
	VCVTPH2PS    16(SI), Y5
	VCVTPH2PS    32(SI), Y6
	VCVTPH2PS    48(SI), Y7
	VMULPS  0(DI), Y4, Y4
	VMULPS  32(DI), Y5, Y5
	VMULPS  64(DI), Y6, Y6
	VMULPS  96(DI), Y7, Y7
	VADDPS  Y4, Y0, Y0
	VADDPS  Y5, Y1, Y1
	VADDPS  Y6, Y2, Y2
	VADDPS  Y7, Y3, Y3
	ADDQ    $64, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	JNZ     rowsF16AVX2loop

	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8
	VMOVSS X0, 0(DX)
	ADDQ   $4, DX
	ADDQ   R9, R12
	DECQ   BX
	JNZ    rowsF16AVX2row
	VZEROUPPER
	RET

// func rowsBF16AVX2(w *byte, x *float32, n, rowBytes int, dst *float32, rows int)
// Rows of bf16 weights (n a positive multiple of 32) times x, converted
// exactly to f32 and summed in dotF32's canonical order.
TEXT ·rowsBF16AVX2(SB), NOSPLIT, $0-48
	MOVQ w+0(FP), R12
	MOVQ x+8(FP), R13
	MOVQ n+16(FP), R8
	MOVQ rowBytes+24(FP), R9
	MOVQ dst+32(FP), DX
	MOVQ rows+40(FP), BX

rowsBF16AVX2row:
	MOVQ   R12, SI
	MOVQ   R13, DI
	MOVQ   R8, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

rowsBF16AVX2loop:
	VPMOVZXWD    0(SI), Y4
	VPSLLD       $16, Y4, Y4
	VPMOVZXWD    16(SI), Y5
	VPSLLD       $16, Y5, Y5
	VPMOVZXWD    32(SI), Y6
	VPSLLD       $16, Y6, Y6
	VPMOVZXWD    48(SI), Y7
	VPSLLD       $16, Y7, Y7
	VMULPS  0(DI), Y4, Y4
	VMULPS  32(DI), Y5, Y5
	VMULPS  64(DI), Y6, Y6
	VMULPS  96(DI), Y7, Y7
	VADDPS  Y4, Y0, Y0
	VADDPS  Y5, Y1, Y1
	VADDPS  Y6, Y2, Y2
	VADDPS  Y7, Y3, Y3
	ADDQ    $64, SI
	ADDQ    $128, DI
	SUBQ    $32, CX
	JNZ     rowsBF16AVX2loop

	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM8
	VMOVSS X0, 0(DX)
	ADDQ   $4, DX
	ADDQ   R9, R12
	DECQ   BX
	JNZ    rowsBF16AVX2row
	VZEROUPPER
	RET
