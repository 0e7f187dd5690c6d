package market_test

import (
	"testing"

	"github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/ledger/module"
)

const (
	h100 = "vendor/nvidia/model/h100/ram/80Gi/interface/sxm"
	a100 = "vendor/nvidia/model/a100"
)

// placementHarness has provider 1 in us-west with tier=gold, an H100 80Gi
// SXM and an A100, persistent beta2 storage and a beta3 class not marked
// persistent; auditor 5 signed tier=gold and region=us-west, auditor 6
// signed tier=silver.
func placementHarness(t *testing.T) *harness {
	p := testParams()
	h := newHarness(t, genesis(t, 8, &p))
	pr := provider(1, attrs(
		"tier", "gold",
		"capabilities/gpu/vendor/nvidia/model/h100/ram/80Gi/interface/sxm", "true",
		"capabilities/gpu/vendor/nvidia/model/a100", "true",
		"capabilities/gpu/vendor/nvidia/model/t4", "false",
		"capabilities/storage/1/class", "beta2",
		"capabilities/storage/1/persistent", "true",
		"capabilities/storage/2/class", "beta3",
	)...)
	pr.Region = "us-west"
	h.OK(1, pr)
	h.OK(5, &market.MsgSignProviderAttributes{Auditor: addr(5), Provider: addr(1), Attributes: attrs("tier", "gold", "region", "us-west")})
	h.OK(6, &market.MsgSignProviderAttributes{Auditor: addr(6), Provider: addr(1), Attributes: attrs("tier", "silver")})
	return h
}

// tryBid creates a deployment with spec under a fresh dseq and has
// provider 1 bid on it with offer, expecting want.
func tryBid(h *harness, dseq uint64, spec market.GroupSpec, offer []market.UnitOffer, want module.Reason) {
	h.T.Helper()
	h.OK(0, createDeployment(0, dseq, 10_000, spec))
	b := createBid(1, oid(0, dseq, 1, 1), 1)
	b.Offer = offer
	if want == module.OK {
		h.OK(1, b)
		return
	}
	h.reject(want, 1, b)
}

func TestPlacement(t *testing.T) {
	h := placementHarness(t)
	a5, a6, a7 := addr(5).String(), addr(6).String(), addr(7).String()
	tests := []struct {
		name  string
		attrs []market.Attribute
		by    market.SignedBy
		want  module.Reason
	}{
		{"no requirements", nil, market.SignedBy{}, module.OK},
		{"own attribute", attrs("tier", "gold"), market.SignedBy{}, module.OK},
		{"own attribute, other value", attrs("tier", "silver"), market.SignedBy{}, invalid},
		{"missing attribute", attrs("host", "akash"), market.SignedBy{}, invalid},
		{"region from the region field", attrs("region", "us-west"), market.SignedBy{}, module.OK},
		{"glob key", attrs("capabilities/gpu/vendor/nvidia/model/*", "true"), market.SignedBy{}, module.OK},
		{"glob key needs the value too", attrs("capabilities/gpu/vendor/nvidia/model/*", "yes"), market.SignedBy{}, invalid},
		{"glob key does not cross '/'", attrs("capabilities/gpu/*", "true"), market.SignedBy{}, invalid},
		{"trailing globs", attrs("capabilities/storage/2/cla*", "beta3", "ti*", "gold"), market.SignedBy{}, module.OK},
		{"all_of: signed", attrs("tier", "gold"), market.SignedBy{AllOf: []string{a5}}, module.OK},
		{"all_of: one auditor signed another value", attrs("tier", "gold"), market.SignedBy{AllOf: []string{a5, a6}}, invalid},
		{"all_of: auditor signed nothing", nil, market.SignedBy{AllOf: []string{a7}}, invalid},
		{"all_of: own attribute is not enough", attrs("capabilities/storage/1/class", "beta2"), market.SignedBy{AllOf: []string{a5}}, invalid},
		{"any_of: one of two", attrs("tier", "gold", "region", "us-west"), market.SignedBy{AnyOf: []string{a6, a5}}, module.OK},
		{"any_of: none", attrs("tier", "gold"), market.SignedBy{AnyOf: []string{a6, a7}}, invalid},
		{"any_of: glob", attrs("reg*", "us-west"), market.SignedBy{AnyOf: []string{a5}}, module.OK},
		{"all_of and any_of", attrs("tier", "gold"), market.SignedBy{AllOf: []string{a5}, AnyOf: []string{a7, a5}}, module.OK},
		{"all_of holds, any_of fails", attrs("tier", "gold"), market.SignedBy{AllOf: []string{a5}, AnyOf: []string{a7}}, invalid},
		{"signed_by without attributes: audited at all", nil, market.SignedBy{AnyOf: []string{a6}}, module.OK},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.T = t
			spec := group("g", 100)
			spec.Requirements = market.Requirements{Attributes: tt.attrs, SignedBy: tt.by}
			tryBid(h, uint64(100+i), spec, nil, tt.want)
		})
	}
	h.T = t
	// Withdrawn signatures stop counting.
	h.OK(5, &market.MsgDeleteProviderAttributes{Auditor: addr(5), Provider: addr(1), Keys: []string{"tier"}})
	spec := group("g", 100)
	spec.Requirements = market.Requirements{Attributes: attrs("tier", "gold"), SignedBy: market.SignedBy{AllOf: []string{a5}}}
	tryBid(h, 1, spec, nil, invalid)
	var pr market.ProviderResult
	h.Query("/market/provider/"+addr(1).String(), &pr)
	if len(pr.Audited) != 2 || len(pr.Audited[0].Attributes)+len(pr.Audited[1].Attributes) != 2 {
		t.Errorf("audited attributes %+v, want region by 5 and tier by 6", pr.Audited)
	}
	h.reject(notFound, 5, &market.MsgDeleteProviderAttributes{Auditor: addr(5), Provider: addr(1), Keys: []string{"tier"}})
	h.OK(5, &market.MsgDeleteProviderAttributes{Auditor: addr(5), Provider: addr(1)})
	h.Query("/market/provider/"+addr(1).String(), &pr)
	if len(pr.Audited) != 1 || pr.Audited[0].Auditor != addr(6) {
		t.Errorf("audited attributes after deleting all of 5's %+v", pr.Audited)
	}
	h.reject(notFound, 5, &market.MsgSignProviderAttributes{Auditor: addr(5), Provider: addr(4), Attributes: attrs("tier", "gold")})
}

func TestGPUAndStorageMatching(t *testing.T) {
	h := placementHarness(t)
	offer := func(unit uint32, gpu string) []market.UnitOffer { return []market.UnitOffer{{Unit: unit, GPU: gpu}} }
	persistent := func(class string) market.GroupSpec {
		g := group("g", 100)
		g.Units[0].Resources.Storage = append(g.Units[0].Resources.Storage, market.Volume{Name: "data", SizeBytes: 1 << 30, Class: class, Persistent: true})
		return g
	}
	tests := []struct {
		name  string
		spec  market.GroupSpec
		offer []market.UnitOffer
		want  module.Reason
	}{
		{"wildcard model", gpuGroup("g", 100, "vendor/nvidia/model/*"), offer(1, h100), module.OK},
		{"concrete model", gpuGroup("g", 100, "vendor/nvidia/model/h100"), offer(1, h100), module.OK},
		{"model and ram", gpuGroup("g", 100, "vendor/nvidia/model/h100/ram/80Gi"), offer(1, h100), module.OK},
		{"model, ram and interface", gpuGroup("g", 100, h100), offer(1, h100), module.OK},
		{"other ram", gpuGroup("g", 100, "vendor/nvidia/model/h100/ram/40Gi"), offer(1, h100), invalid},
		{"other interface", gpuGroup("g", 100, "vendor/nvidia/model/h100/interface/pcie"), offer(1, h100), invalid},
		{"alternatives are OR", gpuGroup("g", 100, "vendor/nvidia/model/t4", "vendor/nvidia/model/a100"), offer(1, a100), module.OK},
		{"offer not among the alternatives", gpuGroup("g", 100, "vendor/nvidia/model/a100"), offer(1, h100), invalid},
		{"provider lacks the gpu", gpuGroup("g", 100, "vendor/nvidia/model/t4"), offer(1, "vendor/nvidia/model/t4"), invalid},
		{"offer more detailed than the capability", gpuGroup("g", 100, a100), offer(1, "vendor/nvidia/model/a100/ram/40Gi"), module.OK},
		{"other vendor", gpuGroup("g", 100, "vendor/amd/model/*"), offer(1, h100), invalid},
		{"no offer for a gpu unit", gpuGroup("g", 100, "vendor/nvidia/model/*"), nil, invalid},
		{"offer for a unit without gpus", group("g", 100), offer(1, h100), invalid},
		{"offer for a unit that does not exist", gpuGroup("g", 100, "vendor/nvidia/model/*"), []market.UnitOffer{{1, h100}, {2, h100}}, invalid},
		{"persistent class the provider has", persistent(market.StorageSSD), nil, module.OK},
		{"class not marked persistent", persistent(market.StorageNVMe), nil, invalid},
		{"class the provider lacks", persistent(market.StorageHDD), nil, invalid},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.T = t
			tryBid(h, uint64(200+i), tt.spec, tt.offer, tt.want)
		})
	}
	h.T = t
	// A wildcard or non-canonical offer is refused before it reaches state.
	for _, gpu := range []string{"vendor/nvidia/model/*", "vendor/nvidia/model/h100/interface/sxm/ram/80Gi", "vendor/intel/model/x"} {
		b := createBid(1, oid(0, 200, 1, 1), 1)
		b.Offer = offer(1, gpu)
		if err := b.ValidateBasic(); err == nil {
			t.Errorf("offer %q passed ValidateBasic", gpu)
		}
	}
	var bids []market.Bid
	h.Query("/market/bids/"+oid(0, 200, 1, 1).String(), &bids)
	if len(bids) != 1 || len(bids[0].Offer) != 1 || bids[0].Offer[0].GPU != h100 {
		t.Errorf("stored bid %+v, want the offered h100", bids)
	}
}
