package chain

import (
	"context"
	"crypto/sha256"
	"errors"
	"time"
)

// Client is how services talk to the chain: the in-process node (Node.Client),
// a remote node over RPC (Dial) or the in-memory twin (chaintest.New).
//
// A tx rejected by the application is not a Go error: its result carries a
// non-zero Code. Go errors are for transport failures, a context ending, and
// the mempool's own refusals (ErrTxInCache, ErrTxTooLarge, ErrMempoolFull).
type Client interface {
	// BroadcastSync submits tx and returns the application's CheckTx verdict.
	BroadcastSync(ctx context.Context, tx []byte) (CheckResult, error)
	// BroadcastCommit submits tx and waits until it is in a committed block
	// or ctx ends. A tx refused by CheckTx returns at once with its Code and
	// Height 0. A tx accepted by CheckTx but later dropped from the mempool
	// (for example by a recheck) is waited for until ctx ends.
	BroadcastCommit(ctx context.Context, tx []byte) (TxResult, error)
	// Query runs a read-only application query against the latest
	// committed state.
	Query(ctx context.Context, path string, data []byte) (QueryResult, error)
	// Subscribe delivers events matching query, written in CometBFT's query
	// language (for example "tm.event='Tx' AND transfer.sender='deai1…'").
	// The channel is closed when ctx ends, when the client closes, or when
	// the subscriber falls too far behind (SubscriptionBuffer events).
	Subscribe(ctx context.Context, query string) (<-chan Event, error)
	// Status reports the node's identity and latest block.
	Status(ctx context.Context) (Status, error)
	// Block returns the committed block at height; height <= 0 means the
	// latest one.
	Block(ctx context.Context, height int64) (Block, error)
}

// Errors callers branch on. Each is matched with errors.Is.
var (
	// ErrTxInCache: the same tx bytes were submitted before and are still
	// in the mempool's cache (pending or recently committed).
	ErrTxInCache = errors.New("tx already in mempool cache")
	// ErrTxTooLarge: the tx exceeds mempool.max_tx_bytes.
	ErrTxTooLarge = errors.New("tx too large")
	// ErrMempoolFull: the mempool holds mempool.size txs or
	// mempool.max_txs_bytes bytes; try again after the next block.
	ErrMempoolFull = errors.New("mempool is full")
	// ErrClosed: the client or node was closed.
	ErrClosed = errors.New("chain client closed")
)

// Event types, the values of CometBFT's tm.event attribute.
const (
	EventNewBlock       = "NewBlock"
	EventNewBlockHeader = "NewBlockHeader"
	EventNewBlockEvents = "NewBlockEvents"
	EventTx             = "Tx"
	EventValidatorSet   = "ValidatorSetUpdates"
)

// Query strings for the common subscriptions.
const (
	QueryNewBlock = "tm.event='NewBlock'"
	QueryTx       = "tm.event='Tx'"
)

// SubscriptionBuffer is how many undelivered events a subscriber may have
// before its channel is closed.
const SubscriptionBuffer = 1000

// TxHash returns the hash CometBFT uses to name tx: SHA-256 of its bytes.
func TxHash(tx []byte) []byte {
	h := sha256.Sum256(tx)
	return h[:]
}

// CheckResult is the mempool's verdict on a submitted tx.
type CheckResult struct {
	Hash      []byte
	Code      uint32 // 0 is accepted
	Codespace string
	Log       string
	Data      []byte
}

// OK reports whether the tx was accepted.
func (r CheckResult) OK() bool { return r.Code == 0 }

// TxResult is the outcome of a tx in a committed block, or of its CheckTx
// when Height is 0.
type TxResult struct {
	Hash      []byte
	Height    int64  // 0 when CheckTx rejected the tx
	Index     uint32 // position in the block
	Code      uint32 // 0 is success
	Codespace string
	Log       string
	Info      string
	Data      []byte
	GasWanted int64
	GasUsed   int64
	Events    []AppEvent
}

// OK reports whether the tx was committed and succeeded.
func (r TxResult) OK() bool { return r.Code == 0 && r.Height > 0 }

// AppEvent is an event emitted by the application (an ABCI event).
type AppEvent struct {
	Type       string
	Attributes []Attribute
}

// Attribute is one key/value pair of an AppEvent. Index marks it for the
// node's indexer.
type Attribute struct {
	Key   string
	Value string
	Index bool
}

// QueryResult is the application's answer to a Query.
type QueryResult struct {
	Code      uint32 // 0 is success
	Codespace string
	Log       string
	Info      string
	Key       []byte
	Value     []byte
	Height    int64 // the state height the answer was read at
}

// Status describes a node and its latest block.
type Status struct {
	ChainID          string
	NodeID           string
	Moniker          string
	LatestHeight     int64
	LatestBlockHash  []byte
	LatestAppHash    []byte // the app hash after LatestHeight
	LatestBlockTime  time.Time
	EarliestHeight   int64
	CatchingUp       bool
	ValidatorAddress []byte
	ValidatorPower   int64
}

// Block is a committed block.
type Block struct {
	ChainID         string
	Height          int64
	Hash            []byte
	Time            time.Time
	LastBlockHash   []byte
	AppHash         []byte // the app hash after the previous block, as in the header
	ProposerAddress []byte
	Txs             [][]byte
}

// Event is one event from Subscribe.
type Event struct {
	Type   string // one of the Event* constants
	Height int64
	// Block is set for EventNewBlock; TxResults holds its per-tx results.
	Block     *Block
	TxResults []TxResult
	// Tx is set for EventTx.
	Tx *TxResult
	// Events holds the block-level application events for EventNewBlock
	// and EventNewBlockEvents, and the tx's events for EventTx.
	Events []AppEvent
}
