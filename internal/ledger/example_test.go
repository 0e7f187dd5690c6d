package ledger_test

import (
	"crypto/ed25519"
	"fmt"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// Example runs the ledger without consensus over an in-memory store.
func Example() {
	kv := state.NewMemKV()
	l, _ := ledger.New(ledger.Config{KV: kv})

	alice := ed25519.NewKeyFromSeed(make([]byte, 32))
	g := ledger.DefaultGenesis("deai-devnet")
	g.Accounts = []ledger.GenesisAccount{{Address: tx.AddressFromPubKey(alice.Public().(ed25519.PublicKey)), Balance: 5 * tx.UnitsPerDEAI}}
	l.InitChain(g, 1)

	signed, _ := tx.Transfer(alice, "deai-devnet", 0, 1000, tx.Address{1}, 2*tx.UnitsPerDEAI)
	raw, _ := signed.Encode()
	fmt.Println("check:", l.CheckTx(raw, ledger.SigUnchecked).Code)

	res, _ := l.FinalizeBlock(ledger.Block{Height: 1, TimeUnixNano: 1, Txs: [][]byte{raw}})
	ws, _ := l.Commit()
	kv.Apply(ws) // a real node writes ws in one synced batch
	fmt.Println("result:", res.TxResults[0].Code, "events:", len(res.TxResults[0].Events))

	s, _ := l.Supply()
	fmt.Println(s.TotalBalances, s.Burned, s.Conserved())
	// Output:
	// check: ok
	// result: ok events: 5
	// 4999000udeai 1000udeai true
}
