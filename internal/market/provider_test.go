package market_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/abciapp/abciapptest"
	"github.com/deai-network/deai/internal/chain/chaintest"
	"github.com/deai-network/deai/internal/ledger"
	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market"
	"github.com/deai-network/deai/internal/market/manifest"
	"github.com/deai-network/deai/internal/market/runtime"
	"github.com/deai-network/deai/internal/market/runtime/runtimetest"
	"github.com/deai-network/deai/internal/wallet"
)

func key(t testing.TB, seed byte) *wallet.Key {
	t.Helper()
	k, err := wallet.FromSeed(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// twin is the real ledger (bank, market) behind the in-memory chain twin:
// every tx is committed in its own block.
func twin(t testing.TB, funded ...*wallet.Key) *chaintest.Client {
	t.Helper()
	return abciapptest.Twin(t, []ledger.Module{lmarket.New()}, abciapptest.Accounts(funded)...)
}

type fixture struct {
	t       testing.TB
	c       *chaintest.Client
	tenant  *market.Tenant
	prov    *market.Provider
	provKey *wallet.Key
	exec    *runtime.Exec
	now     time.Time
}

func newFixture(t testing.TB, nodes []market.Node, table market.PriceTable, info market.ProviderInfo, required []lmarket.Attribute, allow ...string) *fixture {
	t.Helper()
	ten, pk := key(t, 1), key(t, 2)
	c := twin(t, ten, pk)
	rt, err := runtime.NewExec(runtime.ExecOptions{StateDir: t.TempDir(), Allow: allow})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := market.NewInventory(nodes)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, c: c, tenant: market.NewTenant(c, ten), provKey: pk, exec: rt, now: time.Unix(1_700_000_000, 0)}
	f.prov, err = market.NewProvider(market.ProviderOptions{
		Chain: market.NewLedgerChain(c, pk), Runtime: rt, Inventory: inv, Pricer: &table, Info: info,
		StateDir: t.TempDir(), BidDeposit: 500_000, RequiredAttributes: required,
		BidTimeout: time.Minute, ManifestTimeout: time.Minute, CapacityRetry: time.Second,
		Now: func() time.Time { return f.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := market.NewLedgerChain(c, pk).EnsureProvider(t.Context(), info); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) step() {
	f.t.Helper()
	if err := f.prov.Step(f.t.Context()); err != nil {
		f.t.Fatal(err)
	}
}

func group(name string, cpu uint64, price uint64, attrs ...lmarket.Attribute) lmarket.GroupSpec {
	return lmarket.GroupSpec{Name: name, Requirements: lmarket.Requirements{Attributes: attrs}, Units: []lmarket.ResourceUnit{{
		ID: 1, Count: 1, Price: price,
		Resources: lmarket.Resources{CPUMilli: cpu, MemoryBytes: 64 << 20, Storage: []lmarket.Volume{{Name: "default", SizeBytes: 64 << 20}}},
	}}}
}

func (f *fixture) deployment(dseq uint64, g lmarket.GroupSpec) lmarket.DeploymentID {
	f.t.Helper()
	id, err := f.tenant.CreateDeployment(f.t.Context(), dseq, []lmarket.GroupSpec{g}, [32]byte{1}, 1_000_000)
	if err != nil {
		f.t.Fatal(err)
	}
	return id
}

func (f *fixture) bids(id lmarket.DeploymentID) []lmarket.Bid {
	f.t.Helper()
	b, err := f.tenant.Bids(f.t.Context(), id)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

var local = market.ProviderInfo{HostURI: "http://127.0.0.1:1", Region: "local"}

func TestProviderNeverBidsBeyondCapacity(t *testing.T) {
	f := newFixture(t, []market.Node{{Name: "n", CPUMilli: 1000, MemoryBytes: 1 << 30, StorageBytes: 10 << 30}},
		market.PriceTable{CPUCore: 10}, local, nil)
	a := f.deployment(1, group("a", 800, 100))
	b := f.deployment(2, group("b", 800, 100))
	f.step()
	if got := f.bids(a); len(got) != 1 || got[0].Price != 8 {
		t.Fatalf("bids on a: %+v, want one at 8 udeai per block (0.8 core × 10)", got)
	}
	if got := f.bids(b); len(got) != 0 {
		t.Fatalf("bids on b: %+v, want none (1000m free, 800m reserved for a)", got)
	}
	why := f.prov.Declined()[b.Group(1).Order(1).String()]
	if !strings.Contains(why, "insufficient capacity") || !strings.Contains(why, "cpu 200m free < 800m") {
		t.Fatalf("declined b because %q", why)
	}
	// a closes: its bid is closed, the capacity comes back, and b gets a
	// bid on a later look.
	if err := f.tenant.CloseDeployment(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	f.step()
	f.now = f.now.Add(2 * time.Second)
	f.step()
	if got := f.bids(b); len(got) != 1 {
		t.Fatalf("bids on b after a closed: %+v, want one", got)
	}
}

func TestProviderPlacementAndPrice(t *testing.T) {
	info := local
	info.Attributes = []lmarket.Attribute{{Key: "tier", Value: "gold"}}
	f := newFixture(t, []market.Node{{Name: "n", CPUMilli: 8000, MemoryBytes: 8 << 30, StorageBytes: 100 << 30}},
		market.PriceTable{CPUCore: 100}, info, []lmarket.Attribute{{Key: "tier", Value: "gold"}})
	cases := []struct {
		name  string
		g     lmarket.GroupSpec
		bid   bool
		price uint64
		why   string
	}{
		{"matching placement", group("ok", 500, 60, lmarket.Attribute{Key: "tier", Value: "gold"}, lmarket.Attribute{Key: "reg*", Value: "local"}), true, 50, ""},
		{"provider's required attribute not asked", group("plain", 500, 60), false, 0, "required attribute tier=gold"},
		{"placement the provider lacks", group("eu", 500, 60, lmarket.Attribute{Key: "tier", Value: "gold"}, lmarket.Attribute{Key: "region", Value: "eu"}), false, 0, "lacks attribute region=eu"},
		{"price above the ceiling", group("cheap", 500, 40, lmarket.Attribute{Key: "tier", Value: "gold"}), false, 0, "above the order's maximum"},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := f.deployment(uint64(10+i), tc.g)
			f.step()
			got := f.bids(id)
			if tc.bid {
				if len(got) != 1 || uint64(got[0].Price) != tc.price {
					t.Fatalf("bids %+v, want one at %d", got, tc.price)
				}
				return
			}
			why := f.prov.Declined()[id.Group(1).Order(1).String()]
			if len(got) != 0 || !strings.Contains(why, tc.why) {
				t.Fatalf("bids %+v, declined %q; want none because %q", got, why, tc.why)
			}
		})
	}
}

// TestProviderExecLease runs a lease on the exec runtime: the manifest is
// checked against the chain, the process serves, a restart adopts it, and
// closing stops it.
func TestProviderExecLease(t *testing.T) {
	bin := runtimetest.EchoBinary(t)
	f := newFixture(t, []market.Node{{Name: "n", CPUMilli: 4000, MemoryBytes: 4 << 30, StorageBytes: 10 << 30}},
		market.PriceTable{CPUCore: 10}, local, nil, bin)
	srv := httptest.NewServer(f.prov.Handler())
	defer srv.Close()
	info := local
	info.HostURI = srv.URL
	if err := market.NewLedgerChain(f.c, f.provKey).EnsureProvider(t.Context(), info); err != nil {
		t.Fatal(err)
	}
	sdl := fmt.Sprintf(`version: "2.0"
services:
  web:
    image: %s
    env: [ECHO_MESSAGE=exec-lease]
    expose:
      - port: 8080
        as: 80
        to: [{global: true}]
profiles:
  compute:
    web:
      resources: {cpu: {units: 0.5}, memory: {size: 128Mi}, storage: {size: 64Mi}}
  placement:
    local:
      pricing: {web: {denom: udeai, amount: 10}}
deployment:
  web: {local: {profile: web, count: 1}}
`, bin)
	s, err := manifest.ParseSDL([]byte(sdl))
	if err != nil {
		t.Fatal(err)
	}
	m := s.Manifest()
	ctx := t.Context()
	dep, err := f.tenant.CreateDeployment(ctx, 0, s.Groups(), m.Hash(), 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	f.step()
	bids := f.bids(dep)
	if len(bids) != 1 {
		t.Fatalf("bids %+v", bids)
	}
	if err := f.tenant.CreateLease(ctx, bids[0].ID); err != nil {
		t.Fatal(err)
	}
	f.step()
	pc, err := f.tenant.ProviderClient(ctx, bids[0].ID.Provider)
	if err != nil {
		t.Fatal(err)
	}
	// A manifest for another deployment's hash is refused; the right one runs.
	other := m
	other.Groups = []manifest.Group{m.Groups[0]}
	other.Groups[0].Services = []manifest.Service{m.Groups[0].Services[0]}
	other.Groups[0].Services[0].Image = "/bin/false"
	var pe *market.ProviderError
	if _, err := pc.SendManifest(ctx, dep.DSeq, other); !errors.As(err, &pe) || pe.Status != http.StatusConflict {
		t.Fatalf("wrong manifest: %v, want 409 hash_mismatch", err)
	}
	if _, err := pc.SendManifest(ctx, dep.DSeq+1, m); !errors.As(err, &pe) || pe.Status != http.StatusNotFound {
		t.Fatalf("manifest for a deployment without a lease: %v, want 404", err)
	}
	if _, err := pc.SendManifest(ctx, dep.DSeq, m); err != nil {
		t.Fatal(err)
	}
	var uri string
	for i := 0; i < 100 && uri == ""; i++ {
		st, err := pc.LeaseStatus(ctx, bids[0].ID.String())
		if err == nil && len(st.Services) == 1 && st.Services[0].Available == 1 && len(st.Services[0].URIs) == 1 {
			uri = "http://" + st.Services[0].URIs[0] + "/"
		} else {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if uri == "" {
		t.Fatal("exec lease never became available")
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	runtimetest.WaitHTTP(cctx, t, uri, "exec-lease")

	// The tenant closes: the next step stops the process.
	if err := f.tenant.CloseLease(ctx, bids[0].ID); err != nil {
		t.Fatal(err)
	}
	f.step()
	ref, _ := runtime.NewLeaseRef(bids[0].ID.String())
	if _, err := f.exec.Status(ctx, ref); !errors.Is(err, runtime.ErrNotFound) {
		t.Fatalf("after close: status err %v, want ErrNotFound", err)
	}
	if len(f.prov.Leases()) != 0 {
		t.Fatalf("provider still tracks %v", f.prov.Leases())
	}
}

func TestPreflightHTTP(t *testing.T) {
	f := newFixture(t, []market.Node{{Name: "n", CPUMilli: 1000, MemoryBytes: 1 << 30, StorageBytes: 10 << 30}},
		market.PriceTable{CPUCore: 10}, local, nil)
	srv := httptest.NewServer(f.prov.Handler())
	defer srv.Close()
	ctx := t.Context()
	r, err := market.Preflight(ctx, nil, srv.URL, "deai1x", group("ok", 500, 100))
	if err != nil || !r.Bid || r.Price != 5 {
		t.Fatalf("preflight: %+v, %v; want a bid at 5", r, err)
	}
	r, err = market.Preflight(ctx, nil, srv.URL, "deai1x", group("big", 4000, 100))
	if err != nil || r.Bid || !strings.Contains(r.Reason, "cpu 1000m free < 4000m") {
		t.Fatalf("preflight too big: %+v, %v", r, err)
	}
	// Nothing stays reserved by a preflight.
	r, err = market.Preflight(ctx, nil, srv.URL, "deai1x", group("again", 1000, 100))
	if err != nil || !r.Bid {
		t.Fatalf("preflight after others: %+v, %v; want the whole node free again", r, err)
	}
	resp, err := http.Post(srv.URL+"/preflight", "application/json", strings.NewReader("{"))
	if err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad preflight body: %v %v", resp, err)
	}
	resp.Body.Close()
	// Signed routes refuse unsigned calls.
	resp, err = http.Post(srv.URL+"/lease/status", "application/json", strings.NewReader(`{"lease":"x"}`))
	if err != nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned status: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestProviderTimeouts: a bid nobody accepts is closed after BidTimeout
// (its deposit refunded by the chain), and a won lease whose manifest
// never comes is closed after ManifestTimeout with reason 10003.
func TestProviderTimeouts(t *testing.T) {
	f := newFixture(t, []market.Node{{Name: "n", CPUMilli: 4000, MemoryBytes: 4 << 30, StorageBytes: 10 << 30}},
		market.PriceTable{CPUCore: 10}, local, nil)
	ctx := t.Context()
	idle := f.deployment(1, group("idle", 500, 100))
	f.step()
	if b := f.bids(idle); len(b) != 1 || b[0].State != lmarket.BidOpen {
		t.Fatalf("bids %+v", b)
	}
	f.now = f.now.Add(2 * time.Minute) // BidTimeout is 1 min
	f.step()
	if b := f.bids(idle); len(b) != 1 || b[0].State != lmarket.BidClosed {
		t.Fatalf("after the bid timeout: %+v, want the bid closed", b)
	}

	silent := f.deployment(2, group("silent", 500, 100))
	f.step()
	b := f.bids(silent)
	if len(b) != 1 {
		t.Fatalf("bids %+v", b)
	}
	if err := f.tenant.CreateLease(ctx, b[0].ID); err != nil {
		t.Fatal(err)
	}
	f.step() // the provider sees the lease and waits for the manifest
	if got := f.prov.Leases(); len(got) != 1 {
		t.Fatalf("provider leases %v", got)
	}
	f.now = f.now.Add(2 * time.Minute) // ManifestTimeout is 1 min
	f.step()
	l, err := f.tenant.Lease(ctx, b[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if l.State != lmarket.LeaseClosed || l.Reason != lmarket.ReasonManifestTimeout {
		t.Fatalf("lease %+v, want closed with manifest_timeout", l)
	}
	f.step()
	if got := f.prov.Leases(); len(got) != 0 {
		t.Fatalf("provider still tracks %v", got)
	}
}

// TestProviderGPUBidNamesTheDevice: a wildcard GPU order gets a bid priced
// as, and offering, the concrete model the inventory reserved.
func TestProviderGPUBidNamesTheDevice(t *testing.T) {
	nodes := []market.Node{{Name: "gpu-1", CPUMilli: 8000, MemoryBytes: 64 << 30, StorageBytes: 100 << 30, GPUs: []market.GPUDevice{
		{ID: "0", Vendor: "nvidia", Model: "a100", RAM: "80Gi", Interface: "sxm"},
	}}}
	info := local
	info.Attributes = market.GPUCapabilities(nodes)
	f := newFixture(t, nodes, market.PriceTable{CPUCore: 1, GPU: map[string]float64{"*": 500, "h100": 900, "a100": 700}}, info, nil)
	g := group("gpu", 1000, 2000)
	g.Units[0].Resources.GPU = lmarket.GPU{Units: 1, Attributes: []string{"vendor/nvidia/model/*"}}
	id := f.deployment(1, g)
	f.step()
	b := f.bids(id)
	if len(b) != 1 {
		t.Fatalf("bids %+v; declined: %v", b, f.prov.Declined())
	}
	if b[0].Price != 701 || len(b[0].Offer) != 1 || b[0].Offer[0].GPU != "vendor/nvidia/model/a100/ram/80Gi/interface/sxm" {
		t.Fatalf("bid %+v: want 701 (1 core + one a100) offering the a100", b[0])
	}
	// A second GPU order does not fit: the only GPU is reserved.
	id2 := f.deployment(2, g)
	f.step()
	if b := f.bids(id2); len(b) != 0 || !strings.Contains(f.prov.Declined()[id2.Group(1).Order(1).String()], "free GPUs") {
		t.Fatalf("second GPU order: bids %+v, declined %v", b, f.prov.Declined())
	}
}
