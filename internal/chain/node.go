package chain

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"

	dbm "github.com/cometbft/cometbft-db"
	abcitypes "github.com/cometbft/cometbft/abci/types"
	cfg "github.com/cometbft/cometbft/config"
	cmtquery "github.com/cometbft/cometbft/libs/pubsub/query"
	"github.com/cometbft/cometbft/mempool"
	cmtnode "github.com/cometbft/cometbft/node"
	"github.com/cometbft/cometbft/p2p"
	"github.com/cometbft/cometbft/proxy"
	rpclocal "github.com/cometbft/cometbft/rpc/client/local"
	cmttypes "github.com/cometbft/cometbft/types"
)

// NodeOptions configures an embedded node.
type NodeOptions struct {
	Home string                // an initialized home (InitHome, InitTestnet)
	App  abcitypes.Application // required
	// Logger receives CometBFT's log records at LogLevel or above; nil
	// discards them.
	Logger *slog.Logger
	// LogLevel is "error" (default), "info", "debug" or "none". CometBFT logs
	// ~900 lines a minute at info.
	LogLevel string
	// Configure, if set, edits the config loaded from the home before the
	// node is built (command-line overrides, tests). It is not saved.
	Configure func(*cfg.Config)
	// ConnSync gives each ABCI connection (consensus, mempool, query) its
	// own lock instead of one lock for all. Only for an App that does its
	// own locking.
	ConnSync bool
}

// Node is CometBFT running in this process over an ABCI application. A node
// runs once: after Stop, build a new one from the same home to restart.
type Node struct {
	node *cmtnode.Node
	cfg  *cfg.Config
	dbs  *trackingDBs
	log  *slog.Logger
	// stopping demotes CometBFT's shutdown errors in the log.
	stopping *atomic.Bool
	client   *rpcClient // set by Start

	mu      sync.Mutex // guards started and stopped
	started bool
	stopped bool
}

// NewNode loads the home's config and keys, opens its databases and runs
// CometBFT's handshake with the app (replaying blocks the app is missing).
// ctx bounds the handshake.
func NewNode(ctx context.Context, o NodeOptions) (n *Node, err error) {
	if o.App == nil {
		return nil, errors.New("new node: no ABCI application")
	}
	if !IsInitialized(o.Home) {
		return nil, fmt.Errorf("new node %s: %w", o.Home, ErrNotInitialized)
	}
	level, err := ParseLogLevel(o.LogLevel)
	if err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	c, err := LoadConfig(o.Home)
	if err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	if o.Configure != nil {
		o.Configure(c)
		if err := c.ValidateBasic(); err != nil {
			return nil, fmt.Errorf("new node: %w", err)
		}
	}
	pv, err := loadFilePV(c.PrivValidatorKeyFile(), c.PrivValidatorStateFile())
	if err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	nodeKey, err := p2p.LoadNodeKey(c.NodeKeyFile())
	if err != nil {
		return nil, fmt.Errorf("new node: load node key: %w", err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	creator := proxy.NewLocalClientCreator(o.App)
	if o.ConnSync {
		creator = proxy.NewConnSyncLocalClientCreator(o.App)
	}
	dbs := &trackingDBs{}
	stopping := new(atomic.Bool)
	// CometBFT panics on some corrupt stores; report those as errors and
	// release whatever was opened.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("new node: %v", r)
		}
		if err != nil {
			dbs.closeAll()
		}
	}()
	cn, err := cmtnode.NewNodeWithContext(ctx, c, pv, nodeKey, creator,
		cmtnode.DefaultGenesisDocProviderFunc(c), dbs.provide,
		cmtnode.DefaultMetricsProvider(c.Instrumentation),
		newCometLogger(log, level, stopping))
	if err != nil {
		return nil, fmt.Errorf("new node: %w", err)
	}
	return &Node{node: cn, cfg: c, dbs: dbs, log: log, stopping: stopping}, nil
}

// Start starts consensus, P2P and the RPC server, and the local client. It
// returns once they are running; the node runs until Stop.
func (n *Node) Start(ctx context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.started {
		return errors.New("start node: already started")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("start node: %w", err)
	}
	n.started = true
	if err := n.node.Start(); err != nil {
		n.stopLocked()
		return fmt.Errorf("start node: %w", err)
	}
	src := &busSource{bus: n.node.EventBus()}
	mp := n.node.Mempool()
	check := func(ctx context.Context, tx []byte) (CheckResult, error) {
		return checkTxMempool(ctx, mp, tx)
	}
	cl, err := newRPCClient(rpclocal.New(n.node), check, src, n.log)
	if err != nil {
		n.stopLocked()
		return fmt.Errorf("start node: %w", err)
	}
	n.client = cl
	return nil
}

// Run starts the node, waits for ctx to end and stops it.
func (n *Node) Run(ctx context.Context) error {
	if err := n.Start(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return n.Stop()
}

// Stop stops the node and closes its databases, so that a new Node can open
// the same home in this process. It does not close the App. Safe to call
// more than once.
func (n *Node) Stop() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stopLocked()
}

func (n *Node) stopLocked() error {
	if n.stopped {
		return nil
	}
	n.stopped = true
	n.stopping.Store(true)
	if n.client != nil {
		n.client.close()
	}
	var errs []error
	if n.node.IsRunning() {
		if err := n.node.Stop(); err != nil {
			errs = append(errs, err)
		}
		n.node.Wait()
	} else {
		// Never started: the node's OnStop, which closes the stores, will
		// not run, so close every database here.
		n.dbs.closeAll()
		if err := n.node.EventBus().Stop(); err != nil {
			n.log.Debug("stop event bus", "err", err)
		}
	}
	if err := n.node.ProxyApp().Stop(); err != nil && n.started {
		n.log.Debug("stop app connections", "err", err)
	}
	// CometBFT does not close the tx indexer's database (a lock held by the
	// current process on restart); close what it leaves open.
	n.dbs.closeUnclosedByNode()
	if len(errs) > 0 {
		return fmt.Errorf("stop node: %w", errors.Join(errs...))
	}
	return nil
}

// Client is the in-process client. It is nil before Start and returns
// ErrClosed after Stop.
func (n *Node) Client() Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.client == nil {
		return nil
	}
	return n.client
}

// NodeID is the node's P2P ID.
func (n *Node) NodeID() string { return string(n.node.NodeInfo().ID()) }

// RPCAddr is the RPC listen address from the config ("tcp://host:port"),
// or "" when the RPC server is off.
func (n *Node) RPCAddr() string { return n.cfg.RPC.ListenAddress }

// Height is the height of the latest block in the node's store.
func (n *Node) Height() int64 { return n.node.BlockStore().Height() }

// checkTxMempool submits tx straight to the mempool and waits for CheckTx.
// It skips the RPC layer (rpc/client/local), which would do the same work
// behind one more indirection; see BenchmarkBroadcastSync.
func checkTxMempool(ctx context.Context, mp mempool.Mempool, tx []byte) (CheckResult, error) {
	ch := make(chan *abcitypes.ResponseCheckTx, 1)
	err := mp.CheckTx(tx, func(r *abcitypes.ResponseCheckTx) { ch <- r }, mempool.TxInfo{})
	if err != nil {
		var tooLarge mempool.ErrTxTooLarge
		var full mempool.ErrMempoolIsFull
		switch {
		case errors.Is(err, mempool.ErrTxInCache):
			return CheckResult{}, fmt.Errorf("%w: %v", ErrTxInCache, err)
		case errors.As(err, &tooLarge):
			return CheckResult{}, fmt.Errorf("%w: %v", ErrTxTooLarge, err)
		case errors.As(err, &full), errors.Is(err, mempool.ErrRecheckFull):
			return CheckResult{}, fmt.Errorf("%w: %v", ErrMempoolFull, err)
		}
		return CheckResult{}, fmt.Errorf("broadcast tx: %w", err)
	}
	select {
	case r := <-ch:
		return FromCheckTx(tx, r), nil
	case <-ctx.Done():
		return CheckResult{}, fmt.Errorf("broadcast tx: %w", ctx.Err())
	}
}

// busSource subscribes to an in-process CometBFT event bus.
type busSource struct {
	bus  *cmttypes.EventBus
	next atomic.Uint64
}

func (s *busSource) subscribe(ctx context.Context, query string) (<-chan Event, error) {
	return SubscribeBus(ctx, s.bus, "deai-chain-"+strconv.FormatUint(s.next.Add(1), 10), query)
}

// SubscribeBus subscribes subscriber to query on an in-process event bus and
// converts what it publishes. The channel closes when ctx ends, when the
// bus stops, or when the reader falls SubscriptionBuffer events behind.
// Exported for the in-memory twin, which runs the same bus.
func SubscribeBus(ctx context.Context, bus *cmttypes.EventBus, subscriber, query string) (<-chan Event, error) {
	q, err := cmtquery.New(query)
	if err != nil {
		return nil, fmt.Errorf("subscribe %q: %w", query, err)
	}
	sub, err := bus.Subscribe(ctx, subscriber, q, SubscriptionBuffer)
	if err != nil {
		return nil, fmt.Errorf("subscribe %q: %w", query, err)
	}
	out := make(chan Event)
	go func() {
		defer close(out)
		defer bus.Unsubscribe(context.Background(), subscriber, q) //nolint:errcheck // gone already when canceled
		for {
			select {
			case <-ctx.Done():
				return
			case <-sub.Canceled():
				return
			case msg := <-sub.Out():
				ev, ok := FromEventData(msg.Data())
				if !ok {
					continue
				}
				select {
				case out <- ev:
				case <-ctx.Done():
					return
				case <-sub.Canceled():
					return
				}
			}
		}
	}()
	return out, nil
}

// trackingDBs opens the node's databases with CometBFT's default provider
// and remembers them, to close those the node leaves open.
type trackingDBs struct {
	mu  sync.Mutex // guards dbs
	dbs []trackedDB
}

type trackedDB struct {
	id string
	db dbm.DB
}

func (t *trackingDBs) provide(ctx *cfg.DBContext) (dbm.DB, error) {
	db, err := cfg.DefaultDBProvider(ctx)
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.dbs = append(t.dbs, trackedDB{id: ctx.ID, db: db})
	t.mu.Unlock()
	return db, nil
}

// closeAll closes every database; for a node that never started.
func (t *trackingDBs) closeAll() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range t.dbs {
		d.db.Close() //nolint:errcheck // best effort on a failed start
	}
	t.dbs = nil
}

// closeUnclosedByNode closes the databases Node.OnStop does not: the tx
// and block indexer's "tx_index".
func (t *trackingDBs) closeUnclosedByNode() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, d := range t.dbs {
		if d.id == "tx_index" {
			d.db.Close() //nolint:errcheck // nothing to do about it at shutdown
		}
	}
	t.dbs = nil
}
