#include "textflag.h"

// AVX-512 VNNI prompt GEMM: 4 weight rows × 8 activation vectors per tile.
// See gemm_vnni.go for the packed layouts. Every output is computed exactly
// as by dotQ8_0Go/dotQ4_0Go: per block the exact integer lane sums (VPDPBUSD
// of x+128 and w, started from -128·Σw), d = dw*dx rounded to float32,
// acc += float32(d*lane) (no FMA), then hsum8.

// VUNIT adds block lanes of the vector pair in xr times the row weights in
// Z20 to acc: lane sums from the correction at coff(R12), converted,
// scaled by the pair's products at dsoff(R13) (broadcast as d0,d1,d0,d1,…).
#define VUNIT(xr, coff, dsoff, acc, t1, t2) \
	VMOVDQU32       coff(R12), t1; \
	VPDPBUSD        Z20, xr, t1; \
	VCVTDQ2PS       t1, t1; \
	VBROADCASTSD    dsoff(R13), t2; \
	VMULPS          t2, t1, t1; \
	VADDPS          t1, acc, acc

// VROW is the four pairs of row r (weights at woff(SI)).
#define VROW(woff, dso, a0, a1, a2, a3) \
	VMOVDQU64 woff(SI), Z20; \
	VUNIT(Z16, woff, dso, a0, Z21, Z22); \
	VUNIT(Z17, woff, dso+8, a1, Z23, Z24); \
	VUNIT(Z18, woff, dso+16, a2, Z25, Z26); \
	VUNIT(Z19, woff, dso+24, a3, Z27, Z28)

// VL1 adds the 256-bit halves of a and b: out = [a.lo+a.hi | b.lo+b.hi].
#define VL1(a, b, out, tmp) \
	VSHUFF64X2 $0x44, b, a, out; \
	VSHUFF64X2 $0xEE, b, a, tmp; \
	VADDPS     tmp, out, out

// VL2 adds the 128-bit lanes 0+1 and 2+3 of v1 and v2:
// out = [v1.l0+v1.l1, v1.l2+v1.l3, v2.l0+v2.l1, v2.l2+v2.l3].
#define VL2(v1, v2, out, tmp) \
	VSHUFF64X2 $0x88, v2, v1, out; \
	VSHUFF64X2 $0xDD, v2, v1, tmp; \
	VADDPS     tmp, out, out

// VL3 adds elements 0+2 and 1+3 of every 128-bit lane of z1 and z2:
// lane = [z1.e0+z1.e2, z1.e1+z1.e3, z2.e0+z2.e2, z2.e1+z2.e3].
#define VL3(z1, z2, out, tmp) \
	VSHUFPS $0x44, z2, z1, out; \
	VSHUFPS $0xEE, z2, z1, tmp; \
	VADDPS  tmp, out, out

// VRED reduces the four accumulators of row r (a0..a3, pairs 0..3) to out:
// 128-bit lane p = [u0 t0, u0 t1, u1 t0, u1 t1] of pair p, where
// hsum8 = u0+u1.
#define VRED(a0, a1, a2, a3, out) \
	VL1(a0, a1, Z16, Z17); \
	VL1(a2, a3, Z18, Z19); \
	VL2(Z16, Z18, out, Z21)

// func gemmVNNI4x8(w *byte, c *int32, d *float32, x *byte, dx *float32, nb, groups int, dst *float32, stride int, ds *float32, pf *byte, pfn int)
// dst[(8g+t)*stride + r] = row r · vector 8g+t for the packed tile (w, c, d)
// and groups packed activation groups (x, dx); ds: nb*32 float32 scratch.
// The pfn bytes at pf (the next tile's rows) are prefetched, a cache line
// per block, so its packing does not wait for memory.
TEXT ·gemmVNNI4x8(SB), NOSPLIT, $0-96
	MOVQ pf+80(FP), R8
	MOVQ pfn+88(FP), R10
	ADDQ R8, R10
	MOVQ x+24(FP), DI
	MOVQ dx+32(FP), BX
	MOVQ groups+48(FP), R11
	MOVQ dst+56(FP), DX
	MOVQ stride+64(FP), R9
	SHLQ $2, R9

vgroup:
	// The scale products of every block of the group first: ds[b*32 +
	// 8r + t] = d_r · dx_t.
	MOVQ d+16(FP), AX
	MOVQ ds+72(FP), R13
	MOVQ nb+40(FP), CX

vprod:
	VBROADCASTF32X8 0(BX), Z31
	VMULPS          0(AX), Z31, Z30
	VMULPS          64(AX), Z31, Z29
	VMOVUPS         Z30, 0(R13)
	VMOVUPS         Z29, 64(R13)
	ADDQ            $128, AX
	ADDQ            $128, R13
	ADDQ            $32, BX
	DECQ            CX
	JNZ             vprod

	MOVQ   w+0(FP), SI
	MOVQ   c+8(FP), R12
	MOVQ   ds+72(FP), R13
	MOVQ   nb+40(FP), CX
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

vblock:
	VMOVDQU64 0(DI), Z16
	VMOVDQU64 64(DI), Z17
	VMOVDQU64 128(DI), Z18
	VMOVDQU64 192(DI), Z19
	VROW(0, 0, Z0, Z1, Z2, Z3)
	VROW(64, 32, Z4, Z5, Z6, Z7)
	VROW(128, 64, Z8, Z9, Z10, Z11)
	VROW(192, 96, Z12, Z13, Z14, Z15)
	CMPQ      R8, R10
	JAE       vnopf
	PREFETCHT0 0(R8)
	ADDQ      $64, R8

vnopf:
	ADDQ      $256, SI
	ADDQ      $256, R12
	ADDQ      $128, R13
	ADDQ      $256, DI
	DECQ      CX
	JNZ       vblock

	VRED(Z0, Z1, Z2, Z3, Z20)
	VRED(Z4, Z5, Z6, Z7, Z22)
	VL3(Z20, Z22, Z24, Z25)
	VRED(Z8, Z9, Z10, Z11, Z20)
	VRED(Z12, Z13, Z14, Z15, Z22)
	VL3(Z20, Z22, Z26, Z25)

	// Z24 lane p = [r0 t0, r0 t1, r1 t0, r1 t1] of pair p, Z26 the same
	// for rows 2, 3: gather each vector's four rows.
	VSHUFPS       $0x88, Z26, Z24, Z27
	VSHUFPS       $0xDD, Z26, Z24, Z28
	LEAQ          (R9)(R9*2), AX
	LEAQ          (DX)(R9*4), R10
	VMOVUPS       X27, 0(DX)
	VMOVUPS       X28, (DX)(R9*1)
	VEXTRACTF32X4 $1, Z27, (DX)(R9*2)
	VEXTRACTF32X4 $1, Z28, (DX)(AX*1)
	VEXTRACTF32X4 $2, Z27, 0(R10)
	VEXTRACTF32X4 $2, Z28, (R10)(R9*1)
	VEXTRACTF32X4 $3, Z27, (R10)(R9*2)
	VEXTRACTF32X4 $3, Z28, (R10)(AX*1)
	LEAQ          (DX)(R9*8), DX
	DECQ          R11
	JNZ           vgroup
	VZEROUPPER
	RET

// vnniDup is the VPERMD index that repeats each dword: 0,0,1,1,…,7,7.
DATA vnniDup<>+0(SB)/4, $0
DATA vnniDup<>+4(SB)/4, $0
DATA vnniDup<>+8(SB)/4, $1
DATA vnniDup<>+12(SB)/4, $1
DATA vnniDup<>+16(SB)/4, $2
DATA vnniDup<>+20(SB)/4, $2
DATA vnniDup<>+24(SB)/4, $3
DATA vnniDup<>+28(SB)/4, $3
DATA vnniDup<>+32(SB)/4, $4
DATA vnniDup<>+36(SB)/4, $4
DATA vnniDup<>+40(SB)/4, $5
DATA vnniDup<>+44(SB)/4, $5
DATA vnniDup<>+48(SB)/4, $6
DATA vnniDup<>+52(SB)/4, $6
DATA vnniDup<>+56(SB)/4, $7
DATA vnniDup<>+60(SB)/4, $7
GLOBL vnniDup<>(SB), RODATA|NOPTR, $64

// VPACKW stores the 32 signed weights in Y0 with each group of four twice
// at 0(DI), the corrections -128·Σgroup (each twice) at 0(BX), and the f16
// scale at 0(reg) as float32 eight times at 0(DX); then advances DI, BX, DX.
#define VPACKW(reg) \
	VPERMD       Z0, Z14, Z1; \
	VMOVDQU64    Z1, 0(DI); \
	VPXORD       Z2, Z2, Z2; \
	VPDPBUSD     Z1, Z13, Z2; \
	VPSUBD       Z2, Z12, Z2; \
	VMOVDQU32    Z2, 0(BX); \
	MOVWLZX      0(reg), AX; \
	VMOVD        AX, X3; \
	VCVTPH2PS    X3, X3; \
	VBROADCASTSS X3, Y3; \
	VMOVUPS      Y3, 0(DX); \
	ADDQ         $64, DI; \
	ADDQ         $64, BX; \
	ADDQ         $32, DX

// VPACKINIT loads the constants of the weight packers and the row pointers.
#define VPACKINIT \
	MOVQ         src+0(FP), R10; \
	MOVQ         rowBytes+8(FP), R9; \
	MOVQ         nb+16(FP), CX; \
	MOVQ         w+24(FP), DI; \
	MOVQ         c+32(FP), BX; \
	MOVQ         d+40(FP), DX; \
	LEAQ         (R10)(R9*1), R11; \
	LEAQ         (R11)(R9*1), R12; \
	LEAQ         (R12)(R9*1), R13; \
	VMOVDQU64    vnniDup<>(SB), Z14; \
	MOVL         $0x80808080, AX; \
	VPBROADCASTD AX, Z13; \
	VPXORD       Z12, Z12, Z12

// func packW4Q8VNNI(src *byte, rowBytes, nb int, w *byte, c *int32, d *float32)
// Packs 4 Q8_0 rows (rowBytes apart) into the tile layout of gemmVNNI4x8.
TEXT ·packW4Q8VNNI(SB), NOSPLIT, $0-48
	VPACKINIT

pw8v:
	VMOVDQU 2(R10), Y0
	VPACKW(R10)
	VMOVDQU 2(R11), Y0
	VPACKW(R11)
	VMOVDQU 2(R12), Y0
	VPACKW(R12)
	VMOVDQU 2(R13), Y0
	VPACKW(R13)
	ADDQ    $34, R10
	ADDQ    $34, R11
	ADDQ    $34, R12
	ADDQ    $34, R13
	DECQ    CX
	JNZ     pw8v
	VZEROUPPER
	RET

// VUNPACK4 expands the 16 nibble bytes at 2(reg) to 32 signed bytes q-8 in
// Y0 (Y11: 0x0F bytes, Y10: 8s).
#define VUNPACK4(reg) \
	VMOVDQU     2(reg), X0; \
	VPSRLW      $4, X0, X1; \
	VINSERTI128 $1, X1, Y0, Y0; \
	VPAND       Y11, Y0, Y0; \
	VPSUBB      Y10, Y0, Y0

// func packW4Q4VNNI(src *byte, rowBytes, nb int, w *byte, c *int32, d *float32)
// Packs 4 Q4_0 rows (rowBytes apart), weights q-8, into the tile layout of
// gemmVNNI4x8.
TEXT ·packW4Q4VNNI(SB), NOSPLIT, $0-48
	VPACKINIT
	MOVL         $0x0F0F0F0F, AX
	VMOVD        AX, X11
	VPBROADCASTD X11, Y11
	MOVL         $0x08080808, AX
	VMOVD        AX, X10
	VPBROADCASTD X10, Y10

pw4v:
	VUNPACK4(R10)
	VPACKW(R10)
	VUNPACK4(R11)
	VPACKW(R11)
	VUNPACK4(R12)
	VPACKW(R12)
	VUNPACK4(R13)
	VPACKW(R13)
	ADDQ $18, R10
	ADDQ $18, R11
	ADDQ $18, R12
	ADDQ $18, R13
	DECQ CX
	JNZ  pw4v
	VZEROUPPER
	RET

// func interleaveQ8VNNI(a, b *byte, nb int, dst *byte)
// For each of nb Q8_0 blocks of a and b: the 32 quants of each as x+128,
// four bytes of a then four of b, 64 bytes at dst; blocks 256 bytes apart.
TEXT ·interleaveQ8VNNI(SB), NOSPLIT, $0-32
	MOVQ         a+0(FP), SI
	MOVQ         b+8(FP), R8
	MOVQ         nb+16(FP), CX
	MOVQ         dst+24(FP), DI
	MOVL         $0x80808080, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15

ilv:
	VMOVDQU    2(SI), Y0
	VMOVDQU    2(R8), Y1
	VPUNPCKLDQ Y1, Y0, Y2
	VPUNPCKHDQ Y1, Y0, Y3
	VPERM2I128 $0x20, Y3, Y2, Y4
	VPERM2I128 $0x31, Y3, Y2, Y5
	VPXOR      Y15, Y4, Y4
	VPXOR      Y15, Y5, Y5
	VMOVDQU    Y4, 0(DI)
	VMOVDQU    Y5, 32(DI)
	ADDQ       $34, SI
	ADDQ       $34, R8
	ADDQ       $256, DI
	DECQ       CX
	JNZ        ilv
	VZEROUPPER
	RET
