// Package yuma computes one Yuma Consensus epoch of a deai subnet: from
// stake, validator weights and stored bonds to consensus, validator trust,
// incentive, dividends, new bonds, new validator permits and the split of the
// epoch's emission in base units. It follows ../shared/specs/yuma.md step by
// step (subtensor's sparse epoch_mechanism at commit 14bc6f9f964b), in the
// same I32F32 (signed Q32.32) fixed point, with integers only.
//
// The package is part of the ledger family and is pure: no I/O, clock,
// randomness, goroutines, maps or floating point on the consensus path, so
// identical inputs give identical outputs on every machine. Simulate is the
// one JSON edge (deai subnet epoch-sim); it converts reals to fixed point on
// the way in and back on the way out.
//
// Where the spec leaves a choice, this package:
//   - stores stake normalization as floor(σ_i·2^32/Σσ), which is what
//     I64F64 division followed by truncation to I32F32 gives; if Σσ
//     overflows 64 bits, all stakes are first shifted right until it fits;
//   - computes consensus as the exact value subtensor's mid-pivot search
//     returns, by a quickselect that falls back to sorting, so adversarial
//     weights cannot make it quadratic;
//   - on the liquid-alpha path, decays a bond whose validator left the
//     miner out of its weights by (1 − α_ij), like an explicit zero weight
//     and like subtensor's dense variant, rather than dropping it as the
//     sparse on-chain code does (yuma.md §6c "sparse quirk"): an omitted
//     uid and a zero weight then mean the same thing everywhere;
//   - splits the emission by largest remainders so the amounts sum to E
//     exactly (see Output); subtensor floors each amount separately.
//
// Stored values agree with subtensor to the spec's tolerance (±1 u16, ±1 base
// unit per 1e9); the exponential of liquid alpha is our own integer series.
package yuma
