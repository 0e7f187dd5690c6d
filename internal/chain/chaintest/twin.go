package chaintest

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/p2p"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmtversion "github.com/cometbft/cometbft/proto/tendermint/version"
	cmttypes "github.com/cometbft/cometbft/types"
	"github.com/cometbft/cometbft/version"

	"github.com/deai-network/deai/internal/chain"
)

// Mode says when the twin makes blocks.
type Mode int

const (
	// Immediate makes one block right after each accepted tx, inside the
	// Broadcast call, so BroadcastSync's tx is committed when it returns.
	Immediate Mode = iota
	// Manual makes blocks only on NextBlock (or from Run's ticks).
	Manual
)

// Defaults of the twin.
const (
	DefaultChainID    = "deai-twin"
	DefaultMaxTxBytes = 1024 * 1024 // CometBFT's mempool.max_tx_bytes
	DefaultBlockStep  = time.Second
)

// DefaultGenesisTime is the genesis time of a twin whose options set none.
var DefaultGenesisTime = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// Options configures a twin.
type Options struct {
	App      abci.Application // required
	ChainID  string           // default DefaultChainID
	AppState json.RawMessage  // passed to InitChain
	Mode     Mode
	// GenesisTime defaults to DefaultGenesisTime.
	GenesisTime time.Time
	// Now gives each block's time; it is called once per block. The
	// default is deterministic: GenesisTime + height × BlockStep.
	Now       func() time.Time
	BlockStep time.Duration // default DefaultBlockStep
	// Mempool limits, as CometBFT's mempool section. Zero means the same
	// defaults chain.InitHome writes.
	MaxTxBytes  int
	MempoolSize int
	CacheSize   int
	// NoRecheck skips re-running CheckTx on pending txs after each block.
	NoRecheck bool
}

// Client is the in-memory twin of a chain node: it drives an ABCI app
// directly (CheckTx on submit, then PrepareProposal, ProcessProposal,
// FinalizeBlock and Commit per block) with no consensus, network or disk,
// and publishes the same events on a CometBFT event bus. Its methods are
// safe for concurrent use; app calls are serialized by one lock, as with
// CometBFT's local client.
type Client struct {
	opts      Options
	bus       *cmttypes.EventBus
	nodeID    string
	val       *cmttypes.Validator
	valSet    *cmttypes.ValidatorSet
	params    cmttypes.ConsensusParams
	subID     atomic.Uint64
	closed    chan struct{}
	closeOnce sync.Once

	mu           sync.Mutex // guards the fields below and every App call
	height       int64
	appHash      []byte
	appVersion   uint64
	lastID       cmttypes.BlockID
	lastResHash  []byte
	blocks       []stored // index i is height base+i
	base         int64
	pending      []pendingTx
	pendingBytes int64
	cache        *txCache
	waiters      map[string][]chan chain.TxResult
}

type stored struct {
	block   chain.Block
	results []chain.TxResult
}

type pendingTx struct {
	tx   []byte
	hash string
}

var _ chain.Client = (*Client)(nil)

// New builds a twin over o.App: it asks the app for its height (Info) and,
// for a fresh app, runs InitChain with one validator and o.AppState.
func New(ctx context.Context, o Options) (*Client, error) {
	if o.App == nil {
		return nil, errors.New("chaintest: no ABCI application")
	}
	if o.ChainID == "" {
		o.ChainID = DefaultChainID
	}
	if o.GenesisTime.IsZero() {
		o.GenesisTime = DefaultGenesisTime
	}
	if o.BlockStep <= 0 {
		o.BlockStep = DefaultBlockStep
	}
	if o.MaxTxBytes <= 0 {
		o.MaxTxBytes = DefaultMaxTxBytes
	}
	if o.MempoolSize <= 0 {
		o.MempoolSize = chain.DefaultMempoolSize
	}
	if o.CacheSize <= 0 {
		o.CacheSize = chain.DefaultMempoolCache
	}
	valKey := ed25519.GenPrivKeyFromSecret([]byte("validator/" + o.ChainID))
	nodeKey := ed25519.GenPrivKeyFromSecret([]byte("node/" + o.ChainID))
	val := cmttypes.NewValidator(valKey.PubKey(), 10)
	c := &Client{
		opts:    o,
		bus:     cmttypes.NewEventBusWithBufferCapacity(0),
		nodeID:  string(p2p.PubKeyToID(nodeKey.PubKey())),
		val:     val,
		valSet:  cmttypes.NewValidatorSet([]*cmttypes.Validator{val}),
		params:  *cmttypes.DefaultConsensusParams(),
		closed:  make(chan struct{}),
		cache:   newTxCache(o.CacheSize),
		waiters: map[string][]chan chain.TxResult{},
	}
	if err := c.bus.Start(); err != nil {
		return nil, fmt.Errorf("chaintest: start event bus: %w", err)
	}
	if err := c.handshake(ctx); err != nil {
		c.bus.Stop() //nolint:errcheck // reporting the handshake error
		return nil, err
	}
	return c, nil
}

func (c *Client) handshake(ctx context.Context) error {
	info, err := c.opts.App.Info(ctx, &abci.RequestInfo{Version: version.TMCoreSemVer, BlockVersion: version.BlockProtocol, P2PVersion: version.P2PProtocol, AbciVersion: version.ABCIVersion})
	if err != nil {
		return fmt.Errorf("chaintest: app info: %w", err)
	}
	c.appVersion = info.AppVersion
	if info.LastBlockHeight > 0 {
		// A persistent app restarted: carry on from its height. The blocks
		// before it are not known to this twin.
		c.height = info.LastBlockHeight
		c.base = info.LastBlockHeight + 1
		c.appHash = info.LastBlockAppHash
		return nil
	}
	pp := c.params.ToProto()
	res, err := c.opts.App.InitChain(ctx, &abci.RequestInitChain{
		Time:            c.opts.GenesisTime,
		ChainId:         c.opts.ChainID,
		ConsensusParams: &pp,
		Validators:      cmttypes.TM2PB.ValidatorUpdates(c.valSet),
		AppStateBytes:   c.opts.AppState,
		InitialHeight:   1,
	})
	if err != nil {
		return fmt.Errorf("chaintest: init chain: %w", err)
	}
	c.appHash = res.AppHash
	c.base = 1
	return nil
}

// Close stops the event bus, closing every subscription, and fails pending
// BroadcastCommit calls with chain.ErrClosed. It does not close the App.
func (c *Client) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	if c.bus.IsRunning() {
		if err := c.bus.Stop(); err != nil {
			return fmt.Errorf("chaintest: close: %w", err)
		}
	}
	return nil
}

func (c *Client) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// Height is the height of the latest block (0 before the first).
func (c *Client) Height() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.height
}

// Pending is the number of txs waiting for a block.
func (c *Client) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.pending)
}

// BroadcastSync runs CheckTx as CometBFT's mempool does (size limits, the
// duplicate cache) and, in Immediate mode, commits the tx in a new block.
func (c *Client) BroadcastSync(ctx context.Context, tx []byte) (chain.CheckResult, error) {
	if c.isClosed() {
		return chain.CheckResult{}, chain.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return chain.CheckResult{}, fmt.Errorf("broadcast tx: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	res, err := c.checkTxLocked(ctx, tx)
	if err != nil || !res.OK() || c.opts.Mode != Immediate {
		return res, err
	}
	if _, err := c.nextBlockLocked(ctx); err != nil {
		return chain.CheckResult{}, err
	}
	return res, nil
}

// BroadcastCommit submits tx and waits for its block. In Immediate mode the
// block is made at once; in Manual mode it waits for NextBlock or ctx.
func (c *Client) BroadcastCommit(ctx context.Context, tx []byte) (chain.TxResult, error) {
	if c.isClosed() {
		return chain.TxResult{}, chain.ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return chain.TxResult{}, fmt.Errorf("broadcast tx: %w", err)
	}
	hash := chain.TxHash(tx)
	key := string(hash)
	w := make(chan chain.TxResult, 1)
	c.mu.Lock()
	res, err := c.checkTxLocked(ctx, tx)
	if err != nil || !res.OK() {
		c.mu.Unlock()
		return res.AsTxResult(), err
	}
	c.waiters[key] = append(c.waiters[key], w)
	if c.opts.Mode == Immediate {
		if _, err := c.nextBlockLocked(ctx); err != nil {
			c.removeWaiterLocked(key, w)
			c.mu.Unlock()
			return chain.TxResult{}, err
		}
	}
	c.mu.Unlock()
	select {
	case r := <-w:
		return r, nil
	case <-ctx.Done():
		c.mu.Lock()
		c.removeWaiterLocked(key, w)
		c.mu.Unlock()
		return chain.TxResult{}, fmt.Errorf("wait for tx %X to commit: %w", hash, ctx.Err())
	case <-c.closed:
		return chain.TxResult{}, chain.ErrClosed
	}
}

func (c *Client) removeWaiterLocked(key string, w chan chain.TxResult) {
	ws := c.waiters[key]
	for i, x := range ws {
		if x == w {
			ws = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(ws) == 0 {
		delete(c.waiters, key)
	} else {
		c.waiters[key] = ws
	}
}

// checkTxLocked mirrors CListMempool.CheckTx: capacity, size, cache, then
// the app; a rejected tx leaves the cache so it may be sent again.
func (c *Client) checkTxLocked(ctx context.Context, tx []byte) (chain.CheckResult, error) {
	if len(c.pending) >= c.opts.MempoolSize {
		return chain.CheckResult{}, fmt.Errorf("%w: %d txs (max %d)", chain.ErrMempoolFull, len(c.pending), c.opts.MempoolSize)
	}
	if len(tx) > c.opts.MaxTxBytes {
		return chain.CheckResult{}, fmt.Errorf("%w: max size is %d, but got %d", chain.ErrTxTooLarge, c.opts.MaxTxBytes, len(tx))
	}
	key := string(chain.TxHash(tx))
	if !c.cache.push(key) {
		return chain.CheckResult{}, fmt.Errorf("%w: tx already exists in cache", chain.ErrTxInCache)
	}
	r, err := c.opts.App.CheckTx(ctx, &abci.RequestCheckTx{Tx: tx, Type: abci.CheckTxType_New})
	if err != nil {
		c.cache.remove(key)
		return chain.CheckResult{}, fmt.Errorf("broadcast tx: check tx: %w", err)
	}
	if r.Code != abci.CodeTypeOK {
		c.cache.remove(key)
		return chain.FromCheckTx(tx, r), nil
	}
	c.pending = append(c.pending, pendingTx{tx: tx, hash: key})
	c.pendingBytes += int64(len(tx))
	return chain.FromCheckTx(tx, r), nil
}

// NextBlock makes one block from the pending txs (possibly none) and
// commits it.
func (c *Client) NextBlock(ctx context.Context) (chain.Block, error) {
	if c.isClosed() {
		return chain.Block{}, chain.ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nextBlockLocked(ctx)
}

// Run makes a block on every tick until ctx ends, for a twin in Manual mode
// that should advance like a node (pass a time.Ticker's C, or a channel a
// test controls).
func (c *Client) Run(ctx context.Context, tick <-chan time.Time) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.closed:
			return nil
		case <-tick:
			if _, err := c.NextBlock(ctx); err != nil {
				return err
			}
		}
	}
}

func (c *Client) blockTime(height int64) time.Time {
	if c.opts.Now != nil {
		return c.opts.Now()
	}
	return c.opts.GenesisTime.Add(time.Duration(height) * c.opts.BlockStep)
}

func (c *Client) nextBlockLocked(ctx context.Context) (chain.Block, error) {
	h := c.height + 1
	t := c.blockTime(h)
	proposer := c.val.Address

	txs := make([][]byte, len(c.pending))
	for i, p := range c.pending {
		txs[i] = p.tx
	}
	prep, err := c.opts.App.PrepareProposal(ctx, &abci.RequestPrepareProposal{
		MaxTxBytes:         cmttypes.MaxDataBytesNoEvidence(c.params.Block.MaxBytes, 1),
		Txs:                txs,
		Height:             h,
		Time:               t,
		NextValidatorsHash: c.valSet.Hash(),
		ProposerAddress:    proposer,
	})
	if err != nil {
		return chain.Block{}, fmt.Errorf("chaintest: prepare proposal %d: %w", h, err)
	}
	blockTxs := make(cmttypes.Txs, len(prep.Txs))
	for i, tx := range prep.Txs {
		blockTxs[i] = tx
	}

	lastCommit := &cmttypes.Commit{Height: h - 1, BlockID: c.lastID}
	if h > 1 {
		lastCommit.Signatures = []cmttypes.CommitSig{{BlockIDFlag: cmttypes.BlockIDFlagCommit, ValidatorAddress: proposer, Timestamp: t}}
	}
	block := &cmttypes.Block{Header: cmttypes.Header{Height: h}, Data: cmttypes.Data{Txs: blockTxs}, LastCommit: lastCommit}
	block.Header.Populate(cmtversion.Consensus{Block: version.BlockProtocol, App: c.appVersion}, c.opts.ChainID, t, c.lastID,
		c.valSet.Hash(), c.valSet.Hash(), c.params.Hash(), c.appHash, c.lastResHash, proposer)
	blockHash := block.Hash()
	var votes []abci.VoteInfo
	if h > 1 {
		votes = []abci.VoteInfo{{Validator: abci.Validator{Address: proposer, Power: c.val.VotingPower}, BlockIdFlag: cmtproto.BlockIDFlagCommit}}
	}

	proc, err := c.opts.App.ProcessProposal(ctx, &abci.RequestProcessProposal{
		Txs: prep.Txs, ProposedLastCommit: abci.CommitInfo{Votes: votes}, Hash: blockHash, Height: h, Time: t,
		NextValidatorsHash: c.valSet.Hash(), ProposerAddress: proposer,
	})
	if err != nil {
		return chain.Block{}, fmt.Errorf("chaintest: process proposal %d: %w", h, err)
	}
	if proc.Status != abci.ResponseProcessProposal_ACCEPT {
		return chain.Block{}, fmt.Errorf("chaintest: the app rejected its own proposal at height %d (%s)", h, proc.Status)
	}
	fin, err := c.opts.App.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{
		Txs: prep.Txs, DecidedLastCommit: abci.CommitInfo{Votes: votes}, Hash: blockHash, Height: h, Time: t,
		NextValidatorsHash: c.valSet.Hash(), ProposerAddress: proposer,
	})
	if err != nil {
		return chain.Block{}, fmt.Errorf("chaintest: finalize block %d: %w", h, err)
	}
	if len(fin.TxResults) != len(prep.Txs) {
		return chain.Block{}, fmt.Errorf("chaintest: finalize block %d: %d results for %d txs", h, len(fin.TxResults), len(prep.Txs))
	}
	if _, err := c.opts.App.Commit(ctx, &abci.RequestCommit{}); err != nil {
		return chain.Block{}, fmt.Errorf("chaintest: commit %d: %w", h, err)
	}

	c.height = h
	c.appHash = fin.AppHash
	c.lastID = cmttypes.BlockID{Hash: blockHash}
	c.lastResHash = cmttypes.NewResults(fin.TxResults).Hash()
	c.updateMempoolLocked(ctx, blockTxs, fin.TxResults)

	cb := chain.FromBlock(block, blockHash)
	results := make([]chain.TxResult, len(blockTxs))
	for i, tx := range blockTxs {
		results[i] = chain.FromExecTxResult(tx, h, uint32(i), fin.TxResults[i])
	}
	c.blocks = append(c.blocks, stored{block: cb, results: results})

	// The same events, in the same order, as CometBFT's block executor.
	c.publish(c.bus.PublishEventNewBlock(cmttypes.EventDataNewBlock{Block: block, BlockID: c.lastID, ResultFinalizeBlock: *fin}))
	c.publish(c.bus.PublishEventNewBlockHeader(cmttypes.EventDataNewBlockHeader{Header: block.Header}))
	c.publish(c.bus.PublishEventNewBlockEvents(cmttypes.EventDataNewBlockEvents{Height: h, Events: fin.Events, NumTxs: int64(len(blockTxs))}))
	for i, tx := range blockTxs {
		c.publish(c.bus.PublishEventTx(cmttypes.EventDataTx{TxResult: abci.TxResult{Height: h, Index: uint32(i), Tx: tx, Result: *fin.TxResults[i]}}))
	}

	for _, r := range results {
		key := string(r.Hash)
		for _, w := range c.waiters[key] {
			w <- r
		}
		delete(c.waiters, key)
	}
	return cb, nil
}

// publish ignores event bus errors, which only mean the bus is stopped.
func (c *Client) publish(error) {}

// updateMempoolLocked mirrors CListMempool.Update: committed txs leave the
// pool (failed ones also leave the cache), then the rest are rechecked.
func (c *Client) updateMempoolLocked(ctx context.Context, txs cmttypes.Txs, results []*abci.ExecTxResult) {
	committed := make(map[string]bool, len(txs))
	for i, tx := range txs {
		key := string(tx.Hash())
		committed[key] = true
		if results[i].Code == abci.CodeTypeOK {
			c.cache.push(key)
		} else {
			c.cache.remove(key)
		}
	}
	keep := c.pending[:0]
	var bytes int64
	for _, p := range c.pending {
		if committed[p.hash] {
			continue
		}
		if !c.opts.NoRecheck {
			r, err := c.opts.App.CheckTx(ctx, &abci.RequestCheckTx{Tx: p.tx, Type: abci.CheckTxType_Recheck})
			if err != nil || r.Code != abci.CodeTypeOK {
				c.cache.remove(p.hash)
				continue
			}
		}
		keep = append(keep, p)
		bytes += int64(len(p.tx))
	}
	for i := len(keep); i < len(c.pending); i++ {
		c.pending[i] = pendingTx{}
	}
	c.pending = keep
	c.pendingBytes = bytes
}

func (c *Client) Query(ctx context.Context, path string, data []byte) (chain.QueryResult, error) {
	if c.isClosed() {
		return chain.QueryResult{}, chain.ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, err := c.opts.App.Query(ctx, &abci.RequestQuery{Path: path, Data: data})
	if err != nil {
		return chain.QueryResult{}, fmt.Errorf("query %s: %w", path, err)
	}
	return chain.FromQuery(r), nil
}

func (c *Client) Subscribe(ctx context.Context, query string) (<-chan chain.Event, error) {
	if c.isClosed() {
		return nil, chain.ErrClosed
	}
	return chain.SubscribeBus(ctx, c.bus, "chaintest-"+strconv.FormatUint(c.subID.Add(1), 10), query)
}

func (c *Client) Status(ctx context.Context) (chain.Status, error) {
	if c.isClosed() {
		return chain.Status{}, chain.ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	s := chain.Status{
		ChainID:          c.opts.ChainID,
		NodeID:           c.nodeID,
		Moniker:          "chaintest",
		LatestHeight:     c.height,
		LatestAppHash:    append([]byte(nil), c.appHash...),
		ValidatorAddress: c.val.Address,
		ValidatorPower:   c.val.VotingPower,
	}
	if len(s.LatestAppHash) == 0 {
		s.LatestAppHash = nil
	}
	if n := len(c.blocks); n > 0 {
		b := c.blocks[n-1].block
		s.LatestBlockHash = b.Hash
		s.LatestBlockTime = b.Time
		s.EarliestHeight = c.base
	}
	return s, nil
}

func (c *Client) Block(ctx context.Context, height int64) (chain.Block, error) {
	if c.isClosed() {
		return chain.Block{}, chain.ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if height <= 0 {
		height = c.height
	}
	i := height - c.base
	if i < 0 || i >= int64(len(c.blocks)) {
		return chain.Block{}, fmt.Errorf("block %d: %w (twin holds %d to %d)", height, chain.ErrHeightUnavailable, c.base, c.height)
	}
	return c.blocks[i].block, nil
}

// TxResults returns the results of the txs in the block at height.
func (c *Client) TxResults(height int64) ([]chain.TxResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	i := height - c.base
	if i < 0 || i >= int64(len(c.blocks)) {
		return nil, fmt.Errorf("block %d: %w", height, chain.ErrHeightUnavailable)
	}
	return c.blocks[i].results, nil
}

// txCache is an LRU set of tx hashes, as CometBFT's mempool cache.
type txCache struct {
	size  int
	order *list.List // front is newest
	items map[string]*list.Element
}

func newTxCache(size int) *txCache {
	return &txCache{size: size, order: list.New(), items: map[string]*list.Element{}}
}

// push adds key and reports whether it was new; an existing key is
// refreshed.
func (t *txCache) push(key string) bool {
	if e, ok := t.items[key]; ok {
		t.order.MoveToFront(e)
		return false
	}
	if t.order.Len() >= t.size {
		old := t.order.Back()
		t.order.Remove(old)
		delete(t.items, old.Value.(string))
	}
	t.items[key] = t.order.PushFront(key)
	return true
}

func (t *txCache) remove(key string) {
	if e, ok := t.items[key]; ok {
		t.order.Remove(e)
		delete(t.items, key)
	}
}
