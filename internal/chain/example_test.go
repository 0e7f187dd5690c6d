package chain_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/cometbft/cometbft/abci/example/kvstore"

	"github.com/deai-network/deai/internal/chain"
)

// A single-node devnet: create the home once, then run the node over an
// ABCI app and talk to it through its in-process client.
func ExampleNewNode() {
	ctx := context.Background()
	home := filepath.Join(os.TempDir(), "deai-example")
	if !chain.IsInitialized(home) {
		if _, err := chain.InitHome(chain.HomeOptions{Home: home, ChainID: "devnet"}); err != nil {
			log.Fatal(err)
		}
	}
	app := kvstore.NewPersistentApplication(filepath.Join(home, "data"))
	defer app.Close()
	n, err := chain.NewNode(ctx, chain.NodeOptions{Home: home, App: app})
	if err != nil {
		log.Fatal(err)
	}
	if err := n.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer n.Stop()
	r, err := n.Client().BroadcastCommit(ctx, []byte("greeting=hello"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("committed at height", r.Height, "code", r.Code)
}

// A remote node over RPC, with events on one websocket.
func ExampleDial() {
	ctx := context.Background()
	c, err := chain.Dial(ctx, "http://127.0.0.1:26657")
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	blocks, err := c.Subscribe(ctx, chain.QueryNewBlock)
	if err != nil {
		log.Fatal(err)
	}
	for ev := range blocks {
		fmt.Println("block", ev.Height, "with", len(ev.Block.Txs), "txs")
	}
}

// Four validator homes on one machine; start each with NewNode or
// `deai node start --home DIR/nodeI`.
func ExampleInitTestnet() {
	net, err := chain.InitTestnet(chain.TestnetOptions{N: 4, OutDir: filepath.Join(os.TempDir(), "deai-testnet")})
	if err != nil {
		log.Fatal(err)
	}
	for _, n := range net.Nodes {
		fmt.Println(n.Home, n.NodeID, n.RPCAddr)
	}
}
