package chaintest_test

import (
	"context"
	"fmt"
	"log"

	"github.com/cometbft/cometbft/abci/example/kvstore"

	"github.com/deai-network/deai/internal/chain/chaintest"
)

// The twin commits each tx in its own block at once, with deterministic
// heights and times.
func ExampleNew() {
	ctx := context.Background()
	c, err := chaintest.New(ctx, chaintest.Options{App: kvstore.NewInMemoryApplication()})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	r, err := c.BroadcastCommit(ctx, []byte("greeting=hello"))
	if err != nil {
		log.Fatal(err)
	}
	q, err := c.Query(ctx, "", []byte("greeting"))
	if err != nil {
		log.Fatal(err)
	}
	b, err := c.Block(ctx, r.Height)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(r.Height, r.Code, string(q.Value), b.Time)
	// Output: 1 0 hello 2025-01-01 00:00:01 +0000 UTC
}
