// Package serve is deai's OpenAI-compatible inference HTTP server:
// GET /v1/models, POST /v1/completions, POST /v1/chat/completions (plain
// JSON and server-sent events) and POST /v1/embeddings, with OpenAI-style
// error objects, a bounded scheduler for concurrent generations, request
// size limits and client-disconnect cancellation.
//
// The HTTP layer talks to models through Backend, a small interface defined
// here, so that other front ends (the gateway) can put the same layer over
// other model sources. NewEngineBackend adapts the built-in engine
// (internal/infer). serve must not import other services, config or node.
package serve
