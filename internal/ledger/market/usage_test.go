package market_test

import (
	"testing"

	"github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/tx"
)

// usageLease sets up a usage-billed lease: one unit of 1 cpu, 1 GiB and
// one H100, two replicas (capacity per second: 2000 millicores, 2048 MiB,
// 2 GPUs), bid at 1000 per block with prices 2 per core-second, 1 per
// GiB-second and 1000 per GPU-second. Blocks are 1 s apart.
func usageLease(t *testing.T, deposit tx.Amount) (*harness, market.LeaseID, int64) {
	p := testParams()
	h := newHarness(t, genesis(t, 3, &p))
	h.OK(1, provider(1, attrs("capabilities/gpu/vendor/nvidia/model/h100/ram/80Gi/interface/sxm", "true")...))
	g := gpuGroup("train", 1000, "vendor/nvidia/model/h100")
	g.Units[0].Count = 2
	g.Billing = market.BillingUsage
	h.OK(0, createDeployment(0, 1, deposit, g))
	b := createBid(1, oid(0, 1, 1, 1), 1000)
	b.Offer = []market.UnitOffer{{Unit: 1, GPU: h100}}
	b.UnitPrices = market.UnitPrices{CPU: 2, Memory: 1, GPU: 1000}
	h.OK(1, b)
	lid := oid(0, 1, 1, 1).Bid(addr(1))
	r := h.OK(0, &market.MsgCreateLease{Bid: lid})
	if ev := events(market.EventLeaseCreated, r.Events); len(ev) != 1 || attr(ev[0], "billing") != "usage" {
		t.Fatalf("lease_created %+v", ev)
	}
	return h, lid, h.Height
}

func report(lid market.LeaseID, seq, upTo, cpu, mem, gpu uint64) *market.MsgReportUsage {
	return &market.MsgReportUsage{ID: lid, Seq: seq, UpToHeight: upTo, CPUMilliSeconds: cpu, MemoryMiBSeconds: mem, GPUSeconds: gpu}
}

func TestUsageBilling(t *testing.T) {
	h, lid, L := usageLease(t, 100_000)
	h.AdvanceTo(L + 9)
	if l, e := h.lease(lid), h.escrow(did(0, 1)); l.Balance != 0 || e.Funds != 100_000 || e.BlockRate != 0 || e.UsageCap != 1000 || *e.RunwayBlocks != 100 {
		t.Fatalf("usage lease accrued without a report: lease %+v escrow %+v", l, e)
	}
	// L+10: 10 blocks, 10 s. GPU at full use costs 20·1000 = 20000 > the
	// cap of 10 blocks × 1000.
	r := h.OK(1, report(lid, 1, 0, 20_000, 20_480, 20))
	ev := events(market.EventUsageReported, r.Events)
	if len(ev) != 1 || attr(ev[0], "cost") != "20060udeai" || attr(ev[0], "charged") != "10000udeai" || attr(ev[0], "up_to_height") != itoa(L+10) {
		t.Fatalf("usage_reported %+v, want cost 40+20+20000 capped at 10000", ev)
	}
	if l := h.lease(lid); l.Balance != 10_000 || l.Usage.Seq != 1 || l.Usage.AnchorHeight != uint64(L+10) || l.Usage.TotalGPU != 20 {
		t.Errorf("lease after the first report %+v %+v", l, l.Usage)
	}
	// L+11..L+15 reported at L+16 up to L+15: 5 blocks, light use.
	h.AdvanceTo(L + 15)
	r = h.OK(1, report(lid, 5, uint64(L+15), 3000, 1024, 1)) // cost 6 + 1 + 1000
	if ev := events(market.EventUsageReported, r.Events); attr(ev[0], "charged") != "1007udeai" {
		t.Fatalf("second report %+v", ev)
	}
	l := h.lease(lid)
	if l.Usage.Height != uint64(L+15) || l.Usage.AnchorHeight != uint64(L+10) || l.Usage.SinceGPU != 1 {
		t.Errorf("a report up to an earlier block must keep the anchor: %+v", l.Usage)
	}
	h.OK(1, &market.MsgWithdrawLease{ID: lid})
	if l := h.lease(lid); l.Withdrawn != 11_007 || l.Balance != 0 {
		t.Errorf("after withdraw %+v", l)
	}
	if e := h.escrow(did(0, 1)); e.Funds != 100_000-11_007 || e.Transferred != 11_007 {
		t.Errorf("escrow %+v", e)
	}
}

func TestUsageRejections(t *testing.T) {
	h, lid, L := usageLease(t, 100_000)
	h.AdvanceTo(L + 9)
	// At L+10, 10 s after the lease started: 20000 cpu-milli-seconds, 20480
	// MiB-seconds and 20 GPU-seconds are the most the group can use.
	tests := []struct {
		name string
		msg  *market.MsgReportUsage
	}{
		{"too many gpu seconds", report(lid, 1, 0, 0, 0, 21)},
		{"too many cpu milli seconds", report(lid, 1, 0, 20_001, 0, 0)},
		{"too much memory", report(lid, 1, 0, 0, 20_481, 0)},
		{"beyond the current block", report(lid, 1, uint64(L+50), 0, 0, 1)},
		{"covers no block", report(lid, 1, uint64(L), 0, 0, 0)},
	}
	txs := make([][]byte, 0, len(tests)+1)
	for _, tt := range tests {
		txs = append(txs, h.Sign(1, tt.msg))
	}
	txs = append(txs, h.Sign(1, report(lid, 3, 0, 20_000, 20_480, 20))) // exactly the capacity
	res := h.Block(txs...)                                              // all judged in block L+10
	for i, tt := range tests {
		if r := res.TxResults[i]; r.Code != invalid {
			t.Errorf("%s: code %v (%s), want invalid", tt.name, r.Code, r.Log)
		}
	}
	if r := res.TxResults[len(tests)]; !r.OK() {
		t.Fatalf("report of exactly the capacity: %v %s", r.Code, r.Log)
	}
	for _, seq := range []uint64{3, 2} {
		h.reject(invalid, 1, report(lid, seq, 0, 0, 0, 0))
	}
	// Reports up to an earlier block keep the anchor (L+10): everything
	// reported since must fit the time since it.
	h.AdvanceTo(L + 20)
	h.OK(1, report(lid, 4, uint64(L+15), 0, 0, 12))              // L+21: 12 of 2·11
	h.reject(invalid, 1, report(lid, 5, uint64(L+17), 0, 0, 13)) // L+22: 25 of 2·12
	h.OK(1, report(lid, 5, uint64(L+17), 0, 0, 10))              // L+23: 22 of 2·13

	// A per-block lease takes no reports.
	p := testParams()
	h2 := newHarness(t, genesis(t, 2, &p))
	plid, _ := leased(h2, 1, 10_000, 100)
	h2.reject(invalid, 1, report(plid, 1, 0, 0, 0, 0))
	// Unit prices are refused on per-block groups and allowed (even zero)
	// on usage groups: checked in TestCreateBidRejections.
}

// TestUsageFinalReportOnClose: the provider sends its last report and the
// close in one tx, so the usage since the last report is paid before the
// lease closes; a tenant's close pays only what was reported.
func TestUsageFinalReportOnClose(t *testing.T) {
	h, lid, L := usageLease(t, 100_000)
	h.AdvanceTo(L + 4)
	before := h.Balance(addr(1))
	r := h.OK(1, report(lid, 1, 0, 0, 0, 10), &market.MsgCloseLease{ID: lid, Sender: addr(1), Reason: market.ReasonDecommission})
	if ev := events(market.EventLeaseClosed, r.Events); len(ev) != 1 || attr(ev[0], "paid") != "5000udeai" {
		t.Fatalf("lease_closed %+v, want the 5 capped blocks paid out", ev)
	}
	if got := h.Balance(addr(1)); got != before-fee+5000+500 {
		t.Errorf("provider has %s, want %s", got, before-fee+5000+500)
	}
	h.reject(invalid, 1, report(lid, 2, 0, 0, 0, 1))

	// The tenant closes a lease with unreported blocks: they are not paid.
	h2, lid2, L2 := usageLease(t, 100_000)
	h2.AdvanceTo(L2 + 5)
	h2.OK(1, report(lid2, 1, 0, 0, 0, 2))
	h2.AdvanceTo(L2 + 9)
	r = h2.OK(0, &market.MsgCloseDeployment{ID: did(0, 1)})
	if ev := events(market.EventRefund, r.Events); len(ev) != 1 || attr(ev[0], "amount") != "98000udeai" {
		t.Errorf("refund %+v, want everything but the reported 2000", ev)
	}
}

// TestUsageOverdraft: a report the escrow cannot cover takes what is left
// and closes the deployment with reason 20000.
func TestUsageOverdraft(t *testing.T) {
	h, lid, L := usageLease(t, 3000)
	h.AdvanceTo(L + 9)
	r := h.OK(1, report(lid, 1, 0, 0, 0, 5))
	if ev := events(market.EventOverdrawn, r.Events); len(ev) != 1 || attr(ev[0], "paid") != "3000udeai" || attr(ev[0], "shortfall") != "2000udeai" {
		t.Fatalf("escrow_overdrawn %+v", ev)
	}
	l := h.lease(lid)
	if l.State != market.LeaseInsufficientFunds || l.Withdrawn != 3000 || l.Unsettled != 2000 || l.Reason != market.ReasonInsufficientFunds {
		t.Errorf("lease %+v", l)
	}
}

func TestUsageCost(t *testing.T) {
	tests := []struct {
		p             market.UnitPrices
		cpu, mem, gpu uint64
		want          tx.Amount
	}{
		{market.UnitPrices{CPU: 1}, 999, 0, 0, 0}, // rounds down
		{market.UnitPrices{CPU: 1}, 1000, 0, 0, 1},
		{market.UnitPrices{Memory: 3}, 0, 1024, 0, 3},
		{market.UnitPrices{CPU: 5, Memory: 7, GPU: 11}, 2000, 2048, 3, 10 + 14 + 33},
		{market.UnitPrices{GPU: 1 << 62}, 0, 0, 8, tx.Amount(^uint64(0))}, // saturates
		{market.UnitPrices{CPU: 1 << 63, Memory: 1 << 63}, 1 << 63, 1 << 63, 0, tx.Amount(^uint64(0))},
	}
	for _, tt := range tests {
		if got := market.UsageCost(tt.p, tt.cpu, tt.mem, tt.gpu); got != tt.want {
			t.Errorf("UsageCost(%+v, %d, %d, %d) = %d, want %d", tt.p, tt.cpu, tt.mem, tt.gpu, got, tt.want)
		}
	}
}
