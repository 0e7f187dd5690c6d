// Package tensor holds the numeric core of the inference engine: ggml tensor
// types and their block layouts, f16/bf16 conversion, quantizers and
// dequantizers, dot-product kernels that work directly on quantized blocks,
// matrix-vector and matrix-matrix products, and a persistent worker pool.
//
// Determinism: every kernel has one canonical summation order, written down in
// dot.go. The AVX2 assembly and the pure-Go fallback follow that order exactly
// and use no fused multiply-add, so both give bit-identical results; a matmul
// computes each output element in one kernel call on one goroutine, so results
// do not depend on the number of threads.
//
// Prompt processing (MatMul with Q8_0/Q4_0 weights) runs a register-blocked
// GEMM (gemm.go): the activations are quantized and packed once, each tile
// of 3 weight rows is packed once and multiplied with groups of 4 vectors,
// 12 accumulators in registers, every output still summed in the canonical
// Q8_0 order. Rows are split across the pool in about four chunks per
// thread; attention and other per-token work can be split with
// Pool.Parallel.
//
// It depends only on the standard library and golang.org/x/sys/cpu.
package tensor
