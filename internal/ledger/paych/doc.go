// Package paych is the ledger module of payment channels for
// micropayments between agents (payments spec §2 and §5): Filecoin paych
// semantics with lanes and cumulative vouchers, signed off chain by the
// payer and checked by the payee at a high rate, redeemed on chain by the
// payee at any time, settled with a challenge window and collected. Like
// the rest of the ledger it is pure and deterministic: no I/O, clock,
// randomness, goroutines, floating point or map-order dependence.
//
// # Channels
//
// MsgOpenChannel opens a channel from From (the signer) to To with a
// deposit (at least Params.MinDeposit) and a settle delay
// (Params.MinSettleDelay to MaxSettleDelay blocks). Its ID is
// ChannelIDFor(From, To, n) for From's n-th channel (/paych/next/<from>
// tells n), and the paych.channel_opened event reports it. The deposit
// comes from From, or, with the Owner field set, from Owner's account
// through the spend permission Owner granted From (agents.Charge: expiry,
// revocation, allowlist with To as the counterparty, per-call max, period
// allowance and total cap), so an agent host opens and tops up channels
// without the owner's key while the owner stays the channel's Funder and
// gets the rest back. MsgTopUp adds to an open channel: by the funder
// from its own account, or by From through the owner's permission.
//
// # Vouchers
//
// A Voucher is {chain id, channel, lane, nonce, cumulative amount,
// expiry (0: none), request hash (zeros: none)}, signed with ed25519 by
// the channel's From over VoucherDomain ("deai/paych/voucher/v1\x00",
// distinct from the tx, receipt and Epistula sign bytes) followed by its
// canonical encoding. A lane's amount is cumulative and its nonce
// strictly increases, so a payee keeps only the latest voucher per lane
// (O(1) per lane) and a replayed or older voucher is worthless by
// construction. Lanes (up to Params.MaxLanes per channel) carry
// independent streams, e.g. one per concurrent request stream, with no
// nonce coordination between them.
//
// Off chain, a payee checks a voucher with SignedVoucher.Verify, or many
// at once with VerifyBatch (ed25519 batch verification, deterministic,
// with exactly the answers of Verify), and Channel.CheckVoucher against
// the last voucher it accepted on the lane: the same rules MsgRedeem
// applies, so what a payee accepts the chain pays, up to the channel's
// balance. SignedVoucher.Encode and DecodeSignedVoucher give its
// canonical bytes (189 plus the chain id) for headers and storage.
//
// # Redeem, settle, collect
//
// MsgRedeem is sent by the payee with up to MaxRedeemVouchers vouchers,
// on one or several of its channels, checked in order: the channel
// exists, the signer is its payee, it is neither closed nor settled, the
// signature verifies (bad_signature), then Channel.CheckVoucher: the
// chain id (wrong_chain_id), the channel, the signer is the channel's
// From (bad_signature), not expired (invalid), the nonce above the lane's
// (bad_nonce: "replayed" when equal, "stale" when lower), the cumulative
// amount above the lane's (invalid); then a new lane must fit MaxLanes
// and the channel's redeemed total may not exceed its balance
// (insufficient_funds). Each voucher is paid out at once: the difference
// between its amount and the lane's moves from EscrowAccount to the
// payee. Any refusal fails the whole message and changes nothing.
//
// MsgSettle (From, To or the funder) starts the window: the channel takes
// no more top-ups, and from SettlingAt = height + settle delay no more
// vouchers. Until then the payee redeems its latest vouchers, so settling
// on a stale voucher loses to the latest one. MsgCollect (the same
// parties) from SettlingAt on refunds Balance − Redeemed to the funder
// and closes the channel (its lanes are deleted); before SettlingAt it is
// refused with rate_limited.
//
// # Money
//
// Every open channel's Balance − Redeemed sits in EscrowAccount, a bank
// account nobody holds a key for, moved in and out with bank.Transfer, so
// the supply invariant (balances + burned == genesis + minted) holds
// unchanged; EscrowAccount's balance always equals the sum of the open
// and settling channels' Balance − Redeemed, a channel's Redeemed is the
// sum of its lanes', and a closed channel's Balance is Redeemed +
// Refunded. Amounts are integer udeai with checked arithmetic.
//
// # Queries
//
// Under /paych, JSON (see Module.Query): params (Params); channel/<id>
// (ChannelResult: the Channel with "escrowed", "as_of" and "settled" at
// ?height=); lane/<id>/<lane> (Lane: lane, nonce, redeemed);
// lanes/<id>; channels/from|to|funder/<addr> ([]Channel, ?state=open|
// settling|closed); next/<from>?to=<addr> ({"seq", "id"}). Lists take
// ?limit= (default 100, at most 1000) and ?after=. Amounts are udeai
// strings, states lower-case names, channel IDs 64 hex digits.
//
// # Events
//
// paych.channel_opened (id, from, to, funder, deposit, settle_delay),
// paych.topped_up (id, sender, amount, balance), paych.redeemed (id,
// lane, nonce, amount: the lane's cumulative, paid: this voucher's
// payout, redeemed: the channel's total), paych.settling (id, sender,
// settling_at), paych.collected (id, sender, funder, redeemed, refund);
// bank's transfer events move the money and agents.spend records debits
// through a spend permission.
package paych
