// Package module is the contract between the ledger and its modules (bank
// now; stake, subnets, market, channels and disputes later): the Module
// interface and its optional hooks, the execution Context, events, and the
// stable reason codes of rejected transactions. It depends on tx and state
// only, so every module can import it without importing the ledger.
package module

import (
	"encoding/json"

	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// Module is a ledger module: a set of messages, the state they change, and
// optionally a genesis section, block hooks and queries (the interfaces
// below). Its keys live under Name()+"/" by convention, which keeps modules
// apart and out of state.LocalPrefix.
type Module interface {
	// Name is stable and unique: the genesis section, query path and key
	// prefix of the module. Lower-case letters only.
	Name() string
	// RegisterMsgs registers the decoders of the module's messages.
	RegisterMsgs(r *tx.Registry) error
	// Deliver executes one message of a type the module registered. sender
	// is the tx signer's address; fee and nonce are already handled. On
	// error every write and event of the message is undone.
	Deliver(ctx *Context, sender tx.Address, msg tx.Msg) error
}

// Genesis is implemented by modules with a section in the genesis file
// (genesis "modules" map, keyed by Name). raw is nil when the section is
// absent.
type Genesis interface {
	ValidateGenesis(raw json.RawMessage) error
	InitGenesis(ctx *Context, raw json.RawMessage) error
}

// BeginBlocker runs at the start of every block, before its txs.
type BeginBlocker interface {
	BeginBlock(ctx *Context) error
}

// EndBlocker runs at the end of every block, after its txs.
type EndBlocker interface {
	EndBlock(ctx *Context) error
}

// Querier answers read-only queries under /<name>/…; path holds the
// segments after the module name. The result is marshalled to JSON.
// Errors are classified with Errorf (ReasonNotFound, ReasonBadQuery).
type Querier interface {
	Query(kv state.KV, path []string) (any, error)
}

// Context is what a module sees while executing: the block coordinates and
// the store to read and write (the block's, or CheckTx's own overlay when
// Check is set). Height and time come from consensus, never from a clock.
type Context struct {
	Height       int64
	TimeUnixNano int64
	// BlockHash is the consensus hash of the block being executed, a
	// beacon a tx's sender cannot know when signing; empty in CheckTx and
	// where the caller gave none.
	BlockHash []byte
	ChainID   string
	Check     bool // executing for mempool admission, not in a block
	Store     state.Store
	Events    []Event
}

// Emit appends an event; attrs alternate key and value. In CheckTx
// (Check set) events are dropped: nobody reads them there.
func (c *Context) Emit(typ string, attrs ...string) {
	if c.Check {
		return
	}
	e := Event{Type: typ, Attrs: make([]Attr, 0, len(attrs)/2)}
	for i := 0; i+1 < len(attrs); i += 2 {
		e.Attrs = append(e.Attrs, Attr{Key: attrs[i], Value: attrs[i+1]})
	}
	c.Events = append(c.Events, e)
}

// Event records a state change: a type and ordered attributes. abciapp
// turns it into an ABCI event unchanged.
type Event struct {
	Type  string `json:"type"`
	Attrs []Attr `json:"attrs"`
}

// Attr is one event attribute.
type Attr struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}
