package chain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	cmtbytes "github.com/cometbft/cometbft/libs/bytes"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
)

// ErrHeightUnavailable: the block asked for is above the chain's height or
// below what the node keeps.
var ErrHeightUnavailable = errors.New("height not available")

// rpcAPI is the part of CometBFT's RPC client interface this package uses;
// rpc/client/local.Local and rpc/client/http.HTTP both provide it.
type rpcAPI interface {
	Status(ctx context.Context) (*ctypes.ResultStatus, error)
	ABCIQuery(ctx context.Context, path string, data cmtbytes.HexBytes) (*ctypes.ResultABCIQuery, error)
	Block(ctx context.Context, height *int64) (*ctypes.ResultBlock, error)
	BlockResults(ctx context.Context, height *int64) (*ctypes.ResultBlockResults, error)
}

// eventSource opens event subscriptions. The returned channel is closed when
// ctx ends or the subscription is dropped.
type eventSource interface {
	subscribe(ctx context.Context, query string) (<-chan Event, error)
}

// rpcClient implements Client over a node, local or remote. Every
// BroadcastCommit shares one NewBlock subscription: waiters are keyed by tx
// hash and served from each block's results, so a commit costs no
// subscription of its own.
type rpcClient struct {
	api    rpcAPI
	check  func(ctx context.Context, tx []byte) (CheckResult, error)
	events eventSource
	log    *slog.Logger

	stop   context.CancelFunc
	done   chan struct{} // closed when the block loop has exited
	closed chan struct{} // closed by close
	once   sync.Once

	mu      sync.Mutex
	waiters map[string][]chan TxResult // guarded by mu; by string(tx hash)
}

func newRPCClient(api rpcAPI, check func(context.Context, []byte) (CheckResult, error), events eventSource, log *slog.Logger) (*rpcClient, error) {
	ctx, stop := context.WithCancel(context.Background())
	c := &rpcClient{
		api: api, check: check, events: events, log: log,
		stop: stop, done: make(chan struct{}), closed: make(chan struct{}),
		waiters: make(map[string][]chan TxResult),
	}
	// Subscribe before returning so that no commit can be missed.
	blocks, err := events.subscribe(ctx, QueryNewBlock)
	if err != nil {
		stop()
		return nil, fmt.Errorf("subscribe to blocks: %w", err)
	}
	go c.blockLoop(ctx, blocks)
	return c, nil
}

func (c *rpcClient) close() {
	c.once.Do(func() {
		close(c.closed)
		c.stop()
		<-c.done
	})
}

func (c *rpcClient) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

func (c *rpcClient) BroadcastSync(ctx context.Context, tx []byte) (CheckResult, error) {
	if c.isClosed() {
		return CheckResult{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return CheckResult{}, fmt.Errorf("broadcast tx: %w", err)
	}
	return c.check(ctx, tx)
}

func (c *rpcClient) BroadcastCommit(ctx context.Context, tx []byte) (TxResult, error) {
	if c.isClosed() {
		return TxResult{}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return TxResult{}, fmt.Errorf("broadcast tx: %w", err)
	}
	hash := TxHash(tx)
	w := make(chan TxResult, 1)
	key := string(hash)
	c.mu.Lock()
	c.waiters[key] = append(c.waiters[key], w)
	c.mu.Unlock()
	defer c.removeWaiter(key, w)

	res, err := c.check(ctx, tx)
	if err != nil {
		return TxResult{}, err
	}
	if !res.OK() {
		return res.AsTxResult(), nil
	}
	select {
	case r := <-w:
		return r, nil
	case <-ctx.Done():
		return TxResult{}, fmt.Errorf("wait for tx %X to commit: %w", hash, ctx.Err())
	case <-c.closed:
		return TxResult{}, ErrClosed
	}
}

func (c *rpcClient) removeWaiter(key string, w chan TxResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
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

func (c *rpcClient) numWaiters() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

// deliver hands each result to the waiters for its tx.
func (c *rpcClient) deliver(results []TxResult) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.waiters) == 0 {
		return
	}
	for _, r := range results {
		key := string(r.Hash)
		for _, w := range c.waiters[key] {
			select {
			case w <- r:
			default: // already served by an earlier block
			}
		}
		delete(c.waiters, key)
	}
}

// blockLoop serves waiters from NewBlock events. When the subscription drops
// (a slow reader, a reconnect) it resubscribes, and blocks missed in between
// are read back by height, so no commit goes unreported.
func (c *rpcClient) blockLoop(ctx context.Context, blocks <-chan Event) {
	defer close(c.done)
	var last int64
	backoff := 10 * time.Millisecond
	for {
	events:
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-blocks:
				if !ok {
					break events
				}
				backoff = 10 * time.Millisecond
				if last > 0 && ev.Height > last+1 && c.numWaiters() > 0 {
					c.fill(ctx, last+1, ev.Height-1)
				}
				c.deliver(ev.TxResults)
				if ev.Height > last {
					last = ev.Height
				}
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			var err error
			blocks, err = c.events.subscribe(ctx, QueryNewBlock)
			if err == nil {
				break
			}
			c.log.Warn("resubscribe to blocks", "err", err)
			backoff = min(2*backoff, 2*time.Second)
		}
	}
}

// fill reads blocks from..to back and serves their waiters.
func (c *rpcClient) fill(ctx context.Context, from, to int64) {
	for h := from; h <= to; h++ {
		if ctx.Err() != nil {
			return
		}
		rs, err := c.blockResults(ctx, h)
		if err != nil {
			c.log.Warn("read missed block", "height", h, "err", err)
			continue
		}
		c.deliver(rs)
	}
}

func (c *rpcClient) blockResults(ctx context.Context, height int64) ([]TxResult, error) {
	b, err := c.api.Block(ctx, &height)
	if err != nil {
		return nil, err
	}
	if b.Block == nil {
		return nil, fmt.Errorf("block %d: %w", height, ErrHeightUnavailable)
	}
	r, err := c.api.BlockResults(ctx, &height)
	if err != nil {
		return nil, err
	}
	return blockTxResults(b.Block.Txs, height, r.TxsResults), nil
}

func (c *rpcClient) Query(ctx context.Context, path string, data []byte) (QueryResult, error) {
	if c.isClosed() {
		return QueryResult{}, ErrClosed
	}
	r, err := c.api.ABCIQuery(ctx, path, data)
	if err != nil {
		return QueryResult{}, fmt.Errorf("query %s: %w", path, err)
	}
	return FromQuery(&r.Response), nil
}

func (c *rpcClient) Subscribe(ctx context.Context, query string) (<-chan Event, error) {
	if c.isClosed() {
		return nil, ErrClosed
	}
	// Tie the subscription to the client as well as to ctx.
	sctx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-sctx.Done():
		case <-c.closed:
			cancel()
		}
	}()
	ch, err := c.events.subscribe(sctx, query)
	if err != nil {
		cancel()
		return nil, err
	}
	return ch, nil
}

func (c *rpcClient) Status(ctx context.Context) (Status, error) {
	if c.isClosed() {
		return Status{}, ErrClosed
	}
	s, err := c.api.Status(ctx)
	if err != nil {
		return Status{}, fmt.Errorf("status: %w", err)
	}
	return Status{
		ChainID:          s.NodeInfo.Network,
		NodeID:           string(s.NodeInfo.DefaultNodeID),
		Moniker:          s.NodeInfo.Moniker,
		LatestHeight:     s.SyncInfo.LatestBlockHeight,
		LatestBlockHash:  nilIfEmpty(s.SyncInfo.LatestBlockHash),
		LatestAppHash:    nilIfEmpty(s.SyncInfo.LatestAppHash),
		LatestBlockTime:  s.SyncInfo.LatestBlockTime,
		EarliestHeight:   s.SyncInfo.EarliestBlockHeight,
		CatchingUp:       s.SyncInfo.CatchingUp,
		ValidatorAddress: nilIfEmpty(s.ValidatorInfo.Address),
		ValidatorPower:   s.ValidatorInfo.VotingPower,
	}, nil
}

func (c *rpcClient) Block(ctx context.Context, height int64) (Block, error) {
	if c.isClosed() {
		return Block{}, ErrClosed
	}
	var hp *int64
	if height > 0 {
		hp = &height
	}
	r, err := c.api.Block(ctx, hp)
	if err != nil {
		if isHeightError(err) {
			return Block{}, fmt.Errorf("block %d: %w: %v", height, ErrHeightUnavailable, err)
		}
		return Block{}, fmt.Errorf("block %d: %w", height, err)
	}
	if r.Block == nil {
		return Block{}, fmt.Errorf("block %d: %w", height, ErrHeightUnavailable)
	}
	return FromBlock(r.Block, r.BlockID.Hash), nil
}

// isHeightError recognises CometBFT's out-of-range height errors, which reach
// a remote client only as text.
func isHeightError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "must be less than or equal to the current blockchain height") ||
		strings.Contains(s, "is not available, lowest height is")
}

// AsTxResult is the TxResult BroadcastCommit returns for a tx refused by
// CheckTx: Height 0 and the CheckTx verdict.
func (r CheckResult) AsTxResult() TxResult {
	return TxResult{Hash: r.Hash, Code: r.Code, Codespace: r.Codespace, Log: r.Log, Data: r.Data}
}

// mapMempoolError turns the mempool's refusals, as errors or as the text a
// remote node returns, into this package's sentinels.
func mapMempoolError(err error) error {
	if err == nil {
		return nil
	}
	s := strings.ToLower(err.Error())
	switch {
	case strings.Contains(s, "tx already exists in cache"):
		return fmt.Errorf("%w: %v", ErrTxInCache, err)
	case strings.Contains(s, "tx too large"):
		return fmt.Errorf("%w: %v", ErrTxTooLarge, err)
	case strings.Contains(s, "mempool is full"), strings.Contains(s, "mempool is still rechecking"):
		return fmt.Errorf("%w: %v", ErrMempoolFull, err)
	}
	return fmt.Errorf("broadcast tx: %w", err)
}
