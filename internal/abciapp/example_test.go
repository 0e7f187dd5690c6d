package abciapp_test

import (
	"context"
	"crypto/ed25519"
	"fmt"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/deai-network/deai/internal/abciapp"
	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/tx"
)

// Example shows the App driven by hand; in a node CometBFT makes these
// calls (proxy.NewLocalClientCreator(app)).
func Example() {
	ctx := context.Background()
	app, err := abciapp.New(abciapp.Options{DB: dbm.NewMemDB()})
	if err != nil {
		panic(err)
	}
	alice := ed25519.NewKeyFromSeed(make([]byte, 32))
	g := ledger.DefaultGenesis("deai-devnet")
	g.Accounts = []ledger.GenesisAccount{{Address: tx.AddressFromPubKey(alice.Public().(ed25519.PublicKey)), Balance: 10 * tx.UnitsPerDEAI}}
	appState, _ := g.JSON()
	app.InitChain(ctx, &abci.RequestInitChain{ChainId: "deai-devnet", AppStateBytes: appState})

	bob := tx.Address{1}
	signed, _ := tx.Transfer(alice, "deai-devnet", 0, ledger.DefaultParams().MinFee, bob, 1_500_000)
	raw, _ := signed.Encode()
	check, _ := app.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw})
	fmt.Println("check code:", check.Code)

	res, _ := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1, Txs: [][]byte{raw}})
	app.Commit(ctx, &abci.RequestCommit{})
	fmt.Println("tx code:", res.TxResults[0].Code)

	q, _ := app.Query(ctx, &abci.RequestQuery{Path: "/balance/" + bob.String()})
	fmt.Println(string(q.Value))

	replay, _ := app.CheckTx(ctx, &abci.RequestCheckTx{Tx: raw})
	fmt.Println("replay:", replay.Code, abciapp.CodeName(replay.Code))
	// Output:
	// check code: 0
	// tx code: 0
	// {"address":"deai1qyqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqh8rt3m","balance":"1500000","denom":"udeai"}
	// replay: 5 bad_nonce
}
