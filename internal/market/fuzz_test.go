package market_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market"
)

// FuzzPreflight throws arbitrary bodies at the provider's public
// preflight route: it must answer 200 with a verdict or 400, never panic,
// and never keep capacity reserved.
func FuzzPreflight(f *testing.F) {
	seed, _ := json.Marshal(market.PreflightRequest{Owner: "deai1x", Group: group("ok", 500, 100)})
	f.Add(seed)
	gpu := group("gpu", 1000, 100)
	gpu.Units[0].Resources.GPU = lmarket.GPU{Units: 1, Attributes: []string{"vendor/nvidia/model/*"}}
	seed2, _ := json.Marshal(market.PreflightRequest{Group: gpu})
	f.Add(seed2)
	f.Add([]byte(`{"group":{"name":"x","units":[{"id":1,"count":4294967295,"price":18446744073709551615,"resources":{"cpu_milli":18446744073709551615}}]}}`))
	f.Add([]byte(`{`))
	f.Add([]byte(`null`))
	fx := newFixture(f, []market.Node{{Name: "n", CPUMilli: 1000, MemoryBytes: 1 << 30, StorageBytes: 10 << 30}},
		market.PriceTable{CPUCore: 10}, local, nil)
	srv := httptest.NewServer(fx.prov.Handler())
	defer srv.Close()
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := http.Post(srv.URL+"/preflight", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("status %d with a body that is not JSON: %v", resp.StatusCode, err)
		}
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("status %d: %v", resp.StatusCode, out)
		}
	})
}
