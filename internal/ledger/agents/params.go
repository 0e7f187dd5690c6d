package agents

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/deai-network/deai/internal/tx"
)

// Params are the module's chain-wide parameters, fixed at genesis (the
// "agents" section of the genesis file).
type Params struct {
	// FeePerBlock is burned for every block of a service registration:
	// at registration for the blocks up to its expiry, at renewal for the
	// blocks added. 0 makes registration free (but for the tx fee).
	FeePerBlock tx.Amount `json:"fee_per_block"`
	// MaxRegistrationBlocks bounds how far past the current height a
	// service's expiry may be.
	MaxRegistrationBlocks uint64 `json:"max_registration_blocks"`
	// EndBlockLimit bounds each EndBlock sweep of expired services to
	// this many entries per block; the rest wait for the next block.
	EndBlockLimit uint32 `json:"end_block_limit"`
}

// Bounds of the parameters.
const (
	HardMaxRegistrationBlocks = 1_000_000_000
	MaxEndBlockLimit          = 10_000
)

// DefaultParams returns a fee of 1 udeai per block of registration (0.0864
// DEAI a day at 1 s blocks), registrations of up to a year of 1 s blocks
// and 200 expiries per EndBlock.
func DefaultParams() Params {
	return Params{FeePerBlock: 1, MaxRegistrationBlocks: 31_536_000, EndBlockLimit: 200}
}

// Validate checks the parameters against their bounds.
func (p Params) Validate() error {
	switch {
	case p.MaxRegistrationBlocks < 1 || p.MaxRegistrationBlocks > HardMaxRegistrationBlocks:
		return fmt.Errorf("agents params: max_registration_blocks %d, want 1..%d", p.MaxRegistrationBlocks, HardMaxRegistrationBlocks)
	case p.EndBlockLimit < 1 || p.EndBlockLimit > MaxEndBlockLimit:
		return fmt.Errorf("agents params: end_block_limit %d, want 1..%d", p.EndBlockLimit, MaxEndBlockLimit)
	}
	if _, err := p.FeePerBlock.Mul(p.MaxRegistrationBlocks); err != nil {
		return fmt.Errorf("agents params: fee_per_block %s × max_registration_blocks %d overflows", p.FeePerBlock, p.MaxRegistrationBlocks)
	}
	return nil
}

func appendParams(dst []byte, p *Params) []byte {
	dst = tx.AppendU64(dst, uint64(p.FeePerBlock))
	dst = tx.AppendU64(dst, p.MaxRegistrationBlocks)
	return tx.AppendU32(dst, p.EndBlockLimit)
}

func readParams(r *tx.Reader) Params {
	return Params{FeePerBlock: tx.Amount(r.U64()), MaxRegistrationBlocks: r.U64(), EndBlockLimit: r.U32()}
}

// Genesis is the module's section of the genesis file:
//
//	"agents": {"params": {"fee_per_block": "1", "max_registration_blocks": 31536000,
//	  "end_block_limit": 200}}
//
// An absent section means DefaultGenesis; absent fields are errors,
// unknown fields too.
type Genesis struct {
	Params Params `json:"params"`
}

// DefaultGenesis returns the genesis with DefaultParams.
func DefaultGenesis() Genesis { return Genesis{Params: DefaultParams()} }

// ParseGenesis decodes a genesis section strictly and validates it; nil
// means DefaultGenesis.
func ParseGenesis(raw json.RawMessage) (Genesis, error) {
	if raw == nil {
		return DefaultGenesis(), nil
	}
	var g struct {
		Params *struct {
			FeePerBlock           *tx.Amount `json:"fee_per_block"`
			MaxRegistrationBlocks *uint64    `json:"max_registration_blocks"`
			EndBlockLimit         *uint32    `json:"end_block_limit"`
		} `json:"params"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return Genesis{}, fmt.Errorf("agents genesis: %w", err)
	}
	if dec.More() {
		return Genesis{}, fmt.Errorf("agents genesis: trailing data")
	}
	if g.Params == nil {
		return Genesis{}, fmt.Errorf("agents genesis: missing params")
	}
	gp := g.Params
	missing := ""
	switch {
	case gp.FeePerBlock == nil:
		missing = "fee_per_block"
	case gp.MaxRegistrationBlocks == nil:
		missing = "max_registration_blocks"
	case gp.EndBlockLimit == nil:
		missing = "end_block_limit"
	}
	if missing != "" {
		return Genesis{}, fmt.Errorf("agents genesis: params: missing %s", missing)
	}
	out := Genesis{Params: Params{FeePerBlock: *gp.FeePerBlock, MaxRegistrationBlocks: *gp.MaxRegistrationBlocks, EndBlockLimit: *gp.EndBlockLimit}}
	if err := out.Params.Validate(); err != nil {
		return Genesis{}, err
	}
	return out, nil
}
