package runtimetest_test

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market/manifest"
	"github.com/deai-network/deai/internal/market/runtime"
	"github.com/deai-network/deai/internal/market/runtime/runtimetest"
)

func TestMemory(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1_000_000, 0)
	m := runtimetest.NewMemory(func() time.Time { return now })
	l, err := runtime.NewLeaseRef("deai1owner/7/1/1/deai1prov")
	if err != nil {
		t.Fatal(err)
	}
	web := manifest.Service{
		Name: "web", Image: "img", Count: 2,
		Resources: lmarket.Resources{CPUMilli: 500, MemoryBytes: 64 << 20, Storage: []lmarket.Volume{{Name: "default", SizeBytes: 64 << 20}}},
		Expose:    []manifest.Expose{{Port: 8080, ExternalPort: 80, Global: true}},
	}
	g := manifest.Group{Name: "g", Services: []manifest.Service{web}}

	if _, err := m.Deploy(ctx, l, manifest.Group{Name: "g"}); !errors.Is(err, runtime.ErrInvalid) {
		t.Errorf("empty group: %v, want ErrInvalid", err)
	}
	st, err := m.Deploy(ctx, l, g)
	if err != nil {
		t.Fatal(err)
	}
	want := runtime.Status{Lease: l, Services: []runtime.ServiceStatus{{
		Name: "web", Replicas: 2, Running: 2, Ready: 2,
		Endpoints: []runtime.Endpoint{
			{Port: 8080, ExternalPort: 80, Proto: "TCP", Host: "127.0.0.1", HostPort: 30000, Replica: 0},
			{Port: 8080, ExternalPort: 80, Proto: "TCP", Host: "127.0.0.1", HostPort: 30001, Replica: 1},
		},
	}}}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}

	now = now.Add(10 * time.Second)
	if err := m.SetService(l, "web", func(s *runtime.ServiceStatus) { s.Running, s.Ready, s.Restarts = 1, 1, 1 }); err != nil {
		t.Fatal(err)
	}
	now = now.Add(10 * time.Second)
	u, err := m.Usage(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	// 10 s × 2 replicas + 10 s × 1.
	if u.CPUMilliSeconds != 500*30 || u.MemoryMiBSeconds != 64*30 {
		t.Errorf("usage %+v", u)
	}

	// Redeploying keeps endpoints.
	if st, _ = m.Deploy(ctx, l, g); st.Services[0].Endpoints[1].HostPort != 30001 || m.Deploys(l) != 2 {
		t.Errorf("redeploy: %+v, deploys %d", st, m.Deploys(l))
	}
	m.Log(l, "web", "hello")
	rc, _ := m.Logs(ctx, l, runtime.LogOptions{Services: []string{"web"}})
	if b, _ := io.ReadAll(rc); string(b) != "[web-0] hello\n" {
		t.Errorf("logs %q", b)
	}
	m.Fail("Status", errors.New("boom"))
	if _, err := m.Status(ctx, l); err == nil || err.Error() != "boom" {
		t.Errorf("injected failure: %v", err)
	}
	if leases, _ := m.List(ctx); len(leases) != 1 || leases[0] != l {
		t.Errorf("List = %v", leases)
	}
	if err := m.Close(ctx, l); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(ctx, l); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := m.Status(ctx, l); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("status after close: %v", err)
	}
}
