package market_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/deai-network/deai/internal/ledger/ledgertest"
	"github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/tx"
)

func registry(tb testing.TB) *tx.Registry {
	tb.Helper()
	r := tx.NewRegistry()
	if err := market.New().RegisterMsgs(r); err != nil {
		tb.Fatal(err)
	}
	return r
}

// fullGroup uses every field of a group spec.
func fullGroup() market.GroupSpec {
	return market.GroupSpec{
		Name:    "gpu-train",
		Billing: market.BillingUsage,
		Requirements: market.Requirements{
			SignedBy:   market.SignedBy{AllOf: []string{addr(5).String()}, AnyOf: []string{addr(6).String(), addr(7).String()}},
			Attributes: attrs("region", "us-west", "capabilities/gpu/vendor/nvidia/model/*", "true"),
		},
		Units: []market.ResourceUnit{
			{ID: 1, Count: 2, Price: 5000, Resources: market.Resources{
				CPUMilli: 8000, MemoryBytes: 64 << 30,
				Storage: []market.Volume{
					{Name: "default", SizeBytes: 10 << 30},
					{Name: "data", SizeBytes: 100 << 30, Class: market.StorageNVMe, Persistent: true},
				},
				GPU:       market.GPU{Units: 1, Attributes: []string{"vendor/nvidia/model/h100/ram/80Gi", "vendor/nvidia/model/a100"}, Sharing: market.SharingMPS},
				Endpoints: []market.Endpoint{{Kind: market.EndpointSharedHTTP}, {Kind: market.EndpointLeasedIP, Seq: 1}},
			}},
			unit(2, 1, 10),
		},
	}
}

// sampleMsgs has one valid message of every type, in type order.
func sampleMsgs() []tx.Msg {
	lid := oid(0, 42, 2, 3).Bid(addr(1))
	prov := &market.MsgCreateProvider{Owner: addr(1), HostURI: "https://p.example.com:8443", Region: "us-west",
		Attributes: attrs("tier", "gold", "region", "us-west"), Info: market.ProviderInfo{Email: "ops@example.com", Website: "https://example.com"}}
	upd := market.MsgUpdateProvider(*prov)
	upd.HostURI = "http://[::1]:8443"
	return []tx.Msg{
		prov,
		&upd,
		&market.MsgDeleteProvider{Owner: addr(1)},
		&market.MsgSignProviderAttributes{Auditor: addr(5), Provider: addr(1), Attributes: attrs("tier", "gold")},
		&market.MsgDeleteProviderAttributes{Auditor: addr(5), Provider: addr(1), Keys: []string{"tier"}},
		&market.MsgCreateDeployment{ID: did(0, 42), Groups: []market.GroupSpec{fullGroup(), group("web", 100)}, Hash: manifest, Deposit: 5_000_000},
		&market.MsgUpdateDeployment{ID: did(0, 42), Hash: market.ManifestHash{1, 2, 3}},
		&market.MsgDepositDeployment{ID: did(0, 42), Depositor: addr(2), Amount: 7},
		&market.MsgCloseDeployment{ID: did(0, 42)},
		&market.MsgCloseGroup{ID: did(0, 42).Group(2)},
		&market.MsgPauseGroup{ID: did(0, 42).Group(2)},
		&market.MsgStartGroup{ID: did(0, 42).Group(2)},
		&market.MsgCreateBid{Order: lid.Order(), Provider: addr(1), Price: 900, Deposit: 500_000,
			Offer: []market.UnitOffer{{Unit: 1, GPU: h100}}, UnitPrices: market.UnitPrices{CPU: 1, Memory: 2, GPU: 3}},
		&market.MsgCloseBid{ID: lid, Reason: market.ReasonUnstable},
		&market.MsgCreateLease{Bid: lid},
		&market.MsgCloseLease{ID: lid, Sender: addr(0), Reason: market.ReasonOwner},
		&market.MsgWithdrawLease{ID: lid},
		&market.MsgReportUsage{ID: lid, Seq: 9, UpToHeight: 100, CPUMilliSeconds: 1, MemoryMiBSeconds: 2, GPUSeconds: 3},
	}
}

func TestMsgsRoundTrip(t *testing.T) {
	reg := registry(t)
	msgs := sampleMsgs()
	ledgertest.CheckMsgs(t, reg, msgs, ledgertest.MsgChecks{ValidateBasic: true})
	types := reg.Types()
	if len(types) != len(msgs) || types[0] != market.TypeMsgCreateProvider || types[len(types)-1] != market.TypeMsgReportUsage {
		t.Errorf("registered types %v", types)
	}
	for i, m := range msgs {
		if m.Type() != types[i] {
			t.Errorf("sample %d is %T, type %#04x, want %#04x", i, m, m.Type(), types[i])
		}
	}
}

func TestValidateBasicRejects(t *testing.T) {
	lid := oid(0, 1, 1, 1).Bid(addr(1))
	twoGroups := createDeployment(0, 1, 10, group("a", 1), group("a", 1))
	badUnit := group("a", 1)
	badUnit.Units[0].ID = 2
	badAuditor := group("a", 1)
	badAuditor.Requirements.SignedBy.AllOf = []string{"DEAI1XYZ"}
	dupAuditor := group("a", 1)
	dupAuditor.Requirements.SignedBy.AnyOf = []string{addr(5).String(), addr(5).String()}
	tests := []struct {
		name string
		msg  tx.Msg
	}{
		{"provider without owner", &market.MsgCreateProvider{HostURI: "https://a.b"}},
		{"provider host not a url", &market.MsgCreateProvider{Owner: addr(1), HostURI: "ftp://a.b"}},
		{"provider region upper case", &market.MsgCreateProvider{Owner: addr(1), HostURI: "https://a.b", Region: "US"}},
		{"provider glob attribute", provider(1, attrs("tier*", "x")...)},
		{"provider duplicate attribute", provider(1, attrs("tier", "x", "tier", "y")...)},
		{"provider region attribute disagrees", &market.MsgCreateProvider{Owner: addr(1), HostURI: "https://a.b", Region: "eu", Attributes: attrs("region", "us")}},
		{"provider bad email", &market.MsgCreateProvider{Owner: addr(1), HostURI: "https://a.b", Info: market.ProviderInfo{Email: "no-at"}}},
		{"auditor signs itself", &market.MsgSignProviderAttributes{Auditor: addr(1), Provider: addr(1), Attributes: attrs("tier", "x")}},
		{"auditor signs nothing", &market.MsgSignProviderAttributes{Auditor: addr(2), Provider: addr(1)}},
		{"deployment dseq 0", createDeployment(0, 0, 10, group("a", 1))},
		{"deployment without groups", createDeployment(0, 1, 10)},
		{"deployment group names twice", twoGroups},
		{"deployment unit ids not sequential", createDeployment(0, 1, 10, badUnit)},
		{"deployment auditor not an address", createDeployment(0, 1, 10, badAuditor)},
		{"deployment auditor twice", createDeployment(0, 1, 10, dupAuditor)},
		{"deployment zero deposit", createDeployment(0, 1, 0, group("a", 1))},
		{"deployment zero hash", &market.MsgCreateDeployment{ID: did(0, 1), Groups: []market.GroupSpec{group("a", 1)}, Deposit: 1}},
		{"update zero hash", &market.MsgUpdateDeployment{ID: did(0, 1)}},
		{"deposit zero", &market.MsgDepositDeployment{ID: did(0, 1), Depositor: addr(1)}},
		{"group gseq 0", &market.MsgCloseGroup{ID: did(0, 1).Group(0)}},
		{"bid oseq 0", createBid(1, oid(0, 1, 1, 0), 1)},
		{"bid zero price", createBid(1, oid(0, 1, 1, 1), 0)},
		{"bid offers out of order", &market.MsgCreateBid{Order: lid.Order(), Provider: addr(1), Price: 1, Deposit: 1,
			Offer: []market.UnitOffer{{Unit: 2, GPU: h100}, {Unit: 1, GPU: h100}}}},
		{"close bid with the owner's reason", &market.MsgCloseBid{ID: lid, Reason: market.ReasonOwner}},
		{"close lease network reason", &market.MsgCloseLease{ID: lid, Sender: addr(0), Reason: market.ReasonInsufficientFunds}},
		{"lease without provider", &market.MsgCreateLease{Bid: oid(0, 1, 1, 1).Bid(tx.Address{})}},
		{"usage seq 0", &market.MsgReportUsage{ID: lid}},
	}
	for _, tt := range tests {
		if err := tt.msg.ValidateBasic(); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

// FuzzDecodeMsgs checks every message decoder: no panics, and whatever
// decodes is canonical (re-encodes to the input) and survives
// ValidateBasic and JSON. An input is a type index byte and a body. The
// seed corpus lives in testdata/fuzz/FuzzDecodeMsgs (regenerate with
// go test -run TestWriteFuzzCorpus -args -write-corpus).
func FuzzDecodeMsgs(f *testing.F) {
	ledgertest.FuzzDecodeMsgs(f, registry(f), fuzzSeeds(), func(t *testing.T, m tx.Msg) {
		if s, ok := m.(tx.Spender); ok {
			_ = s.Spend()
		}
	})
}

func fuzzSeeds() [][]byte { return ledgertest.FuzzSeeds(sampleMsgs(), []byte{5, 0xff, 0xff, 0xff}) }

// FuzzParseIDs checks the ID parsers: no panics, and a parsed ID prints
// back as the input (one string per ID).
func FuzzParseIDs(f *testing.F) {
	lid := oid(0, 42, 2, 3).Bid(addr(1))
	for _, s := range []string{lid.String(), lid.Order().String(), lid.Group().String(), lid.Deployment().String(), "", "a/b", addr(0).String() + "/01", addr(0).String() + "/+1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if id, err := market.ParseBidID(s); err == nil && id.String() != s {
			t.Errorf("bid id %q prints as %q", s, id)
		}
		if id, err := market.ParseOrderID(s); err == nil && id.String() != s {
			t.Errorf("order id %q prints as %q", s, id)
		}
		if id, err := market.ParseGroupID(s); err == nil && id.String() != s {
			t.Errorf("group id %q prints as %q", s, id)
		}
		if id, err := market.ParseDeploymentID(s); err == nil && id.String() != s {
			t.Errorf("deployment id %q prints as %q", s, id)
		}
	})
}

// TestWriteFuzzCorpus keeps the committed seed corpus in step with
// fuzzSeeds; it only writes when asked with -write-corpus.
func TestWriteFuzzCorpus(t *testing.T) {
	ledgertest.WriteCorpus(t, fuzzSeeds(), func(name string, data []byte) error {
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		return os.WriteFile(name, data, 0o644)
	})
}
