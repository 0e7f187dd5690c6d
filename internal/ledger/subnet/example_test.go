package subnet_test

import (
	"fmt"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

// A validator commits to its weights first and reveals the same weights,
// salt and hotkey in the next epoch; the chain recomputes the hash.
func ExampleCommitHash() {
	hotkey := tx.Address{1}
	uids, weights, salt := []uint16{0, 3}, []uint16{65535, 1024}, []byte("a secret salt")
	commit := &subnet.MsgCommitWeights{Hotkey: hotkey, Netuid: 1, Hash: subnet.CommitHash(1, hotkey, uids, weights, salt)}
	reveal := &subnet.MsgRevealWeights{Hotkey: hotkey, Netuid: 1, UIDs: uids, Weights: weights, Salt: salt}
	fmt.Println(commit.Hash == subnet.CommitHash(reveal.Netuid, reveal.Hotkey, reveal.UIDs, reveal.Weights, reveal.Salt))
	fmt.Println(commit.Hash == subnet.CommitHash(2, hotkey, uids, weights, salt))
	// Output:
	// true
	// false
}

// The registration price halves every burn_half_life blocks and is
// clamped to [min_burn, max_burn].
func ExampleSubnet_Price() {
	s := subnet.Subnet{Params: subnet.DefaultParams(), Burn: 1_000_000, BurnBlock: 100}
	for _, h := range []uint64{100, 280, 460, 820, 100 + 360*20} {
		fmt.Println(h, s.Price(h))
	}
	// Output:
	// 100 1000000udeai
	// 280 707106udeai
	// 460 500000udeai
	// 820 250000udeai
	// 7300 500udeai
}

// The module plugs into the ledger like any other; its genesis section is
// optional.
func ExampleNew() {
	l, err := ledger.New(ledger.Config{KV: state.NewMemKV(), Modules: []ledger.Module{subnet.New()}})
	if err != nil {
		fmt.Println(err)
		return
	}
	if _, err := l.InitChain(ledger.DefaultGenesis("deai-example"), 1); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := l.Query("/subnet/params")
	fmt.Println(string(b))
	// Output:
	// {"block_emission":"1000000","owner_cut":11796,"create_burn":"100000000","initial_burn":"100000","subnet_limit":128,"max_epochs_per_block":2,"min_non_immune_uids":10,"serving_rate_limit":50}
}
