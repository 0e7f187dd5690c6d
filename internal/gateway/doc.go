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
// Voucher payments (paid.go): with Options.Payments, an inference request
// without an Authorization header pays per call with payment-channel
// vouchers, the x402 v2 flow with scheme "deai-paych" that agent.Client
// speaks. It is answered 402 with PAYMENT-REQUIRED asking for its hold
// less the credit of the payer named in X-Deai-Payer (an unauthenticated
// hint: it only lowers the quote; at least 1 base unit), bound to the
// request's hash; the retry carries PAYMENT-SIGNATURE. The Payments
// implementation checks the voucher (signature, channel to this gateway,
// lane nonce, amount, balance; its refusal codes are passed on). The
// payer is the channel's From, with an account in the same table API keys
// use: the voucher covers the hold first and the payer's credit the rest,
// and the voucher's delta is credited only when the request succeeds, so
// no other request spends it meanwhile. A request that fails is not
// charged and its voucher is dropped (the payer's client rolls it back);
// one that succeeds is charged per token as with a key, and what the hold
// did not use stays the payer's credit for its next requests. Each kept
// voucher is a "voucher" record in the store, credited again on replay,
// never twice (channel, lane and nonce name it). The answer carries the
// gateway's signed PAYMENT-RESPONSE over the exact body sent: a header on
// plain answers (buffered for it), a trailer on streams. Voucher-paid
// requests skip the cache, are limited per payer like a key without a
// quota, and have no GET /v1/usage (it takes an API key); the operator
// reads a payer's account with Gateway.Usage. GET /v1/models needs no
// key when Payments is set. Redeeming the kept vouchers
// on chain is the Payments owner's job (internal/node, deai gateway).
//
// Explorer (explorer.go): with Options.Chain the gateway serves a
// read-only web UI at /ui/ (assets embedded from ui/: no CDN, no external
// fonts, charts drawn as inline SVG) and its JSON API under /ui/api/:
// status, the latest blocks, an allowlisted passthrough of public ledger
// queries (/account/, /balance/, /subnet/, /market/, /agents/, /paych/,
// /params, /supply), the gateway's own view of its miners (latency,
// requests, receipts, earnings), each subnet's incentive and emission
// over its last DefaultExplorerEpochs epochs (sampled in memory by Run),
// and Server-Sent Events with every new block. It needs no key: all of it
// is public on the chain or harmless.
//
// Privacy: no key needs an option to keep prompts private, because the
// gateway never writes request or response text to its store or its log
// (internal/node's TestGatewayKeepsPromptsOut checks both).
//
// gateway depends on wire, tx, ledger and chain; it does not import the
// subnet or serve services (internal/node adapts them).
package gateway
