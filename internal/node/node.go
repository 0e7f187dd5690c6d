// Package node is deai's composition root: it turns the configuration into
// each service's Options, builds the services (today: the ledger app on an
// embedded CometBFT node) and runs them. It depends on nearly every package;
// nothing but the CLI imports it.
package node

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cmtcfg "github.com/cometbft/cometbft/config"

	"github.com/deai-network/deai/internal/abciapp"
	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/config"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/agents"
	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/ledger/subnet"
	dlog "github.com/deai-network/deai/internal/log"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

// DevKeyName is the keystore name of the funded development account that
// Init creates.
const DevKeyName = "dev"

// KeysDir is the keystore directory inside a home.
func KeysDir(home string) string { return filepath.Join(home, "keys") }

// DevPassphraseFile is where Init keeps the generated passphrase of the dev
// key when none was given: a devnet convenience, readable only by the owner.
func DevPassphraseFile(home string) string {
	return filepath.Join(home, "config", DevKeyName+".passphrase")
}

// InitOptions describes a new single-node home.
type InitOptions struct {
	Home   string
	Config config.Config
	// DevPassphrase encrypts the dev key. Empty: a random one is generated
	// and written to DevPassphraseFile.
	DevPassphrase []byte
	// KDF overrides the keystore's key-derivation cost (tests); zero value
	// means the wallet's default.
	KDF wallet.KDF
	// GenesisTime defaults to now.
	GenesisTime time.Time
}

// InitResult describes the home Init created.
type InitResult struct {
	Home              string     `json:"home"`
	ChainID           string     `json:"chain_id"`
	NodeID            string     `json:"node_id"`
	RPCAddr           string     `json:"rpc_addr"`
	P2PAddr           string     `json:"p2p_addr"`
	DevKey            string     `json:"dev_key"`
	DevAddress        string     `json:"dev_address"`
	DevBalance        tx.Amount  `json:"dev_balance"`
	DevPassphraseFile string     `json:"dev_passphrase_file,omitempty"`
	Created           bool       `json:"created"`
	Genesis           time.Time  `json:"genesis_time"`
	Info              *HomeState `json:"-"`
}

// HomeState is what an existing home says about itself.
type HomeState struct {
	ChainID string
	NodeID  string
	RPCAddr string
}

// IsInitialized reports whether home holds a complete node home.
func IsInitialized(home string) bool { return chain.IsInitialized(home) }

// Init creates a home: deai.toml, the dev key in the encrypted keystore, and
// a CometBFT home whose genesis funds the dev account with Config.Chain.DevFunds.
func Init(o InitOptions) (InitResult, error) {
	if o.Home == "" {
		return InitResult{}, errors.New("init: empty home")
	}
	if err := o.Config.Validate(); err != nil {
		return InitResult{}, fmt.Errorf("init: %w", err)
	}
	if chain.IsInitialized(o.Home) {
		return InitResult{}, fmt.Errorf("init %s: %w", o.Home, chain.ErrAlreadyInitialized)
	}
	funds, err := tx.ParseAmount(o.Config.Chain.DevFunds)
	if err != nil {
		return InitResult{}, fmt.Errorf("init: config [chain] dev_funds: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(o.Home, "config"), 0o700); err != nil {
		return InitResult{}, fmt.Errorf("init: %w", err)
	}
	if err := config.Save(o.Home, o.Config); err != nil {
		return InitResult{}, fmt.Errorf("init: %w", err)
	}

	res := InitResult{Home: o.Home, DevKey: DevKeyName, DevBalance: funds, Created: true}
	key, passFile, err := ensureDevKey(o)
	if err != nil {
		return InitResult{}, err
	}
	res.DevAddress = key.String()
	res.DevPassphraseFile = passFile

	g := ledger.DefaultGenesis(o.Config.Chain.ChainID)
	g.Accounts = append(g.Accounts, ledger.GenesisAccount{Address: key, Balance: funds})
	appState, err := g.JSON()
	if err != nil {
		return InitResult{}, fmt.Errorf("init: encode genesis: %w", err)
	}
	gt := o.GenesisTime
	if gt.IsZero() {
		gt = time.Now().UTC()
	}
	info, err := chain.InitHome(chain.HomeOptions{
		Home:        o.Home,
		ChainID:     o.Config.Chain.ChainID,
		AppState:    appState,
		GenesisTime: gt,
		BlockTime:   o.Config.Chain.BlockTime.Duration,
		RPCAddr:     o.Config.Chain.RPCAddr,
		P2PAddr:     o.Config.Chain.P2PAddr,
	})
	if err != nil {
		return InitResult{}, fmt.Errorf("init: %w", err)
	}
	res.ChainID, res.NodeID, res.RPCAddr, res.P2PAddr, res.Genesis = info.ChainID, info.NodeID, info.RPCAddr, info.P2PAddr, gt
	return res, nil
}

// ensureDevKey creates the dev key (or reuses one left by an interrupted
// init) and returns its address and, when generated, the passphrase file.
func ensureDevKey(o InitOptions) (tx.Address, string, error) {
	var opts []wallet.Option
	if o.KDF != (wallet.KDF{}) {
		opts = append(opts, wallet.WithKDF(o.KDF))
	}
	ks, err := wallet.Open(KeysDir(o.Home), opts...)
	if err != nil {
		return tx.Address{}, "", fmt.Errorf("init: open keystore: %w", err)
	}
	if has, err := ks.Has(DevKeyName); err != nil {
		return tx.Address{}, "", fmt.Errorf("init: %w", err)
	} else if has {
		info, err := ks.Info(DevKeyName)
		if err != nil {
			return tx.Address{}, "", fmt.Errorf("init: %w", err)
		}
		passFile := ""
		if _, err := os.Stat(DevPassphraseFile(o.Home)); err == nil {
			passFile = DevPassphraseFile(o.Home)
		}
		return info.Address, passFile, nil
	}
	pass, passFile := o.DevPassphrase, ""
	if len(pass) == 0 {
		raw := make([]byte, 24)
		if _, err := rand.Read(raw); err != nil {
			return tx.Address{}, "", fmt.Errorf("init: generate dev passphrase: %w", err)
		}
		pass = []byte(base64.RawURLEncoding.EncodeToString(raw))
		passFile = DevPassphraseFile(o.Home)
		if err := writeNew(passFile, append(pass, '\n')); err != nil {
			return tx.Address{}, "", fmt.Errorf("init: %w", err)
		}
	}
	k, _, err := ks.Create(DevKeyName, pass)
	if err != nil {
		return tx.Address{}, "", fmt.Errorf("init: create dev key: %w", err)
	}
	return k.Address(), passFile, nil
}

// writeNew writes a new 0600 file, refusing to replace one.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// Options configures a running node.
type Options struct {
	Home   string
	Config config.Config
	Logger *slog.Logger
	// ConsensusLogger receives CometBFT's own records (filtered to
	// Config.Log.ConsensusLevel); nil uses Logger.
	ConsensusLogger *slog.Logger
	// RPCAddr, if set, overrides the home's CometBFT RPC listen address for
	// this run only.
	RPCAddr string
	// Configure, if set, edits CometBFT's config for this run (benchmarks,
	// tests); it is not saved.
	Configure func(*cmtcfg.Config)
}

// Node is a running deai node: the ledger app on an embedded CometBFT node.
type Node struct {
	chain *chain.Node
	app   *abciapp.App
	db    dbm.DB
	log   *slog.Logger
}

// AppDBName is the ledger's own database inside the home's data directory.
const AppDBName = "ledger"

// Start opens the ledger database, builds the app and starts CometBFT. ctx
// bounds the start (handshake, block replay); the node then runs until Stop.
func Start(ctx context.Context, o Options) (*Node, error) {
	log := dlog.OrDiscard(o.Logger)
	if !chain.IsInitialized(o.Home) {
		return nil, fmt.Errorf("start node: %s: %w (run deai init)", o.Home, chain.ErrNotInitialized)
	}
	db, err := dbm.NewDB(AppDBName, dbm.GoLevelDBBackend, filepath.Join(o.Home, "data"))
	if err != nil {
		return nil, fmt.Errorf("start node: open ledger db: %w", err)
	}
	app, err := abciapp.New(abciapp.Options{DB: db, Logger: log.With(dlog.KeyComponent, "ledger"), Modules: []ledger.Module{subnet.New(), lmarket.New(), agents.New(), paych.New()}})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("start node: %w", err)
	}
	clog := o.ConsensusLogger
	if clog == nil {
		clog = log
	}
	cn, err := chain.NewNode(ctx, chain.NodeOptions{
		Home:     o.Home,
		App:      app,
		Logger:   clog.With(dlog.KeyComponent, "cometbft"),
		LogLevel: o.Config.Log.ConsensusLevel,
		Configure: func(c *cmtcfg.Config) {
			if o.RPCAddr != "" {
				c.RPC.ListenAddress = o.RPCAddr
			}
			if o.Configure != nil {
				o.Configure(c)
			}
		},
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("start node: %w", err)
	}
	if err := cn.Start(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("start node: %w", err)
	}
	return &Node{chain: cn, app: app, db: db, log: log}, nil
}

// Client is the in-process chain client.
func (n *Node) Client() chain.Client { return n.chain.Client() }

// RPCAddr is the CometBFT RPC listen address.
func (n *Node) RPCAddr() string { return n.chain.RPCAddr() }

// NodeID is the CometBFT node ID.
func (n *Node) NodeID() string { return n.chain.NodeID() }

// Height is the latest committed block height.
func (n *Node) Height() int64 { return n.chain.Height() }

// WaitHeight blocks until a block at height h or above is committed, or ctx
// ends.
func (n *Node) WaitHeight(ctx context.Context, h int64) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for n.Height() < h {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// Stop stops CometBFT, then closes the ledger database.
func (n *Node) Stop() error {
	err := n.chain.Stop()
	if cerr := n.db.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close ledger db: %w", cerr)
	}
	return err
}

// Run starts a node and blocks until ctx ends, then stops it. ready, if not
// nil, is called once the node is running.
func Run(ctx context.Context, o Options, ready func(*Node) error) error {
	n, err := Start(ctx, o)
	if err != nil {
		return err
	}
	if ready != nil {
		if err := ready(n); err != nil {
			n.Stop()
			return err
		}
	}
	<-ctx.Done()
	return n.Stop()
}

// queryInto runs an ABCI query and decodes its JSON answer; a non-zero code
// is an error carrying the app's message.
func queryInto(ctx context.Context, c chain.Client, path string, v any) error {
	r, err := c.Query(ctx, path, nil)
	if err != nil {
		return fmt.Errorf("query %s: %w", path, err)
	}
	if r.Code != 0 {
		return fmt.Errorf("query %s: %s (code %d)", path, r.Log, r.Code)
	}
	if err := json.Unmarshal(r.Value, v); err != nil {
		return fmt.Errorf("query %s: decode: %w", path, err)
	}
	return nil
}
