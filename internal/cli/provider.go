package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	dclient "github.com/docker/docker/client"
	"github.com/spf13/cobra"

	"github.com/deai-network/deai/internal/config"
	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market"
	"github.com/deai-network/deai/internal/market/runtime"
	"github.com/deai-network/deai/internal/tx"
)

// providerFlags are the flags of `deai provider` that the provider.toml
// schema does not (yet) carry.
type providerFlags struct {
	nf             nodeFlag
	configPath     string
	passFile       string
	execAllow      []string
	dockerInstance string
	// dockerInstanceSet: --docker-instance was given (it beats the file).
	dockerInstanceSet bool
}

func newProviderCmd(env *Env) *cobra.Command {
	var f providerFlags
	cmd := &cobra.Command{
		Use:   "provider --config provider.toml",
		Short: "Run a compute-market provider: bid on orders, run leases, serve tenants",
		Long: `Run the compute-market provider daemon. It registers (or updates) the
provider record on chain from provider.toml (host_uri, region, attributes and
the GPU capabilities of [[nodes]]), watches open orders, bids on those its
inventory fits at the price of its price table or pricing script, deploys the
manifests tenants send to leases it won (Docker, exec or Kubernetes runtime),
meters and withdraws, and tears workloads down when a lease closes or its
escrow runs dry. Tenants reach its API at host_uri (served on listen).

Ctrl-C stops the daemon; running leases keep running and are adopted when it
starts again. 'deai provider init-config' writes a sample provider.toml;
'deai provider check-config' shows what a file resolves to without starting
anything. An invalid provider.toml exits with status 2.`,
		Example: "  deai provider init-config --out provider.toml\n" +
			"  deai provider --config provider.toml --passphrase-file provider.pass",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			f.dockerInstanceSet = cmd.Flags().Changed("docker-instance")
			return runProvider(cmd.Context(), env, &f)
		},
	}
	f.nf.register(cmd)
	fs := cmd.Flags()
	fs.StringVar(&f.configPath, "config", "", "provider file (default: <home>/config/provider.toml)")
	fs.StringArrayVar(&f.execAllow, "exec-allow", nil,
		`binaries the exec runtime may run: an absolute path, a glob, a directory ending in "/", or "*" (repeat)`)
	fs.StringVar(&f.dockerInstance, "docker-instance", runtime.DefaultInstance,
		"Docker runtime: prefix of container and network names; the daemon adopts only its own instance's leases")
	addPassphraseFlag(cmd, &f.passFile)
	cmd.AddCommand(newProviderInitConfigCmd(env), newProviderCheckConfigCmd(env))
	return cmd
}

// loadProviderConfig reads the provider file and fills in what depends on
// the home. Every problem with the file is invalid input (exit 2).
func loadProviderConfig(env *Env, path string) (config.Provider, string, error) {
	if path == "" {
		path = filepath.Join(env.Home, "config", "provider.toml")
		if !fileExists(path) {
			return config.Provider{}, path, &exitError{code: 2, err: fmt.Errorf(
				"no provider file: --config not given and %s does not exist; write one with `deai provider init-config --out %s`", path, path)}
		}
	}
	cfg, err := config.LoadProvider(path)
	if err != nil {
		return cfg, path, &exitError{code: 2, err: err}
	}
	if cfg.StateDir == "" {
		cfg.StateDir = filepath.Join(env.Home, "provider")
	}
	return cfg, path, nil
}

// providerPlan is what a provider file resolves to: everything the daemon
// needs except the key, the chain and the runtime.
type providerPlan struct {
	Config     string              `json:"config"`
	Key        string              `json:"key"`
	Address    string              `json:"address,omitempty"`
	HostURI    string              `json:"host_uri"`
	Listen     string              `json:"listen"`
	Region     string              `json:"region,omitempty"`
	Runtime    string              `json:"runtime"`
	StateDir   string              `json:"state_dir"`
	Nodes      []nodeJSON          `json:"nodes"`
	Attributes []lmarket.Attribute `json:"attributes"`
	Required   []lmarket.Attribute `json:"required_attributes,omitempty"`
	Pricing    string              `json:"pricing"` // "table" or the script's path
	PriceTable *priceJSON          `json:"price_table,omitempty"`
	BidDeposit uint64              `json:"bid_deposit"`

	nodes  []market.Node
	table  *market.PriceTable
	pricer market.Pricer
}

// nodeJSON is an inventory node in output; GPUs in attribute form.
type nodeJSON struct {
	Name         string   `json:"name"`
	CPUMilli     uint64   `json:"cpu_milli"`
	MemoryBytes  uint64   `json:"memory_bytes"`
	StorageBytes uint64   `json:"storage_bytes"`
	GPUs         []string `json:"gpus,omitempty"`
}

// priceJSON is the price table in output (udeai per block).
type priceJSON struct {
	CPUCore   float64            `json:"cpu_core"`
	MemoryGiB float64            `json:"memory_gib"`
	Endpoint  float64            `json:"endpoint"`
	Storage   map[string]float64 `json:"storage"`
	GPU       map[string]float64 `json:"gpu"`
}

func planProvider(cfg config.Provider, path string) (*providerPlan, error) {
	nodes, err := providerNodes(cfg, cfg.StateDir)
	if err != nil {
		return nil, &exitError{code: 2, err: fmt.Errorf("provider config %s: %w", path, err)}
	}
	pl := &providerPlan{
		Config: path, Key: cfg.Key, HostURI: cfg.HostURI, Listen: cfg.Listen, Region: cfg.Region,
		Runtime: cfg.Runtime, StateDir: cfg.StateDir, nodes: nodes,
		Attributes: providerAttributes(cfg.Attributes, nodes), Required: sortedAttributes(cfg.RequiredAttributes),
		BidDeposit: cfg.BidDeposit,
	}
	for _, n := range nodes {
		nj := nodeJSON{Name: n.Name, CPUMilli: n.CPUMilli, MemoryBytes: n.MemoryBytes, StorageBytes: n.StorageBytes}
		for _, d := range n.GPUs {
			nj.GPUs = append(nj.GPUs, d.Attr().String())
		}
		pl.Nodes = append(pl.Nodes, nj)
	}
	for _, a := range append(slices.Clone(pl.Attributes), pl.Required...) {
		if err := lmarket.ValidAttrKey(a.Key, false); err != nil {
			return nil, &exitError{code: 2, err: fmt.Errorf("provider config %s: attributes: %w", path, err)}
		}
	}
	if cfg.PricingScript != "" {
		sp, err := market.NewScriptPricer(cfg.PricingScript, cfg.ScriptTimeout.Duration)
		if err != nil {
			return nil, &exitError{code: 2, err: fmt.Errorf("provider config %s: pricing_script: %w", path, err)}
		}
		pl.Pricing, pl.pricer = cfg.PricingScript, sp
	} else {
		t := priceTable(cfg.Price)
		if err := t.Validate(); err != nil {
			return nil, &exitError{code: 2, err: fmt.Errorf("provider config %s: [price]: %w", path, err)}
		}
		pl.Pricing, pl.table, pl.pricer = "table", &t, &t
		pl.PriceTable = &priceJSON{CPUCore: t.CPUCore, MemoryGiB: t.MemoryGiB, Endpoint: t.Endpoint, Storage: t.Storage, GPU: t.GPU}
	}
	return pl, nil
}

// priceTable lays [price] over DefaultPriceTable: an entry left out (or
// 0) keeps the default; storage classes and GPU models merge.
func priceTable(p config.ProviderPrice) market.PriceTable {
	d := market.DefaultPriceTable
	t := market.PriceTable{CPUCore: d.CPUCore, MemoryGiB: d.MemoryGiB, Endpoint: d.Endpoint,
		Storage: maps.Clone(d.Storage), GPU: maps.Clone(d.GPU)}
	if p.CPUCore != 0 {
		t.CPUCore = p.CPUCore
	}
	if p.MemoryGiB != 0 {
		t.MemoryGiB = p.MemoryGiB
	}
	if p.Endpoint != 0 {
		t.Endpoint = p.Endpoint
	}
	maps.Copy(t.Storage, p.Storage)
	for k, v := range p.GPU {
		// Models match in lower case; a "model.ram" key keeps its RAM as
		// written (80Gi).
		model, ram, ok := strings.Cut(k, ".")
		k = strings.ToLower(model)
		if ok {
			k += "." + ram
		}
		t.GPU[k] = v
	}
	return t
}

func sortedAttributes(m map[string]string) []lmarket.Attribute {
	out := make([]lmarket.Attribute, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, lmarket.Attribute{Key: k, Value: m[k]})
	}
	return out
}

// providerAttributes are the configured attributes plus the GPU
// capabilities of the nodes (a configured key wins).
func providerAttributes(m map[string]string, nodes []market.Node) []lmarket.Attribute {
	out := sortedAttributes(m)
	for _, a := range market.GPUCapabilities(nodes) {
		if _, ok := m[a.Key]; !ok {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b lmarket.Attribute) int { return strings.Compare(a.Key, b.Key) })
	return out
}

// providerNodes turns [[nodes]] into the inventory's nodes; without any,
// this machine: all its CPUs, its total memory and the free disk of the
// state directory, and no GPUs.
func providerNodes(cfg config.Provider, stateDir string) ([]market.Node, error) {
	if len(cfg.Nodes) == 0 {
		n, err := localNode(stateDir)
		if err != nil {
			return nil, err
		}
		return []market.Node{n}, nil
	}
	var out []market.Node
	for i, cn := range cfg.Nodes {
		p := fmt.Sprintf("nodes[%d]", i)
		n := market.Node{Name: cn.Name}
		var err error
		if n.CPUMilli, err = parseCPUQuantity(cn.CPU); err != nil {
			return nil, fmt.Errorf("%s.cpu: %w", p, err)
		}
		if n.MemoryBytes, err = parseByteQuantity(cn.Memory); err != nil {
			return nil, fmt.Errorf("%s.memory: %w", p, err)
		}
		if n.StorageBytes, err = parseByteQuantity(cn.Storage); err != nil {
			return nil, fmt.Errorf("%s.storage: %w", p, err)
		}
		for j, g := range cn.GPUs {
			attr := lmarket.GPUAttr{Vendor: strings.ToLower(g.Vendor), Model: strings.ToLower(g.Model), RAM: g.RAM, Interface: strings.ToLower(g.Interface)}
			if _, err := lmarket.ParseGPUAttr(attr.String()); err != nil || attr.Model == "*" {
				return nil, fmt.Errorf("%s.gpus[%d]: %s: want vendor nvidia or amd, a concrete model, ram like 80Gi, interface pcie or sxm", p, j, attr)
			}
			for range g.Count {
				n.GPUs = append(n.GPUs, market.GPUDevice{ID: fmt.Sprintf("%s/gpu%d", n.Name, len(n.GPUs)),
					Vendor: attr.Vendor, Model: attr.Model, RAM: attr.RAM, Interface: attr.Interface})
			}
		}
		out = append(out, n)
	}
	if _, err := market.NewInventory(out); err != nil {
		return nil, err
	}
	return out, nil
}

func localNode(stateDir string) (market.Node, error) {
	name, err := os.Hostname()
	if err != nil || name == "" {
		name = "local"
	}
	mem, err := memTotal()
	if err != nil {
		return market.Node{}, fmt.Errorf("detect this machine's memory (list the machine under [[nodes]] instead): %w", err)
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return market.Node{}, fmt.Errorf("state dir: %w", err)
	}
	disk, err := freeDisk(stateDir)
	if err != nil {
		return market.Node{}, fmt.Errorf("detect the free disk of %s (list the machine under [[nodes]] instead): %w", stateDir, err)
	}
	return market.Node{Name: name, CPUMilli: uint64(goruntime.NumCPU()) * 1000, MemoryBytes: mem, StorageBytes: disk}, nil
}

// memTotal reads MemTotal from /proc/meminfo.
func memTotal() (uint64, error) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("/proc/meminfo: MemTotal %q: %w", v, err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("/proc/meminfo has no MemTotal line")
}

var (
	cpuQuantityRE  = regexp.MustCompile(`^([0-9]{1,9})(?:\.([0-9]{1,3}))?$`)
	cpuMilliRE     = regexp.MustCompile(`^([0-9]{1,12})m$`)
	byteQuantityRE = regexp.MustCompile(`^([0-9]{1,20})(?:\.([0-9]{1,12}))?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$`)
	byteUnitSize   = map[string]int64{"": 1, "Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30, "Ti": 1 << 40, "Pi": 1 << 50,
		"k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
)

// parseCPUQuantity reads cores as SDL does: "2", "1.5" or "1500m".
func parseCPUQuantity(s string) (uint64, error) {
	var v uint64
	if m := cpuMilliRE.FindStringSubmatch(s); m != nil {
		v, _ = strconv.ParseUint(m[1], 10, 64)
	} else if m := cpuQuantityRE.FindStringSubmatch(s); m != nil {
		w, _ := strconv.ParseUint(m[1], 10, 64)
		f, _ := strconv.ParseUint((m[2] + "000")[:3], 10, 64)
		v = w*1000 + f
	} else {
		return 0, fmt.Errorf("%q: want a number of cores like 8, 1.5 or 1500m", s)
	}
	if v == 0 {
		return 0, fmt.Errorf("%q: want more than 0", s)
	}
	return v, nil
}

// parseByteQuantity reads a size as SDL does: 512Mi, 8Gi, 1.5Ti, 100G.
func parseByteQuantity(s string) (uint64, error) {
	m := byteQuantityRE.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%q: want a size like 512Mi, 8Gi or 2Ti", s)
	}
	num, _ := new(big.Int).SetString(m[1]+m[2], 10)
	num.Mul(num, big.NewInt(byteUnitSize[m[3]]))
	num.Quo(num, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(len(m[2]))), nil))
	if !num.IsUint64() || num.Sign() == 0 {
		return 0, fmt.Errorf("%q: want a size above 0 and below 16Ei", s)
	}
	return num.Uint64(), nil
}

// newProviderRuntime builds the configured runtime. auto takes Kubernetes
// when a kubeconfig is given, else Docker when an Engine answers a ping,
// else exec.
func newProviderRuntime(ctx context.Context, cfg config.Provider, f *providerFlags, log *slog.Logger) (runtime.Runtime, error) {
	publicHost := ""
	if ip := net.ParseIP(cfg.PublishIP); ip != nil && ip.IsUnspecified() {
		// Ports bound on every interface: tenants reach them at the
		// provider's public name.
		if u, err := url.Parse(cfg.HostURI); err == nil {
			publicHost = u.Hostname()
		}
	}
	instance := f.dockerInstance
	if !f.dockerInstanceSet && cfg.DockerInstance != "" {
		instance = cfg.DockerInstance
	}
	allow := f.execAllow
	if len(allow) == 0 {
		allow = cfg.ExecAllow
	}
	docker := func() (runtime.Runtime, error) {
		o := runtime.DockerOptions{Instance: instance, PublishIP: cfg.PublishIP, PublicHost: publicHost,
			StateDir: filepath.Join(cfg.StateDir, "docker"), Logger: log}
		if cfg.DockerHost != "" {
			c, err := dclient.NewClientWithOpts(dclient.FromEnv, dclient.WithHost(cfg.DockerHost), dclient.WithAPIVersionNegotiation())
			if err != nil {
				return nil, fmt.Errorf("docker_host %q: %w", cfg.DockerHost, err)
			}
			o.Client = c
		}
		pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return runtime.NewDocker(pctx, o)
	}
	execRT := func() (runtime.Runtime, error) {
		if len(allow) == 0 {
			return nil, &exitError{code: 2, err: errors.New(
				"the exec runtime runs tenant binaries on this host and allows none by default: pass --exec-allow (or exec_allow in the provider file) with the binaries it may run (an absolute path, a glob, a directory ending in /, or *)")}
		}
		return runtime.NewExec(runtime.ExecOptions{StateDir: filepath.Join(cfg.StateDir, "exec"), Allow: allow,
			PublishIP: cfg.PublishIP, PublicHost: publicHost, Logger: log})
	}
	kube := func() (runtime.Runtime, error) {
		c, err := runtime.KubeClient(cfg.Kubeconfig)
		if err != nil {
			return nil, err
		}
		return runtime.NewKube(runtime.KubeOptions{Client: c, KubeRenderOptions: runtime.KubeRenderOptions{PublicHost: publicHost}, Logger: log})
	}
	switch cfg.Runtime {
	case "docker":
		return docker()
	case "exec":
		return execRT()
	case "kubernetes":
		return kube()
	}
	if cfg.Kubeconfig != "" {
		return kube()
	}
	rt, err := docker()
	if err == nil {
		return rt, nil
	}
	log.Info("no Docker Engine answered; using the exec runtime", "err", err)
	if len(allow) == 0 {
		return nil, &exitError{code: 2, err: fmt.Errorf("runtime auto: no Docker Engine answered (%v), and the exec runtime needs --exec-allow (or exec_allow) with the binaries tenants may run", err)}
	}
	return execRT()
}

// providerStarted is what `deai provider` prints once it serves.
type providerStarted struct {
	providerPlan
	Listening string `json:"listening"`
}

func runProvider(ctx context.Context, env *Env, f *providerFlags) error {
	cfg, path, err := loadProviderConfig(env, f.configPath)
	if err != nil {
		return err
	}
	pl, err := planProvider(cfg, path)
	if err != nil {
		return err
	}
	if cfg.Runtime == "exec" && len(f.execAllow) == 0 && len(cfg.ExecAllow) == 0 {
		return invalidInput(errors.New("runtime exec: pass --exec-allow (or set exec_allow in the provider file) with the binaries tenants may run (an absolute path, a glob, a directory ending in /, or *); the exec runtime runs them on this host and allows none by default"))
	}
	log := slog.New(slog.NewTextHandler(env.Stderr, nil))
	key, err := env.loadKey(cfg.Key, f.passFile)
	if err != nil {
		return fmt.Errorf("provider key %q (key in %s): %w", cfg.Key, path, err)
	}
	pl.Address = key.Address().String()
	inv, err := market.NewInventory(pl.nodes)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	rt, err := newProviderRuntime(ctx, cfg, f, log)
	if err != nil {
		return err
	}
	pl.Runtime = rt.Name()
	cl, err := env.dial(ctx, f.nf)
	if err != nil {
		return err
	}
	defer cl.Close()
	lc := market.NewLedgerChain(cl, key)
	lc.UnitPrices = lmarket.UnitPrices{CPU: tx.Amount(cfg.UsagePrice.CPUCoreSecond), Memory: tx.Amount(cfg.UsagePrice.MemoryGiBSecond), GPU: tx.Amount(cfg.UsagePrice.GPUSecond)}
	p, err := market.NewProvider(market.ProviderOptions{
		Chain: lc, Runtime: rt, Inventory: inv, Pricer: pl.pricer,
		Info:     market.ProviderInfo{HostURI: cfg.HostURI, Region: cfg.Region, Attributes: pl.Attributes, Email: cfg.Email, Website: cfg.Website},
		StateDir: cfg.StateDir, RequiredAttributes: pl.Required, BidDeposit: cfg.BidDeposit,
		BidTimeout: cfg.BidTimeout.Duration, ManifestTimeout: cfg.ManifestTimeout.Duration, PollInterval: cfg.PollInterval.Duration,
		WithdrawPeriod: cfg.WithdrawPeriod.Duration, UsagePeriod: cfg.UsagePeriod.Duration, Logger: log,
		Metrics: newRegistry(), // GET /metrics on the provider's API
	})
	if err != nil {
		return err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s (listen in %s): %w", cfg.Listen, path, err)
	}
	srv := &http.Server{Handler: p.Handler(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close() // log streams that follow do not end on their own
		}
	}()

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(runCtx) }()
	st := providerStarted{providerPlan: *pl, Listening: ln.Addr().String()}
	if err := env.Print(st, func(w io.Writer) error { return writeProviderStarted(w, &st) }); err != nil {
		return err
	}
	select {
	case err := <-runErr:
		return err
	case err := <-serveErr:
		cancel()
		<-runErr
		return fmt.Errorf("provider API: %w", err)
	}
}

func writeProviderStarted(w io.Writer, st *providerStarted) error {
	fmt.Fprintf(w, "provider %s serving http://%s (published as %s), runtime %s\n", st.Address, st.Listening, st.HostURI, st.Runtime)
	return writeProviderPlan(w, &st.providerPlan)
}

func writeProviderPlan(w io.Writer, pl *providerPlan) error {
	fmt.Fprintf(w, "state dir: %s\n", pl.StateDir)
	for _, n := range pl.Nodes {
		gpus := "no GPUs"
		if len(n.GPUs) > 0 {
			kinds := map[string]int{}
			for _, d := range n.GPUs {
				kinds[d]++
			}
			var parts []string
			for _, k := range slices.Sorted(maps.Keys(kinds)) {
				parts = append(parts, fmt.Sprintf("%d × %s", kinds[k], k))
			}
			gpus = strings.Join(parts, ", ")
		}
		fmt.Fprintf(w, "node %s: %s cpu, %s memory, %s storage, %s\n", n.Name, formatCores(n.CPUMilli),
			market.FormatBytes(n.MemoryBytes), market.FormatBytes(n.StorageBytes), gpus)
	}
	for _, a := range pl.Attributes {
		fmt.Fprintf(w, "attribute %s=%s\n", a.Key, a.Value)
	}
	for _, a := range pl.Required {
		fmt.Fprintf(w, "bids only on orders asking for %s=%s\n", a.Key, a.Value)
	}
	if pl.PriceTable == nil {
		fmt.Fprintf(w, "pricing: script %s\n", pl.Pricing)
	} else {
		t := pl.PriceTable
		fmt.Fprintf(w, "pricing: udeai per block: cpu %g per core, memory %g per GiB, endpoint %g\n", t.CPUCore, t.MemoryGiB, t.Endpoint)
		fmt.Fprintf(w, "  storage per GiB: %s\n", formatPriceMap(t.Storage))
		fmt.Fprintf(w, "  gpu per device: %s\n", formatPriceMap(t.GPU))
	}
	_, err := fmt.Fprintf(w, "bid deposit: %d udeai\n", pl.BidDeposit)
	return err
}

func formatCores(milli uint64) string {
	return strconv.FormatFloat(float64(milli)/1000, 'f', -1, 64)
}

func formatPriceMap(m map[string]float64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %g", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func newProviderCheckConfigCmd(env *Env) *cobra.Command {
	var path string
	cmd := &cobra.Command{
		Use:   "check-config",
		Short: "Show what a provider.toml resolves to: nodes, attributes, pricing",
		Long: `Load and check a provider file and print what the daemon would use: the
inventory of [[nodes]] (or this machine's, detected), the attributes it
publishes (with the GPU capabilities of the nodes), the attributes it
requires, and the price table over the defaults or the pricing script. It
contacts neither the chain nor a runtime and needs no passphrase. An invalid
file exits with status 2.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, p, err := loadProviderConfig(env, path)
			if err != nil {
				return err
			}
			pl, err := planProvider(cfg, p)
			if err != nil {
				return err
			}
			if ks, err := openKeystore(env); err == nil {
				if info, err := ks.Info(cfg.Key); err == nil {
					pl.Address = info.Address.String()
				}
			}
			return env.Print(pl, func(w io.Writer) error {
				addr := pl.Address
				if addr == "" {
					addr = "not in this home's keystore"
				}
				fmt.Fprintf(w, "%s: valid\nkey %s (%s), host_uri %s, listen %s, runtime %s\n", p, pl.Key, addr, pl.HostURI, pl.Listen, pl.Runtime)
				return writeProviderPlan(w, pl)
			})
		},
	}
	cmd.Flags().StringVar(&path, "config", "", "provider file (default: <home>/config/provider.toml)")
	return cmd
}

func newProviderInitConfigCmd(env *Env) *cobra.Command {
	var out string
	var force bool
	cmd := &cobra.Command{
		Use:   "init-config",
		Short: "Write a commented sample provider.toml for a local devnet",
		Long: `Write a sample provider.toml, ready for a local devnet (key "provider",
host_uri http://127.0.0.1:8443, runtime auto) with every setting explained.
--out FILE writes it there (refusing to overwrite without --force); without
--out it goes to stdout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				if env.JSON() {
					return env.Print(map[string]string{"config": sampleProviderTOML}, nil)
				}
				_, err := io.WriteString(env.Stdout, sampleProviderTOML)
				return err
			}
			if fileExists(out) && !force {
				return &exitError{code: 2, err: fmt.Errorf("%s exists; pass --force to overwrite it", out)}
			}
			if err := os.WriteFile(out, []byte(sampleProviderTOML), 0o600); err != nil {
				return fmt.Errorf("write provider config: %w", err)
			}
			return env.Print(map[string]string{"written": out}, func(w io.Writer) error {
				_, err := fmt.Fprintf(w, "wrote %s\nnext: create and fund the key it names, then run `deai provider --config %s`\n", out, out)
				return err
			})
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write (default: stdout)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite --out if it exists")
	return cmd
}

// sampleProviderTOML is what init-config writes; TestProviderInitConfig
// loads it with config.LoadProvider.
const sampleProviderTOML = `# deai compute-market provider (deai provider --config provider.toml).
# Sizes are quantities as in SDL (512Mi, 8Gi); prices are udeai per block
# and may be fractional. Unknown keys are errors.

# Keystore key of the provider account (deai wallet new provider). It pays
# the bid deposits and fees and receives the lease payments.
key = "provider"

# Where tenants reach this provider's API (published on chain), and the
# address the API listens on.
host_uri = "http://127.0.0.1:8443"
listen = "127.0.0.1:8443"

region = "local"
# email = "ops@example.com"
# website = "https://example.com"

# auto: Kubernetes when kubeconfig is set, else Docker when an Engine
# answers, else exec (local processes; needs --exec-allow). Or docker,
# exec, kubernetes.
runtime = "auto"
# kubeconfig = "/etc/deai/kubeconfig"
# docker_host = "unix:///var/run/docker.sock"
# docker_instance = "deai"    # prefix of container and network names
# Binaries the exec runtime may run (absolute path, glob, "dir/" or "*");
# none by default. --exec-allow adds to nothing: it replaces this list.
# exec_allow = ["/usr/local/bin/"]

# Host address workload ports are published on. 0.0.0.0 publishes on every
# interface and tells tenants host_uri's host name.
publish_ip = "127.0.0.1"

# Received manifests and runtime state; default <home>/provider.
# state_dir = "/var/lib/deai/provider"

bid_deposit = 500000          # udeai held per open bid (the chain's minimum is 0.5 DEAI)
bid_timeout = "5m"            # close our bids nobody accepted after this
manifest_timeout = "5m"       # close a won lease whose manifest never came
withdraw_period = "1m"        # collect lease payments this often
usage_period = "10s"          # report usage of usage-billed leases this often
poll_interval = "500ms"       # look at the chain this often

# An executable that prices each order instead of the table below: the
# order as JSON on stdin, one decimal number (udeai per block for the whole
# group) on stdout; a non-zero exit means no bid. Akash price scripts work.
# pricing_script = "/etc/deai/price.sh"
# pricing_script_timeout = "10s"

# Published attributes; tenants' placement matches them. GPU capabilities
# are added from [[nodes]]. Persistent storage needs a class attribute such
# as "capabilities/storage/1/class" = "beta2".
[attributes]
tier = "community"

# Bid only on orders whose placement asks for these.
# [required_attributes]
# tier = "community"

# udeai per block; anything left out keeps the default table.
[price]
cpu_core = 0.31               # per core
memory_gib = 0.16             # per GiB
endpoint = 0.01               # per global endpoint
[price.storage]               # per GiB by class
default = 0.004
[price.gpu]                   # per device: model, "model.ram" or "*"
"*" = 19.3

# Prices bid on usage-billed orders (billing: usage in the SDL), whole udeai
# per unit consumed; a lease never pays more than the bid's price per block.
[usage_price]
cpu_core_second = 1
memory_gib_second = 1
gpu_second = 50

# The machines and their allocatable capacity. Without [[nodes]] the
# provider offers this machine: all CPUs, total memory, the free disk of
# state_dir and no GPUs.
# [[nodes]]
# name = "gpu-1"
# cpu = "32"
# memory = "256Gi"
# storage = "2Ti"
# [[nodes.gpus]]
# vendor = "nvidia"
# model = "h100"
# ram = "80Gi"
# interface = "sxm"
# count = 8
`
