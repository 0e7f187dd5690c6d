package market_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/ledger/module"
)

func TestIDs(t *testing.T) {
	lid := oid(0, 42, 2, 3).Bid(addr(1))
	want := addr(0).String() + "/42/2/3/" + addr(1).String()
	if lid.String() != want {
		t.Fatalf("lease id %q, want %q", lid, want)
	}
	got, err := market.ParseLeaseID(want)
	if err != nil || got != lid {
		t.Fatalf("ParseLeaseID = %+v, %v", got, err)
	}
	o, err := market.ParseOrderID(lid.Order().String())
	if err != nil || o != lid.Order() || o.Group() != lid.Group() || o.Deployment() != lid.Deployment() {
		t.Errorf("ParseOrderID = %+v, %v", o, err)
	}
	g, err := market.ParseGroupID(strings.TrimSuffix(lid.Order().String(), "/3"))
	if err != nil || g != did(0, 42).Group(2) {
		t.Errorf("ParseGroupID = %+v, %v", g, err)
	}
	d, err := market.ParseDeploymentID(addr(0).String() + "/42")
	if err != nil || d != did(0, 42) {
		t.Errorf("ParseDeploymentID = %+v, %v", d, err)
	}
	a := addr(0).String()
	for _, bad := range []string{"", a, a + "/0", a + "/01", a + "/-1", a + "/+1", a + "/1/", "x/1", a + "/18446744073709551616", a + "/1/4294967296"} {
		if _, err := market.ParseDeploymentID(bad); err == nil {
			t.Errorf("ParseDeploymentID(%q) accepted", bad)
		}
		if _, err := market.ParseGroupID(bad); err == nil {
			t.Errorf("ParseGroupID(%q) accepted", bad)
		}
	}
	b, _ := json.Marshal(lid)
	wantJSON := `{"owner":"` + a + `","dseq":42,"gseq":2,"oseq":3,"provider":"` + addr(1).String() + `"}`
	if diff := cmp.Diff(wantJSON, string(b)); diff != "" {
		t.Errorf("lease id JSON (-want +got):\n%s", diff)
	}
}

func TestStatesAndReasons(t *testing.T) {
	for _, s := range []market.LeaseState{market.LeaseActive, market.LeaseInsufficientFunds, market.LeaseClosed} {
		b, _ := json.Marshal(s)
		var back market.LeaseState
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Errorf("lease state %v: JSON %s back %v, %v", s, b, back, err)
		}
	}
	var o market.OrderState
	if err := o.UnmarshalText([]byte("invalid")); err == nil {
		t.Error(`order state "invalid" parsed`)
	}
	tests := []struct {
		r               market.CloseReason
		name            string
		owner, provider bool
	}{
		{market.ReasonOwner, "lease_closed_owner", true, false},
		{market.ReasonUnstable, "unstable", false, true},
		{market.ReasonManifestTimeout, "manifest_timeout", false, true},
		{market.ReasonInsufficientFunds, "insufficient_funds", false, false},
		{10004, "reason_10004", false, false},
	}
	for _, tt := range tests {
		if tt.r.String() != tt.name || tt.r.IsOwner() != tt.owner || tt.r.IsProvider() != tt.provider {
			t.Errorf("%d: %s owner %v provider %v", tt.r, tt.r, tt.r.IsOwner(), tt.r.IsProvider())
		}
	}
}

func TestGenesis(t *testing.T) {
	g, err := market.ParseGenesis(nil)
	if err != nil || g.Params != market.DefaultParams() {
		t.Fatalf("nil genesis: %+v, %v", g, err)
	}
	raw, _ := json.Marshal(market.DefaultGenesis())
	if g, err := market.ParseGenesis(raw); err != nil || g.Params != market.DefaultParams() {
		t.Errorf("default genesis round trip: %+v, %v", g, err)
	}
	tests := []struct{ name, json string }{
		{"unknown field", `{"params":{"min_deposit":"1","bid_min_deposit":"1","max_bids_per_order":20,"bid_timeout_blocks":1,"settle_every_blocks":1,"end_block_limit":1,"x":1}}`},
		{"missing field", `{"params":{"min_deposit":"1","bid_min_deposit":"1","max_bids_per_order":20,"bid_timeout_blocks":1,"settle_every_blocks":1}}`},
		{"missing params", `{}`},
		{"max bids above the hard max", `{"params":{"min_deposit":"1","bid_min_deposit":"1","max_bids_per_order":501,"bid_timeout_blocks":1,"settle_every_blocks":1,"end_block_limit":1}}`},
		{"zero min deposit", `{"params":{"min_deposit":"0","bid_min_deposit":"1","max_bids_per_order":20,"bid_timeout_blocks":1,"settle_every_blocks":1,"end_block_limit":1}}`},
		{"zero settle interval", `{"params":{"min_deposit":"1","bid_min_deposit":"1","max_bids_per_order":20,"bid_timeout_blocks":1,"settle_every_blocks":0,"end_block_limit":1}}`},
		{"trailing data", `{"params":{"min_deposit":"1","bid_min_deposit":"1","max_bids_per_order":20,"bid_timeout_blocks":1,"settle_every_blocks":1,"end_block_limit":1}} {}`},
	}
	for _, tt := range tests {
		if _, err := market.ParseGenesis(json.RawMessage(tt.json)); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
	p := testParams()
	h := newHarness(t, genesis(t, 1, &p))
	var got market.Params
	h.Query("/market/params", &got)
	if diff := cmp.Diff(p, got); diff != "" {
		t.Errorf("params (-want +got):\n%s", diff)
	}
}

func TestQueryErrors(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 1, &p))
	for path, want := range map[string]string{
		"/market/nope":    "bad_query",
		"/market/order/x": "bad_query",
		"/market/order/" + oid(0, 1, 1, 1).String():   "not_found",
		"/market/deployment/" + did(0, 1).String():    "not_found",
		"/market/orders?limit=0":                      "bad_query",
		"/market/orders?state=nope":                   "bad_query",
		"/market/orders?color=red":                    "bad_query",
		"/market/leases/tenant/" + addr(0).String():   "bad_query",
		"/market/provider/" + addr(0).String():        "not_found",
		"/market/providers?after=" + addr(0).String(): "",
	} {
		_, err := h.L.Query(path)
		got := ""
		if err != nil {
			got = moduleReason(err)
		}
		if got != want {
			t.Errorf("%s: %q (%v), want %q", path, got, err, want)
		}
	}
}

func moduleReason(err error) string { return module.ReasonOf(err).String() }

func TestOrdersPagination(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 2, &p))
	var txs [][]byte
	for d := uint64(1); d <= 5; d++ {
		txs = append(txs, h.Sign(0, createDeployment(0, d, 10_000, group("g", 1))))
	}
	h.blockOK(txs...)
	h.OK(0, &market.MsgCloseDeployment{ID: did(0, 3)})
	var page []market.Order
	var seen []uint64
	after := ""
	for range 4 {
		h.Query("/market/orders?state=open&limit=2"+after, &page)
		for _, o := range page {
			seen = append(seen, o.ID.DSeq)
		}
		if len(page) < 2 {
			break
		}
		after = "&after=" + page[len(page)-1].ID.String()
	}
	if diff := cmp.Diff([]uint64{1, 2, 4, 5}, seen); diff != "" {
		t.Errorf("open orders over pages (-want +got):\n%s", diff)
	}
	h.Query("/market/orders?state=closed", &page)
	if len(page) != 1 || page[0].ID.DSeq != 3 {
		t.Errorf("closed orders %+v", page)
	}
	h.Query("/market/orders", &page)
	if len(page) != 5 {
		t.Errorf("%d orders, want 5", len(page))
	}
	var ds []market.Deployment
	h.Query("/market/deployments/"+addr(0).String()+"?after=3&limit=1", &ds)
	if len(ds) != 1 || ds[0].ID.DSeq != 4 {
		t.Errorf("deployments after 3: %+v", ds)
	}
}
