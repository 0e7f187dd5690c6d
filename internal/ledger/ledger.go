// Package ledger is deai's state machine: accounts, balances, nonces, fees,
// transfers and chain params, with modules (bank built in; stake, subnets,
// market, channels and disputes later) plugged in as sub-packages through
// the module.Module interface. It is pure and deterministic: no network,
// files, clock, randomness, goroutines or map-order dependence; height and
// block time come in as arguments, and the same blocks give the same app
// hash on every node. It must not import CometBFT: abciapp adapts it to
// ABCI, and chain's in-memory twin drives it directly.
//
// Lifecycle, mirroring ABCI++:
//
//	l, _ := ledger.New(ledger.Config{KV: kv})   // loads the last commit from kv
//	appHash, _ := l.InitChain(genesis, 1)       // once, on an empty kv
//	res := l.CheckTx(txBytes, ledger.SigUnchecked) // mempool admission, own overlay
//	br, _ := l.FinalizeBlock(ledger.Block{...}) // execute a block in memory
//	ws, _ := l.Commit()                         // the writes to persist
//	kv.Apply(ws)                                // caller persists, atomically
//
// Every tx signature is verified once: CheckTx verifies unless told the
// bytes were already verified, and FinalizeBlock batch-verifies through the
// SigVerifier only the txs the caller does not flag as verified.
package ledger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// Aliases so that users of the ledger need only this package.
type (
	Module  = module.Module
	Context = module.Context
	Event   = module.Event
	Attr    = module.Attr
	Reason  = module.Reason
	Account = bank.Account
)

// Config configures a Ledger.
type Config struct {
	// KV is the committed state. After Commit, the caller must apply the
	// returned write set to it before the next call into the Ledger.
	KV state.KV
	// Modules are added after the built-in bank, in this order (which is
	// also the order of their block hooks).
	Modules []Module
	// Verifier checks signatures; nil means DefaultVerifier.
	Verifier SigVerifier
}

// Ledger is the state machine. It is not safe for concurrent use: the
// caller serializes calls (abciapp holds a mutex).
type Ledger struct {
	kv       state.KV
	modules  []Module // bank first
	reg      *tx.Registry
	handlers map[tx.MsgType]Module
	verifier SigVerifier

	pending *state.Overlay // finalized but not yet committed: genesis, until the first Commit
	block   *state.Overlay // the block being finalized; over pending
	check   *state.Overlay // CheckTx's view; over pending

	ready   bool // genesis applied (by InitChain, or found in kv)
	chainID string
	params  Params

	height     int64  // last committed height; 0 before the first block
	appHash    []byte // app hash at height
	lastTimeNs int64  // block time at height
	head       []byte // app hash of the latest finalized state, committed or not
	nextHeight int64  // the height the next FinalizeBlock must have

	fin *meta // set between FinalizeBlock and Commit
}

// reservedNames are taken by the core's query paths and key prefixes.
var reservedNames = map[string]bool{"ledger": true, "local": true, "account": true, "balance": true,
	"tx": true, "block": true, "params": true, "supply": true}

// New builds a ledger over cfg.KV and loads the last committed height, app
// hash, chain id and params from it, if any.
func New(cfg Config) (*Ledger, error) {
	if cfg.KV == nil {
		return nil, errors.New("new ledger: nil KV")
	}
	l := &Ledger{
		kv:       cfg.KV,
		reg:      tx.NewRegistry(),
		handlers: make(map[tx.MsgType]Module),
		verifier: cfg.Verifier,
	}
	if l.verifier == nil {
		l.verifier = DefaultVerifier{}
	}
	mods := append([]Module{bank.Module{}}, cfg.Modules...)
	names := map[string]bool{}
	for _, m := range mods {
		if err := l.addModule(m, names); err != nil {
			return nil, fmt.Errorf("new ledger: %w", err)
		}
	}
	l.pending = state.NewOverlay(l.kv)
	l.block = state.NewOverlay(l.pending)
	l.check = state.NewOverlay(l.pending)
	if err := l.load(); err != nil {
		return nil, fmt.Errorf("new ledger: %w", err)
	}
	return l, nil
}

func (l *Ledger) addModule(m Module, names map[string]bool) error {
	name := m.Name()
	if name == "" || reservedNames[name] || names[name] {
		return fmt.Errorf("module name %q is empty, reserved or taken", name)
	}
	for _, c := range name {
		if c < 'a' || c > 'z' {
			return fmt.Errorf("module name %q: lower-case letters only", name)
		}
	}
	names[name] = true
	before := map[tx.MsgType]bool{}
	for _, t := range l.reg.Types() {
		before[t] = true
	}
	if err := m.RegisterMsgs(l.reg); err != nil {
		return fmt.Errorf("module %s: %w", name, err)
	}
	for _, t := range l.reg.Types() {
		if !before[t] {
			l.handlers[t] = m
		}
	}
	l.modules = append(l.modules, m)
	return nil
}

func (l *Ledger) load() error {
	b, err := l.kv.Get(metaKey)
	if err != nil {
		return fmt.Errorf("read commit metadata: %w", err)
	}
	if b == nil {
		return nil // fresh store: wait for InitChain
	}
	m, err := decodeMeta(b)
	if err != nil {
		return fmt.Errorf("decode commit metadata: %w", err)
	}
	id, err := l.kv.Get(chainIDKey)
	if err != nil || id == nil {
		return fmt.Errorf("read chain id: missing or %v", err)
	}
	pb, err := l.kv.Get(paramsKey)
	if err != nil || pb == nil {
		return fmt.Errorf("read params: missing or %v", err)
	}
	var p Params
	if err := json.Unmarshal(pb, &p); err != nil {
		return fmt.Errorf("decode params: %w", err)
	}
	l.chainID, l.params, l.ready = string(id), p, true
	l.height, l.appHash, l.lastTimeNs = m.height, m.appHash, m.timeNs
	l.head, l.nextHeight = m.appHash, m.height+1
	return nil
}

// Registry returns the message registry of the ledger's modules, for
// decoding txs outside the ledger. It must not be modified.
func (l *Ledger) Registry() *tx.Registry { return l.reg }

// ChainID returns the chain id, empty before InitChain.
func (l *Ledger) ChainID() string { return l.chainID }

// Params returns the chain params.
func (l *Ledger) Params() Params { return l.params }

// Height returns the last committed height (0 before the first block).
func (l *Ledger) Height() int64 { return l.height }

// AppHash returns the app hash of the last committed height (nil before
// the first block).
func (l *Ledger) AppHash() []byte { return bytes.Clone(l.appHash) }

// InitChain applies the genesis and returns the genesis app hash. The
// genesis state stays in memory and is persisted with the first block's
// Commit, so a crash before then simply repeats InitChain. initialHeight is
// the height of the first block (0 means 1).
func (l *Ledger) InitChain(g Genesis, initialHeight int64) ([]byte, error) {
	if l.height > 0 {
		return nil, fmt.Errorf("init chain: already at height %d", l.height)
	}
	if err := g.Validate(); err != nil {
		return nil, fmt.Errorf("init chain: %w", err)
	}
	if g.ChainID == "" {
		return nil, errors.New("init chain: genesis has no chain id")
	}
	for name := range g.Modules {
		if !l.hasGenesisModule(name) {
			return nil, fmt.Errorf("init chain: genesis section for unknown module %q", name)
		}
	}
	for _, m := range l.modules {
		if gm, ok := m.(module.Genesis); ok {
			if err := gm.ValidateGenesis(g.Modules[m.Name()]); err != nil {
				return nil, fmt.Errorf("init chain: module %s: %w", m.Name(), err)
			}
		}
	}
	l.pending.Reset()
	l.block.Reset()
	l.check.Reset()
	ctx := &Context{Height: 0, ChainID: g.ChainID, Store: l.block}
	l.block.Set(chainIDKey, []byte(g.ChainID))
	l.block.Set(paramsKey, g.Params.encode())
	if err := bank.InitGenesis(ctx, g.Accounts); err != nil {
		return nil, fmt.Errorf("init chain: bank: %w", err)
	}
	for _, m := range l.modules {
		if gm, ok := m.(module.Genesis); ok {
			if err := gm.InitGenesis(ctx, g.Modules[m.Name()]); err != nil {
				return nil, fmt.Errorf("init chain: module %s: %w", m.Name(), err)
			}
		}
	}
	ws := l.block.WriteSet()
	hash := state.NextAppHash(nil, 0, ws)
	l.pending.Apply(ws)
	l.block.Reset()
	if initialHeight < 1 {
		initialHeight = 1
	}
	l.ready, l.chainID, l.params = true, g.ChainID, g.Params
	l.head, l.nextHeight, l.fin = hash, initialHeight, nil
	return bytes.Clone(hash), nil
}

func (l *Ledger) hasGenesisModule(name string) bool {
	for _, m := range l.modules {
		if _, ok := m.(module.Genesis); ok && m.Name() == name {
			return true
		}
	}
	return false
}
