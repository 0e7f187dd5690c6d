// Package verify is the off-chain half of deai's proof of useful work:
// checking what a miner's signed receipt claims by running the request
// again, choosing which receipts to check so that a miner cannot know in
// advance, and turning a mismatch into a dispute on the ledger.
//
//   - Reexecute runs a request body through a reference engine (the
//     built-in engine's OpenAI handler, in process) and returns what it
//     generated: the token digest, token counts and model digest.
//   - Check verifies a receipt against its request (and response, when
//     given): signature, hashes, pinned model digest and, by re-execution,
//     the exact token digest. The built-in engine is deterministic bit for
//     bit, so an honest answer matches exactly; anything else (random
//     text, a smaller model, a truncated answer) does not.
//   - Selected is the spot check of Proof of Sampling: a receipt is
//     audited when the hash of a block produced after the answer, mixed
//     with the receipt's signature, falls below the subnet's audit rate.
//     The miner cannot predict that block's hash when it answers.
//   - Auditor queues the receipts a gateway or validator holds, draws each
//     one with the beacon of the next block, re-executes the drawn ones
//     and opens a dispute for a mismatch; Voter re-executes the disputes
//     of the committees it sits on and votes.
//   - Commit and CheckCommitment are the tolerant check for backends that
//     are not bit-identical to the reference (vLLM, llama.cpp, other GPUs
//     or precisions), after TOPLOC: the miner commits to the top-k (k=32)
//     logits by magnitude, indices and bf16 values, after the prompt,
//     every 32 generated tokens and at the end (the engine exposes logits,
//     not TOPLOC's last hidden state); the verifier recomputes them in one
//     chunked prefill over prompt + output (internal/infer) and accepts a
//     point when ≥ 75 % of the committed indices are in its top-k, ≥ 70 %
//     of k agree in sign and exponent (TOPLOC's 90 of 128) and the
//     mantissa differences have mean ≤ 10 and median ≤ 8 bf16 ulps.
//     Commitments encode canonically (≈ 6 B per token) with a sha256
//     Digest to bind; Finished refuses an answer cut short, which the
//     check alone would pass. It checks the activations given the tokens,
//     not that the tokens were sampled from them.
//
// verify depends on wire, tx, ledger and chain; it imports no other
// service (internal/node hands it the reference engine).
package verify
