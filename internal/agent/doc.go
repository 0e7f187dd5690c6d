// Package agent is the off-chain core of deai's agent layer (issue 7):
// budgets enforced at the signer, pay-per-call over HTTP with payment
// channel vouchers, and signed agent-to-agent messages.
//
//   - Budget enforces an owner's Policy before anything is signed: a total,
//     a cap per period (on an injected clock), an allowlist with caps per
//     counterparty, a maximum per call, an expiry, an approval threshold
//     (above it Reserve fails with an ApprovalError until the owner's
//     signature is passed to Approve) and a kill switch. Payments reserve
//     first and then Commit what they paid or Release, so concurrent
//     payments never overshoot; the state survives restarts in a JSON file
//     replaced atomically.
//
//   - Payer issues cumulative vouchers (ledger/paych) on one channel, one
//     lane per concurrent payment, never beyond the deposit and only after
//     the Budget reserved the price; a payment the service did not keep is
//     rolled back, so a failing service is never paid.
//
//   - Paywall is a payee's middleware for the x402 v2 flow with the
//     "deai-paych" scheme: 402 with PAYMENT-REQUIRED terms bound to the
//     request's hash, PAYMENT-SIGNATURE with the voucher, checked with the
//     ledger's own rule (paych.Channel.CheckVoucher) against the payee's
//     copy of the channel, and a PAYMENT-RESPONSE receipt signed by the
//     payee over the voucher, request and response. The voucher is kept
//     only when the handler answered below 500. Client is the matching
//     http.RoundTripper; Redeemer submits the latest voucher of each lane
//     with MsgRedeem through LedgerChain.
//
//   - Message and Receiver: requests signed over sender, recipient,
//     method, path, body hash, timestamp, expiry, nonce and idempotency
//     key; the receiver enforces the expiry, a bounded seen-nonce cache
//     and idempotency (a repeated key gets the stored response).
//
//   - AuditLog is an agent's append-only log of every payment and action:
//     JSON lines signed by the agent key and chained by hash, so a line
//     changed, removed or reordered breaks verification (ReadAuditLog) at
//     that line.
//
// agent may import the ledger, chain, tx and wallet packages, never another
// service (market, gateway, ...). Package runner (`deai agent run`) runs
// declarative agents on top of it; internal/node adapts the Paywall to the
// gateway, which takes the same vouchers.
package agent
