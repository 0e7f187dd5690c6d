// Package subnet runs the two daemons of an intelligence subnet:
//
//   - Miner serves the subnet's task (OpenAI-compatible /v1/completions,
//     /v1/chat/completions, /v1/embeddings, streaming included) from a
//     Backend — the built-in engine, adapted by internal/node, or a Proxy
//     to any OpenAI-compatible server — behind wire.Verifier, signs a
//     wire.Receipt for every response, bounds concurrency and drains
//     in-flight requests on shutdown. It registers its hotkey and
//     publishes its endpoint and model digest on chain.
//   - Validator, once per tempo, derives challenges from the block hash
//     and its own key, queries every serving miner concurrently with
//     signed requests, grades the answers with the Task of the subnet's
//     task type (text generation: exact re-execution on its own engine;
//     embeddings: cosine similarity), keeps a per-UID moving average and
//     sets weights with commit-reveal.
//
// The chain is reached only through the Chain interface defined here;
// LedgerChain implements it over a chain.Client. subnet must not import
// other services (serve, gateway, …), config or node.
package subnet
