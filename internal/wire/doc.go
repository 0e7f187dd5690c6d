// Package wire is deai's signed HTTP protocol between validators or
// gateways and miners, in the Epistula style (../shared/specs/subnet-protocol.md
// §3) adapted to ed25519 hotkeys:
//
//   - Sign puts the Epistula headers on a request: the sender's public key,
//     a millisecond timestamp, a uuid nonce, the receiver's address and an
//     ed25519 signature over "sha256_hex(body).uuid.timestamp.signed_for".
//   - Verifier is the receiving middleware: it rejects unsigned, malformed,
//     badly signed, misdirected, stale, future-dated and replayed requests
//     and, through a callback, senders without stake on the subnet, each
//     with its own HTTP status and JSON error code.
//   - Receipt is what a miner signs for every response (request hash,
//     response hash, model digest, token counts, time), carried base64 in
//     the X-Deai-Receipt header (a trailer on streams), so that a gateway
//     or validator can later prove what the miner answered.
//
// wire depends only on tx (addresses, binary encoding, ZIP-215 signature
// checks) and errs; keys come in through the small Signer interface.
package wire
