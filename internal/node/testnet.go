package node

import (
	"errors"
	"fmt"
	"time"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/config"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

// TestnetOptions describes a local multi-validator network.
type TestnetOptions struct {
	N         int
	OutDir    string
	ChainID   string
	BasePort  int           // node i: P2P BasePort+10i, RPC BasePort+10i+1
	BlockTime time.Duration // 0: chain.DefaultTestnetBlockTime
	// Funds is each validator operator's genesis balance.
	Funds tx.Amount
	// Passphrase encrypts each node's dev key; empty: generated per node and
	// written to that home's config/dev.passphrase.
	Passphrase []byte
	KDF        wallet.KDF
}

// TestnetNode describes one validator's home.
type TestnetNode struct {
	Home       string `json:"home"`
	NodeID     string `json:"node_id"`
	RPCAddr    string `json:"rpc_addr"`
	P2PAddr    string `json:"p2p_addr"`
	DevAddress string `json:"dev_address"`
}

// Testnet describes what InitTestnet wrote.
type Testnet struct {
	ChainID string        `json:"chain_id"`
	Nodes   []TestnetNode `json:"nodes"`
	// Chain is the chain layer's description of the same homes.
	Chain chain.Testnet `json:"-"`
}

// InitTestnet writes N validator homes sharing one genesis. Each home gets its
// own funded dev key and deai.toml; each starts with `deai node start --home`.
func InitTestnet(o TestnetOptions) (Testnet, error) {
	if o.N < 1 || o.N > 64 {
		return Testnet{}, fmt.Errorf("testnet: %d validators: want 1 to 64", o.N)
	}
	if o.OutDir == "" {
		return Testnet{}, errors.New("testnet: no output directory")
	}
	if o.ChainID == "" {
		o.ChainID = chain.DefaultChainID
	}
	if o.Funds == 0 {
		o.Funds = 1_000_000 * tx.UnitsPerDEAI
	}
	for i := 0; i < o.N; i++ {
		if chain.IsInitialized(chain.NodeHome(o.OutDir, i)) {
			return Testnet{}, fmt.Errorf("testnet: %s: %w", chain.NodeHome(o.OutDir, i), chain.ErrAlreadyInitialized)
		}
	}
	g := ledger.DefaultGenesis(o.ChainID)
	addrs := make([]tx.Address, o.N)
	for i := range addrs {
		home := chain.NodeHome(o.OutDir, i)
		c := config.Default()
		c.Chain.ChainID = o.ChainID
		if err := config.Save(home, c); err != nil {
			return Testnet{}, fmt.Errorf("testnet node %d: %w", i, err)
		}
		a, _, err := ensureDevKey(InitOptions{Home: home, DevPassphrase: o.Passphrase, KDF: o.KDF})
		if err != nil {
			return Testnet{}, fmt.Errorf("testnet node %d: %w", i, err)
		}
		addrs[i] = a
		g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: a, Balance: o.Funds})
	}
	appState, err := g.JSON()
	if err != nil {
		return Testnet{}, fmt.Errorf("testnet: encode genesis: %w", err)
	}
	tn, err := chain.InitTestnet(chain.TestnetOptions{
		N: o.N, OutDir: o.OutDir, ChainID: o.ChainID, AppState: appState, BasePort: o.BasePort, BlockTime: o.BlockTime,
	})
	if err != nil {
		return Testnet{}, fmt.Errorf("testnet: %w", err)
	}
	out := Testnet{ChainID: tn.ChainID, Chain: tn}
	for i, n := range tn.Nodes {
		out.Nodes = append(out.Nodes, TestnetNode{Home: n.Home, NodeID: n.NodeID, RPCAddr: n.RPCAddr, P2PAddr: n.P2PAddr, DevAddress: addrs[i].String()})
	}
	return out, nil
}
