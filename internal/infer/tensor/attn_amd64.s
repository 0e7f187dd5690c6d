#include "textflag.h"

// func scoresAVX2(q, k *float32, hd, stride, n int, out *float32, div float32)
// out[t] = dot(q, k[t*stride : t*stride+hd]) / div for t < n (n ≥ 1,
// hd ≥ 32), each dot product in DotF32's canonical order: 32 lane sums over
// the body, c[j] = (s[j]+s[8+j]) + (s[16+j]+s[24+j]), hsum8, then the tail
// added element by element.
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
	MOVQ         R11, BX
	TESTQ        BX, BX
	JZ           scstore

sctail:
	VMOVSS 0(R13), X4
	VMULSS 0(R12), X4, X4
	VADDSS X4, X0, X0
	ADDQ   $4, R12
	ADDQ   $4, R13
	DECQ   BX
	JNZ    sctail

scstore:
	VDIVSS X15, X0, X0
	VMOVSS X0, 0(DX)
	ADDQ   $4, DX
	ADDQ   R9, DI
	DECQ   CX
	JNZ    scrow
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
