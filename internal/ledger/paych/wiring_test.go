package paych_test

import (
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/ledger/subnet"
)

// TestNodeModules builds the ledger with the modules node wires (names,
// message codes and genesis sections must not clash) and runs a block.
func TestNodeModules(t *testing.T) {
	kv := state.NewMemKV()
	l, err := ledger.New(ledger.Config{KV: kv, Modules: []ledger.Module{subnet.New(), market.New(), agents.New(), paych.New()}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.InitChain(genesis(t, 2, nil), 1); err != nil {
		t.Fatal(err)
	}
	if _, err := l.FinalizeBlock(ledger.Block{Height: 1, TimeUnixNano: 1e9}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, typ := range l.Registry().Types() {
		if typ>>8 == 0x04 || typ>>8 == 0x05 {
			n++
		}
	}
	if n != 12 {
		t.Errorf("%d paych and agents message types registered, want 12", n)
	}
}
