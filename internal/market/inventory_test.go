package market

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
)

func gpus(n int, model, ram string, start int) []GPUDevice {
	var out []GPUDevice
	for i := 0; i < n; i++ {
		out = append(out, GPUDevice{ID: fmt.Sprint(start + i), Vendor: "nvidia", Model: model, RAM: ram, Interface: "sxm"})
	}
	return out
}

func TestInventoryFragmentation(t *testing.T) {
	// Two GPUs in the cluster, one per node: a unit asking for 2 does not fit
	// and the error says so per node (not "no capacity").
	inv, err := NewInventory([]Node{
		{Name: "a", CPUMilli: 8000, MemoryBytes: 32 << 30, StorageBytes: 100 << 30, GPUs: gpus(1, "h100", "80Gi", 0)},
		{Name: "b", CPUMilli: 8000, MemoryBytes: 32 << 30, StorageBytes: 100 << 30, GPUs: gpus(1, "h100", "80Gi", 1)},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = inv.Reserve("o1", gpuGroup(2, "vendor/nvidia/model/h100"))
	if !errors.Is(err, ErrNoCapacity) || !strings.Contains(err.Error(), "node a: 1 free GPUs") || !strings.Contains(err.Error(), "node b: 1 free GPUs") {
		t.Fatalf("got %v", err)
	}
	if inv.Held("o1") {
		t.Fatal("failed reservation is held")
	}
	// One GPU fits; the free list shrinks and comes back on release.
	g := gpuGroup(1, "vendor/nvidia/model/a100", "vendor/nvidia/model/h100/ram/80Gi")
	r, err := inv.Reserve("o2", g)
	if err != nil || len(r.Placements) != 1 || r.Placements[0].Node != "a" || r.Placements[0].GPUs[0].Model != "h100" {
		t.Fatalf("reserve: %+v, %v", r, err)
	}
	if f := inv.Free(); len(f[0].GPUs) != 0 || f[0].CPUMilli != 7000 || len(f[1].GPUs) != 1 {
		t.Fatalf("free after reserve: %+v", f)
	}
	if again, _ := inv.Reserve("o2", g); again != r {
		t.Fatal("reserving a held key twice made a second reservation")
	}
	if !inv.Rekey("o2", "lease2") || inv.Held("o2") || !inv.Held("lease2") {
		t.Fatal("rekey")
	}
	inv.Release("lease2", g)
	if f := inv.Free(); len(f[0].GPUs) != 1 || f[0].CPUMilli != 8000 || f[0].MemoryBytes != 32<<30 {
		t.Fatalf("free after release: %+v", f)
	}
}

func TestInventoryWildcardPicksOneKind(t *testing.T) {
	inv, _ := NewInventory([]Node{{Name: "n", CPUMilli: 64000, MemoryBytes: 256 << 30, StorageBytes: 1 << 40,
		GPUs: append(gpus(1, "a100", "40Gi", 0), gpus(2, "h100", "80Gi", 1)...)}})
	r, err := inv.Reserve("o", gpuGroup(2, "vendor/nvidia/model/*"))
	if err != nil {
		t.Fatal(err)
	}
	got := r.Placements[0].GPUs
	if len(got) != 2 || got[0].Model != "h100" || got[1].Model != "h100" {
		t.Fatalf("wildcard x2 got %+v; want two h100 (one a100 + one h100 is not one kind)", got)
	}
}

func TestInventoryReplicasAndLimits(t *testing.T) {
	inv, _ := NewInventory([]Node{{Name: "n", CPUMilli: 2000, MemoryBytes: 4 << 30, StorageBytes: 20 << 30}})
	if _, err := inv.Reserve("big", cpuGroup(500, 1<<30, 5)); !errors.Is(err, ErrNoCapacity) || !strings.Contains(err.Error(), "replica 5 of 5") {
		t.Fatalf("5 × 500m on 2000m: %v", err)
	}
	if f := inv.Free(); f[0].CPUMilli != 2000 {
		t.Fatalf("partial reservation leaked: %+v", f)
	}
	if _, err := NewInventory([]Node{{Name: "x"}, {Name: "x"}}); err == nil {
		t.Fatal("duplicate node names accepted")
	}
}

func TestInventoryConcurrent(t *testing.T) {
	inv, _ := NewInventory([]Node{{Name: "n", CPUMilli: 10_000, MemoryBytes: 64 << 30, StorageBytes: 1 << 40}})
	g := cpuGroup(1000, 1<<30, 1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := inv.Reserve(fmt.Sprint(i), g); err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if won != 10 {
		t.Fatalf("%d reservations of 1000m on 10000m; want exactly 10", won)
	}
}

func TestGPUCapabilities(t *testing.T) {
	got := GPUCapabilities([]Node{{Name: "n", GPUs: gpus(2, "h100", "80Gi", 0)}})
	var keys []string
	for _, a := range got {
		keys = append(keys, a.Key)
	}
	want := "capabilities/gpu/vendor/nvidia/model/h100 capabilities/gpu/vendor/nvidia/model/h100/interface/sxm capabilities/gpu/vendor/nvidia/model/h100/ram/80Gi capabilities/gpu/vendor/nvidia/model/h100/ram/80Gi/interface/sxm"
	if strings.Join(keys, " ") != want {
		t.Fatalf("got %v", keys)
	}
	// The request side must find these capabilities with a glob.
	ok, _ := lmarket.MatchAttributes([]lmarket.Attribute{{Key: "capabilities/gpu/vendor/nvidia/model/*", Value: "true"}}, got)
	if !ok {
		t.Fatal("glob request does not match the advertised capabilities")
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[uint64]string{512: "512", 1 << 20: "1Mi", 3 << 29: "1.5Gi", 80 << 30: "80Gi"} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestInventoryPlanHoldsNothing(t *testing.T) {
	inv, _ := NewInventory([]Node{{Name: "n", CPUMilli: 1000, MemoryBytes: 1 << 30, StorageBytes: 10 << 30}})
	r, err := inv.Plan(cpuGroup(800, 1<<20, 1))
	if err != nil || len(r.Placements) != 1 || r.Placements[0].Node != "n" {
		t.Fatalf("plan: %+v, %v", r, err)
	}
	if f := inv.Free(); f[0].CPUMilli != 1000 {
		t.Fatalf("plan held capacity: %+v", f)
	}
	if _, err := inv.Plan(cpuGroup(2000, 1<<20, 1)); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("plan beyond capacity: %v", err)
	}
}

func TestInventoryReplicasShareTheGPUKind(t *testing.T) {
	// Node a has one a100, node b one h100 and one a100: two replicas of a
	// wildcard unit both get an a100 (the kind the first one got), not an
	// a100 and an h100.
	inv, _ := NewInventory([]Node{
		{Name: "a", CPUMilli: 8000, MemoryBytes: 32 << 30, StorageBytes: 100 << 30, GPUs: gpus(1, "a100", "80Gi", 0)},
		{Name: "b", CPUMilli: 8000, MemoryBytes: 32 << 30, StorageBytes: 100 << 30, GPUs: append(gpus(1, "h100", "80Gi", 1), gpus(1, "a100", "80Gi", 2)...)},
	})
	g := gpuGroup(1, "vendor/nvidia/model/*")
	g.Units[0].Count = 2
	r, err := inv.Reserve("o", g)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Placements) != 2 || r.Placements[0].GPUs[0].Model != "a100" || r.Placements[1].GPUs[0].Model != "a100" || r.Placements[1].Node != "b" {
		t.Fatalf("placements %+v", r.Placements)
	}
	inv.Release("o", g)
	if f := inv.Free(); len(f[0].GPUs) != 1 || len(f[1].GPUs) != 2 {
		t.Fatalf("release: %+v", f)
	}
}
