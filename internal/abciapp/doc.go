// Package abciapp adapts the ledger to CometBFT v0.38's ABCI++: it is the
// only code that sees both CometBFT types and the ledger. App keeps the
// ledger's committed state in a cometbft-db database, serializes every call
// with one mutex, verifies each tx signature once (a verified-tx cache
// filled by CheckTx, then batch verification on all cores in FinalizeBlock
// for txs it has not seen), and maps ledger reasons to the stable result
// codes below.
//
// # Result codes
//
// Every non-zero code comes with Codespace "deai" and a log saying what was
// wrong. The numbers are stable: never reused or renumbered.
//
//	code  name                 meaning
//	 0    ok
//	 1    malformed            bytes do not decode as a tx (truncated, trailing bytes, bad lengths, unknown version)
//	 2    oversize             tx larger than max_tx_bytes, or memo larger than max_memo_bytes
//	 3    wrong_chain_id       tx signed for another chain
//	 4    bad_signature        signature does not verify
//	 5    bad_nonce            nonce is not the account's next one (replayed or out of order)
//	 6    insufficient_funds   balance below fee plus amounts, or unknown sender
//	 7    overflow             fee plus amounts, or a balance, overflows 64 bits
//	 8    zero_amount          a message moves zero
//	 9    fee_too_low          fee below the chain's min_fee
//	10    unknown_message      message type not registered
//	11    unauthorized         a message acts for an account other than the signer
//	12    invalid              other invalid input
//	13    not_found            query: no such account, tx or block
//	14    bad_query            query: unknown path or malformed argument
//	15    internal             a bug or broken invariant (see the node log)
//	16    rate_limited         too soon: a rate limit or a window not yet open (weights, serving info, an early reveal); retry later
//
// # Queries
//
// Query paths (JSON answers; amounts are strings of udeai; hashes are
// upper-case hex): /account/<deai1…>, /balance/<deai1…>, /tx/<hash>,
// /block/<height> (or /block/latest), /params, /supply, and /<module>/… for
// modules with queries. See ledger.Ledger.Query for the response types.
//
// # Persistence
//
// FinalizeBlock only touches memory. Commit writes the block's write set,
// with the height and app hash, in one synced batch; Info reports what was
// last committed, so a crash between FinalizeBlock and Commit makes
// CometBFT replay the block.
package abciapp
