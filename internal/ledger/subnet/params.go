package subnet

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/deai-network/deai/internal/ledger/yuma"
	"github.com/deai-network/deai/internal/tx"
)

// Params are one subnet's hyperparameters (yuma.md §11 and
// subnet-protocol.md §5–§9). The owner changes them with MsgSetSubnetParams
// within the bounds below; Validate checks them.
type Params struct {
	// Tempo is the number of blocks between two epochs.
	Tempo uint64 `json:"tempo"`
	// Kappa is the consensus majority κ as a u16 ratio (value/65535).
	Kappa uint16 `json:"kappa"`
	// BondsMovingAverage in parts per million: the bonds EMA rate is
	// α = 1 − value/1e6.
	BondsMovingAverage uint64 `json:"bonds_moving_average"`
	// BondsPenalty β as a u16 ratio: 65535 builds bonds from clipped
	// weights, 0 from raw weights.
	BondsPenalty uint16 `json:"bonds_penalty"`
	// Yuma3 selects the bonds v3 path (yuma.md §6b).
	Yuma3 bool `json:"yuma3"`
	// LiquidAlpha gives per-pair bond EMA rates on the v3 path (§6c).
	LiquidAlpha LiquidAlpha `json:"liquid_alpha"`
	// MaxUIDs is the number of uid slots; a registration on a full subnet
	// prunes one neuron.
	MaxUIDs uint16 `json:"max_uids"`
	// MaxValidators is the number of validator permits handed out by stake
	// at each epoch (the owner's comes on top).
	MaxValidators uint16 `json:"max_validators"`
	// ImmunityPeriod is the number of blocks after registration during
	// which a neuron is immune from pruning (while enough others are not).
	ImmunityPeriod uint64 `json:"immunity_period"`
	// ActivityCutoff is the number of blocks without a weight update after
	// which a validator counts as inactive.
	ActivityCutoff uint64 `json:"activity_cutoff"`
	// WeightsRateLimit is the number of blocks that must pass between two
	// weight sets (or commits) of a hotkey; 0 means no limit.
	WeightsRateLimit uint64 `json:"weights_rate_limit"`
	// MinBurn and MaxBurn clamp the registration price.
	MinBurn tx.Amount `json:"min_burn"`
	MaxBurn tx.Amount `json:"max_burn"`
	// BurnHalfLife is the number of blocks in which the registration price
	// halves.
	BurnHalfLife uint64 `json:"burn_half_life"`
	// BurnIncreaseMult multiplies the price at each registration, in
	// thousandths (1260 = ×1.26).
	BurnIncreaseMult uint32 `json:"burn_increase_mult"`
	// CommitReveal makes validators commit a hash of their weights and
	// reveal them RevealPeriod epochs later; plain weight sets are refused.
	CommitReveal bool `json:"commit_reveal"`
	// RevealPeriod is the number of epochs between a commit and its reveal.
	RevealPeriod uint16 `json:"reveal_period"`

	// Disputes and slashing (see the package doc).

	// AuditRatePPM is the spot-check probability p, in parts per million,
	// with which validators re-execute a miner's answer off chain. The
	// ledger only publishes it; verifiers read it from here.
	AuditRatePPM uint32 `json:"audit_rate_ppm"`
	// SlashBPS is the share of the stake on a guilty miner's hotkey that
	// is slashed, in basis points.
	SlashBPS uint16 `json:"slash_bps"`
	// ChallengerRewardBPS is the challenger's (or equivocation reporter's)
	// share of the slashed amount in basis points; the rest is burned.
	ChallengerRewardBPS uint16 `json:"challenger_reward_bps"`
	// JailBlocks is how long a slashed miner earns no incentive.
	JailBlocks uint64 `json:"jail_blocks"`
	// DisputeBond is the least bond a challenger must lock.
	DisputeBond tx.Amount `json:"dispute_bond"`
	// CommitteeSize is the number of validators drawn to judge a dispute.
	CommitteeSize uint16 `json:"committee_size"`
	// DisputeBlocks is the voting window of a dispute, in blocks; a
	// dispute uses min(DisputeBlocks, Tempo), so it resolves within one
	// tempo whatever the tempo.
	DisputeBlocks uint64 `json:"dispute_blocks"`
	// ReceiptTTL is, in seconds, how old a receipt may be and still be
	// disputed (or reported as equivocation).
	ReceiptTTL uint64 `json:"receipt_ttl"`
}

// LiquidAlpha are the liquid-alpha parameters (yuma.md §6c).
type LiquidAlpha struct {
	Enabled bool `json:"enabled"`
	// AlphaLow and AlphaHigh bound the per-pair EMA rate as u16 ratios.
	AlphaLow  uint16 `json:"alpha_low"`
	AlphaHigh uint16 `json:"alpha_high"`
	// Steepness of the sigmoid; the sigmoid uses Steepness/100.
	Steepness int16 `json:"steepness"`
}

// Bounds of the subnet parameters. Each field of Params must lie within
// its bounds; a few are also bounded by another field (see Validate).
const (
	MinTempo              = 10
	MaxTempo              = 50400
	MinKappa              = 32767 // consensus needs about half of the active stake
	MaxBondsMovingAverage = 975_000
	MinMaxUIDs            = 1
	MaxMaxUIDs            = 4096
	MinMaxValidators      = 1 // and at most max_uids
	MaxImmunityPeriod     = 65535
	MaxActivityCutoff     = 1_000_000 // and at least tempo
	MaxWeightsRateLimit   = 50400
	MinMinBurn            = 1 // and at most max_burn
	MaxMaxBurn            = 1_000_000 * tx.UnitsPerDEAI
	MinBurnHalfLife       = 1
	MaxBurnHalfLife       = 1_000_000
	MinBurnIncreaseMult   = 1000 // ×1
	MaxBurnIncreaseMult   = 10000
	MinRevealPeriod       = 1
	MaxRevealPeriod       = 100
	MaxAuditRatePPM       = 1_000_000
	MaxBPS                = 10_000
	MaxJailBlocks         = 1_000_000
	MinDisputeBond        = 1
	MaxDisputeBond        = 1_000_000 * tx.UnitsPerDEAI
	MinCommitteeSize      = 1
	MaxCommitteeSize      = 15
	MinDisputeBlocks      = 1 // at most MaxTempo; a dispute votes for min(dispute_blocks, tempo) blocks
	MinReceiptTTL         = 1
	MaxReceiptTTL         = 30 * 86400
)

// DefaultParams returns the spec's defaults: tempo 360, κ 32767, bonds
// moving average 900,000 ppm, β 65535, bonds v2, liquid alpha off
// (0.7/0.9, steepness 1000), 256 uids, 128 validator permits, immunity
// 4096 blocks, activity cutoff 5000, a weights rate limit of 100 blocks, a
// price in [0.0005, 100] DEAI halving every 360 blocks and ×1.26 per
// registration, commit-reveal on with a reveal period of one epoch; for
// disputes a 1 % audit rate, a 10 % slash of which half goes to the
// challenger, 720 blocks of jail, a 1 DEAI bond, a committee of 3 voting
// within 100 blocks, and receipts disputable for a day.
func DefaultParams() Params {
	return Params{
		Tempo:               360,
		Kappa:               32767,
		BondsMovingAverage:  900_000,
		BondsPenalty:        65535,
		LiquidAlpha:         LiquidAlpha{AlphaLow: 45875, AlphaHigh: 58982, Steepness: 1000},
		MaxUIDs:             256,
		MaxValidators:       128,
		ImmunityPeriod:      4096,
		ActivityCutoff:      5000,
		WeightsRateLimit:    100,
		MinBurn:             500,
		MaxBurn:             100 * tx.UnitsPerDEAI,
		BurnHalfLife:        360,
		BurnIncreaseMult:    1260,
		CommitReveal:        true,
		RevealPeriod:        1,
		AuditRatePPM:        10_000,
		SlashBPS:            1000,
		ChallengerRewardBPS: 5000,
		JailBlocks:          720,
		DisputeBond:         1 * tx.UnitsPerDEAI,
		CommitteeSize:       3,
		DisputeBlocks:       100,
		ReceiptTTL:          86400,
	}
}

// Validate checks every field against its bounds.
func (p Params) Validate() error {
	type check struct {
		name     string
		v        uint64
		min, max uint64
	}
	checks := []check{
		{"tempo", p.Tempo, MinTempo, MaxTempo},
		{"kappa", uint64(p.Kappa), MinKappa, 65535},
		{"bonds_moving_average", p.BondsMovingAverage, 0, MaxBondsMovingAverage},
		{"max_uids", uint64(p.MaxUIDs), MinMaxUIDs, MaxMaxUIDs},
		{"max_validators", uint64(p.MaxValidators), MinMaxValidators, uint64(p.MaxUIDs)},
		{"immunity_period", p.ImmunityPeriod, 0, MaxImmunityPeriod},
		{"activity_cutoff", p.ActivityCutoff, p.Tempo, MaxActivityCutoff},
		{"weights_rate_limit", p.WeightsRateLimit, 0, MaxWeightsRateLimit},
		{"min_burn", uint64(p.MinBurn), MinMinBurn, uint64(p.MaxBurn)},
		{"max_burn", uint64(p.MaxBurn), uint64(p.MinBurn), MaxMaxBurn},
		{"burn_half_life", p.BurnHalfLife, MinBurnHalfLife, MaxBurnHalfLife},
		{"burn_increase_mult", uint64(p.BurnIncreaseMult), MinBurnIncreaseMult, MaxBurnIncreaseMult},
		{"reveal_period", uint64(p.RevealPeriod), MinRevealPeriod, MaxRevealPeriod},
		{"audit_rate_ppm", uint64(p.AuditRatePPM), 0, MaxAuditRatePPM},
		{"slash_bps", uint64(p.SlashBPS), 0, MaxBPS},
		{"challenger_reward_bps", uint64(p.ChallengerRewardBPS), 0, MaxBPS},
		{"jail_blocks", p.JailBlocks, 0, MaxJailBlocks},
		{"dispute_bond", uint64(p.DisputeBond), MinDisputeBond, MaxDisputeBond},
		{"committee_size", uint64(p.CommitteeSize), MinCommitteeSize, MaxCommitteeSize},
		{"dispute_blocks", p.DisputeBlocks, MinDisputeBlocks, MaxTempo},
		{"receipt_ttl", p.ReceiptTTL, MinReceiptTTL, MaxReceiptTTL},
		{"liquid_alpha.alpha_low", uint64(p.LiquidAlpha.AlphaLow), yuma.MinAlpha, uint64(p.LiquidAlpha.AlphaHigh)},
		{"liquid_alpha.alpha_high", uint64(p.LiquidAlpha.AlphaHigh), max(yuma.MinAlpha, uint64(p.LiquidAlpha.AlphaLow)), 65535},
	}
	for _, c := range checks {
		if c.v < c.min || c.v > c.max {
			return fmt.Errorf("params: %s %d, want %d..%d", c.name, c.v, c.min, c.max)
		}
	}
	if p.LiquidAlpha.Steepness < 0 {
		return fmt.Errorf("params: liquid_alpha.steepness %d, want 0..32767", p.LiquidAlpha.Steepness)
	}
	return nil
}

// checkChange checks the rules of a change from old to p beyond the
// bounds: max_uids cannot drop below the n neurons registered, and the
// liquid-alpha bounds may change only while liquid alpha is on (yuma.md
// §6c: on before or after the change, so one message may switch it on or
// off together with its bounds).
func (p Params) checkChange(old Params, n uint16) error {
	if p.MaxUIDs < n {
		return fmt.Errorf("params: max_uids %d is below the %d neurons registered", p.MaxUIDs, n)
	}
	changed := p.LiquidAlpha.AlphaLow != old.LiquidAlpha.AlphaLow || p.LiquidAlpha.AlphaHigh != old.LiquidAlpha.AlphaHigh
	if changed && !p.LiquidAlpha.Enabled && !old.LiquidAlpha.Enabled {
		return fmt.Errorf("params: liquid_alpha alpha_low/alpha_high can change only while liquid alpha is enabled")
	}
	return nil
}

// yuma converts p to the epoch's parameters.
func (p Params) yuma() yuma.Params {
	return yuma.Params{
		Kappa:              p.Kappa,
		BondsPenalty:       p.BondsPenalty,
		BondsMovingAverage: p.BondsMovingAverage,
		Yuma3:              p.Yuma3,
		LiquidAlpha: yuma.LiquidAlpha{
			Enabled:   p.LiquidAlpha.Enabled,
			AlphaLow:  p.LiquidAlpha.AlphaLow,
			AlphaHigh: p.LiquidAlpha.AlphaHigh,
			Steepness: p.LiquidAlpha.Steepness,
		},
		MaxValidators:  p.MaxValidators,
		ActivityCutoff: p.ActivityCutoff,
	}
}

// paramsLen is the size of the encoding of Params: the base fields, then
// the dispute fields.
const (
	baseParamsLen    = 8 + 2 + 8 + 2 + 1 + (1 + 2 + 2 + 2) + 2 + 2 + 8 + 8 + 8 + 8 + 8 + 8 + 4 + 1 + 2
	disputeParamsLen = 4 + 2 + 2 + 8 + 8 + 2 + 8 + 8
	paramsLen        = baseParamsLen + disputeParamsLen
)

// appendParams appends the canonical encoding of p: every field in
// declaration order, big-endian, bools as one byte 0 or 1.
func appendParams(dst []byte, p *Params) []byte {
	return appendDisputeParams(appendBaseParams(dst, p), p)
}

// readParams reads what appendParams wrote. A bool byte other than 0 or 1
// is an error, so the encoding stays canonical.
func readParams(r *tx.Reader) Params {
	p := readBaseParams(r)
	readDisputeParams(r, &p)
	return p
}

// appendDisputeParams appends the dispute fields (AuditRatePPM onwards).
// The Subnet record stores them after its other fields, so that records
// written before they existed still decode (with the defaults).
func appendDisputeParams(dst []byte, p *Params) []byte {
	dst = tx.AppendU32(dst, p.AuditRatePPM)
	dst = tx.AppendU16(dst, p.SlashBPS)
	dst = tx.AppendU16(dst, p.ChallengerRewardBPS)
	dst = tx.AppendU64(dst, p.JailBlocks)
	dst = tx.AppendU64(dst, uint64(p.DisputeBond))
	dst = tx.AppendU16(dst, p.CommitteeSize)
	dst = tx.AppendU64(dst, p.DisputeBlocks)
	return tx.AppendU64(dst, p.ReceiptTTL)
}

func readDisputeParams(r *tx.Reader, p *Params) {
	p.AuditRatePPM = r.U32()
	p.SlashBPS = r.U16()
	p.ChallengerRewardBPS = r.U16()
	p.JailBlocks = r.U64()
	p.DisputeBond = tx.Amount(r.U64())
	p.CommitteeSize = r.U16()
	p.DisputeBlocks = r.U64()
	p.ReceiptTTL = r.U64()
}

// appendBaseParams appends the fields up to RevealPeriod.
func appendBaseParams(dst []byte, p *Params) []byte {
	dst = tx.AppendU64(dst, p.Tempo)
	dst = tx.AppendU16(dst, p.Kappa)
	dst = tx.AppendU64(dst, p.BondsMovingAverage)
	dst = tx.AppendU16(dst, p.BondsPenalty)
	dst = tx.AppendBool(dst, p.Yuma3)
	dst = tx.AppendBool(dst, p.LiquidAlpha.Enabled)
	dst = tx.AppendU16(dst, p.LiquidAlpha.AlphaLow)
	dst = tx.AppendU16(dst, p.LiquidAlpha.AlphaHigh)
	dst = tx.AppendU16(dst, uint16(p.LiquidAlpha.Steepness))
	dst = tx.AppendU16(dst, p.MaxUIDs)
	dst = tx.AppendU16(dst, p.MaxValidators)
	dst = tx.AppendU64(dst, p.ImmunityPeriod)
	dst = tx.AppendU64(dst, p.ActivityCutoff)
	dst = tx.AppendU64(dst, p.WeightsRateLimit)
	dst = tx.AppendU64(dst, uint64(p.MinBurn))
	dst = tx.AppendU64(dst, uint64(p.MaxBurn))
	dst = tx.AppendU64(dst, p.BurnHalfLife)
	dst = tx.AppendU32(dst, p.BurnIncreaseMult)
	dst = tx.AppendBool(dst, p.CommitReveal)
	return tx.AppendU16(dst, p.RevealPeriod)
}

func readBaseParams(r *tx.Reader) Params {
	var p Params
	p.Tempo = r.U64()
	p.Kappa = r.U16()
	p.BondsMovingAverage = r.U64()
	p.BondsPenalty = r.U16()
	p.Yuma3 = r.Bool()
	p.LiquidAlpha.Enabled = r.Bool()
	p.LiquidAlpha.AlphaLow = r.U16()
	p.LiquidAlpha.AlphaHigh = r.U16()
	p.LiquidAlpha.Steepness = int16(r.U16())
	p.MaxUIDs = r.U16()
	p.MaxValidators = r.U16()
	p.ImmunityPeriod = r.U64()
	p.ActivityCutoff = r.U64()
	p.WeightsRateLimit = r.U64()
	p.MinBurn = tx.Amount(r.U64())
	p.MaxBurn = tx.Amount(r.U64())
	p.BurnHalfLife = r.U64()
	p.BurnIncreaseMult = r.U32()
	p.CommitReveal = r.Bool()
	p.RevealPeriod = r.U16()
	return p
}

// ModuleParams are the chain-wide parameters of the module, fixed at
// genesis (the "subnet" section of the genesis file).
type ModuleParams struct {
	// BlockEmission is minted per block, split equally among the subnets
	// (see the package doc's emission schedule).
	BlockEmission tx.Amount `json:"block_emission"`
	// OwnerCut is the owner's share of a subnet's emission as a u16 ratio.
	OwnerCut uint16 `json:"owner_cut"`
	// CreateBurn is burned by MsgCreateSubnet.
	CreateBurn tx.Amount `json:"create_burn"`
	// InitialBurn is a new subnet's registration price.
	InitialBurn tx.Amount `json:"initial_burn"`
	// SubnetLimit is the number of subnets that may exist (netuids
	// 1..SubnetLimit).
	SubnetLimit uint16 `json:"subnet_limit"`
	// MaxEpochsPerBlock caps the epochs run in one block.
	MaxEpochsPerBlock uint16 `json:"max_epochs_per_block"`
	// MinNonImmuneUIDs: a non-immune neuron is pruned only while more than
	// this many are non-immune (subnet-protocol.md §6).
	MinNonImmuneUIDs uint16 `json:"min_non_immune_uids"`
	// ServingRateLimit is the number of blocks between two MsgServe of a
	// hotkey on a subnet (the first is free).
	ServingRateLimit uint64 `json:"serving_rate_limit"`
}

// DefaultModuleParams returns 1 DEAI of emission per block, the spec's 18 %
// owner cut (11796/65535), a 100 DEAI creation burn, a 0.1 DEAI initial
// registration price, 128 subnets, 2 epochs per block, 10 non-immune uids
// and a serving rate limit of 50 blocks.
func DefaultModuleParams() ModuleParams {
	return ModuleParams{
		BlockEmission:     1 * tx.UnitsPerDEAI,
		OwnerCut:          11796,
		CreateBurn:        100 * tx.UnitsPerDEAI,
		InitialBurn:       100_000,
		SubnetLimit:       128,
		MaxEpochsPerBlock: 2,
		MinNonImmuneUIDs:  10,
		ServingRateLimit:  50,
	}
}

// Validate checks the module parameters.
func (p ModuleParams) Validate() error {
	switch {
	case p.SubnetLimit == 0:
		return fmt.Errorf("subnet params: subnet_limit 0, want at least 1")
	case p.MaxEpochsPerBlock == 0:
		return fmt.Errorf("subnet params: max_epochs_per_block 0, want at least 1")
	case p.InitialBurn == 0:
		return fmt.Errorf("subnet params: initial_burn 0, want at least 1udeai")
	}
	return nil
}

// Genesis is the module's section of the genesis file:
//
//	"subnet": {"params": {"block_emission": "1000000", "owner_cut": 11796, …}}
//
// An absent section means DefaultGenesis; absent fields are errors, unknown
// fields too.
type Genesis struct {
	Params ModuleParams `json:"params"`
}

// DefaultGenesis returns the genesis with DefaultModuleParams.
func DefaultGenesis() Genesis { return Genesis{Params: DefaultModuleParams()} }

// parseGenesis decodes a genesis section strictly; nil means the default.
func parseGenesis(raw json.RawMessage) (Genesis, error) {
	if raw == nil {
		return DefaultGenesis(), nil
	}
	var g struct {
		Params *struct {
			BlockEmission     *tx.Amount `json:"block_emission"`
			OwnerCut          *uint16    `json:"owner_cut"`
			CreateBurn        *tx.Amount `json:"create_burn"`
			InitialBurn       *tx.Amount `json:"initial_burn"`
			SubnetLimit       *uint16    `json:"subnet_limit"`
			MaxEpochsPerBlock *uint16    `json:"max_epochs_per_block"`
			MinNonImmuneUIDs  *uint16    `json:"min_non_immune_uids"`
			ServingRateLimit  *uint64    `json:"serving_rate_limit"`
		} `json:"params"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return Genesis{}, fmt.Errorf("subnet genesis: %w", err)
	}
	if dec.More() {
		return Genesis{}, fmt.Errorf("subnet genesis: trailing data")
	}
	if g.Params == nil {
		return Genesis{}, fmt.Errorf("subnet genesis: missing params")
	}
	gp := g.Params
	missing := ""
	switch {
	case gp.BlockEmission == nil:
		missing = "block_emission"
	case gp.OwnerCut == nil:
		missing = "owner_cut"
	case gp.CreateBurn == nil:
		missing = "create_burn"
	case gp.InitialBurn == nil:
		missing = "initial_burn"
	case gp.SubnetLimit == nil:
		missing = "subnet_limit"
	case gp.MaxEpochsPerBlock == nil:
		missing = "max_epochs_per_block"
	case gp.MinNonImmuneUIDs == nil:
		missing = "min_non_immune_uids"
	case gp.ServingRateLimit == nil:
		missing = "serving_rate_limit"
	}
	if missing != "" {
		return Genesis{}, fmt.Errorf("subnet genesis: params: missing %s", missing)
	}
	out := Genesis{Params: ModuleParams{
		BlockEmission: *gp.BlockEmission, OwnerCut: *gp.OwnerCut, CreateBurn: *gp.CreateBurn,
		InitialBurn: *gp.InitialBurn, SubnetLimit: *gp.SubnetLimit, MaxEpochsPerBlock: *gp.MaxEpochsPerBlock,
		MinNonImmuneUIDs: *gp.MinNonImmuneUIDs, ServingRateLimit: *gp.ServingRateLimit,
	}}
	if err := out.Params.Validate(); err != nil {
		return Genesis{}, err
	}
	return out, nil
}

func appendModuleParams(dst []byte, p *ModuleParams) []byte {
	dst = tx.AppendU64(dst, uint64(p.BlockEmission))
	dst = tx.AppendU16(dst, p.OwnerCut)
	dst = tx.AppendU64(dst, uint64(p.CreateBurn))
	dst = tx.AppendU64(dst, uint64(p.InitialBurn))
	dst = tx.AppendU16(dst, p.SubnetLimit)
	dst = tx.AppendU16(dst, p.MaxEpochsPerBlock)
	dst = tx.AppendU16(dst, p.MinNonImmuneUIDs)
	return tx.AppendU64(dst, p.ServingRateLimit)
}

func readModuleParams(r *tx.Reader) ModuleParams {
	return ModuleParams{
		BlockEmission:     tx.Amount(r.U64()),
		OwnerCut:          r.U16(),
		CreateBurn:        tx.Amount(r.U64()),
		InitialBurn:       tx.Amount(r.U64()),
		SubnetLimit:       r.U16(),
		MaxEpochsPerBlock: r.U16(),
		MinNonImmuneUIDs:  r.U16(),
		ServingRateLimit:  r.U64(),
	}
}
