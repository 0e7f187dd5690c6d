// Package tensor holds the numeric core of the inference engine: ggml tensor
// types and their block layouts, f16/bf16 conversion, quantizers and
// dequantizers, dot-product kernels that work directly on quantized blocks,
// matrix-vector and matrix-matrix products, and a persistent worker pool.
//
// Determinism: every kernel has one canonical summation order, written down in
// dot.go. The AVX-512 and AVX2 assembly and the pure-Go fallback follow that
// order exactly and use no fused multiply-add, so all give bit-identical
// results (integer parts are exact, so VNNI's dot products change nothing);
// a matmul computes each output element in one kernel call on one goroutine,
// so results do not depend on the number of threads. The paths are chosen at
// run time from the CPU's features.
//
// Prompt processing (MatMul with Q8_0/Q4_0 weights) runs a register-blocked
// GEMM: with AVX-512 VNNI (gemm_vnni.go) tiles of 4 weight rows times groups
// of 8 vectors, two vectors' lanes per ZMM register, 16 accumulators;
// otherwise (gemm.go) tiles of 3 rows times 4 vectors with AVX2. The
// activations are quantized and packed once per set of vectors, each weight
// tile once per MatMul, and every output is still summed in the canonical
// Q8_0 order. Rows are split across the pool in about four chunks per
// thread. AttendBlock computes the causal attention of up to 16 prompt
// tokens of one head at once (one per AVX-512 lane) with each token's
// operations unchanged; per-token work can be split with Pool.Parallel.
//
// It depends only on the standard library and golang.org/x/sys/cpu.
package tensor
