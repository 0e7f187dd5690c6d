package subnet_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/deai-network/deai/internal/infer"
	"github.com/deai-network/deai/internal/serve"
	"github.com/deai-network/deai/internal/subnet"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

const modelPath = "../../../shared/models/stories260K.gguf"

// engine is the real built-in engine on stories260K behind serve's
// OpenAI-compatible handler, shared by the tests of this package.
type engine struct {
	handler http.Handler
	backend *serve.Engine
	digest  string
}

var (
	engineOnce sync.Once
	engineVal  *engine
	engineErr  error
)

func loadEngine(t testing.TB) *engine {
	t.Helper()
	engineOnce.Do(func() {
		m, err := infer.Load(modelPath, infer.Options{Threads: 1})
		if err != nil {
			engineErr = err
			return
		}
		b, err := serve.NewEngineBackend(m, modelPath, serve.EngineOptions{})
		if err != nil {
			engineErr = err
			return
		}
		s, err := serve.New(serve.Options{Backends: []serve.Backend{b}, MaxConcurrent: 8})
		if err != nil {
			engineErr = err
			return
		}
		engineVal = &engine{handler: s.Handler(), backend: b, digest: m.Digest()}
	})
	if engineErr != nil {
		t.Fatalf("load engine: %v", engineErr)
	}
	return engineVal
}

func key(t testing.TB, seed byte) *wallet.Key {
	t.Helper()
	k, err := wallet.FromSeed(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func listen(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// memNet is an in-memory subnet for the daemons' unit tests: a metagraph
// that Register and Serve change and a record of the weight calls. Each
// hotkey gets a memChain bound to it. The end-to-end test uses the real
// ledger instead.
type memNet struct {
	mu      sync.Mutex
	mg      subnet.Metagraph
	height  int64
	calls   []string
	commits map[tx.Address]subnet.Weights
	set     map[tx.Address]subnet.Weights
}

func newMemNet(task string) *memNet {
	return &memNet{mg: subnet.Metagraph{Netuid: 1, TaskType: task, Tempo: 10, CommitReveal: true, RevealDelay: 1},
		commits: map[tx.Address]subnet.Weights{}, set: map[tx.Address]subnet.Weights{}}
}

// add registers hotkey with stake (a validator, or a gateway).
func (n *memNet) add(hotkey tx.Address, stake tx.Amount) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.mg.Neurons = append(n.mg.Neurons, subnet.Neuron{UID: uint16(len(n.mg.Neurons)), Hotkey: hotkey, Stake: stake, ValidatorPermit: stake > 0})
}

// epoch advances the subnet by one tempo.
func (n *memNet) epoch() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.height += n.mg.Tempo
	n.mg.Epoch++
}

func (n *memNet) chain(hotkey tx.Address) *memChain { return &memChain{n: n, me: hotkey} }

func (n *memNet) log() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.calls...)
}

type memChain struct {
	n  *memNet
	me tx.Address
}

var _ subnet.Chain = (*memChain)(nil)

func (c *memChain) Head(context.Context) (subnet.Head, error) {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	return subnet.Head{Height: c.n.height, Hash: []byte(fmt.Sprintf("block-%d", c.n.height))}, nil
}

func (c *memChain) Metagraph(context.Context, uint16) (subnet.Metagraph, error) {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	mg := c.n.mg
	mg.Block = c.n.height
	mg.Neurons = append([]subnet.Neuron(nil), mg.Neurons...)
	return mg, nil
}

func (c *memChain) record(format string, args ...any) {
	c.n.calls = append(c.n.calls, fmt.Sprintf(format, args...))
}

func (c *memChain) Register(_ context.Context, netuid uint16) error {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	if _, ok := c.n.mg.Neuron(c.me); ok {
		return fmt.Errorf("already registered")
	}
	c.n.mg.Neurons = append(c.n.mg.Neurons, subnet.Neuron{UID: uint16(len(c.n.mg.Neurons)), Hotkey: c.me})
	c.record("register %d", len(c.n.mg.Neurons)-1)
	return nil
}

func (c *memChain) uid() int {
	for i, n := range c.n.mg.Neurons {
		if n.Hotkey == c.me {
			return i
		}
	}
	return -1
}

func (c *memChain) Serve(_ context.Context, _ uint16, info subnet.ServeInfo) error {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	i := c.uid()
	if i < 0 {
		return fmt.Errorf("not registered")
	}
	c.n.mg.Neurons[i].Serving = info
	c.record("serve %d", i)
	return nil
}

func (c *memChain) SetWeights(_ context.Context, _ uint16, w subnet.Weights) error {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	c.n.set[c.me] = w
	c.record("set %d", c.uid())
	return nil
}

func (c *memChain) CommitWeights(_ context.Context, _ uint16, w subnet.Weights, salt []byte) error {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	c.n.commits[c.me] = w
	c.record("commit %d epoch %d", c.uid(), c.n.mg.Epoch)
	return nil
}

func (c *memChain) RevealWeights(_ context.Context, _ uint16, w subnet.Weights, salt []byte) error {
	c.n.mu.Lock()
	defer c.n.mu.Unlock()
	if fmt.Sprint(c.n.commits[c.me]) != fmt.Sprint(w) {
		return fmt.Errorf("reveal does not match commit")
	}
	delete(c.n.commits, c.me)
	c.n.set[c.me] = w
	c.record("reveal %d epoch %d", c.uid(), c.n.mg.Epoch)
	return nil
}
