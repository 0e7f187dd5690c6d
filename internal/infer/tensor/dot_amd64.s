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
