#include "textflag.h"

// func scoresAVX2(q, k *float32, hd, stride, n int, out *float32, div float32)
// out[t] = dot(q, k[t*stride : t*stride+hd]) / div for t < n (n ≥ 1,
// hd ≥ 32), each dot product in DotF32's canonical order: 32 lane sums over
// the body, c[j] = (s[j]+s[8+j]) + (s[16+j]+s[24+j]), hsum8, then the tail
// added element by element. A first pass stores the body sums; a second
// adds the sequential tails of eight (then four) positions at a time,
// interleaved.
TEXT ·scoresAVX2(SB), NOSPLIT, $0-52
	MOVQ         q+0(FP), SI
	MOVQ         k+8(FP), DI
	MOVQ         hd+16(FP), R8
	MOVQ         stride+24(FP), R9
	SHLQ         $2, R9
	MOVQ         n+32(FP), CX
	MOVQ         out+40(FP), DX
	VMOVSS       div+48(FP), X15
	MOVQ         R8, R10
	ANDQ         $-32, R10
	MOVQ         R8, R11
	ANDQ         $31, R11

scrow:
	// The cache rows are far apart: fetch the key four positions ahead.
	LEAQ       (DI)(R9*4), R12
	PREFETCHT0 0(R12)
	PREFETCHT0 64(R12)
	PREFETCHT0 128(R12)
	PREFETCHT0 192(R12)
	MOVQ   DI, R12
	MOVQ   SI, R13
	MOVQ   R10, BX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

scbody:
	VMOVUPS 0(R13), Y4
	VMOVUPS 32(R13), Y5
	VMOVUPS 64(R13), Y6
	VMOVUPS 96(R13), Y7
	VMULPS  0(R12), Y4, Y4
	VMULPS  32(R12), Y5, Y5
	VMULPS  64(R12), Y6, Y6
	VMULPS  96(R12), Y7, Y7
	VADDPS  Y4, Y0, Y0
	VADDPS  Y5, Y1, Y1
	VADDPS  Y6, Y2, Y2
	VADDPS  Y7, Y3, Y3
	ADDQ    $128, R12
	ADDQ    $128, R13
	SUBQ    $32, BX
	JNZ     scbody

	VADDPS       Y1, Y0, Y0
	VADDPS       Y3, Y2, Y2
	VADDPS       Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VMOVSS       X0, 0(DX)
	ADDQ         $4, DX
	ADDQ         R9, DI
	DECQ         CX
	JNZ          scrow

	// Second pass: tails (in index order) and the division.
	MOVQ k+8(FP), DI
	LEAQ (DI)(R10*4), DI
	LEAQ (SI)(R10*4), SI
	MOVQ n+32(FP), CX
	MOVQ out+40(FP), DX
	LEAQ (R9)(R9*2), AX

sc8:
	CMPQ   CX, $8
	JLT    sc4
	VMOVSS 0(DX), X0
	VMOVSS 4(DX), X1
	VMOVSS 8(DX), X2
	VMOVSS 12(DX), X3
	VMOVSS 16(DX), X8
	VMOVSS 20(DX), X9
	VMOVSS 24(DX), X10
	VMOVSS 28(DX), X11
	MOVQ   DI, R12
	LEAQ   (DI)(R9*4), R8
	MOVQ   SI, R13
	MOVQ   R11, BX
	TESTQ  BX, BX
	JZ     sc8store

sc8tail:
	VMOVSS 0(R13), X4
	VMULSS 0(R12), X4, X5
	VADDSS X5, X0, X0
	VMULSS 0(R12)(R9*1), X4, X6
	VADDSS X6, X1, X1
	VMULSS 0(R12)(R9*2), X4, X7
	VADDSS X7, X2, X2
	VMULSS 0(R12)(AX*1), X4, X12
	VADDSS X12, X3, X3
	VMULSS 0(R8), X4, X5
	VADDSS X5, X8, X8
	VMULSS 0(R8)(R9*1), X4, X6
	VADDSS X6, X9, X9
	VMULSS 0(R8)(R9*2), X4, X7
	VADDSS X7, X10, X10
	VMULSS 0(R8)(AX*1), X4, X12
	VADDSS X12, X11, X11
	ADDQ   $4, R12
	ADDQ   $4, R8
	ADDQ   $4, R13
	DECQ   BX
	JNZ    sc8tail

sc8store:
	VDIVSS X15, X0, X0
	VDIVSS X15, X1, X1
	VDIVSS X15, X2, X2
	VDIVSS X15, X3, X3
	VDIVSS X15, X8, X8
	VDIVSS X15, X9, X9
	VDIVSS X15, X10, X10
	VDIVSS X15, X11, X11
	VMOVSS X0, 0(DX)
	VMOVSS X1, 4(DX)
	VMOVSS X2, 8(DX)
	VMOVSS X3, 12(DX)
	VMOVSS X8, 16(DX)
	VMOVSS X9, 20(DX)
	VMOVSS X10, 24(DX)
	VMOVSS X11, 28(DX)
	ADDQ   $32, DX
	LEAQ   (DI)(R9*8), DI
	SUBQ   $8, CX
	JMP    sc8

sc4:
	CMPQ   CX, $4
	JLT    sc1
	VMOVSS 0(DX), X8
	VMOVSS 4(DX), X9
	VMOVSS 8(DX), X10
	VMOVSS 12(DX), X11
	MOVQ   DI, R12
	MOVQ   SI, R13
	MOVQ   R11, BX
	TESTQ  BX, BX
	JZ     sc4store

sc4tail:
	VMOVSS 0(R13), X4
	VMULSS 0(R12), X4, X5
	VADDSS X5, X8, X8
	VMULSS 0(R12)(R9*1), X4, X6
	VADDSS X6, X9, X9
	VMULSS 0(R12)(R9*2), X4, X7
	VADDSS X7, X10, X10
	VMULSS 0(R12)(AX*1), X4, X5
	VADDSS X5, X11, X11
	ADDQ   $4, R12
	ADDQ   $4, R13
	DECQ   BX
	JNZ    sc4tail

sc4store:
	VDIVSS X15, X8, X8
	VDIVSS X15, X9, X9
	VDIVSS X15, X10, X10
	VDIVSS X15, X11, X11
	VMOVSS X8, 0(DX)
	VMOVSS X9, 4(DX)
	VMOVSS X10, 8(DX)
	VMOVSS X11, 12(DX)
	ADDQ   $16, DX
	LEAQ   (DI)(R9*4), DI
	SUBQ   $4, CX
	JMP    sc4

sc1:
	TESTQ  CX, CX
	JZ     scdone
	VMOVSS 0(DX), X0
	MOVQ   DI, R12
	MOVQ   SI, R13
	MOVQ   R11, BX
	TESTQ  BX, BX
	JZ     sc1store

sc1tail:
	VMOVSS 0(R13), X4
	VMULSS 0(R12), X4, X4
	VADDSS X4, X0, X0
	ADDQ   $4, R12
	ADDQ   $4, R13
	DECQ   BX
	JNZ    sc1tail

sc1store:
	VDIVSS X15, X0, X0
	VMOVSS X0, 0(DX)
	ADDQ   $4, DX
	ADDQ   R9, DI
	DECQ   CX
	JMP    sc1

scdone:
	VZEROUPPER
	RET

// func accum32AVX2(a, v *float32, n, stride int, o *float32)
// o[0:32] = Σ_{t<n} a[t]·v[t·stride : t·stride+32] (n ≥ 1), each element
// accumulated in t order from zero, products rounded before the addition.
TEXT ·accum32AVX2(SB), NOSPLIT, $0-40
	MOVQ   a+0(FP), SI
	MOVQ   v+8(FP), DI
	MOVQ   n+16(FP), CX
	MOVQ   stride+24(FP), R9
	SHLQ   $2, R9
	MOVQ   o+32(FP), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

a32loop:
	PREFETCHT0   0(DI)(R9*4)
	PREFETCHT0   64(DI)(R9*4)
	VBROADCASTSS 0(SI), Y8
	VMULPS       0(DI), Y8, Y4
	VMULPS       32(DI), Y8, Y5
	VMULPS       64(DI), Y8, Y6
	VMULPS       96(DI), Y8, Y7
	VADDPS       Y4, Y0, Y0
	VADDPS       Y5, Y1, Y1
	VADDPS       Y6, Y2, Y2
	VADDPS       Y7, Y3, Y3
	ADDQ         $4, SI
	ADDQ         R9, DI
	DECQ         CX
	JNZ          a32loop

	VMOVUPS Y0, 0(DX)
	VMOVUPS Y1, 32(DX)
	VMOVUPS Y2, 64(DX)
	VMOVUPS Y3, 96(DX)
	VZEROUPPER
	RET
