package market_test

import (
	"testing"

	"github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/tx"
)

// BenchmarkMarketTxs times market txs through the whole ledger
// (FinalizeBlock with batch signature verification, Commit, applying the
// write set to an in-memory store): 100 tenants with one deployment each
// and 100 providers cycle through blocks of 100 bids, 100 leases, 100
// withdrawals and 100 owner closes (which re-open the orders for the
// next round). One op is one block; txs/s counts the txs. Signing is not
// timed.
func BenchmarkMarketTxs(b *testing.B) {
	const n = 100
	p := testParams()
	p.BidTimeoutBlocks = 0
	p.MaxBidsPerOrder = 500
	h := newHarness(b, genesis(b, 2*n, &p))
	h.NoCheck = true
	var txs [][]byte
	for i := range n {
		txs = append(txs, h.Sign(n+i, provider(n+i)))
	}
	h.blockOK(txs...)
	txs = txs[:0]
	for i := range n {
		txs = append(txs, h.Sign(i, createDeployment(i, 1, 1000*tx.UnitsPerDEAI, group("g", 100))))
	}
	h.blockOK(txs...)
	oseq := uint32(1)
	phase := 0
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		txs = txs[:0]
		for i := range n {
			lid := oid(i, 1, 1, oseq).Bid(addr(n + i))
			var m tx.Msg
			from := n + i
			switch phase {
			case 0:
				m = createBid(n+i, lid.Order(), 90)
			case 1:
				m, from = &market.MsgCreateLease{Bid: lid}, i
			case 2:
				m = &market.MsgWithdrawLease{ID: lid}
			case 3:
				m, from = &market.MsgCloseLease{ID: lid, Sender: addr(i)}, i
			}
			txs = append(txs, h.Sign(from, m))
		}
		b.StartTimer()
		res := h.Block(txs...)
		b.StopTimer()
		for i, r := range res.TxResults {
			if !r.OK() {
				b.Fatalf("phase %d tx %d: %v %s", phase, i, r.Code, r.Log)
			}
		}
		if phase == 3 {
			oseq++
		}
		phase = (phase + 1) % 4
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "txs/s")
}
