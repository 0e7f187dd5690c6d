package node

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/deai-network/deai/internal/infer"
	"github.com/deai-network/deai/internal/serve"
	"github.com/deai-network/deai/internal/subnet"
)

// The miner copies the engine server's token-digest header into its
// receipts; the two packages must agree on its name. (Duplicate map keys
// fail to compile: the comparison is a constant.)
var _ = map[bool]int{false: 0, serve.HeaderTokensDigest == subnet.HeaderTokensDigest: 1}

// SubnetEngine is the built-in engine as the subnet daemons use it: the
// OpenAI-compatible handler of deai serve over one model (a miner's
// Backend and a validator's Reference) and the model's digest.
type SubnetEngine struct {
	Handler http.Handler
	Digest  string
	model   *infer.Model
}

// Close releases the model. Call it after the daemon has stopped.
func (e *SubnetEngine) Close() error { return e.model.Close() }

// SubnetEngineOptions configure OpenSubnetEngine.
type SubnetEngineOptions struct {
	Path          string // GGUF model file
	Threads       int    // 0: the engine's default
	MaxConcurrent int    // generations at once; 0: serve's default
	Logger        *slog.Logger
}

// OpenSubnetEngine loads the model at o.Path and puts serve's HTTP layer
// over it.
func OpenSubnetEngine(o SubnetEngineOptions) (*SubnetEngine, error) {
	m, err := infer.Load(o.Path, infer.Options{Threads: o.Threads, Logger: o.Logger})
	if err != nil {
		return nil, fmt.Errorf("open subnet engine: %w", err)
	}
	b, err := serve.NewEngineBackend(m, o.Path, serve.EngineOptions{Created: time.Now().Unix()})
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("open subnet engine: %w", err)
	}
	// The miner bounds concurrency itself (503 when over); serve's queue
	// is off so the two limits do not stack.
	s, err := serve.New(serve.Options{Backends: []serve.Backend{b}, MaxConcurrent: o.MaxConcurrent, MaxQueue: -1, Logger: o.Logger})
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("open subnet engine: %w", err)
	}
	return &SubnetEngine{Handler: s.Handler(), Digest: m.Digest(), model: m}, nil
}
