// Package infer is deai's pure-Go inference engine for llama-family GGUF
// models (llama, mistral, qwen2, smollm): it loads a memory-mapped GGUF file,
// runs the forward pass with a per-session f32 KV cache, processes prompts in
// batches, generates with the sample package's samplers and embeds text by
// mean pooling.
//
// Determinism is a contract: for one model file and request, logits,
// generated tokens and embeddings are bit-identical across runs and thread
// counts on one binary and CPU feature set (in fact across feature sets too:
// the SIMD kernels reproduce the pure-Go summation order, see package tensor).
//
// The subpackages gguf, tensor, tokenizer, sample and chat do the parts. The
// engine is independent of the network and the ledger: it imports only
// internal/errs from the rest of the project.
package infer
