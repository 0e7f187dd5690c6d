package abciapp_test

import (
	"sync"
	"testing"

	abci "github.com/cometbft/cometbft/abci/types"
)

// TestConcurrentCalls drives CheckTx, Query and the block lifecycle from
// several goroutines at once, as a per-connection ABCI client would; run
// with -race.
func TestConcurrentCalls(t *testing.T) {
	nd := started(t, 4)
	var wg sync.WaitGroup
	for s := 0; s < 4; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := uint64(0); n < 30; n++ {
				nd.app.CheckTx(ctx, &abci.RequestCheckTx{Tx: transfer(t, s, n, fee, addr((s+1)%4), 1)})
				nd.app.Query(ctx, &abci.RequestQuery{Path: "/balance/" + addr(s).String()})
			}
		}()
	}
	for i := 0; i < 5; i++ {
		nd.block(transfer(t, 0, uint64(100+i), fee, addr(1), 1))
	}
	wg.Wait()
	if s := nd.supply(); !s.Conserved() {
		t.Fatalf("supply %+v", s)
	}
}
