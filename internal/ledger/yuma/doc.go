// Package yuma computes one Yuma Consensus epoch of a deai subnet: from
// stake, validator weights and stored bonds to consensus, validator trust,
// incentive, dividends, new bonds, new validator permits and the split of the
// epoch's emission in base units. It follows ../shared/specs/yuma.md step by
// step (subtensor's sparse epoch_mechanism), in the same Q32.32 fixed point
// (I32F32) arithmetic, with integers only.
//
// The package is part of the ledger family and is pure: no I/O, clock,
// randomness, goroutines, maps or floating point on the consensus path, so
// identical inputs give identical outputs on every machine. Simulate is the
// one JSON edge (deai subnet epoch-sim); it converts reals to fixed point on
// the way in and back on the way out.
package yuma
