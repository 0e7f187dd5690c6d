package market_test

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/deai-network/deai/internal/market"
	"github.com/deai-network/deai/internal/market/runtime"
)

// TestProviderMetrics: a bid placed shows in GET /metrics on the
// provider's API; a provider without a registry has no /metrics.
func TestProviderMetrics(t *testing.T) {
	f := newFixture(t, []market.Node{{Name: "n", CPUMilli: 1000, MemoryBytes: 1 << 30, StorageBytes: 10 << 30}},
		market.PriceTable{CPUCore: 10}, local, nil)
	reg := prometheus.NewRegistry()
	rt, err := runtime.NewExec(runtime.ExecOptions{StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := market.NewInventory([]market.Node{{Name: "n", CPUMilli: 1000, MemoryBytes: 1 << 30, StorageBytes: 10 << 30}})
	if err != nil {
		t.Fatal(err)
	}
	table := market.PriceTable{CPUCore: 10}
	p, err := market.NewProvider(market.ProviderOptions{Chain: market.NewLedgerChain(f.c, f.provKey), Runtime: rt, Inventory: inv, Pricer: &table,
		Info: local, StateDir: t.TempDir(), BidDeposit: 500_000, Now: func() time.Time { return f.now }, Metrics: reg})
	if err != nil {
		t.Fatal(err)
	}
	f.deployment(1, group("a", 500, 100))
	if err := p.Step(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	p.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, want := range []string{`deai_provider_bids_total{outcome="placed"} 1`, `deai_provider_leases_running 0`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s:\n%s", want, body)
		}
	}
	rec = httptest.NewRecorder()
	f.prov.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 404 && rec.Code != 405 {
		t.Errorf("a provider without a registry answered /metrics with %d", rec.Code)
	}
}
