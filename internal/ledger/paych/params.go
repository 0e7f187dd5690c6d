package paych

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/deai-network/deai/internal/tx"
)

// Params are the module's chain-wide parameters, fixed at genesis (the
// "paych" section of the genesis file).
type Params struct {
	// MinSettleDelay and MaxSettleDelay bound a channel's settle delay:
	// the blocks between MsgSettle and the end of the window in which the
	// payee can still redeem its latest vouchers.
	MinSettleDelay uint64 `json:"min_settle_delay"`
	MaxSettleDelay uint64 `json:"max_settle_delay"`
	// MinDeposit is the least a channel may be opened with.
	MinDeposit tx.Amount `json:"min_deposit"`
	// MaxLanes bounds the lanes of one channel.
	MaxLanes uint32 `json:"max_lanes"`
}

// Bounds of the parameters.
const (
	HardMaxSettleDelay = 100_000_000
	HardMaxLanes       = 65_536
)

// DefaultParams returns a settle delay of 15 minutes to 30 days of 1 s
// blocks (x402's batch-settlement withdraw delays), a 0.001 DEAI minimum
// deposit and 1024 lanes per channel.
func DefaultParams() Params {
	return Params{MinSettleDelay: 900, MaxSettleDelay: 2_592_000, MinDeposit: 1000, MaxLanes: 1024}
}

// Validate checks the parameters against their bounds.
func (p Params) Validate() error {
	switch {
	case p.MinSettleDelay < 1:
		return fmt.Errorf("paych params: min_settle_delay 0, want at least 1 block")
	case p.MaxSettleDelay < p.MinSettleDelay || p.MaxSettleDelay > HardMaxSettleDelay:
		return fmt.Errorf("paych params: max_settle_delay %d, want min_settle_delay (%d) to %d", p.MaxSettleDelay, p.MinSettleDelay, HardMaxSettleDelay)
	case p.MinDeposit == 0:
		return fmt.Errorf("paych params: min_deposit 0, want at least 1udeai")
	case p.MaxLanes < 1 || p.MaxLanes > HardMaxLanes:
		return fmt.Errorf("paych params: max_lanes %d, want 1..%d", p.MaxLanes, HardMaxLanes)
	}
	return nil
}

func appendParams(dst []byte, p *Params) []byte {
	dst = tx.AppendU64(dst, p.MinSettleDelay)
	dst = tx.AppendU64(dst, p.MaxSettleDelay)
	dst = tx.AppendU64(dst, uint64(p.MinDeposit))
	return tx.AppendU32(dst, p.MaxLanes)
}

func readParams(r *tx.Reader) Params {
	return Params{MinSettleDelay: r.U64(), MaxSettleDelay: r.U64(), MinDeposit: tx.Amount(r.U64()), MaxLanes: r.U32()}
}

// Genesis is the module's section of the genesis file:
//
//	"paych": {"params": {"min_settle_delay": 900, "max_settle_delay": 2592000,
//	  "min_deposit": "1000", "max_lanes": 1024}}
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
			MinSettleDelay *uint64    `json:"min_settle_delay"`
			MaxSettleDelay *uint64    `json:"max_settle_delay"`
			MinDeposit     *tx.Amount `json:"min_deposit"`
			MaxLanes       *uint32    `json:"max_lanes"`
		} `json:"params"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return Genesis{}, fmt.Errorf("paych genesis: %w", err)
	}
	if dec.More() {
		return Genesis{}, fmt.Errorf("paych genesis: trailing data")
	}
	if g.Params == nil {
		return Genesis{}, fmt.Errorf("paych genesis: missing params")
	}
	gp := g.Params
	missing := ""
	switch {
	case gp.MinSettleDelay == nil:
		missing = "min_settle_delay"
	case gp.MaxSettleDelay == nil:
		missing = "max_settle_delay"
	case gp.MinDeposit == nil:
		missing = "min_deposit"
	case gp.MaxLanes == nil:
		missing = "max_lanes"
	}
	if missing != "" {
		return Genesis{}, fmt.Errorf("paych genesis: params: missing %s", missing)
	}
	out := Genesis{Params: Params{MinSettleDelay: *gp.MinSettleDelay, MaxSettleDelay: *gp.MaxSettleDelay, MinDeposit: *gp.MinDeposit, MaxLanes: *gp.MaxLanes}}
	if err := out.Params.Validate(); err != nil {
		return Genesis{}, err
	}
	return out, nil
}
