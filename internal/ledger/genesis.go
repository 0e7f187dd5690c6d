package ledger

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/tx"
)

// Genesis is the ledger's genesis state: the app_state of CometBFT's
// genesis.json. Its JSON shape:
//
//	{
//	  "chain_id": "deai-devnet",
//	  "params": {"denom": "udeai", "min_fee": "1000", "max_tx_bytes": 16384, "max_memo_bytes": 256},
//	  "accounts": [{"address": "deai1…", "balance": "1000000000000"}],
//	  "modules": {"<module name>": {…}}
//	}
//
// Amounts are strings of udeai. chain_id may be empty, in which case
// InitChain takes CometBFT's chain id; if set, the two must agree.
type Genesis struct {
	ChainID  string                     `json:"chain_id"`
	Params   Params                     `json:"params"`
	Accounts []GenesisAccount           `json:"accounts"`
	Modules  map[string]json.RawMessage `json:"modules,omitempty"`
}

// GenesisAccount is one genesis allocation.
type GenesisAccount = bank.GenesisAccount

// DefaultGenesis returns a genesis with default params and no accounts.
func DefaultGenesis(chainID string) Genesis {
	return Genesis{ChainID: chainID, Params: DefaultParams(), Accounts: []GenesisAccount{}}
}

// ParseGenesis decodes genesis JSON strictly: unknown fields are errors.
func ParseGenesis(b []byte) (Genesis, error) {
	var g Genesis
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return Genesis{}, fmt.Errorf("parse genesis: %w", err)
	}
	if dec.More() {
		return Genesis{}, fmt.Errorf("parse genesis: trailing data")
	}
	return g, nil
}

// JSON returns the indented JSON encoding. It is deterministic, so the same
// Genesis always gives the same bytes (CometBFT hashes genesis.json).
func (g Genesis) JSON() ([]byte, error) { return json.MarshalIndent(g, "", "  ") }

// Validate checks chain id, params and allocations. Module sections are
// checked by Ledger.InitChain, which knows the modules.
func (g Genesis) Validate() error {
	if g.ChainID != "" {
		if err := validChainID(g.ChainID); err != nil {
			return fmt.Errorf("genesis: %w", err)
		}
	}
	if err := g.Params.Validate(); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	if err := bank.ValidateGenesis(g.Accounts); err != nil {
		return fmt.Errorf("genesis: %w", err)
	}
	return nil
}

func validChainID(id string) error {
	if len(id) == 0 || len(id) > tx.MaxChainIDLen {
		return fmt.Errorf("chain id %q: want 1..%d characters", id, tx.MaxChainIDLen)
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return fmt.Errorf("chain id %q: want printable ASCII without spaces", id)
		}
	}
	return nil
}
