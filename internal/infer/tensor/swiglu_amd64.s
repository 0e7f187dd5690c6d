#include "textflag.h"

// func expNegAVX2(x *float32, n int, dst *float32)
// dst[i] = Exp(-x[i]) for i < n (n a positive multiple of 4), bit-identical
// to Exp for every input with -x[i] ≤ 88.72284 (the caller redoes the rest
// in Go): the same float64 operations as Exp, four lanes at a time.
TEXT ·expNegAVX2(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	MOVQ         n+8(FP), CX
	MOVQ         dst+16(FP), DI
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
	MOVQ         $0x8000000000000000, AX
	VMOVQ        AX, X8
	VPBROADCASTQ X8, Y8
	MOVL         $0x80000000, AX
	VMOVD        AX, X6
	VPBROADCASTD X6, X6

enloop:
	VMOVUPS      0(SI), X0
	VXORPS       X6, X0, X0
	VCVTPS2PD    X0, Y1
	VMULPD       Y15, Y1, Y2
	// t ± 0.5 with the sign of t, truncated: round half away from zero
	VANDPD       Y8, Y2, Y3
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
	VCVTPD2PSY   Y7, X7
	// x < -103.97208 gives 0
	MOVL         $0xc2cff1b4, AX
	VMOVD        AX, X2
	VBROADCASTSS X2, X2
	VCMPPS       $1, X2, X0, X2
	VANDNPS      X7, X2, X7
	VMOVUPS      X7, 0(DI)
	ADDQ         $16, SI
	ADDQ         $16, DI
	SUBQ         $4, CX
	JNZ          enloop
	VZEROUPPER
	RET
