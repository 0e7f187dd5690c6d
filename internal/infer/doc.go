// Package infer is deai's pure-Go inference engine for llama-family GGUF
// models (llama, mistral, qwen2, smollm): it loads a memory-mapped GGUF file,
// runs the forward pass with a per-session f32 KV cache, processes prompts in
// batches, generates with the sample package's samplers and embeds text by
// mean pooling. A closed session is kept by its model and handed to the
// next NewSession, cache and buffers included.
//
// Determinism is a contract: for one model file and request, logits,
// generated tokens and embeddings are bit-identical across runs and thread
// counts, and a prompt processed in batches gives the bits of token-by-token
// decoding. The AVX-512 and AVX2 kernels reproduce the pure-Go kernels'
// summation order bit for bit and nothing uses fused multiply-add or math.Exp
// (whose amd64 assembly depends on the CPU), so machines with and without
// them agree too. The one remaining dependency is the RoPE table, computed with
// math.Pow/Cos/Sin: identical for binaries built with the same GOARCH and
// GOAMD64 level (the default v1 never fuses).
//
// The subpackages gguf, tensor, tokenizer, sample and chat do the parts. The
// engine is independent of the network and the ledger: it imports only
// internal/errs from the rest of the project.
package infer
