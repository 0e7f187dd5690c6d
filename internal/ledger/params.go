package ledger

import (
	"encoding/json"
	"fmt"

	"github.com/deai-network/deai/internal/tx"
)

// Params are the chain parameters, fixed at genesis.
type Params struct {
	Denom        string    `json:"denom"`          // always tx.Denom
	MinFee       tx.Amount `json:"min_fee"`        // minimum fee per tx, burned
	MaxTxBytes   uint32    `json:"max_tx_bytes"`   // at most tx.MaxTxBytes
	MaxMemoBytes uint32    `json:"max_memo_bytes"` // at most tx.MaxMemoBytes
}

// DefaultParams returns the devnet parameters: a 0.001 DEAI fee floor,
// 16 KiB txs and 256-byte memos.
func DefaultParams() Params {
	return Params{Denom: tx.Denom, MinFee: 1000, MaxTxBytes: tx.MaxTxBytes, MaxMemoBytes: tx.MaxMemoBytes}
}

// minTxBytes is the smallest max_tx_bytes that still admits a transfer.
const minTxBytes = 256

// Validate checks the parameters.
func (p Params) Validate() error {
	switch {
	case p.Denom != tx.Denom:
		return fmt.Errorf("params: denom %q, want %q", p.Denom, tx.Denom)
	case p.MaxTxBytes < minTxBytes || p.MaxTxBytes > tx.MaxTxBytes:
		return fmt.Errorf("params: max_tx_bytes %d, want %d..%d", p.MaxTxBytes, minTxBytes, tx.MaxTxBytes)
	case p.MaxMemoBytes > tx.MaxMemoBytes:
		return fmt.Errorf("params: max_memo_bytes %d, want at most %d", p.MaxMemoBytes, tx.MaxMemoBytes)
	}
	return nil
}

func (p Params) encode() []byte {
	b, err := json.Marshal(p) // struct fields marshal in a fixed order
	if err != nil {
		panic(err) // unreachable: plain struct
	}
	return b
}
