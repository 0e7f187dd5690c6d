package yuma

import (
	"errors"
	"fmt"
)

// Params are a subnet's epoch hyperparameters, in the integer units the
// chain stores them in (yuma.md §2 and §11).
type Params struct {
	// Kappa is the consensus majority κ as a u16 ratio (value/65535): the
	// stake share that must weight a miner at least C_j for C_j to be its
	// consensus.
	Kappa uint16
	// BondsPenalty β as a u16 ratio: 65535 builds bonds from clipped
	// weights, 0 from raw weights.
	BondsPenalty uint16
	// BondsMovingAverage in parts per million; the bonds EMA rate is
	// α = 1 − BondsMovingAverage/1e6. At most 1,000,000.
	BondsMovingAverage uint64
	// Yuma3 selects the bonds v3 path (§6b) instead of v2 (§6a).
	Yuma3 bool
	// LiquidAlpha gives per-pair EMA rates on the v3 path (§6c).
	LiquidAlpha LiquidAlpha
	// MaxValidators is K, the number of validator permits handed out by
	// stake (the owner's permit comes on top).
	MaxValidators uint16
	// ActivityCutoff is the number of blocks after its last weight update
	// after which a validator counts as inactive.
	ActivityCutoff uint64
	// StakeThreshold is θ: a uid with stake below it counts as stake 0,
	// except the subnet owner's.
	StakeThreshold uint64
}

// LiquidAlpha are the liquid-alpha parameters.
type LiquidAlpha struct {
	Enabled bool
	// AlphaLow and AlphaHigh bound the per-pair EMA rate, as u16 ratios;
	// both at least MinAlpha, AlphaLow ≤ AlphaHigh.
	AlphaLow, AlphaHigh uint16
	// Steepness of the sigmoid; the sigmoid uses Steepness/100.
	Steepness int16
}

// MinAlpha is the smallest alpha_low and alpha_high the chain accepts
// (1638/65535 ≈ 0.025).
const MinAlpha = 1638

// DefaultParams returns the defaults of yuma.md §11: κ = 32767 (≈ 0.5),
// β = 65535 (clipped weights), bonds moving average 900,000 ppm (α = 0.1),
// bonds v2, liquid alpha off with bounds 45875/58982 (0.7/0.9) and
// steepness 1000, 128 validator permits, an activity cutoff of 5000 blocks
// and no stake threshold.
func DefaultParams() Params {
	return Params{
		Kappa:              32767,
		BondsPenalty:       65535,
		BondsMovingAverage: 900_000,
		LiquidAlpha:        LiquidAlpha{AlphaLow: 45875, AlphaHigh: 58982, Steepness: 1000},
		MaxValidators:      128,
		ActivityCutoff:     5000,
	}
}

// ErrInvalid marks invalid parameters or epoch input. Callers such as the
// ledger skip the epoch on it, as subtensor skips an inconsistent one.
var ErrInvalid = errors.New("invalid epoch input")

// Validate checks the parameters against the chain's setter limits.
func (p Params) Validate() error {
	switch {
	case p.BondsMovingAverage > 1_000_000:
		return fmt.Errorf("params: bonds_moving_average %d, want at most 1000000: %w", p.BondsMovingAverage, ErrInvalid)
	case p.MaxValidators == 0:
		return fmt.Errorf("params: max_validators 0, want at least 1: %w", ErrInvalid)
	case p.LiquidAlpha.AlphaLow < MinAlpha || p.LiquidAlpha.AlphaHigh < MinAlpha:
		return fmt.Errorf("params: liquid_alpha alpha_low %d and alpha_high %d, want at least %d: %w",
			p.LiquidAlpha.AlphaLow, p.LiquidAlpha.AlphaHigh, MinAlpha, ErrInvalid)
	case p.LiquidAlpha.AlphaLow > p.LiquidAlpha.AlphaHigh:
		return fmt.Errorf("params: liquid_alpha alpha_low %d above alpha_high %d: %w",
			p.LiquidAlpha.AlphaLow, p.LiquidAlpha.AlphaHigh, ErrInvalid)
	}
	return nil
}
