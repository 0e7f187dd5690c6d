package market

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/deai-network/deai/internal/tx"
)

// Params are the module's chain-wide parameters, fixed at genesis (the
// "market" section of the genesis file).
type Params struct {
	// MinDeposit is the least a new deployment's escrow may start with.
	MinDeposit tx.Amount `json:"min_deposit"`
	// BidMinDeposit is the least a bid's deposit may be.
	BidMinDeposit tx.Amount `json:"bid_min_deposit"`
	// MaxBidsPerOrder caps the bids an order takes, counting every bid
	// ever made on it (open, active, lost and closed).
	MaxBidsPerOrder uint32 `json:"max_bids_per_order"`
	// BidTimeoutBlocks is the age in blocks at which an open bid is
	// closed by the chain and its deposit refunded; 0 means never.
	BidTimeoutBlocks uint64 `json:"bid_timeout_blocks"`
	// SettleEveryBlocks is the longest an escrow account with per-block
	// leases goes unsettled: EndBlock settles it this many blocks after
	// its last settlement, or at the block it runs dry if that is sooner.
	SettleEveryBlocks uint64 `json:"settle_every_blocks"`
	// EndBlockLimit bounds each EndBlock sweep (bid timeouts, settlements)
	// to this many entries per block; the rest wait for the next block.
	EndBlockLimit uint32 `json:"end_block_limit"`
}

// Bounds of the parameters.
const (
	HardMaxBidsPerOrder  = 500
	MaxBidTimeoutBlocks  = 10_000_000
	MaxSettleEveryBlocks = 10_000_000
	MaxEndBlockLimit     = 10_000
)

// DefaultParams returns 0.5 DEAI minimum deposits for deployments and bids
// (Akash's defaults), 20 bids per order, a bid timeout of 300 blocks (5
// minutes of 1 s blocks), a settlement at least every 100 blocks and 200
// entries per EndBlock sweep.
func DefaultParams() Params {
	return Params{
		MinDeposit:        500_000,
		BidMinDeposit:     500_000,
		MaxBidsPerOrder:   20,
		BidTimeoutBlocks:  300,
		SettleEveryBlocks: 100,
		EndBlockLimit:     200,
	}
}

// Validate checks the parameters against their bounds.
func (p Params) Validate() error {
	switch {
	case p.MinDeposit == 0:
		return fmt.Errorf("market params: min_deposit 0, want at least 1udeai")
	case p.BidMinDeposit == 0:
		return fmt.Errorf("market params: bid_min_deposit 0, want at least 1udeai")
	case p.MaxBidsPerOrder < 1 || p.MaxBidsPerOrder > HardMaxBidsPerOrder:
		return fmt.Errorf("market params: max_bids_per_order %d, want 1..%d", p.MaxBidsPerOrder, HardMaxBidsPerOrder)
	case p.BidTimeoutBlocks > MaxBidTimeoutBlocks:
		return fmt.Errorf("market params: bid_timeout_blocks %d, want 0 (never) to %d", p.BidTimeoutBlocks, MaxBidTimeoutBlocks)
	case p.SettleEveryBlocks < 1 || p.SettleEveryBlocks > MaxSettleEveryBlocks:
		return fmt.Errorf("market params: settle_every_blocks %d, want 1..%d", p.SettleEveryBlocks, MaxSettleEveryBlocks)
	case p.EndBlockLimit < 1 || p.EndBlockLimit > MaxEndBlockLimit:
		return fmt.Errorf("market params: end_block_limit %d, want 1..%d", p.EndBlockLimit, MaxEndBlockLimit)
	}
	return nil
}

func appendParams(dst []byte, p *Params) []byte {
	dst = tx.AppendU64(dst, uint64(p.MinDeposit))
	dst = tx.AppendU64(dst, uint64(p.BidMinDeposit))
	dst = tx.AppendU32(dst, p.MaxBidsPerOrder)
	dst = tx.AppendU64(dst, p.BidTimeoutBlocks)
	dst = tx.AppendU64(dst, p.SettleEveryBlocks)
	return tx.AppendU32(dst, p.EndBlockLimit)
}

func readParams(r *tx.Reader) Params {
	return Params{
		MinDeposit:        tx.Amount(r.U64()),
		BidMinDeposit:     tx.Amount(r.U64()),
		MaxBidsPerOrder:   r.U32(),
		BidTimeoutBlocks:  r.U64(),
		SettleEveryBlocks: r.U64(),
		EndBlockLimit:     r.U32(),
	}
}

// Genesis is the module's section of the genesis file:
//
//	"market": {"params": {"min_deposit": "500000", "bid_min_deposit": "500000",
//	  "max_bids_per_order": 20, "bid_timeout_blocks": 300,
//	  "settle_every_blocks": 100, "end_block_limit": 200}}
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
			MinDeposit        *tx.Amount `json:"min_deposit"`
			BidMinDeposit     *tx.Amount `json:"bid_min_deposit"`
			MaxBidsPerOrder   *uint32    `json:"max_bids_per_order"`
			BidTimeoutBlocks  *uint64    `json:"bid_timeout_blocks"`
			SettleEveryBlocks *uint64    `json:"settle_every_blocks"`
			EndBlockLimit     *uint32    `json:"end_block_limit"`
		} `json:"params"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return Genesis{}, fmt.Errorf("market genesis: %w", err)
	}
	if dec.More() {
		return Genesis{}, fmt.Errorf("market genesis: trailing data")
	}
	if g.Params == nil {
		return Genesis{}, fmt.Errorf("market genesis: missing params")
	}
	gp := g.Params
	missing := ""
	switch {
	case gp.MinDeposit == nil:
		missing = "min_deposit"
	case gp.BidMinDeposit == nil:
		missing = "bid_min_deposit"
	case gp.MaxBidsPerOrder == nil:
		missing = "max_bids_per_order"
	case gp.BidTimeoutBlocks == nil:
		missing = "bid_timeout_blocks"
	case gp.SettleEveryBlocks == nil:
		missing = "settle_every_blocks"
	case gp.EndBlockLimit == nil:
		missing = "end_block_limit"
	}
	if missing != "" {
		return Genesis{}, fmt.Errorf("market genesis: params: missing %s", missing)
	}
	out := Genesis{Params: Params{
		MinDeposit: *gp.MinDeposit, BidMinDeposit: *gp.BidMinDeposit, MaxBidsPerOrder: *gp.MaxBidsPerOrder,
		BidTimeoutBlocks: *gp.BidTimeoutBlocks, SettleEveryBlocks: *gp.SettleEveryBlocks, EndBlockLimit: *gp.EndBlockLimit,
	}}
	if err := out.Params.Validate(); err != nil {
		return Genesis{}, err
	}
	return out, nil
}
