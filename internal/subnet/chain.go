package subnet

import (
	"context"
	"crypto/ed25519"

	"github.com/deai-network/deai/internal/tx"
)

// Task types a subnet may serve.
const (
	TaskTextGeneration = "text-generation"
	TaskEmbedding      = "embedding"
)

// ProtocolVersion is the wire protocol a miner publishes in its serving
// info.
const ProtocolVersion = 1

// Key is a hotkey: it signs requests, receipts and txs. *wallet.Key
// implements it.
type Key interface {
	Sign(msg []byte) []byte
	PubKey() ed25519.PublicKey
	Address() tx.Address
}

// Neuron is one UID of a subnet's metagraph, as the daemons need it.
type Neuron struct {
	UID             uint16
	Hotkey          tx.Address
	Stake           tx.Amount
	ValidatorPermit bool
	Serving         ServeInfo // zero when the hotkey never published one
	Incentive       float64   // share of the miner emission, [0,1]
	Dividends       float64
}

// ServeInfo is what a miner publishes about its endpoint.
type ServeInfo struct {
	Endpoint        string // base URL, e.g. http://10.0.0.7:8091
	ProtocolVersion uint32
	ModelDigest     string // sha256 hex of the served model file
	Region          string
}

// Metagraph is a subnet's state at a block, as the daemons need it.
type Metagraph struct {
	Netuid   uint16
	Block    int64
	TaskType string
	Tempo    int64
	// Epoch counts the subnet's epochs run so far; a validator grades once
	// per epoch and reveals RevealDelay epochs after a commit.
	Epoch int64
	// CommitReveal says weights go through commit then reveal;
	// RevealDelay is how many epochs after a commit its reveal is due.
	CommitReveal bool
	RevealDelay  int64
	Neurons      []Neuron
}

// Neuron returns the neuron of hotkey, if registered.
func (m *Metagraph) Neuron(hotkey tx.Address) (Neuron, bool) {
	for _, n := range m.Neurons {
		if n.Hotkey == hotkey {
			return n, true
		}
	}
	return Neuron{}, false
}

// Head is the latest block.
type Head struct {
	Height int64
	Hash   []byte
}

// Weights are a validator's raw weights: UIDs and their u16 values.
type Weights struct {
	UIDs   []uint16
	Values []uint16
}

// Chain is what the daemons need of the chain, bound to the daemon's
// hotkey (which signs and pays for every tx). Tx rejections are errors.
type Chain interface {
	Head(ctx context.Context) (Head, error)
	Metagraph(ctx context.Context, netuid uint16) (Metagraph, error)
	// Register registers the hotkey on the subnet, paying the burn.
	Register(ctx context.Context, netuid uint16) error
	// Serve publishes the hotkey's serving info.
	Serve(ctx context.Context, netuid uint16, info ServeInfo) error
	// SetWeights sets weights directly (subnets without commit-reveal).
	SetWeights(ctx context.Context, netuid uint16, w Weights) error
	// CommitWeights commits the ledger's hash of w and salt; the
	// implementation computes it with the ledger's own rule.
	CommitWeights(ctx context.Context, netuid uint16, w Weights, salt []byte) error
	// RevealWeights reveals a commit's weights and salt.
	RevealWeights(ctx context.Context, netuid uint16, w Weights, salt []byte) error
}
