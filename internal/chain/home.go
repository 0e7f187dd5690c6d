package chain

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cfg "github.com/cometbft/cometbft/config"
	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/privval"
	cmttypes "github.com/cometbft/cometbft/types"
)

// Defaults for a devnet home.
const (
	DefaultChainID        = "deai-devnet"
	DefaultMoniker        = "deai"
	DefaultBlockTime      = 500 * time.Millisecond // consensus.timeout_commit
	DefaultProposeTimeout = time.Second            // consensus.timeout_propose
	DefaultRPCAddr        = "tcp://127.0.0.1:26657"
	DefaultP2PAddr        = "tcp://127.0.0.1:26656"
	DefaultMempoolSize    = 50000
	DefaultMempoolCache   = 100000
)

// Errors about homes.
var (
	ErrAlreadyInitialized = errors.New("home already initialized")
	ErrNotInitialized     = errors.New("home not initialized")
)

// HomeOptions describes a node home to create.
type HomeOptions struct {
	Home     string // required
	ChainID  string // default DefaultChainID
	Moniker  string // default DefaultMoniker
	AppState json.RawMessage
	// GenesisTime defaults to now. Set it to build identical genesis files.
	GenesisTime time.Time
	// BlockTime is consensus.timeout_commit: the pause after each commit.
	// Default DefaultBlockTime.
	BlockTime time.Duration
	// ProposeTimeout is consensus.timeout_propose: how long validators wait
	// for a dead proposer. Default DefaultProposeTimeout.
	ProposeTimeout time.Duration
	RPCAddr        string // default DefaultRPCAddr
	P2PAddr        string // default DefaultP2PAddr
	// PersistentPeers is "id@host:port,…".
	PersistentPeers string
	// Seeds is "id@host:port,…". Peer exchange (PEX) runs only when seeds
	// are given: deai networks list their peers explicitly, and a PEX
	// address book is written to config/ in the background, even after
	// Stop returns.
	Seeds string
	// Loopback allows several peers on one IP (local testnets).
	Loopback bool
	// TxIndexer is "null" (default: the app indexes its own txs) or "kv".
	TxIndexer string
	// ValidatorPower of this home's validator in a single-validator genesis.
	// Default 10.
	ValidatorPower int64
	// Genesis, if set, is an existing network's genesis.json, written
	// byte for byte instead of a new single-validator genesis: for a node
	// joining that network. ChainID, AppState and ValidatorPower are then
	// taken from it or ignored.
	Genesis []byte
}

// HomeInfo describes an initialized home.
type HomeInfo struct {
	Home             string
	ChainID          string
	NodeID           string
	ValidatorAddress []byte
	ValidatorPubKey  []byte // ed25519
	RPCAddr          string
	P2PAddr          string
	GenesisHash      []byte // SHA-256 of genesis.json as written
}

// GenesisFile is the path of genesis.json inside a home.
func GenesisFile(home string) string { return filepath.Join(home, "config", "genesis.json") }

// IsInitialized reports whether home holds a complete node home: config,
// genesis, validator key and state, and node key.
func IsInitialized(home string) bool {
	c := cfg.DefaultConfig()
	c.SetRoot(home)
	for _, p := range []string{ConfigFile(home), c.GenesisFile(), c.PrivValidatorKeyFile(), c.PrivValidatorStateFile(), c.NodeKeyFile()} {
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// InitHome creates a single-validator home: config/config.toml, the
// validator key and its double-sign state file, the node key and
// genesis.json. It refuses a home that already has a genesis.json
// (ErrAlreadyInitialized): genesis is written once, since CometBFT records the
// genesis it first started from in its state DB. Existing keys in a
// half-made home are kept.
func InitHome(o HomeOptions) (HomeInfo, error) {
	c, err := prepareHome(&o)
	if err != nil {
		return HomeInfo{}, err
	}
	keys, err := loadOrGenKeys(c)
	if err != nil {
		return HomeInfo{}, err
	}
	if o.Genesis != nil {
		hash, err := writeGenesisBytes(c.GenesisFile(), o.Genesis)
		if err != nil {
			return HomeInfo{}, err
		}
		if err := writeConfig(ConfigFile(o.Home), c); err != nil {
			return HomeInfo{}, err
		}
		return homeInfo(o, c, keys, hash), nil
	}
	gen := &cmttypes.GenesisDoc{
		ChainID:         o.ChainID,
		GenesisTime:     o.GenesisTime,
		ConsensusParams: cmttypes.DefaultConsensusParams(),
		Validators: []cmttypes.GenesisValidator{{
			Address: keys.pv.Key.PubKey.Address(), PubKey: keys.pv.Key.PubKey, Power: o.ValidatorPower, Name: o.Moniker,
		}},
		AppState: o.AppState,
	}
	hash, err := writeGenesis(c.GenesisFile(), gen)
	if err != nil {
		return HomeInfo{}, err
	}
	if err := writeConfig(ConfigFile(o.Home), c); err != nil {
		return HomeInfo{}, err
	}
	return homeInfo(o, c, keys, hash), nil
}

type nodeKeys struct {
	pv      *privval.FilePV
	nodeKey *p2p.NodeKey
}

func homeInfo(o HomeOptions, c *cfg.Config, k nodeKeys, genHash []byte) HomeInfo {
	return HomeInfo{
		Home:             o.Home,
		ChainID:          o.ChainID,
		NodeID:           string(k.nodeKey.ID()),
		ValidatorAddress: k.pv.Key.PubKey.Address(),
		ValidatorPubKey:  k.pv.Key.PubKey.Bytes(),
		RPCAddr:          c.RPC.ListenAddress,
		P2PAddr:          c.P2P.ListenAddress,
		GenesisHash:      genHash,
	}
}

// prepareHome fills defaults into o, checks that the home has no genesis
// yet, creates its directories and returns its config.
func prepareHome(o *HomeOptions) (*cfg.Config, error) {
	if o.Home == "" {
		return nil, errors.New("init home: no home directory given")
	}
	if o.ChainID == "" {
		o.ChainID = DefaultChainID
	}
	if o.Moniker == "" {
		o.Moniker = DefaultMoniker
	}
	if o.GenesisTime.IsZero() {
		o.GenesisTime = time.Now().UTC().Truncate(time.Millisecond)
	}
	if o.BlockTime == 0 {
		o.BlockTime = DefaultBlockTime
	}
	if o.ProposeTimeout == 0 {
		o.ProposeTimeout = DefaultProposeTimeout
	}
	if o.RPCAddr == "" {
		o.RPCAddr = DefaultRPCAddr
	}
	if o.P2PAddr == "" {
		o.P2PAddr = DefaultP2PAddr
	}
	if o.TxIndexer == "" {
		o.TxIndexer = "null"
	}
	if o.ValidatorPower == 0 {
		o.ValidatorPower = 10
	}
	switch {
	case o.BlockTime < 0, o.ProposeTimeout < 0:
		return nil, errors.New("init home: negative block time or propose timeout")
	case o.TxIndexer != "null" && o.TxIndexer != "kv":
		return nil, fmt.Errorf("init home: tx indexer %q: want null or kv", o.TxIndexer)
	case o.ValidatorPower < 0:
		return nil, errors.New("init home: negative validator power")
	}
	if len(o.AppState) > 0 && !json.Valid(o.AppState) {
		return nil, errors.New("init home: app state is not valid JSON")
	}
	if o.Genesis != nil {
		gen, err := cmttypes.GenesisDocFromJSON(o.Genesis)
		if err != nil {
			return nil, fmt.Errorf("init home: genesis: %w", err)
		}
		o.ChainID = gen.ChainID
	}
	home, err := filepath.Abs(o.Home)
	if err != nil {
		return nil, fmt.Errorf("init home: %w", err)
	}
	o.Home = home
	if _, err := os.Stat(GenesisFile(home)); err == nil {
		return nil, fmt.Errorf("init home %s: %w", home, ErrAlreadyInitialized)
	}
	for _, d := range []string{home, filepath.Join(home, "config"), filepath.Join(home, "data")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("init home: %w", err)
		}
	}

	c := cfg.DefaultConfig()
	c.SetRoot(home)
	c.Moniker = o.Moniker
	c.DBBackend = string("goleveldb")
	c.LogLevel = "error"
	c.Consensus.TimeoutCommit = o.BlockTime
	c.Consensus.TimeoutPropose = o.ProposeTimeout
	c.RPC.ListenAddress = o.RPCAddr
	// Our RPC client multiplexes subscriptions, but other tools may not.
	c.RPC.MaxSubscriptionsPerClient = 50
	// Room for a max-size tx, base64 and JSON-RPC framing.
	c.RPC.MaxBodyBytes = 4 * int64(c.Mempool.MaxTxBytes)
	c.P2P.ListenAddress = o.P2PAddr
	c.P2P.PersistentPeers = o.PersistentPeers
	c.P2P.Seeds = o.Seeds
	c.P2P.PexReactor = o.Seeds != ""
	if o.Loopback {
		c.P2P.AllowDuplicateIP = true
		c.P2P.AddrBookStrict = false
	}
	c.Mempool.Size = DefaultMempoolSize
	c.Mempool.CacheSize = DefaultMempoolCache
	c.TxIndex.Indexer = o.TxIndexer
	c.Instrumentation.Prometheus = false
	if err := c.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("init home: %w", err)
	}
	return c, nil
}

// loadOrGenKeys loads the validator and node keys of a home, generating any
// that are missing. It checks existing files first because CometBFT's loader
// exits the process on a bad file.
func loadOrGenKeys(c *cfg.Config) (nodeKeys, error) {
	keyFile, stateFile := c.PrivValidatorKeyFile(), c.PrivValidatorStateFile()
	var pv *privval.FilePV
	if _, err := os.Stat(keyFile); err == nil {
		if _, err := os.Stat(stateFile); errors.Is(err, os.ErrNotExist) {
			// A key without its state file: start from an empty sign state,
			// safe only because this home has no genesis and so never signed.
			if err := checkPVKey(keyFile); err != nil {
				return nodeKeys{}, err
			}
			pv = privval.LoadFilePVEmptyState(keyFile, stateFile)
			pv.Save()
		} else {
			if pv, err = loadFilePV(keyFile, stateFile); err != nil {
				return nodeKeys{}, err
			}
		}
	} else {
		pv = privval.GenFilePV(keyFile, stateFile)
		if err := savePV(pv); err != nil {
			return nodeKeys{}, err
		}
	}
	nk, err := p2p.LoadOrGenNodeKey(c.NodeKeyFile())
	if err != nil {
		return nodeKeys{}, fmt.Errorf("load node key: %w", err)
	}
	return nodeKeys{pv: pv, nodeKey: nk}, nil
}

// loadFilePV loads a validator key and its sign state, returning an error
// for a missing or corrupt file where privval.LoadFilePV would exit.
func loadFilePV(keyFile, stateFile string) (*privval.FilePV, error) {
	if err := checkPVKey(keyFile); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(stateFile)
	if err != nil {
		return nil, fmt.Errorf("load validator state: %w", err)
	}
	var st privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("load validator state %s: %w", stateFile, err)
	}
	return privval.LoadFilePV(keyFile, stateFile), nil
}

func checkPVKey(keyFile string) error {
	data, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("load validator key: %w", err)
	}
	var k privval.FilePVKey
	if err := cmtjson.Unmarshal(data, &k); err != nil {
		return fmt.Errorf("load validator key %s: %w", keyFile, err)
	}
	if k.PrivKey == nil {
		return fmt.Errorf("load validator key %s: no private key", keyFile)
	}
	return nil
}

// savePV writes a new validator key and state. FilePV.Save panics on an
// I/O error; that becomes an error here.
func savePV(pv *privval.FilePV) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("save validator key: %v", r)
		}
	}()
	pv.Save()
	return nil
}

// writeGenesis validates gen and writes it to path, refusing to overwrite.
func writeGenesis(path string, gen *cmttypes.GenesisDoc) ([]byte, error) {
	if err := gen.ValidateAndComplete(); err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	data, err := cmtjson.MarshalIndent(gen, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("genesis: %w", err)
	}
	return writeGenesisBytes(path, data)
}

// writeGenesisBytes writes a genesis file exactly as given, refusing to
// overwrite, and returns its SHA-256.
func writeGenesisBytes(path string, data []byte) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("write genesis %s: %w", path, ErrAlreadyInitialized)
		}
		return nil, fmt.Errorf("write genesis: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return nil, fmt.Errorf("write genesis: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("write genesis: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("write genesis: %w", err)
	}
	h := sha256.Sum256(data)
	return h[:], nil
}

// ReadHomeInfo describes an initialized home without starting a node.
func ReadHomeInfo(home string) (HomeInfo, error) {
	if !IsInitialized(home) {
		return HomeInfo{}, fmt.Errorf("read home %s: %w", home, ErrNotInitialized)
	}
	c, err := LoadConfig(home)
	if err != nil {
		return HomeInfo{}, err
	}
	pv, err := loadFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())
	if err != nil {
		return HomeInfo{}, err
	}
	nk, err := p2p.LoadNodeKey(c.NodeKeyFile())
	if err != nil {
		return HomeInfo{}, fmt.Errorf("load node key: %w", err)
	}
	data, err := os.ReadFile(c.GenesisFile())
	if err != nil {
		return HomeInfo{}, fmt.Errorf("read genesis: %w", err)
	}
	gen, err := cmttypes.GenesisDocFromJSON(data)
	if err != nil {
		return HomeInfo{}, fmt.Errorf("read genesis: %w", err)
	}
	h := sha256.Sum256(data)
	return homeInfo(HomeOptions{Home: c.RootDir, ChainID: gen.ChainID}, c, nodeKeys{pv: pv, nodeKey: nk}, h[:]), nil
}
