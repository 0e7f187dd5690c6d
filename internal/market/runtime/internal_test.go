package runtime

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market/manifest"
)

func TestNewLeaseRef(t *testing.T) {
	tests := []struct {
		id      string
		wantErr string
	}{
		{"deai1owner/12/1/1/deai1prov", ""},
		{"deai1owner/12/1/1", "want owner/dseq/gseq/oseq/provider"},
		{"deai1owner/12/1/1/deai1prov/x", "want owner/dseq/gseq/oseq/provider"},
		{"/12/1/1/deai1prov", "want owner"},
		{"deai1owner/twelve/1/1/deai1prov", "dseq"},
		{"deai1owner/12/4294967296/1/deai1prov", "gseq"},
		{"deai1owner/12/1/-1/deai1prov", "oseq"},
		{"deai1 owner/12/1/1/deai1prov", "spaces"},
	}
	for _, tc := range tests {
		t.Run(tc.id, func(t *testing.T) {
			l, err := NewLeaseRef(tc.id)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := LeaseRef{ID: tc.id, Name: l.Name, Owner: "deai1owner", DSeq: 12, GSeq: 1, OSeq: 1, Provider: "deai1prov"}
			if diff := cmp.Diff(want, l); diff != "" {
				t.Error(diff)
			}
			if len(l.Name) != 24 || strings.Trim(l.Name, "0123456789abcdef") != "" {
				t.Errorf("name %q: want 24 hex digits", l.Name)
			}
			l2, _ := NewLeaseRef(tc.id)
			other, _ := NewLeaseRef(strings.Replace(tc.id, "/12/", "/13/", 1))
			if l2.Name != l.Name || other.Name == l.Name {
				t.Error("name is not a function of the ID")
			}
		})
	}
}

func validService() manifest.Service {
	return manifest.Service{
		Name: "web", Image: "img",
		Resources: lmarket.Resources{CPUMilli: 100, MemoryBytes: 64 << 20, Storage: []lmarket.Volume{{Name: "default", SizeBytes: 64 << 20}}},
		Count:     1,
		Expose:    []manifest.Expose{{Port: 80, Global: true}},
	}
}

func TestValidateGroup(t *testing.T) {
	tests := []struct {
		name   string
		change func(g *manifest.Group)
		want   string // "" = valid
	}{
		{"valid", func(g *manifest.Group) {}, ""},
		{"no services", func(g *manifest.Group) { g.Services = nil }, "no services"},
		{"upper-case name", func(g *manifest.Group) { g.Services[0].Name = "Web" }, "DNS label"},
		{"name starts with digit", func(g *manifest.Group) { g.Services[0].Name = "1web" }, "DNS label"},
		{"twice", func(g *manifest.Group) { g.Services = append(g.Services, g.Services[0]) }, "listed twice"},
		{"no image", func(g *manifest.Group) { g.Services[0].Image = "" }, "no image"},
		{"too many replicas", func(g *manifest.Group) { g.Services[0].Count = 51 }, "count 51"},
		{"bad resources", func(g *manifest.Group) { g.Services[0].Resources.CPUMilli = 1 }, "cpu 1m"},
		{"bad env", func(g *manifest.Group) { g.Services[0].Env = []string{"NOVALUE"} }, "KEY=value"},
		{"bad proto", func(g *manifest.Group) { g.Services[0].Expose[0].Proto = "SCTP" }, "want TCP or UDP"},
		{"port twice", func(g *manifest.Group) {
			g.Services[0].Expose = append(g.Services[0].Expose, manifest.Expose{Port: 80, Proto: "tcp"})
		}, "exposed twice"},
		{"same port udp and tcp", func(g *manifest.Group) {
			g.Services[0].Expose = append(g.Services[0].Expose, manifest.Expose{Port: 80, Proto: "UDP"})
		}, ""},
		{"expose to unknown", func(g *manifest.Group) { g.Services[0].Expose[0].Services = []string{"db"} }, `unknown service "db"`},
		{"mount unknown volume", func(g *manifest.Group) {
			g.Services[0].Params = &manifest.Params{Storage: []manifest.StorageParams{{Name: "data", Mount: "/data"}}}
		}, `volume "data"`},
		{"relative mount", func(g *manifest.Group) {
			g.Services[0].Params = &manifest.Params{Storage: []manifest.StorageParams{{Name: "default", Mount: "data"}}}
		}, "absolute path"},
		{"ram without mount", func(g *manifest.Group) {
			g.Services[0].Resources.Storage = append(g.Services[0].Resources.Storage, lmarket.Volume{Name: "shm", SizeBytes: 8 << 20, Class: lmarket.StorageRAM})
		}, "has no mount"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := manifest.Group{Name: "g", Services: []manifest.Service{validService()}}
			tc.change(&g)
			err := ValidateGroup(g)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("unexpected error %v", err)
			case tc.want != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("err %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
}

func TestServiceEnv(t *testing.T) {
	l, _ := NewLeaseRef("o/1/2/3/p")
	s := validService()
	s.Env = []string{"A=1", "DEAI_LEASE_ID=spoofed", "B=x=y"}
	got := serviceEnv(s, l, "h.example", "PORT=80")
	want := []string{"A=1", "B=x=y", "DEAI_LEASE_ID=o/1/2/3/p", "DEAI_OWNER=o", "DEAI_DEPLOYMENT_SEQUENCE=1",
		"DEAI_GROUP_SEQUENCE=2", "DEAI_ORDER_SEQUENCE=3", "DEAI_PROVIDER=p", "DEAI_SERVICE=web",
		"DEAI_CLUSTER_PUBLIC_HOSTNAME=h.example", "PORT=80"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

func TestMeter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	m := newMeter(t0)
	steps := []struct {
		at      int
		samples []usageSample
		want    Usage
	}{
		{0, []usageSample{{Key: "a", CPUMilliSeconds: 100, MemoryBytes: 10 << 20}}, Usage{CPUMilliSeconds: 100}},
		// 10 s at 10 MiB then 30 MiB: trapezoid 200 MiB-s.
		{10, []usageSample{{Key: "a", CPUMilliSeconds: 600, MemoryBytes: 30 << 20}}, Usage{CPUMilliSeconds: 600, MemoryMiBSeconds: 200}},
		// a restarted as b: a's 600 kept, b counts from 0. A glitching
		// counter (b lower than before) never goes back.
		{20, []usageSample{{Key: "b", CPUMilliSeconds: 50, MemoryBytes: 10 << 20, GPUSeconds: 5}}, Usage{CPUMilliSeconds: 650, MemoryMiBSeconds: 400, GPUSeconds: 5}},
		{30, []usageSample{{Key: "b", CPUMilliSeconds: 40, MemoryBytes: 10 << 20, GPUSeconds: 15}}, Usage{CPUMilliSeconds: 650, MemoryMiBSeconds: 500, GPUSeconds: 15}},
		// Nothing running: memory integrates down to 0 and stays.
		{40, nil, Usage{CPUMilliSeconds: 650, MemoryMiBSeconds: 550, GPUSeconds: 15}},
		{50, nil, Usage{CPUMilliSeconds: 650, MemoryMiBSeconds: 550, GPUSeconds: 15}},
		// Allocation-based (cumulative) memory adds up too.
		{60, []usageSample{{Key: "pod", MemoryMiBSeconds: 1000}}, Usage{CPUMilliSeconds: 650, MemoryMiBSeconds: 1550, GPUSeconds: 15}},
	}
	for _, s := range steps {
		m.add(at(s.at), s.samples)
		s.want.Start, s.want.At = t0, at(s.at)
		if diff := cmp.Diff(s.want, m.usage()); diff != "" {
			t.Errorf("at %d s (-want +got):\n%s", s.at, diff)
		}
	}
}

func TestParseProcStat(t *testing.T) {
	line := "4242 (my (odd) proc) S 1 4242 4242 0 -1 4194560 373 0 1 0 150 25 0 0 20 0 4 0 212893 1294884864 1415 18446744073709551615 0\n"
	got, err := parseProcStat(4242, []byte(line))
	if err != nil {
		t.Fatal(err)
	}
	want := procStat{PID: 4242, State: 'S', PGrp: 4242, UTime: 150, STime: 25, StartTicks: 212893, RSSPages: 1415}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	if _, err := parseProcStat(1, []byte("1 (x) S 1 2")); err == nil {
		t.Error("short stat accepted")
	}
}

func TestOpenTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.log")
	if err := os.WriteFile(path, []byte("one\ntwo\nthree\nfour\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		n    int
		want string
	}{{0, "one\ntwo\nthree\nfour\n"}, {1, "four\n"}, {3, "two\nthree\nfour\n"}, {9, "one\ntwo\nthree\nfour\n"}} {
		f, err := openTail(context.Background(), path, tc.n, false, 0)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(f)
		if err != nil || string(b) != tc.want {
			t.Errorf("tail %d = %q, %v; want %q", tc.n, b, err, tc.want)
		}
	}
	missing, err := openTail(context.Background(), path+".none", 5, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(missing); len(b) != 0 {
		t.Errorf("missing file read %q", b)
	}

	// Following sees appends, and starts over after a truncation.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := openTail(ctx, path, 1, true, 5*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	merged := mergeLogs(ctx, cancel, []logStream{{prefix: "[x] ", r: f}}, []io.Closer{f})
	defer merged.Close()
	lines := make(chan string, 10)
	go func() {
		buf := make([]byte, 256)
		for {
			n, err := merged.Read(buf)
			if n > 0 {
				lines <- string(buf[:n])
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	expect := func(want string) {
		t.Helper()
		var got string
		for !strings.Contains(got, want) {
			select {
			case s := <-lines:
				got += s
			case <-time.After(5 * time.Second):
				t.Fatalf("no %q, got %q", want, got)
			}
		}
	}
	expect("[x] four\n")
	appendFile(t, path, "five\n")
	expect("[x] five\n")
	if err := os.WriteFile(path, []byte("fresh\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	expect("[x] fresh\n")
	merged.Close()
	for range lines { // ends after Close
	}
}

func appendFile(t *testing.T, path, s string) {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
}

func TestMergeLogs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rc := mergeLogs(ctx, cancel, []logStream{
		{prefix: "[a-0] ", r: strings.NewReader("x\ny\npartial")},
		{prefix: "[b-0] ", r: strings.NewReader("z\n")},
	}, nil)
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	sort.Strings(got)
	want := []string{"[a-0] partial", "[a-0] x", "[a-0] y", "[b-0] z"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
	rc.Close()
}
