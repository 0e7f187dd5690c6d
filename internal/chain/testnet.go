package chain

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	cmttypes "github.com/cometbft/cometbft/types"
)

// Testnet defaults.
const (
	DefaultTestnetBasePort  = 36656
	DefaultTestnetBlockTime = 300 * time.Millisecond
)

// TestnetOptions describes a local multi-validator network.
type TestnetOptions struct {
	N        int    // validators, at least 1
	OutDir   string // homes are OutDir/node0 … OutDir/node<N-1>
	ChainID  string // default DefaultChainID
	AppState json.RawMessage
	// Host the nodes listen on and dial each other at. Default 127.0.0.1.
	Host string
	// BasePort: node i listens for P2P on BasePort+10*i and for RPC on
	// BasePort+10*i+1. Default DefaultTestnetBasePort.
	BasePort int
	// BlockTime is consensus.timeout_commit. Default DefaultTestnetBlockTime.
	BlockTime time.Duration
	// ProposeTimeout is consensus.timeout_propose. Default DefaultProposeTimeout.
	ProposeTimeout time.Duration
	// GenesisTime defaults to now.
	GenesisTime time.Time
}

// Testnet describes the homes InitTestnet wrote.
type Testnet struct {
	ChainID     string
	GenesisHash []byte
	Nodes       []HomeInfo
}

// NodeHome is the home directory of validator i in a testnet at outDir.
func NodeHome(outDir string, i int) string {
	return filepath.Join(outDir, "node"+strconv.Itoa(i))
}

// InitTestnet writes o.N homes sharing one genesis with o.N validators of
// equal power. Each lists all the others as persistent peers, allows peers on
// the same IP, runs without PEX and waits o.ProposeTimeout for a dead
// proposer. Each home then starts with NewNode (or `deai node start --home`).
func InitTestnet(o TestnetOptions) (Testnet, error) {
	if o.N < 1 {
		return Testnet{}, fmt.Errorf("init testnet: %d validators: want at least 1", o.N)
	}
	if o.OutDir == "" {
		return Testnet{}, errors.New("init testnet: no output directory given")
	}
	if o.ChainID == "" {
		o.ChainID = DefaultChainID
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.BasePort == 0 {
		o.BasePort = DefaultTestnetBasePort
	}
	if o.BasePort < 1 || o.BasePort+10*(o.N-1)+1 > 65535 {
		return Testnet{}, fmt.Errorf("init testnet: base port %d does not fit %d nodes", o.BasePort, o.N)
	}
	if o.BlockTime == 0 {
		o.BlockTime = DefaultTestnetBlockTime
	}
	if o.GenesisTime.IsZero() {
		o.GenesisTime = time.Now().UTC().Truncate(time.Millisecond)
	}

	type prepared struct {
		opts HomeOptions
		c    *cfg.Config
		keys nodeKeys
	}
	nodes := make([]prepared, o.N)
	for i := range nodes {
		p2pPort := o.BasePort + 10*i
		ho := HomeOptions{
			Home:           NodeHome(o.OutDir, i),
			ChainID:        o.ChainID,
			Moniker:        "node" + strconv.Itoa(i),
			AppState:       o.AppState,
			GenesisTime:    o.GenesisTime,
			BlockTime:      o.BlockTime,
			ProposeTimeout: o.ProposeTimeout,
			RPCAddr:        "tcp://" + net.JoinHostPort(o.Host, strconv.Itoa(p2pPort+1)),
			P2PAddr:        "tcp://" + net.JoinHostPort(o.Host, strconv.Itoa(p2pPort)),
			Loopback:       true,
		}
		c, err := prepareHome(&ho)
		if err != nil {
			return Testnet{}, fmt.Errorf("init testnet node %d: %w", i, err)
		}
		keys, err := loadOrGenKeys(c)
		if err != nil {
			return Testnet{}, fmt.Errorf("init testnet node %d: %w", i, err)
		}
		nodes[i] = prepared{opts: ho, c: c, keys: keys}
	}

	vals := make([]cmttypes.GenesisValidator, o.N)
	for i, n := range nodes {
		pk := n.keys.pv.Key.PubKey
		vals[i] = cmttypes.GenesisValidator{Address: pk.Address(), PubKey: pk, Power: 10, Name: n.opts.Moniker}
	}
	out := Testnet{ChainID: o.ChainID}
	for i, n := range nodes {
		var peers []string
		for j, m := range nodes {
			if j != i {
				peers = append(peers, string(m.keys.nodeKey.ID())+"@"+strings.TrimPrefix(m.c.P2P.ListenAddress, "tcp://"))
			}
		}
		n.c.P2P.PersistentPeers = strings.Join(peers, ",")
		gen := &cmttypes.GenesisDoc{
			ChainID:         o.ChainID,
			GenesisTime:     o.GenesisTime,
			ConsensusParams: cmttypes.DefaultConsensusParams(),
			Validators:      vals,
			AppState:        o.AppState,
		}
		hash, err := writeGenesis(n.c.GenesisFile(), gen)
		if err != nil {
			return Testnet{}, fmt.Errorf("init testnet node %d: %w", i, err)
		}
		if err := writeConfig(ConfigFile(n.opts.Home), n.c); err != nil {
			return Testnet{}, fmt.Errorf("init testnet node %d: %w", i, err)
		}
		out.GenesisHash = hash
		out.Nodes = append(out.Nodes, homeInfo(n.opts, n.c, n.keys, hash))
	}
	return out, nil
}
