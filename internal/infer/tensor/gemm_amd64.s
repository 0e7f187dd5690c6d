#include "textflag.h"

// Register-blocked Q8_0 GEMM for prompt processing: 3 weight rows × 4
// activation vectors per tile. See gemm.go for the packed layouts. Every
// output is computed exactly as by dotQ8_0Go/dotQ4_0Go: per block the exact
// integer lane sums, d = dw*dx rounded to float32, acc += float32(d*lane)
// (no FMA), then hsum8.

// QPAIR multiplies the weight block at wo(SI) (|w| in Y12) with the
// activation block at xo(DI), scales it by the float32 at do(R13) and adds
// it to acc.
#define QPAIR(xo, wo, do, acc) \
	VMOVDQU      xo(DI), Y13; \
	VPSIGNB      wo(SI), Y13, Y13; \
	VPMADDUBSW   Y13, Y12, Y13; \
	VPMADDWD     Y15, Y13, Y13; \
	VCVTDQ2PS    Y13, Y13; \
	VBROADCASTSS do(R13), Y14; \
	VMULPS       Y14, Y13, Y13; \
	VADDPS       Y13, acc, acc

// QRED4 stores hsum8 = ((v0+v4)+(v2+v6)) + ((v1+v5)+(v3+v7)) of the
// accumulators a, b, c, e (vectors 0..3 of one row) at off(R10),
// off(R10)(R9*1), off(R10)(R9*2) and off(R10)(AX*1), four reductions sharing
// each instruction: the halves are added ([a.lo+a.hi | b.lo+b.hi] and the
// same for c, e), then lanes 0+2 and 1+3, then those two.
#define QRED4(a, b, c, e, off) \
	VPERM2F128  $0x20, b, a, Y12; \
	VPERM2F128  $0x31, b, a, Y13; \
	VADDPS      Y13, Y12, Y12; \
	VPERM2F128  $0x20, e, c, Y13; \
	VPERM2F128  $0x31, e, c, Y14; \
	VADDPS      Y14, Y13, Y13; \
	VSHUFPS     $0x44, Y13, Y12, Y14; \
	VSHUFPS     $0xEE, Y13, Y12, Y12; \
	VADDPS      Y12, Y14, Y14; \
	VHADDPS     Y14, Y14, Y14; \
	VMOVSS      X14, off(R10); \
	VEXTRACTPS  $1, X14, off(R10)(R9*2); \
	VEXTRACTF128 $1, Y14, X14; \
	VMOVSS      X14, off(R10)(R9*1); \
	VEXTRACTPS  $1, X14, off(R10)(AX*1)

// func gemmQ8x3x4AVX2(w *byte, dw *float32, x *byte, dx *float32, nb, groups int, dst *float32, stride int, ds *float32)
// w: a packed 3-row weight tile (per block 3×32 int8); dw: per block
// [dw0 ×4, dw1 ×4, dw2 ×4, 0 ×4]; x: groups of 4 packed activation vectors
// (per group and block 4×32 int8); dx: per group and block the 4 activation
// scales; ds: nb*16 float32 of scratch. dst[(4g+t)*stride + r] = row r ·
// vector 4g+t.
TEXT ·gemmQ8x3x4AVX2(SB), NOSPLIT, $0-72
	MOVQ     x+16(FP), DI
	MOVQ     dx+24(FP), BX
	MOVQ     groups+40(FP), R11
	MOVQ     dst+48(FP), DX
	MOVQ     stride+56(FP), R9
	SHLQ     $2, R9
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $15, Y15, Y15

gq8group:
	// The scale products d = dw*dx of every block of the group, first,
	// into ds: the block loop then broadcasts them from stores long done.
	MOVQ   dw+8(FP), R8
	MOVQ   ds+64(FP), R13
	MOVQ   nb+32(FP), CX
gq8prod:
	VBROADCASTF128 0(BX), Y14
	VMULPS         0(R8), Y14, Y13
	VMULPS         32(R8), Y14, Y14
	VMOVUPS        Y13, 0(R13)
	VMOVUPS        Y14, 32(R13)
	ADDQ           $64, R8
	ADDQ           $64, R13
	ADDQ           $16, BX
	DECQ           CX
	JNZ            gq8prod
	MOVQ   w+0(FP), SI
	MOVQ   ds+64(FP), R13
	MOVQ   nb+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

gq8block:
	VPABSB         0(SI), Y12
	QPAIR(0, 0, 0, Y0)
	QPAIR(32, 0, 4, Y1)
	QPAIR(64, 0, 8, Y2)
	QPAIR(96, 0, 12, Y3)
	VPABSB         32(SI), Y12
	QPAIR(0, 32, 16, Y4)
	QPAIR(32, 32, 20, Y5)
	QPAIR(64, 32, 24, Y6)
	QPAIR(96, 32, 28, Y7)
	VPABSB         64(SI), Y12
	QPAIR(0, 64, 32, Y8)
	QPAIR(32, 64, 36, Y9)
	QPAIR(64, 64, 40, Y10)
	QPAIR(96, 64, 44, Y11)
	ADDQ           $96, SI
	ADDQ           $64, R13
	ADDQ           $128, DI
	DECQ           CX
	JNZ            gq8block

	MOVQ DX, R10
	LEAQ (R9)(R9*2), AX
	QRED4(Y0, Y1, Y2, Y3, 0)
	QRED4(Y4, Y5, Y6, Y7, 4)
	QRED4(Y8, Y9, Y10, Y11, 8)
	LEAQ (DX)(R9*4), DX
	DECQ R11
	JNZ  gq8group
	VZEROUPPER
	RET

// QPAIR4 is QPAIR for unsigned Q4_0 weights q in Y12: Σq·x (x at xo(DI))
// minus the correction at xo(R12).
#define QPAIR4(xo, wo, do, acc) \
	VPMADDUBSW   xo(DI), Y12, Y13; \
	VPMADDWD     Y15, Y13, Y13; \
	VPSUBD       xo(R12), Y13, Y13; \
	VCVTDQ2PS    Y13, Y13; \
	VBROADCASTSS do(R13), Y14; \
	VMULPS       Y14, Y13, Y13; \
	VADDPS       Y13, acc, acc

// func gemmQ4x3x4AVX2(w *byte, dw *float32, x *byte, dx *float32, nb, groups int, dst *float32, stride int, c *int32, ds *float32)
// gemmQ8x3x4AVX2 for a Q4_0 tile packed as unsigned q (weight q-8): the
// lane sum Σq·x from VPMADDUBSW needs no sign trick, and subtracting
// c = 8·Σx (per vector, block and lane, laid out like x) gives the exact
// Σ(q-8)·x. The rest is as in gemmQ8x3x4AVX2.
// w: a packed 3-row weight tile (per block 3×32 int8); dw: per block
// [dw0 ×4, dw1 ×4, dw2 ×4, 0 ×4]; x: groups of 4 packed activation vectors
// (per group and block 4×32 int8); dx: per group and block the 4 activation
// scales; ds: nb*16 float32 of scratch. dst[(4g+t)*stride + r] = row r ·
// vector 4g+t.
TEXT ·gemmQ4x3x4AVX2(SB), NOSPLIT, $0-80
	MOVQ     x+16(FP), DI
	MOVQ     c+64(FP), R12
	MOVQ     dx+24(FP), BX
	MOVQ     groups+40(FP), R11
	MOVQ     dst+48(FP), DX
	MOVQ     stride+56(FP), R9
	SHLQ     $2, R9
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $15, Y15, Y15

gq4group:
	// The scale products d = dw*dx of every block of the group, first,
	// into ds: the block loop then broadcasts them from stores long done.
	MOVQ   dw+8(FP), R8
	MOVQ   ds+72(FP), R13
	MOVQ   nb+32(FP), CX
gq4prod:
	VBROADCASTF128 0(BX), Y14
	VMULPS         0(R8), Y14, Y13
	VMULPS         32(R8), Y14, Y14
	VMOVUPS        Y13, 0(R13)
	VMOVUPS        Y14, 32(R13)
	ADDQ           $64, R8
	ADDQ           $64, R13
	ADDQ           $16, BX
	DECQ           CX
	JNZ            gq4prod
	MOVQ   w+0(FP), SI
	MOVQ   ds+72(FP), R13
	MOVQ   nb+32(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

gq4block:
	VMOVDQU        0(SI), Y12
	QPAIR4(0, 0, 0, Y0)
	QPAIR4(32, 0, 4, Y1)
	QPAIR4(64, 0, 8, Y2)
	QPAIR4(96, 0, 12, Y3)
	VMOVDQU        32(SI), Y12
	QPAIR4(0, 32, 16, Y4)
	QPAIR4(32, 32, 20, Y5)
	QPAIR4(64, 32, 24, Y6)
	QPAIR4(96, 32, 28, Y7)
	VMOVDQU        64(SI), Y12
	QPAIR4(0, 64, 32, Y8)
	QPAIR4(32, 64, 36, Y9)
	QPAIR4(64, 64, 40, Y10)
	QPAIR4(96, 64, 44, Y11)
	ADDQ           $96, SI
	ADDQ           $64, R13
	ADDQ           $128, DI
	ADDQ           $128, R12
	DECQ           CX
	JNZ            gq4block

	MOVQ DX, R10
	LEAQ (R9)(R9*2), AX
	QRED4(Y0, Y1, Y2, Y3, 0)
	QRED4(Y4, Y5, Y6, Y7, 4)
	QRED4(Y8, Y9, Y10, Y11, 8)
	LEAQ (DX)(R9*4), DX
	DECQ R11
	JNZ  gq4group
	VZEROUPPER
	RET

// PACKD converts the f16 scale at 0(reg) to float32 and stores it four
// times at off(DX).
#define PACKD(reg, off) \
	MOVWLZX      0(reg), AX; \
	VMOVD        AX, X1; \
	VCVTPH2PS    X1, X1; \
	VBROADCASTSS X1, X1; \
	VMOVUPS      X1, off(DX)

// func packW3Q8_0AVX2(w *byte, rowBytes, nb int, dst *byte, dw *float32)
// Packs 3 Q8_0 rows (rowBytes apart) into the tile layout of gemmQ8x3x4AVX2.
TEXT ·packW3Q8_0AVX2(SB), NOSPLIT, $0-40
	MOVQ   w+0(FP), SI
	MOVQ   rowBytes+8(FP), R9
	MOVQ   nb+16(FP), CX
	MOVQ   dst+24(FP), DI
	MOVQ   dw+32(FP), DX
	LEAQ   (SI)(R9*1), R10
	LEAQ   (R10)(R9*1), R11
	VXORPS X5, X5, X5

pw8loop:
	VMOVDQU 2(SI), Y0
	VMOVDQU 2(R10), Y2
	VMOVDQU 2(R11), Y3
	VMOVDQU Y0, 0(DI)
	VMOVDQU Y2, 32(DI)
	VMOVDQU Y3, 64(DI)
	PACKD(SI, 0)
	PACKD(R10, 16)
	PACKD(R11, 32)
	VMOVUPS X5, 48(DX)
	ADDQ    $34, SI
	ADDQ    $34, R10
	ADDQ    $34, R11
	ADDQ    $96, DI
	ADDQ    $64, DX
	DECQ    CX
	JNZ     pw8loop
	VZEROUPPER
	RET

// UNPACK4 expands the 16 nibble bytes at 2(reg) to 32 bytes q (0..15) in Y0.
#define UNPACK4(reg) \
	VMOVDQU     2(reg), X0; \
	VPSRLW      $4, X0, X1; \
	VINSERTI128 $1, X1, Y0, Y0; \
	VPAND       Y14, Y0, Y0

// func packW3Q4_0AVX2(w *byte, rowBytes, nb int, dst *byte, dw *float32)
// Packs 3 Q4_0 rows (rowBytes apart), nibbles expanded to unsigned bytes q
// (the weight is q-8), into the tile layout of gemmQ4x3x4AVX2.
TEXT ·packW3Q4_0AVX2(SB), NOSPLIT, $0-40
	MOVQ         w+0(FP), SI
	MOVQ         rowBytes+8(FP), R9
	MOVQ         nb+16(FP), CX
	MOVQ         dst+24(FP), DI
	MOVQ         dw+32(FP), DX
	LEAQ         (SI)(R9*1), R10
	LEAQ         (R10)(R9*1), R11
	VXORPS       X5, X5, X5
	MOVQ         $0x0F0F0F0F0F0F0F0F, AX
	VMOVQ        AX, X14
	VPBROADCASTQ X14, Y14

pw4loop:
	UNPACK4(SI)
	VMOVDQU Y0, 0(DI)
	UNPACK4(R10)
	VMOVDQU Y0, 32(DI)
	UNPACK4(R11)
	VMOVDQU Y0, 64(DI)
	PACKD(SI, 0)
	PACKD(R10, 16)
	PACKD(R11, 32)
	VMOVUPS X5, 48(DX)
	ADDQ    $18, SI
	ADDQ    $18, R10
	ADDQ    $18, R11
	ADDQ    $96, DI
	ADDQ    $64, DX
	DECQ    CX
	JNZ     pw4loop
	VZEROUPPER
	RET

// func corrQ4AVX2(x *byte, n int, c *int32)
// For n blocks of 32 int8 at x: c[8i+k] = 8·(x[32i+4k] + … + x[32i+4k+3]).
TEXT ·corrQ4AVX2(SB), NOSPLIT, $0-24
	MOVQ     x+0(FP), SI
	MOVQ     n+8(FP), CX
	MOVQ     c+16(FP), DI
	VPCMPEQW Y15, Y15, Y15
	VPSRLW   $15, Y15, Y15
	VPCMPEQB Y14, Y14, Y14
	VPABSB   Y14, Y14

corrloop:
	VPMADDUBSW 0(SI), Y14, Y0
	VPMADDWD   Y15, Y0, Y0
	VPSLLD     $3, Y0, Y0
	VMOVDQU    Y0, 0(DI)
	ADDQ       $32, SI
	ADDQ       $32, DI
	DECQ       CX
	JNZ        corrloop
	VZEROUPPER
	RET
