package market

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
)

func cpuGroup(cpu, mem uint64, count uint32) *lmarket.GroupSpec {
	return &lmarket.GroupSpec{Name: "web", Units: []lmarket.ResourceUnit{{
		ID: 1, Count: count, Price: 100,
		Resources: lmarket.Resources{CPUMilli: cpu, MemoryBytes: mem,
			Storage:   []lmarket.Volume{{Name: "default", SizeBytes: 1 << 30}},
			Endpoints: []lmarket.Endpoint{{Kind: lmarket.EndpointSharedHTTP}}},
	}}}
}

func gpuGroup(units uint32, attrs ...string) *lmarket.GroupSpec {
	g := cpuGroup(1000, 1<<30, 1)
	g.Units[0].Resources.GPU = lmarket.GPU{Units: units, Attributes: attrs}
	return g
}

func TestPriceTable(t *testing.T) {
	tab := PriceTable{CPUCore: 2, MemoryGiB: 1, Storage: map[string]float64{"default": 0.5}, Endpoint: 0.25,
		GPU: map[string]float64{"*": 10, "h100": 40, "a100.80Gi": 30}}
	if err := tab.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// 3 replicas × (0.5 core × 2 + 2 GiB × 1 + 1 GiB × 0.5 + 1 endpoint × 0.25) = 3 × 3.75 = 11.25 → 12.
	got, err := tab.Price(ctx, PriceQuery{Group: cpuGroup(500, 2<<30, 3)})
	if err != nil || got != 12 {
		t.Fatalf("cpu group: got %d, %v; want 12", got, err)
	}
	// A wildcard request is priced as the model reserved, not the dearest listed.
	// 1 core × 2 + 1 GiB × 1 + 1 GiB storage × 0.5 + 1 endpoint × 0.25 = 3.75, plus the GPU, rounded up.
	for _, tc := range []struct {
		dev  GPUDevice
		want uint64
	}{
		{GPUDevice{Vendor: "nvidia", Model: "h100", RAM: "80Gi"}, 44},
		{GPUDevice{Vendor: "nvidia", Model: "a100", RAM: "80Gi"}, 34},
		{GPUDevice{Vendor: "nvidia", Model: "a100", RAM: "40Gi"}, 14},
		{GPUDevice{Vendor: "nvidia", Model: "t4"}, 14},
	} {
		res := &Reservation{Placements: []Placement{{Unit: 1, GPUs: []GPUDevice{tc.dev}}}}
		got, err := tab.Price(ctx, PriceQuery{Group: gpuGroup(1, "vendor/nvidia/model/*"), Reserved: res})
		if err != nil || got != tc.want {
			t.Errorf("%v: got %d, %v; want %d", tc.dev, got, err, tc.want)
		}
	}
	zero := PriceTable{}
	if err := zero.Validate(); err == nil {
		t.Error("all-zero table validated")
	}
	if _, err := (&PriceTable{GPU: map[string]float64{"*": 1}}).Price(ctx, PriceQuery{Group: cpuGroup(500, 1<<20, 1)}); !errors.Is(err, ErrNoBid) {
		t.Errorf("zero price: got %v, want ErrNoBid", err)
	}
	if err := (&PriceTable{CPUCore: -1}).Validate(); err == nil {
		t.Error("negative price validated")
	}
}

func writeScript(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "price.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestScriptPricer(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	stdin := filepath.Join(dir, "stdin.json")
	envf := filepath.Join(dir, "env")
	ok := writeScript(t, "cat > "+stdin+"\necho \"$AKASH_OWNER $DEAI_DENOM\" > "+envf+"\necho 41.2\n")
	p, err := NewScriptPricer(ok, 0)
	if err != nil {
		t.Fatal(err)
	}
	res := &Reservation{Placements: []Placement{{Unit: 1, GPUs: []GPUDevice{{Vendor: "nvidia", Model: "a100", RAM: "80Gi", Interface: "sxm"}}}}}
	got, err := p.Price(ctx, PriceQuery{Owner: "deai1owner", Group: gpuGroup(1, "vendor/nvidia/model/*"), MaxPrice: 500, Reserved: res})
	if err != nil || got != 42 {
		t.Fatalf("got %d, %v; want 42 (41.2 rounded up)", got, err)
	}
	var in ScriptInput
	b, _ := os.ReadFile(stdin)
	if err := json.Unmarshal(b, &in); err != nil {
		t.Fatalf("script stdin %q: %v", b, err)
	}
	if in.Price.Amount != "500" || in.Price.Denom != "udeai" || len(in.Resources) != 1 {
		t.Fatalf("stdin = %s", b)
	}
	r := in.Resources[0]
	if r.CPU != 1000 || r.Memory != 1<<30 || r.Count != 1 || r.EndpointQuantity != 1 || r.GPU.Units != 1 ||
		r.GPU.Attributes["vendor"]["nvidia"]["model"] != "a100" || r.GPU.Attributes["vendor"]["nvidia"]["interface"] != "sxm" ||
		len(r.Storage) != 1 || r.Storage[0].Class != "ephemeral" {
		t.Errorf("stdin resources = %s", b)
	}
	if env, _ := os.ReadFile(envf); strings.TrimSpace(string(env)) != "deai1owner udeai" {
		t.Errorf("script env = %q", env)
	}

	for _, tc := range []struct {
		name, body string
		timeout    time.Duration
		want       string
	}{
		{"exit code", "echo 5\nexit 3\n", 0, "exit status 3"},
		{"garbage", "echo cheap\n", 0, `printed "cheap"`},
		{"two numbers", "echo 1 2\n", 0, "want one non-negative decimal"},
		{"negative", "echo -4\n", 0, "want one non-negative decimal"},
		{"zero", "echo 0\n", 0, "at zero"},
		{"timeout", "sleep 5\necho 1\n", 200 * time.Millisecond, "timed out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := NewScriptPricer(writeScript(t, tc.body), tc.timeout)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = p.Price(ctx, PriceQuery{Group: cpuGroup(500, 1<<30, 1), MaxPrice: 10})
			if !errors.Is(err, ErrNoBid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v; want ErrNoBid containing %q", err, tc.want)
			}
			if tc.timeout > 0 && time.Since(start) > 3*time.Second {
				t.Errorf("timeout not enforced: took %s", time.Since(start))
			}
		})
	}
	if _, err := NewScriptPricer(filepath.Join(dir, "missing"), 0); err == nil {
		t.Error("missing script accepted")
	}
	if _, err := NewScriptPricer(stdin, 0); err == nil {
		t.Error("non-executable script accepted")
	}
}
