package abciapp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// AppVersion is reported in Info; it changes when the state machine's
// rules change.
const AppVersion = 1

// DefaultVerifiedCacheSize bounds the verified-tx cache (per generation).
const DefaultVerifiedCacheSize = 100_000

// Log attribute keys.
const (
	logKeyHeight = "height"
	logKeyTxs    = "txs"
	logKeyCode   = "code"
)

// Options configures an App.
type Options struct {
	// DB holds the ledger's committed state. The caller opens and closes
	// it; the App writes to it only in Commit.
	DB dbm.DB
	// Logger receives the App's logs; nil discards them.
	Logger *slog.Logger
	// Modules are the ledger modules added after the built-in bank.
	Modules []ledger.Module
	// VerifyWorkers is the number of goroutines that batch-verify
	// signatures in FinalizeBlock; 0 means GOMAXPROCS.
	VerifyWorkers int
	// VerifiedCacheSize bounds the verified-tx cache; 0 means
	// DefaultVerifiedCacheSize.
	VerifiedCacheSize int
}

// App is the deai ABCI++ application. Its methods are safe for concurrent
// use.
type App struct {
	abci.BaseApplication

	db       dbm.DB
	log      *slog.Logger
	reg      *tx.Registry  // read-only: decodes txs outside the lock
	verifier batchVerifier // stateless

	mu        sync.Mutex     // guards the fields below
	ledger    *ledger.Ledger // not safe for concurrent use on its own
	verified  *verifiedCache
	finalized []tx.Hash // txs of the finalized, uncommitted block
}

var _ abci.Application = (*App)(nil)

// New returns an App over opts.DB, resuming from whatever was committed
// there.
func New(opts Options) (*App, error) {
	if opts.DB == nil {
		return nil, errors.New("new abci app: nil DB")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	verifier := batchVerifier{workers: opts.VerifyWorkers}
	l, err := ledger.New(ledger.Config{
		KV:       dbKV{opts.DB},
		Modules:  opts.Modules,
		Verifier: verifier,
	})
	if err != nil {
		return nil, fmt.Errorf("new abci app: %w", err)
	}
	size := opts.VerifiedCacheSize
	if size <= 0 {
		size = DefaultVerifiedCacheSize
	}
	return &App{db: opts.DB, log: log, reg: l.Registry(), verifier: verifier, ledger: l, verified: newVerifiedCache(size)}, nil
}

// Info reports the last committed height and app hash.
func (a *App) Info(_ context.Context, _ *abci.RequestInfo) (*abci.ResponseInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &abci.ResponseInfo{
		Data:             "deai",
		Version:          "1",
		AppVersion:       AppVersion,
		LastBlockHeight:  a.ledger.Height(),
		LastBlockAppHash: a.ledger.AppHash(),
	}, nil
}

// InitChain applies the ledger genesis in req.AppStateBytes (a
// ledger.Genesis as JSON; empty means ledger.DefaultGenesis) and returns
// the genesis app hash.
func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	g := ledger.DefaultGenesis(req.ChainId)
	if len(req.AppStateBytes) > 0 {
		var err error
		if g, err = ledger.ParseGenesis(req.AppStateBytes); err != nil {
			return nil, fmt.Errorf("init chain: %w", err)
		}
	}
	switch {
	case g.ChainID == "":
		g.ChainID = req.ChainId
	case g.ChainID != req.ChainId:
		return nil, fmt.Errorf("init chain: app_state chain_id %q differs from the chain's %q", g.ChainID, req.ChainId)
	}
	hash, err := a.ledger.InitChain(g, req.InitialHeight)
	if err != nil {
		return nil, err
	}
	a.log.Info("genesis applied", "chain_id", g.ChainID, "accounts", len(g.Accounts))
	return &abci.ResponseInitChain{AppHash: hash}, nil
}

// CheckTx admits or rejects a tx for the mempool. A new tx's signature is
// verified once, before taking the App's lock (so that with a per-connection
// ABCI client it runs in parallel with block execution), unless the cache
// already vouches for its bytes; a recheck never verifies again (only txs
// that passed a verifying CheckTx are rechecked).
func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	h := tx.HashOf(req.Tx)
	sig := ledger.SigValid
	if req.Type != abci.CheckTxType_Recheck {
		a.mu.Lock()
		cached := a.verified.has(h)
		a.mu.Unlock()
		if !cached {
			sig = a.verify(req.Tx)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.ledger.CheckTx(req.Tx, sig)
	if r.OK() && req.Type != abci.CheckTxType_Recheck {
		a.verified.add(h)
	}
	code := uint32(r.Code)
	return &abci.ResponseCheckTx{Code: code, Log: r.Log, Codespace: codespace(code)}, nil
}

// verify checks raw's signature without touching the ledger's state. It
// leaves undecodable txs to the ledger, which rejects them for what they
// are.
func (a *App) verify(raw []byte) ledger.SigState {
	t, err := tx.Decode(raw, a.reg)
	if err != nil {
		return ledger.SigUnchecked
	}
	if a.verifier.Verify(t.PubKey, tx.SignBytesOf(raw), t.Signature) {
		return ledger.SigValid
	}
	return ledger.SigInvalid
}

// protoSize is a tx's share of a block's MaxTxBytes, as CometBFT counts it
// (types.ComputeProtoSizeForTxs): field tag, length varint, bytes.
func protoSize(n int) int64 {
	s := int64(1 + n)
	for v := uint64(n); ; v >>= 7 {
		s++
		if v < 0x80 {
			return s
		}
	}
}

// PrepareProposal keeps the mempool's order, drops txs that fail the
// stateless checks, and stops at req.MaxTxBytes.
func (a *App) PrepareProposal(_ context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([][]byte, 0, len(req.Txs))
	var size int64
	for _, raw := range req.Txs {
		if err := a.ledger.Precheck(raw); err != nil {
			a.log.Debug("proposal: dropping tx", logKeyCode, module.ReasonOf(err).String(), "err", err)
			continue
		}
		s := protoSize(len(raw))
		if size+s > req.MaxTxBytes {
			break
		}
		size += s
		out = append(out, raw)
	}
	return &abci.ResponsePrepareProposal{Txs: out}, nil
}

// ProcessProposal rejects a block that contains a tx no honest proposer
// would include: one that does not decode, is over the size limit or has an
// unknown message type. The check is stateless, so every validator decides
// the same. Txs that decode but fail later (bad nonce, funds, signature)
// are executed with a failure code instead.
func (a *App) ProcessProposal(_ context.Context, req *abci.RequestProcessProposal) (*abci.ResponseProcessProposal, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i, raw := range req.Txs {
		switch r := module.ReasonOf(a.ledger.Precheck(raw)); r {
		case module.ReasonMalformed, module.ReasonOversize, module.ReasonUnknownMsg:
			a.log.Info("rejecting proposal", logKeyHeight, req.Height, "tx", i, logKeyCode, r.String())
			return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_REJECT}, nil
		}
	}
	return &abci.ResponseProcessProposal{Status: abci.ResponseProcessProposal_ACCEPT}, nil
}

// FinalizeBlock executes the block in memory and returns its results and
// app hash.
func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	verified := make([]bool, len(req.Txs))
	for i, raw := range req.Txs {
		verified[i] = a.verified.has(tx.HashOf(raw))
	}
	res, err := a.ledger.FinalizeBlock(ledger.Block{
		Height:       req.Height,
		TimeUnixNano: req.Time.UnixNano(),
		Hash:         req.Hash,
		Txs:          req.Txs,
		Verified:     verified,
	})
	if err != nil {
		a.log.Error("finalize block failed", logKeyHeight, req.Height, "err", err)
		return nil, err
	}
	results := make([]*abci.ExecTxResult, len(res.TxResults))
	for i := range res.TxResults {
		r := &res.TxResults[i]
		code := uint32(r.Code)
		results[i] = &abci.ExecTxResult{Code: code, Log: r.Log, Codespace: codespace(code), Events: events(r.Events)}
	}
	a.finalized = res.TxHashes
	a.log.Debug("block finalized", logKeyHeight, req.Height, logKeyTxs, len(req.Txs))
	return &abci.ResponseFinalizeBlock{TxResults: results, Events: events(res.Events), AppHash: res.AppHash}, nil
}

func events(evs []ledger.Event) []abci.Event {
	if len(evs) == 0 {
		return nil
	}
	out := make([]abci.Event, len(evs))
	for i, e := range evs {
		attrs := make([]abci.EventAttribute, len(e.Attrs))
		for j, at := range e.Attrs {
			attrs[j] = abci.EventAttribute{Key: at.Key, Value: at.Value, Index: true}
		}
		out[i] = abci.Event{Type: e.Type, Attributes: attrs}
	}
	return out
}

// Commit persists the finalized block in one synced batch.
func (a *App) Commit(_ context.Context, _ *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ws, err := a.ledger.Commit()
	if err != nil {
		return nil, err
	}
	if err := writeBatch(a.db, ws); err != nil {
		a.log.Error("commit failed", logKeyHeight, a.ledger.Height(), "err", err)
		return nil, fmt.Errorf("commit height %d: %w", a.ledger.Height(), err)
	}
	for _, h := range a.finalized {
		a.verified.remove(h)
	}
	a.finalized = nil
	return &abci.ResponseCommit{}, nil
}

func writeBatch(db dbm.DB, ws state.WriteSet) error {
	b := db.NewBatch()
	defer b.Close()
	for _, w := range ws {
		var err error
		if w.Delete {
			err = b.Delete(w.Key)
		} else {
			err = b.Set(w.Key, w.Value)
		}
		if err != nil {
			return fmt.Errorf("batch write %q: %w", w.Key, err)
		}
	}
	return b.WriteSync()
}

// Query answers the paths documented in the package doc with JSON, from
// the last committed state (req.Height must be 0 or that height). Errors
// come back as a code (CodeNotFound, CodeBadQuery, …) and a log.
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	height := a.ledger.Height()
	if req.Height != 0 && req.Height != height {
		return &abci.ResponseQuery{Code: CodeBadQuery, Codespace: Codespace, Height: height,
			Log: fmt.Sprintf("query at height %d: only the latest height (%d) can be queried", req.Height, height)}, nil
	}
	b, err := a.ledger.Query(req.Path)
	if err != nil {
		code := uint32(module.ReasonOf(err))
		return &abci.ResponseQuery{Code: code, Log: err.Error(), Codespace: codespace(code), Height: height}, nil
	}
	return &abci.ResponseQuery{Value: b, Height: height}, nil
}

// dbKV is the ledger's committed store over cometbft-db.
type dbKV struct{ db dbm.DB }

func (k dbKV) Get(key []byte) ([]byte, error) { return k.db.Get(key) }

func (k dbKV) Iterate(prefix []byte, fn func(key, value []byte) error) (err error) {
	var start, end []byte
	if len(prefix) > 0 {
		start, end = prefix, prefixEnd(prefix)
	}
	it, err := k.db.Iterator(start, end)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := it.Close(); err == nil {
			err = cerr
		}
	}()
	for ; it.Valid(); it.Next() {
		if err := fn(it.Key(), it.Value()); err != nil {
			return err
		}
	}
	return it.Error()
}

// prefixEnd returns the smallest key greater than every key with prefix,
// or nil if there is none.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}
