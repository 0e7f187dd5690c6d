// Package gateway is deai's OpenAI-compatible front door to a subnet's
// miners: one base URL and an API key in place of a centralized API.
//
// For every request it picks a miner from the metagraph (incentive and
// trust, measured latency, load, region), never one whose published model
// digest differs from the subnet's pinned digest; signs the request with
// the gateway's hotkey (wire.Sign); retries on another miner after a
// connection error, a timeout or a 5xx while no byte has reached the
// client (with Options.HedgeAfter, a non-streaming request still
// unanswered after that delay also goes to a second miner: the first
// verified answer wins, the other is canceled and not charged); verifies
// the miner's signed receipt (wire.CheckResponse), hands
// it to the client in X-Deai-Receipt and keeps it in an append-only
// store. API keys are bound to ledger accounts holding a prepaid balance,
// credited from on-chain transfers to the gateway's address and debited
// per token from the receipt's counts; failed requests are never charged.
// A key may carry a Quota (tokens per UTC day, a spend cap, requests per
// minute, concurrent streams); each request holds its worst case against
// the balance and the quotas at once, so concurrent requests cannot
// exceed them, and is refused with 429 when they do not cover it.
// Each charge, less a fee in basis points, is owed to the miner that
// answered; Settle (every SettleInterval in Run) pays the dues in one
// signed multi-send tx from the gateway's account and records it in the
// store only once it commits.
// Deterministic requests are answered from a bounded cache; a hit writes
// nothing to the store.
//
// Privacy: no key needs an option to keep prompts private, because the
// gateway never writes request or response text to its store or its log
// (internal/node's TestGatewayKeepsPromptsOut checks both).
//
// gateway depends on wire, tx, ledger and chain; it does not import the
// subnet or serve services (internal/node adapts them).
package gateway
