package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	dclient "github.com/docker/docker/client"

	"github.com/deai-network/deai/internal/cli"
	"github.com/deai-network/deai/internal/config"
	"github.com/deai-network/deai/internal/market/runtime"
	"github.com/deai-network/deai/internal/market/runtime/runtimetest"
)

// TestProviderInitConfig checks that the sample provider.toml is a valid
// provider file with the devnet settings the docs promise, and that
// init-config refuses to overwrite.
func TestProviderInitConfig(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "provider.toml")
	if code, _, errOut := runCLI(t, "provider", "init-config", "--out", out, "--home", dir); code != 0 {
		t.Fatalf("init-config: exit %d: %s", code, errOut)
	}
	p, err := config.LoadProvider(out)
	if err != nil {
		t.Fatalf("the sample does not load: %v", err)
	}
	if p.Key != "provider" || p.HostURI != "http://127.0.0.1:8443" || p.Listen != "127.0.0.1:8443" || p.Runtime != "auto" ||
		p.Region != "local" || p.BidDeposit != 500_000 || p.Price.CPUCore != 0.31 {
		t.Errorf("sample = %+v", p)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("sample file mode: %v %v", fi.Mode(), err)
	}
	code, _, errOut := runCLI(t, "provider", "init-config", "--out", out, "--home", dir)
	if code != 2 || !strings.Contains(errOut, "--force") {
		t.Errorf("second init-config: exit %d %q, want 2 naming --force", code, errOut)
	}
	if code, stdout, _ := runCLI(t, "provider", "init-config", "--home", dir); code != 0 || !strings.Contains(stdout, `host_uri = "http://127.0.0.1:8443"`) {
		t.Errorf("init-config to stdout: exit %d\n%s", code, stdout)
	}
	// Without [[nodes]] the file offers this machine.
	var plan struct {
		Nodes []struct {
			Name         string
			CPUMilli     uint64 `json:"cpu_milli"`
			MemoryBytes  uint64 `json:"memory_bytes"`
			StorageBytes uint64 `json:"storage_bytes"`
		}
	}
	code, stdout, errOut := runCLI(t, "provider", "check-config", "--config", out, "--home", dir, "-o", "json")
	if code != 0 {
		t.Fatalf("check-config of the sample: exit %d: %s", code, errOut)
	}
	if err := json.Unmarshal([]byte(stdout), &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan.Nodes) != 1 || plan.Nodes[0].CPUMilli == 0 || plan.Nodes[0].MemoryBytes == 0 || plan.Nodes[0].StorageBytes == 0 {
		t.Errorf("detected node %+v: want this machine's cpu, memory and disk", plan.Nodes)
	}
}

// TestProviderCheckConfig compares check-config's text and JSON for a
// provider with GPU nodes, attributes and a partial price table with
// testdata/market/*.golden.
func TestProviderCheckConfig(t *testing.T) {
	for _, tt := range []struct{ name, format string }{{"check-config", "text"}, {"check-config-json", "json"}} {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCLI(t, "provider", "check-config", "--config", "testdata/market/provider.toml", "--home", t.TempDir(), "-o", tt.format)
			goldenFile(t, filepath.Join("testdata", "market", tt.name+".golden"), fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", code, out, errOut))
		})
	}
}

// TestProviderBadConfig: every mistake in provider.toml exits 2 with a
// message naming the key.
func TestProviderBadConfig(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "price.sh")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\necho 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	const head = "key = \"provider\"\nhost_uri = \"http://127.0.0.1:8443\"\nstate_dir = \"/nonexistent/state\"\n"
	const node = "[[nodes]]\nname = \"n1\"\ncpu = \"4\"\nmemory = \"8Gi\"\nstorage = \"100Gi\"\n"
	tests := []struct {
		name, body string
		extra      []string
		want       string
	}{
		{"unknown key", head + "bid_timout = \"1m\"\n" + node, nil, `unknown key "bid_timout"`},
		{"runtime", head + "runtime = \"podman\"\n" + node, nil, "runtime"},
		{"host_uri", "key = \"p\"\nhost_uri = \"127.0.0.1:8443\"\n" + node, nil, "host_uri"},
		{"cpu", head + "[[nodes]]\nname = \"n1\"\ncpu = \"four\"\nmemory = \"8Gi\"\nstorage = \"1Ti\"\n", nil, "nodes[0].cpu"},
		{"memory", head + "[[nodes]]\nname = \"n1\"\ncpu = \"4\"\nmemory = \"8GB\"\nstorage = \"1Ti\"\n", nil, "nodes[0].memory"},
		{"storage", head + "[[nodes]]\nname = \"n1\"\ncpu = \"4\"\nmemory = \"8Gi\"\n", nil, "nodes[0].storage"},
		{"gpu vendor", head + node + "[[nodes.gpus]]\nvendor = \"intel\"\nmodel = \"arc\"\ncount = 1\n", nil, "nodes[0].gpus[0]"},
		{"gpu interface", head + node + "[[nodes.gpus]]\nvendor = \"nvidia\"\nmodel = \"h100\"\ninterface = \"nvlink\"\ncount = 1\n", nil, "nodes[0].gpus[0]"},
		{"price", head + "[price]\ncpu_core = -1.0\n" + node, nil, "[price]"},
		{"pricing script", head + "pricing_script = \"" + notExec + "\"\n" + node, nil, "pricing_script"},
		{"attribute key", head + "[attributes]\n\"9lives\" = \"x\"\n" + node, nil, "attributes"},
		{"exec without allow list", head + "runtime = \"exec\"\n" + node, []string{"provider"}, "--exec-allow"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "provider.toml")
			if err := os.WriteFile(path, []byte(tt.body), 0o600); err != nil {
				t.Fatal(err)
			}
			args := []string{"provider", "check-config"}
			if tt.extra != nil {
				args = tt.extra
			}
			code, _, errOut := runCLI(t, append(args, "--config", path, "--home", dir)...)
			if code != 2 || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stderr %q: want exit 2 naming %q", code, errOut, tt.want)
			}
		})
	}
	code, _, errOut := runCLI(t, "provider", "--home", dir)
	if code != 2 || !strings.Contains(errOut, "init-config") {
		t.Errorf("no config: exit %d %q, want 2 pointing at init-config", code, errOut)
	}
}

// TestDeployTenantBadInput covers what fails before any chain is
// contacted: invalid files, IDs and amounts exit 2 with what is expected.
func TestDeployTenantBadInput(t *testing.T) {
	home := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"invalid sdl", []string{"deploy", "create", "testdata/deploy/invalid.yaml"}, "profiles.compute.web.resources.memory.size"},
		{"dra as sdl", []string{"deploy", "create", "../../examples/deploy/h100-claim.yaml"}, "--gpu-claim"},
		{"deposit without unit", []string{"deploy", "create", "../../examples/deploy/echo.yaml", "--deposit", "5"}, "missing unit"},
		{"claim syntax", []string{"deploy", "preflight", "../../examples/deploy/llm-gpu.yaml", "--gpu-claim", "llm"}, "SERVICE=FILE"},
		{"claim of a missing service", []string{"deploy", "preflight", "../../examples/deploy/llm-gpu.yaml", "--gpu-claim", "web=../../examples/deploy/h100-claim.yaml"}, `no service "web"`},
		{"claim not dra", []string{"deploy", "preflight", "../../examples/deploy/llm-gpu.yaml", "--gpu-claim", "llm=../../examples/deploy/echo.yaml"}, "not a Kubernetes DRA"},
		{"bad deployment", []string{"deploy", "status", "deai1xyz/7"}, "owner"},
		{"bad dseq", []string{"deploy", "status", "0"}, "want <owner>/<dseq>"},
		{"bad bid", []string{"lease", "create", "deai1x/1/1/1"}, "BID"},
		{"bid and cheapest", []string{"lease", "create", "x", "--cheapest", "1"}, "either a BID or --cheapest"},
		{"no bid", []string{"lease", "create"}, "either a BID or --cheapest"},
		{"lease state", []string{"lease", "list", "--state", "running"}, "--state"},
		{"deposit amount", []string{"deploy", "deposit", "1", "1.5"}, "missing unit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCLI(t, append(tt.args, "--home", home)...)
			if code != 2 || !strings.Contains(errOut, tt.want) {
				t.Errorf("deai %s: exit %d, stderr %q: want exit 2 mentioning %q", strings.Join(tt.args, " "), code, errOut, tt.want)
			}
		})
	}
	// -o json reports the SDL's problems on stdout as well.
	code, out, _ := runCLI(t, "deploy", "create", "testdata/deploy/invalid.yaml", "-o", "json", "--home", home)
	var v struct {
		Valid  bool
		Errors []struct{ Path string }
	}
	if err := json.Unmarshal([]byte(out), &v); code != 2 || err != nil || v.Valid || len(v.Errors) != 3 || v.Errors[0].Path == "" {
		t.Errorf("invalid SDL -o json: exit %d, %+v, %v", code, v, err)
	}
}

// providerProc is `deai provider` running in this process.
type providerProc struct {
	out, errb syncBuffer
	done      chan int
	cancel    context.CancelFunc
	started   struct {
		Address   string `json:"address"`
		Listening string `json:"listening"`
		Runtime   string `json:"runtime"`
		HostURI   string `json:"host_uri"`
	}
}

// startProvider runs `deai provider` with a provider.toml written from
// body and waits for its start summary (-o json).
func (h *upHarness) startProvider(body string, args ...string) *providerProc {
	h.t.Helper()
	path := filepath.Join(h.t.TempDir(), "provider.toml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &providerProc{done: make(chan int, 1), cancel: cancel}
	args = append([]string{"provider", "--config", path, "--home", h.home, "-o", "json"}, args...)
	go func() { p.done <- cli.Run(ctx, args, strings.NewReader(""), &p.out, &p.errb) }()
	deadline := time.After(60 * time.Second)
	for {
		if s := p.out.String(); strings.HasSuffix(strings.TrimSpace(s), "}") && json.Unmarshal([]byte(s), &p.started) == nil {
			break
		}
		select {
		case code := <-p.done:
			cancel()
			h.t.Fatalf("deai provider exited early with %d\nstderr: %s", code, p.errb.String())
		case <-deadline:
			cancel()
			h.t.Fatalf("deai provider printed no summary in 60s\nstderr: %s", p.errb.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	h.t.Cleanup(func() { p.stop(h.t) })
	return p
}

// stop interrupts the provider as Ctrl-C does; it must exit 0.
func (p *providerProc) stop(t *testing.T) {
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	select {
	case code := <-p.done:
		if code != 0 {
			t.Errorf("deai provider exit %d after interrupt\nstderr: %s", code, p.errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Errorf("deai provider did not stop within 30s of the interrupt")
	}
}

// fails runs a command that must exit 2 with want in stderr (and stdout).
func (h *upHarness) fails(want string, args ...string) string {
	h.t.Helper()
	code, out, errOut := h.run(args...)
	if code != 2 || !strings.Contains(errOut, want) {
		h.t.Errorf("deai %s: exit %d, stdout %q stderr %q: want exit 2 mentioning %q", strings.Join(args, " "), code, out, errOut, want)
	}
	return errOut
}

func (h *upHarness) textOK(args ...string) string {
	h.t.Helper()
	code, out, errOut := h.run(args...)
	if code != 0 {
		h.t.Fatalf("deai %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// exampleSDL writes examples/deploy/name with old replaced by new (a
// locally built image, a binary path) into a temp file.
func exampleSDL(t *testing.T, name string, replace ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "examples", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for i := 0; i+1 < len(replace); i += 2 {
		if !strings.Contains(s, replace[i]) {
			t.Fatalf("%s has no %q to replace", name, replace[i])
		}
		s = strings.ReplaceAll(s, replace[i], replace[i+1])
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func removeDockerInstance(t *testing.T, cli *dclient.Client, inst string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f := filters.NewArgs(filters.Arg("label", runtime.LabelInstance+"="+inst))
	cs, _ := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	for _, c := range cs {
		if err := cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
	ns, _ := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	for _, n := range ns {
		cli.NetworkRemove(ctx, n.ID)
	}
}

func instanceContainers(t *testing.T, cli *dclient.Client, inst string) int {
	t.Helper()
	cs, err := cli.ContainerList(t.Context(), container.ListOptions{All: true,
		Filters: filters.NewArgs(filters.Arg("label", runtime.LabelInstance+"="+inst))})
	if err != nil {
		t.Fatal(err)
	}
	return len(cs)
}

func waitUntil(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// The JSON of the tenant commands, as a script reads it.
type (
	bidJSON struct {
		ID       string
		Provider string
		Price    string
		State    string
	}
	groupJSON struct {
		GSeq  uint32
		Name  string
		State string
		Order *struct {
			ID       string
			State    string
			MaxPrice string `json:"max_price"`
		}
	}
	createdJSON struct {
		Deployment   string
		Owner        string
		DSeq         uint64
		Hash         string
		Deposit      string
		ManifestFile string `json:"manifest_file"`
		Groups       []groupJSON
		Bids         []bidJSON
	}
	serviceJSON struct {
		Name      string
		Available uint32
		Total     uint32
		URIs      []string
	}
	leaseCreatedJSON struct {
		Lease        string
		Provider     string
		HostURI      string `json:"host_uri"`
		Price        string
		ManifestSent bool `json:"manifest_sent"`
		Ready        bool
		Status       *struct{ Services []serviceJSON }
	}
	leaseJSON struct {
		ID         string
		Deployment string
		Provider   string
		State      string
		Price      string
		Billing    string
		Reason     string
		ClosedAt   uint64 `json:"closed_at"`
	}
	leaseStatusJSON struct {
		leaseJSON
		HostURI string `json:"host_uri"`
		Status  *struct {
			Runtime  string
			Services []serviceJSON
		}
	}
	escrowJSON struct {
		State         string
		Funds         string
		Deposited     string
		Refunded      string
		BlockRate     string  `json:"block_rate"`
		AsOf          uint64  `json:"as_of"`
		DryHeight     uint64  `json:"dry_height"`
		RunwayBlocks  *uint64 `json:"runway_blocks"`
		BlockTime     string  `json:"block_time"`
		RunwaySeconds *uint64 `json:"runway_seconds"`
		RunwayTime    string  `json:"runway_time"`
	}
	statusJSON struct {
		Deployment   string
		State        string
		Hash         string
		ManifestFile string `json:"manifest_file"`
		Groups       []groupJSON
		Leases       []leaseJSON
		Escrow       escrowJSON
	}
)

func atoi(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	return v
}

// dockerProviderTOML is the provider of the Docker end-to-end test: a
// price table that makes the echo SDL cost 0.5 × 20 + 1/16 × 16 + 1/8 ×
// 0.004 (storage) + 0.01 (endpoint) = 11.0105, so 12 udeai per block.
const dockerProviderTOML = `key = "provider"
host_uri = "http://%[1]s"
listen = "%[1]s"
region = "local"
runtime = "%[2]s"
publish_ip = "127.0.0.1"
state_dir = "%[3]s"
bid_deposit = 500000
poll_interval = "100ms"
withdraw_period = "1s"
usage_period = "1s"
[attributes]
tier = "test"
[price]
cpu_core = 20.0
memory_gib = 16.0
[[nodes]]
name = "local"
cpu = "4"
memory = "8Gi"
storage = "64Gi"
`

// TestMarketCLI drives the compute market through the CLI against a real
// node, a `deai provider` on the Docker runtime and the echo image: deploy
// create with bids, deploy bids, preflight, lease create with the service
// URI answering over HTTP, lease status, logs, deploy status with the
// runway, deposit, update, the ledger's and the CLI's refusals, lease
// close and deploy close with the refund, and the provider's Ctrl-C.
func TestMarketCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node, a provider and Docker containers")
	}
	dcli := runtimetest.Docker(t)
	image := runtimetest.BuildEchoImage(t.Context(), t, dcli)
	t.Setenv(cli.PassphraseEnv, "")
	addrs := freeAddrs(t, 3)
	h := &upHarness{t: t, home: t.TempDir(), rpc: addrs[0], p2p: addrs[1]}
	sum, stopUp := h.startUp()
	defer stopUp()
	dev := sum["dev_address"].(string)

	provAddr, provPass := h.newKey("provider")
	h.jsonOK(&struct{}{}, "tx", "send", "--to", provAddr, "--amount", "100deai")
	instance := runtimetest.UniqueName(t, "deai")
	t.Cleanup(func() { removeDockerInstance(t, dcli, instance) })
	listen := strings.TrimPrefix(addrs[2], "tcp://")
	provTOML := fmt.Sprintf(dockerProviderTOML, listen, "docker", t.TempDir())
	prov := h.startProvider(provTOML, "--passphrase-file", provPass, "--docker-instance", instance)
	if prov.started.Address != provAddr || prov.started.Runtime != "docker" || prov.started.Listening != listen {
		t.Fatalf("provider started as %+v, want %s on docker at %s", prov.started, provAddr, listen)
	}

	sdl := exampleSDL(t, "echo.yaml", "deai-echo:latest", image)

	// Preflight: the provider would bid 12 udeai per block.
	var pre struct {
		Groups []struct {
			Name     string
			MaxPrice uint64 `json:"max_price"`
			Bidders  int
		}
		Providers []struct {
			Provider, Reason string
			Bid              bool
			Price            uint64
		}
	}
	waitUntil(t, "the provider's registration", 20*time.Second, func() bool {
		h.jsonOK(&pre, "deploy", "preflight", sdl)
		return len(pre.Providers) == 1
	})
	if p := pre.Providers[0]; !p.Bid || p.Price != 12 || p.Provider != provAddr || pre.Groups[0].Bidders != 1 || pre.Groups[0].MaxPrice != 50 {
		t.Fatalf("preflight = %+v", pre)
	}
	// … and says why it would not bid on a GPU service.
	h.jsonOK(&pre, "deploy", "preflight", "../../examples/deploy/llm-gpu.yaml", "--gpu-claim", "llm=../../examples/deploy/h100-claim.yaml")
	if p := pre.Providers[0]; p.Bid || !strings.Contains(p.Reason, "GPU") {
		t.Errorf("preflight of a GPU service on a provider without GPUs: %+v, want no bid with a GPU reason", pre.Providers)
	}
	if out := h.textOK("deploy", "preflight", sdl); !strings.Contains(out, "bids 12 udeai per block") {
		t.Errorf("preflight text:\n%s", out)
	}

	// deploy create waits for the provider's bid.
	var created createdJSON
	h.jsonOK(&created, "deploy", "create", sdl, "--deposit", "5deai", "--wait-bids", "30s")
	if created.Owner != dev || created.Deposit != "5000000" || len(created.Groups) != 1 || created.Groups[0].Order == nil ||
		created.Groups[0].Order.State != "open" || created.Groups[0].Order.MaxPrice != "50" || len(created.Bids) != 1 {
		t.Fatalf("deploy create = %+v", created)
	}
	bid := created.Bids[0]
	if bid.Provider != provAddr || bid.Price != "12" || bid.State != "open" || bid.ID != created.Groups[0].Order.ID+"/"+provAddr {
		t.Fatalf("bid = %+v", bid)
	}
	if fi, err := os.Stat(created.ManifestFile); err != nil || fi.Mode().Perm() != 0o600 || created.ManifestFile != filepath.Join(h.home, "deployments", strconv.FormatUint(created.DSeq, 10)+".json") {
		t.Errorf("manifest file %s: %v %v", created.ManifestFile, fi, err)
	}
	dseq := strconv.FormatUint(created.DSeq, 10)

	var bids []bidJSON
	h.jsonOK(&bids, "deploy", "bids", dseq)
	if len(bids) != 1 || bids[0] != bid {
		t.Errorf("deploy bids = %+v, want %+v", bids, bid)
	}
	if out := h.textOK("deploy", "bids", created.Deployment); !strings.Contains(out, bid.ID) || !strings.Contains(out, "12 udeai") {
		t.Errorf("deploy bids text:\n%s", out)
	}

	// Bad input before the lease: a bid that does not exist, a bid ID
	// that does not parse.
	h.fails("does not exist", "lease", "create", created.Deployment+"/1/7/"+provAddr)
	h.fails("provider: parse address", "lease", "create", created.Deployment+"/1/1/deai1notanaddress")

	// lease create: the manifest reaches the provider and the URI answers.
	var leases []leaseCreatedJSON
	h.jsonOK(&leases, "lease", "create", bid.ID, "--wait", "60s")
	if len(leases) != 1 || leases[0].Lease != bid.ID || !leases[0].ManifestSent || !leases[0].Ready || leases[0].HostURI != "http://"+listen ||
		leases[0].Status == nil || len(leases[0].Status.Services) != 1 || len(leases[0].Status.Services[0].URIs) != 1 {
		t.Fatalf("lease create = %+v", leases)
	}
	lease := leases[0].Lease
	uri := "http://" + leases[0].Status.Services[0].URIs[0] + "/"
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	runtimetest.WaitHTTP(ctx, t, uri, "hello-from-deai lease="+lease)

	// lease status, by lease ID and by deployment.
	var ls leaseStatusJSON
	h.jsonOK(&ls, "lease", "status", dseq)
	if ls.ID != lease || ls.State != "active" || ls.Price != "12" || ls.Billing != "per-block" || ls.Status == nil ||
		ls.Status.Runtime != "docker" || len(ls.Status.Services) != 1 || ls.Status.Services[0].Available != 1 {
		t.Fatalf("lease status = %+v", ls)
	}
	if out := h.textOK("lease", "status", lease); !strings.Contains(out, leases[0].Status.Services[0].URIs[0]) || !strings.Contains(out, "1/1 available") {
		t.Errorf("lease status text:\n%s", out)
	}

	// lease logs: the server's start line, as text and as JSON lines.
	if out := h.textOK("lease", "logs", lease); !strings.Contains(out, "[web-0] echo listening") {
		t.Errorf("lease logs:\n%s", out)
	}
	code, out, errOut := h.run("lease", "logs", lease, "--tail", "1", "--service", "web", "-o", "json")
	var line struct{ Source, Line string }
	if first, _, _ := strings.Cut(out, "\n"); code != 0 || json.Unmarshal([]byte(first), &line) != nil || line.Source != "web-0" || line.Line == "" {
		t.Errorf("lease logs -o json: exit %d %q %q", code, out, errOut)
	}

	// A provider restart keeps the workload: the same URI answers, and the
	// new daemon serves the lease's status.
	prov.stop(t)
	prov = h.startProvider(provTOML, "--passphrase-file", provPass, "--docker-instance", instance)
	runtimetest.WaitHTTP(ctx, t, uri, "hello-from-deai")
	waitUntil(t, "the restarted provider to serve the lease", 20*time.Second, func() bool {
		code, _, _ := h.run("lease", "status", lease)
		return code == 0
	})

	// lease logs --follow streams new lines until interrupted.
	fctx, stopFollow := context.WithCancel(t.Context())
	var fout, ferr syncBuffer
	followed := make(chan int, 1)
	go func() {
		followed <- cli.Run(fctx, []string{"lease", "logs", lease, "--follow", "--tail", "1", "--home", h.home}, strings.NewReader(""), &fout, &ferr)
	}()
	waitUntil(t, "a followed request line", 30*time.Second, func() bool {
		if resp, err := http.Get(uri + "followed"); err == nil {
			resp.Body.Close()
		}
		return strings.Contains(fout.String(), "echo request GET /followed")
	})
	stopFollow()
	select {
	case code := <-followed:
		if code != 0 {
			t.Errorf("lease logs --follow: exit %d after interrupt: %s", code, ferr.String())
		}
	case <-time.After(10 * time.Second):
		t.Errorf("lease logs --follow did not end within 10s of the interrupt")
	}

	// deploy status: the lease, the burn rate and the runway.
	var st statusJSON
	h.jsonOK(&st, "deploy", "status", dseq)
	e := st.Escrow
	if st.State != "active" || len(st.Leases) != 1 || st.Leases[0].ID != lease || e.BlockRate != "12" || e.RunwayBlocks == nil ||
		*e.RunwayBlocks != atoi(t, e.Funds)/12 || e.DryHeight != e.AsOf+*e.RunwayBlocks+1 || st.ManifestFile != created.ManifestFile {
		t.Errorf("deploy status = %+v (runway %v)", st, e.RunwayBlocks)
	}
	// The runway in time is at the chain's block interval (200ms here).
	bt, err := time.ParseDuration(e.BlockTime)
	if err != nil || bt < 100*time.Millisecond || bt > time.Second || e.RunwaySeconds == nil ||
		*e.RunwaySeconds != uint64((time.Duration(*e.RunwayBlocks)*bt)/time.Second) || !regexp.MustCompile(`^(\d+d \d+h|\d+h \d+m)$`).MatchString(e.RunwayTime) {
		t.Errorf("runway %d blocks at block time %q: %v seconds, %q", *e.RunwayBlocks, e.BlockTime, e.RunwaySeconds, e.RunwayTime)
	}
	if out := h.textOK("deploy", "status", created.Deployment); !strings.Contains(out, "burn rate: 12 udeai per block") || !strings.Contains(out, "runway:") {
		t.Errorf("deploy status text:\n%s", out)
	}

	// deploy deposit tops the escrow up.
	var dep struct {
		Amount string
		Escrow escrowJSON
	}
	h.jsonOK(&dep, "deploy", "deposit", dseq, "1deai")
	if dep.Amount != "1000000" || atoi(t, dep.Escrow.Deposited) != 6_000_000 {
		t.Errorf("deploy deposit = %+v", dep)
	}

	// deploy update: new env, same resources; the provider redeploys.
	sdl2 := exampleSDL(t, "echo.yaml", "deai-echo:latest", image, "hello-from-deai", "updated-message")
	var upd struct {
		Hash   string
		Leases []struct {
			Lease string
			Sent  bool
		}
	}
	h.jsonOK(&upd, "deploy", "update", dseq, sdl2)
	if upd.Hash == created.Hash || len(upd.Leases) != 1 || !upd.Leases[0].Sent || upd.Leases[0].Lease != lease {
		t.Fatalf("deploy update = %+v", upd)
	}
	waitUntil(t, "the updated service", 60*time.Second, func() bool {
		h.jsonOK(&ls, "lease", "status", lease)
		if ls.Status == nil || len(ls.Status.Services) != 1 || len(ls.Status.Services[0].URIs) != 1 {
			return false
		}
		resp, err := http.Get("http://" + ls.Status.Services[0].URIs[0] + "/")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return strings.Contains(string(b), "updated-message")
	})
	h.fails("nothing to update", "deploy", "update", dseq, sdl2)
	bigger := exampleSDL(t, "echo.yaml", "deai-echo:latest", image, "units: 0.5", "units: 1")
	h.fails("only images, commands and env may change", "deploy", "update", dseq, bigger)

	// Someone else cannot close the lease: the ledger's reason is shown.
	_, malPass := h.newKey("mallory")
	h.jsonOK(&struct{}{}, "tx", "send", "--to", mustAddr(t, h, "mallory"), "--amount", "10deai")
	h.fails("only its owner", "lease", "close", lease, "--from", "mallory", "--passphrase-file", malPass)
	h.fails("belongs to "+dev, "lease", "create", bid.ID, "--from", "mallory", "--passphrase-file", malPass)

	// lease close: the workload goes away, the lease says why it closed.
	var closed leaseJSON
	h.jsonOK(&closed, "lease", "close", lease)
	if closed.State != "closed" || closed.Reason != "lease_closed_owner" || closed.ClosedAt == 0 {
		t.Fatalf("lease close = %+v", closed)
	}
	waitUntil(t, "the provider to remove the container", 30*time.Second, func() bool { return instanceContainers(t, dcli, instance) == 0 })
	var all []leaseJSON
	h.jsonOK(&all, "lease", "list")
	if len(all) != 1 || all[0].State != "closed" {
		t.Errorf("lease list = %+v", all)
	}
	h.jsonOK(&all, "lease", "list", "--state", "active")
	if len(all) != 0 {
		t.Errorf("lease list --state active = %+v", all)
	}
	// The order that bid was on is closed: the ledger refuses a lease.
	h.fails("want open", "lease", "create", bid.ID)
	h.fails("no active lease", "lease", "status", dseq)

	// deploy close refunds the rest and forgets the manifest.
	var dc struct {
		State  string
		Escrow escrowJSON
	}
	h.jsonOK(&dc, "deploy", "close", dseq)
	if dc.State != "closed" || dc.Escrow.State != "closed" || atoi(t, dc.Escrow.Refunded) == 0 || atoi(t, dc.Escrow.Refunded) >= 6_000_000 {
		t.Errorf("deploy close = %+v", dc)
	}
	if _, err := os.Stat(created.ManifestFile); !os.IsNotExist(err) {
		t.Errorf("manifest file after close: %v", err)
	}
	h.fails("want active", "deploy", "deposit", dseq, "1deai")
	h.fails("does not exist", "deploy", "status", dev+"/999999")

	// A manifest the provider cannot run (an image it does not have): the
	// provider's refusal, exit 2.
	missing := exampleSDL(t, "echo.yaml", "deai-echo:latest", "deai-no-such-image:1")
	h.jsonOK(&created, "deploy", "create", missing, "--wait-bids", "30s")
	dseq = strconv.FormatUint(created.DSeq, 10)
	// Without the saved manifest, lease create wants the SDL, and checks
	// its hash against the chain before leasing.
	if err := os.Remove(created.ManifestFile); err != nil {
		t.Fatal(err)
	}
	h.fails("pass --sdl FILE", "lease", "create", "--cheapest", dseq)
	h.fails("on chain", "lease", "create", "--cheapest", dseq, "--sdl", sdl)
	h.fails("is not on this docker host", "lease", "create", "--cheapest", dseq, "--sdl", missing)
	h.jsonOK(&dc, "deploy", "close", dseq)

	prov.stop(t)
}

func mustAddr(t *testing.T, h *upHarness, key string) string {
	t.Helper()
	var k struct{ Address string }
	h.jsonOK(&k, "wallet", "show", key)
	return k.Address
}

// TestMarketCLIExec runs the provider on the exec runtime (no Docker):
// the echo binary as a supervised process, leased with --cheapest, a
// usage of the saved manifest, and closed with the deployment.
func TestMarketCLIExec(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node and a provider")
	}
	bin := runtimetest.EchoBinary(t)
	t.Setenv(cli.PassphraseEnv, "")
	addrs := freeAddrs(t, 3)
	h := &upHarness{t: t, home: t.TempDir(), rpc: addrs[0], p2p: addrs[1]}
	_, stopUp := h.startUp()
	defer stopUp()
	provAddr, provPass := h.newKey("provider")
	h.jsonOK(&struct{}{}, "tx", "send", "--to", provAddr, "--amount", "100deai")
	listen := strings.TrimPrefix(addrs[2], "tcp://")
	prov := h.startProvider(fmt.Sprintf(dockerProviderTOML, listen, "exec", t.TempDir()), "--passphrase-file", provPass, "--exec-allow", bin)
	if prov.started.Runtime != "exec" {
		t.Fatalf("provider runtime %q, want exec", prov.started.Runtime)
	}
	sdl := exampleSDL(t, "echo-exec.yaml", "/usr/local/bin/deai-echo", bin)

	// An order the provider will not bid on: deploy create says so after
	// --wait-bids (exit 1), preflight says why.
	elsewhere := exampleSDL(t, "echo-exec.yaml", "/usr/local/bin/deai-echo", bin, "region: local", "region: mars")
	code, out, errOut := h.run("deploy", "create", elsewhere, "--wait-bids", "2s", "--deposit", "1deai")
	if code != 1 || !strings.Contains(out, "no bids yet") || !strings.Contains(errOut, "deai deploy preflight") {
		t.Errorf("deploy create without bids: exit %d\n%s\n%s", code, out, errOut)
	}
	if out := h.textOK("deploy", "preflight", elsewhere); !strings.Contains(out, "no bid: provider lacks attribute region=mars") {
		t.Errorf("preflight of an order for another region:\n%s", out)
	}
	var created createdJSON
	h.jsonOK(&created, "deploy", "create", sdl, "--wait-bids", "30s")
	if len(created.Bids) != 1 || created.Bids[0].Provider != provAddr {
		t.Fatalf("deploy create = %+v", created)
	}
	dseq := strconv.FormatUint(created.DSeq, 10)
	var leases []leaseCreatedJSON
	h.jsonOK(&leases, "lease", "create", "--cheapest", dseq)
	if len(leases) != 1 || !leases[0].Ready || leases[0].Status == nil || len(leases[0].Status.Services[0].URIs) != 1 {
		t.Fatalf("lease create --cheapest = %+v", leases)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	runtimetest.WaitHTTP(ctx, t, "http://"+leases[0].Status.Services[0].URIs[0]+"/", "hello-from-exec")
	if out := h.textOK("lease", "logs", dseq); !strings.Contains(out, "echo listening") {
		t.Errorf("lease logs:\n%s", out)
	}
	h.jsonOK(&struct{}{}, "deploy", "close", dseq)
	var ls []leaseJSON
	h.jsonOK(&ls, "lease", "list", "--deployment", dseq)
	if len(ls) != 1 || ls[0].State != "closed" {
		t.Errorf("lease list after deploy close = %+v", ls)
	}
	waitUntil(t, "the provider to stop the process", 30*time.Second, func() bool {
		_, err := http.Get("http://" + leases[0].Status.Services[0].URIs[0] + "/")
		return err != nil
	})
	prov.stop(t)
}
