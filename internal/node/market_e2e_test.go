package node_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	dclient "github.com/docker/docker/client"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/config"
	"github.com/deai-network/deai/internal/ledger"
	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market"
	"github.com/deai-network/deai/internal/market/manifest"
	"github.com/deai-network/deai/internal/market/runtime"
	"github.com/deai-network/deai/internal/market/runtime/runtimetest"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

// marketNet is a real single-validator CometBFT node with fast blocks and
// two funded accounts: a tenant and a provider.
type marketNet struct {
	t        testing.TB
	c        chain.Client
	tenant   *wallet.Key
	provider *wallet.Key
}

func startMarketNet(t testing.TB, blockTime time.Duration) *marketNet {
	t.Helper()
	c, dev := startDevNode(t, blockTime)
	m := &marketNet{t: t, c: c, tenant: seedKey(t, 0x71), provider: seedKey(t, 0x72)}
	m.send(dev, &tx.MsgSend{From: dev.Address(), To: m.tenant.Address(), Amount: 1000 * tx.UnitsPerDEAI},
		&tx.MsgSend{From: dev.Address(), To: m.provider.Address(), Amount: 100 * tx.UnitsPerDEAI})
	return m
}

// startDevNode starts a real single-validator node (node.Init, node.Start)
// with blocks every blockTime and returns its client and funded dev key.
func startDevNode(t testing.TB, blockTime time.Duration) (chain.Client, *wallet.Key) {
	t.Helper()
	home := t.TempDir()
	cfg := config.Default()
	cfg.Chain.BlockTime = config.Duration{Duration: blockTime}
	cfg.Chain.RPCAddr = "tcp://127.0.0.1:0"
	cfg.Chain.P2PAddr = "tcp://127.0.0.1:0"
	res, err := node.Init(node.InitOptions{Home: home, Config: cfg, DevPassphrase: []byte("test"),
		KDF: wallet.KDF{Name: wallet.KDFArgon2id, Time: 1, MemoryKiB: 8, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(t.Context(), node.Options{Home: home, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Stop() })
	ks, err := wallet.Open(node.KeysDir(home))
	if err != nil {
		t.Fatal(err)
	}
	dev, err := ks.Load(res.DevKey, []byte("test"))
	if err != nil {
		t.Fatal(err)
	}
	return n.Client(), dev
}

func (m *marketNet) send(k *wallet.Key, msgs ...tx.Msg) {
	m.t.Helper()
	var acct ledger.Account
	m.query("/account/"+k.Address().String(), &acct)
	st, err := m.c.Status(m.t.Context())
	if err != nil {
		m.t.Fatal(err)
	}
	x, err := tx.Builder{ChainID: st.ChainID, Nonce: acct.Nonce, Fee: ledger.DefaultParams().MinFee, Msgs: msgs}.Sign(k.PrivateKey())
	if err != nil {
		m.t.Fatal(err)
	}
	raw, _ := x.Encode()
	r, err := m.c.BroadcastCommit(m.t.Context(), raw)
	if err != nil || r.Code != 0 {
		m.t.Fatalf("tx: %v %s", err, r.Log)
	}
}

func (m *marketNet) query(path string, v any) {
	m.t.Helper()
	if err := queryJSON(m.t.Context(), m.c, path, v); err != nil {
		m.t.Fatal(err)
	}
}

func (m *marketNet) balance(a tx.Address) tx.Amount {
	var acct ledger.Account
	m.query("/account/"+a.String(), &acct)
	return acct.Balance
}

func (m *marketNet) height() int64 {
	st, err := m.c.Status(m.t.Context())
	if err != nil {
		m.t.Fatal(err)
	}
	return st.LatestHeight
}

func (m *marketNet) supplyConserved() {
	m.t.Helper()
	var s ledger.Supply
	m.query("/supply", &s)
	if !s.Conserved() {
		m.t.Fatalf("supply not conserved: %+v", s)
	}
}

// runProvider starts a provider daemon over rt with its HTTP API on a
// loopback port; stop ends the daemon (workloads keep running).
func (m *marketNet) runProvider(rt runtime.Runtime, stateDir string, table market.PriceTable) (p *market.Provider, stop func()) {
	return m.runProviderWith(rt, stateDir, table, market.DefaultUnitPrices)
}

func (m *marketNet) runProviderWith(rt runtime.Runtime, stateDir string, table market.PriceTable, units lmarket.UnitPrices) (p *market.Provider, stop func()) {
	m.t.Helper()
	inv, err := market.NewInventory([]market.Node{{Name: "local", CPUMilli: 4000, MemoryBytes: 8 << 30, StorageBytes: 64 << 30}})
	if err != nil {
		m.t.Fatal(err)
	}
	ln := listenLoopback(m.t)
	lc := market.NewLedgerChain(m.c, m.provider)
	lc.UnitPrices = units
	p, err = market.NewProvider(market.ProviderOptions{
		Chain: lc, Runtime: rt, Inventory: inv, Pricer: &table,
		Info:     market.ProviderInfo{HostURI: "http://" + ln.Addr().String(), Region: "local"},
		StateDir: stateDir, BidDeposit: 500_000, PollInterval: 100 * time.Millisecond,
		WithdrawPeriod: time.Second, UsagePeriod: time.Second,
		Logger: slog.New(slog.NewTextHandler(m.t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		m.t.Fatal(err)
	}
	srv := &http.Server{Handler: p.Handler()}
	go srv.Serve(ln)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	stop = func() {
		cancel()
		if err := <-done; err != nil {
			m.t.Errorf("provider: %v", err)
		}
		srv.Close()
	}
	m.t.Cleanup(func() {
		select {
		case <-ctx.Done():
		default:
			stop()
		}
		// Leave nothing behind: remove whatever workloads the test left.
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		refs, err := rt.List(cctx)
		for _, ref := range refs {
			if cerr := rt.Close(cctx, ref); cerr != nil {
				err = cerr
			}
		}
		if err != nil {
			m.t.Errorf("remove leftover workloads: %v", err)
		}
	})
	return p, stop
}

const echoSDL = echoSDLHead + echoSDLTail

const echoSDLHead = `version: "2.0"
services:
  web:
    image: %s
    env:
      - ECHO_MESSAGE=%s
    expose:
      - port: 8080
        as: 80
        to:
          - global: true
profiles:
  compute:
    web:
      resources:
        cpu:
          units: 0.5
        memory:
          size: 64Mi
        storage:
          size: 128Mi
  placement:
    local:
      attributes:
        region: local
`

const echoSDLTail = `      pricing:
        web:
          denom: udeai
          amount: %d
deployment:
  web:
    local:
      profile: web
      count: 1
`

type deployed struct {
	dep   lmarket.DeploymentID
	lease lmarket.LeaseID
	m     manifest.Manifest
	pc    *market.ProviderClient
	uri   string
}

// deploy runs the tenant's whole flow: deployment, bid, lease, manifest,
// then waits for the endpoint to answer with the message.
func (m *marketNet) deploy(ten *market.Tenant, image, msg string, maxPrice, deposit uint64) deployed {
	return m.deploySDL(ten, fmt.Sprintf(echoSDL, image, msg, maxPrice), msg, deposit)
}

func (m *marketNet) deploySDL(ten *market.Tenant, sdl, msg string, deposit uint64) deployed {
	m.t.Helper()
	ctx, cancel := context.WithTimeout(m.t.Context(), 60*time.Second)
	defer cancel()
	s, err := manifest.ParseSDL([]byte(sdl))
	if err != nil {
		m.t.Fatal(err)
	}
	d := deployed{m: s.Manifest()}
	d.dep, err = ten.CreateDeployment(ctx, 0, s.Groups(), d.m.Hash(), deposit)
	if err != nil {
		m.t.Fatal(err)
	}
	bids, err := ten.WaitBids(ctx, d.dep, 100*time.Millisecond)
	if err != nil {
		m.t.Fatal(err)
	}
	d.lease = bids[0].ID
	if err := ten.CreateLease(ctx, d.lease); err != nil {
		m.t.Fatal(err)
	}
	if d.pc, err = ten.ProviderClient(ctx, d.lease.Provider); err != nil {
		m.t.Fatal(err)
	}
	if _, err := d.pc.SendManifest(ctx, d.dep.DSeq, d.m); err != nil {
		m.t.Fatal(err)
	}
	for d.uri == "" {
		st, err := d.pc.LeaseStatus(ctx, d.lease.String())
		if err == nil && len(st.Services) == 1 && len(st.Services[0].URIs) == 1 && st.Services[0].Available == 1 {
			d.uri = "http://" + st.Services[0].URIs[0] + "/"
			break
		}
		select {
		case <-ctx.Done():
			m.t.Fatalf("lease never became available: %+v %v", st, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
	runtimetest.WaitHTTP(ctx, m.t, d.uri, msg)
	return d
}

// leaseContainers lists the containers of one lease of one runtime
// instance (lease IDs repeat across tests: each starts a fresh chain).
func leaseContainers(t testing.TB, cli *dclient.Client, instance, lease string) []container.Summary {
	t.Helper()
	cs, err := cli.ContainerList(t.Context(), container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", runtime.LabelLease+"="+lease), filters.Arg("label", runtime.LabelInstance+"="+instance))})
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestMarketDockerEndToEnd(t *testing.T) {
	cli := runtimetest.Docker(t)
	ctx := t.Context()
	image := runtimetest.BuildEchoImage(ctx, t, cli)
	m := startMarketNet(t, 200*time.Millisecond)
	instance := runtimetest.UniqueName(t, "deai")
	newRT := func() runtime.Runtime {
		rt, err := runtime.NewDocker(ctx, runtime.DockerOptions{Client: cli, Instance: instance, SampleInterval: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		return rt
	}
	state := t.TempDir()
	table := market.PriceTable{CPUCore: 20, MemoryGiB: 16} // 0.5 core × 20 + 1/16 GiB × 16 = 11 udeai per block
	_, stop := m.runProvider(newRT(), state, table)
	ten := market.NewTenant(m.c, m.tenant)
	tenantStart := m.balance(m.tenant.Address())

	start := time.Now()
	d := m.deploy(ten, image, "hello-from-tenant", 50, 5_000_000)
	t.Logf("deploy create to a reachable endpoint: %s", time.Since(start).Round(time.Millisecond))

	// The container runs with the limits asked for.
	cs := leaseContainers(t, cli, instance, d.lease.String())
	if len(cs) != 1 {
		t.Fatalf("%d containers for the lease, want 1", len(cs))
	}
	in, err := cli.ContainerInspect(ctx, cs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if in.HostConfig.NanoCPUs != 500_000_000 || in.HostConfig.Memory != 64<<20 || in.HostConfig.PidsLimit == nil || *in.HostConfig.PidsLimit <= 0 {
		t.Fatalf("limits: cpu %d memory %d pids %v", in.HostConfig.NanoCPUs, in.HostConfig.Memory, in.HostConfig.PidsLimit)
	}

	// The lease pays the bid price every block.
	l, err := ten.Lease(ctx, d.lease)
	if err != nil {
		t.Fatal(err)
	}
	if l.Price != 11 {
		t.Fatalf("lease price %d, want 11 (the price table's)", l.Price)
	}
	e1, err := ten.Escrow(ctx, d.dep)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "five more blocks", 20*time.Second, func() bool { return m.height() >= int64(e1.AsOf)+5 })
	e2, err := ten.Escrow(ctx, d.dep)
	if err != nil {
		t.Fatal(err)
	}
	if blocks := e2.AsOf - e1.AsOf; e1.FundsAt-e2.FundsAt != tx.Amount(11*blocks) {
		t.Fatalf("escrow %d -> %d over %d blocks, want a drop of 11 per block", e1.FundsAt, e2.FundsAt, blocks)
	}

	// Logs reach the tenant.
	rc, err := d.pc.Logs(ctx, d.lease.String(), market.LogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	logs, _ := io.ReadAll(rc)
	rc.Close()
	if !strings.Contains(string(logs), "echo listening") {
		t.Fatalf("logs %q lack the server's start line", logs)
	}

	// Only the owner sees the lease; a changed manifest is refused.
	other := &market.ProviderClient{BaseURL: d.pc.BaseURL, Provider: d.pc.Provider, Key: m.provider}
	var pe *market.ProviderError
	if _, err := other.LeaseStatus(ctx, d.lease.String()); !errors.As(err, &pe) || pe.Status != http.StatusForbidden {
		t.Fatalf("status by a stranger: %v, want 403", err)
	}
	bad := d.m
	bad.Groups = append([]manifest.Group(nil), d.m.Groups...)
	bad.Groups[0].Services = append([]manifest.Service(nil), d.m.Groups[0].Services...)
	bad.Groups[0].Services[0].Env = []string{"ECHO_MESSAGE=tampered"}
	if _, err := d.pc.SendManifest(ctx, d.dep.DSeq, bad); !errors.As(err, &pe) || pe.Code != "hash_mismatch" {
		t.Fatalf("tampered manifest: %v, want hash_mismatch", err)
	}

	// A provider restart keeps the lease running: same container, same
	// answer, and the new daemon still follows the lease.
	stop()
	p2, _ := m.runProvider(newRT(), state, table)
	waitFor(t, "the restarted provider to adopt the lease", 10*time.Second, func() bool { return len(p2.Leases()) == 1 })
	if cs2 := leaseContainers(t, cli, instance, d.lease.String()); len(cs2) != 1 || cs2[0].ID != cs[0].ID {
		t.Fatalf("after restart: containers %v, want the same %s", cs2, cs[0].ID)
	}
	runtimetest.WaitHTTP(ctx, t, d.uri, "hello-from-tenant")

	// Closing removes the container; closing the deployment refunds the rest.
	if err := ten.CloseLease(ctx, d.lease); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the container to be removed", 20*time.Second, func() bool { return len(leaseContainers(t, cli, instance, d.lease.String())) == 0 })
	if err := ten.CloseDeployment(ctx, d.dep); err != nil {
		t.Fatal(err)
	}
	l, _ = ten.Lease(ctx, d.lease)
	if l.State != lmarket.LeaseClosed || l.Reason != lmarket.ReasonOwner {
		t.Fatalf("lease after close: %+v", l)
	}
	var dr lmarket.DeploymentResult
	m.query("/market/deployment/"+d.dep.String(), &dr)
	acc := dr.Escrow.Account
	paid := tx.Amount(11 * (l.ClosedAt - l.CreatedAt))
	if acc.Transferred != paid || acc.Deposited != acc.Transferred+acc.Refunded {
		t.Fatalf("escrow: deposited %d transferred %d refunded %d; want transferred = 11 × %d blocks = %d and nothing lost",
			acc.Deposited, acc.Transferred, acc.Refunded, l.ClosedAt-l.CreatedAt, paid)
	}
	fees := 4 * ledger.DefaultParams().MinFee // deployment, lease, close lease, close deployment
	if got := m.balance(m.tenant.Address()); got != tenantStart-fees-paid {
		t.Fatalf("tenant balance %d, want %d - %d fees - %d paid", got, tenantStart, fees, paid)
	}
	m.supplyConserved()
}

func TestMarketEscrowRunsDry(t *testing.T) {
	cli := runtimetest.Docker(t)
	ctx := t.Context()
	image := runtimetest.BuildEchoImage(ctx, t, cli)
	m := startMarketNet(t, 200*time.Millisecond)
	instance := runtimetest.UniqueName(t, "deai")
	rt, err := runtime.NewDocker(ctx, runtime.DockerOptions{Client: cli, Instance: instance})
	if err != nil {
		t.Fatal(err)
	}
	// 0.5 core × 20,000 = 10,000 udeai per block: a 500,000 deposit lasts
	// 50 blocks, 10 s.
	m.runProvider(rt, t.TempDir(), market.PriceTable{CPUCore: 20_000})
	ten := market.NewTenant(m.c, m.tenant)
	d := m.deploy(ten, image, "short-lived", 10_000, 500_000)
	waitFor(t, "the lease to close for lack of funds", 40*time.Second, func() bool {
		l, err := ten.Lease(ctx, d.lease)
		return err == nil && l.State != lmarket.LeaseActive
	})
	l, _ := ten.Lease(ctx, d.lease)
	if l.State != lmarket.LeaseInsufficientFunds || l.Reason != lmarket.ReasonInsufficientFunds {
		t.Fatalf("lease %+v, want insufficient_funds with reason 20000", l)
	}
	waitFor(t, "the workload to stop", 20*time.Second, func() bool { return len(leaseContainers(t, cli, instance, d.lease.String())) == 0 })
	var dr lmarket.DeploymentResult
	m.query("/market/deployment/"+d.dep.String(), &dr)
	if acc := dr.Escrow.Account; acc.Deposited != acc.Transferred+acc.Refunded || acc.Transferred > 500_000 {
		t.Fatalf("escrow after running dry: %+v", acc)
	}
	m.supplyConserved()
}

func queryJSON(ctx context.Context, c chain.Client, path string, v any) error {
	r, err := c.Query(ctx, path, nil)
	if err != nil {
		return err
	}
	if r.Code != 0 {
		return fmt.Errorf("query %s: %s (code %d)", path, r.Log, r.Code)
	}
	return json.Unmarshal(r.Value, v)
}

func listenLoopback(t testing.TB) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// BenchmarkMarketDeployToEndpoint measures `deploy create` to a reachable
// endpoint with the Docker runtime at the devnet block time (500 ms):
// deployment tx, the provider's bid, the lease tx, manifest delivery,
// container start, first HTTP answer. Each iteration then closes its lease.
func BenchmarkMarketDeployToEndpoint(b *testing.B) {
	cli := runtimetest.Docker(b)
	ctx := b.Context()
	image := runtimetest.BuildEchoImage(ctx, b, cli)
	m := startMarketNet(b, 500*time.Millisecond)
	instance := runtimetest.UniqueName(b, "deai")
	rt, err := runtime.NewDocker(ctx, runtime.DockerOptions{Client: cli, Instance: instance})
	if err != nil {
		b.Fatal(err)
	}
	m.runProvider(rt, b.TempDir(), market.PriceTable{CPUCore: 20, MemoryGiB: 16})
	ten := market.NewTenant(m.c, m.tenant)
	var total time.Duration
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		start := time.Now()
		d := m.deploy(ten, image, fmt.Sprintf("bench-%d", i), 50, 1_000_000)
		total += time.Since(start)
		b.StopTimer()
		if err := ten.CloseDeployment(ctx, d.dep); err != nil {
			b.Fatal(err)
		}
		waitFor(b, "teardown", 20*time.Second, func() bool { return len(leaseContainers(b, cli, instance, d.lease.String())) == 0 })
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/deploy")
}

// TestMarketUsageBilling runs a usage-billed lease: the provider meters
// the container (Docker stats), reports usage signed on chain, and the
// tenant pays per unit consumed, never more than the bid price per block.
func TestMarketUsageBilling(t *testing.T) {
	cli := runtimetest.Docker(t)
	ctx := t.Context()
	image := runtimetest.BuildEchoImage(ctx, t, cli)
	m := startMarketNet(t, 200*time.Millisecond)
	rt, err := runtime.NewDocker(ctx, runtime.DockerOptions{Client: cli, Instance: runtimetest.UniqueName(t, "deai"), SampleInterval: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	units := lmarket.UnitPrices{CPU: 1000, Memory: 100_000, GPU: 0}
	m.runProviderWith(rt, t.TempDir(), market.PriceTable{CPUCore: 20, MemoryGiB: 16}, units)
	ten := market.NewTenant(m.c, m.tenant)
	sdl := fmt.Sprintf(echoSDLHead+"      billing: usage\n"+echoSDLTail, image, "metered", 50)
	d := m.deploySDL(ten, sdl, "metered", 5_000_000)
	for range 20 { // some CPU for the meter to see
		runtimetest.WaitHTTP(ctx, t, d.uri, "metered")
	}
	var l lmarket.Lease
	waitFor(t, "two usage reports", 30*time.Second, func() bool {
		l, err = ten.Lease(ctx, d.lease)
		return err == nil && l.Usage != nil && l.Usage.Seq >= 2
	})
	if l.Billing != lmarket.BillingUsage || l.Usage.TotalMemory == 0 {
		t.Fatalf("lease %+v usage %+v: want usage billing with memory reported", l, l.Usage)
	}
	if err := ten.CloseDeployment(ctx, d.dep); err != nil {
		t.Fatal(err)
	}
	l, _ = ten.Lease(ctx, d.lease)
	u := l.Usage
	cost := lmarket.UsageCost(units, u.TotalCPU, u.TotalMemory, u.TotalGPU)
	cap := tx.Amount(11 * (l.ClosedAt - l.CreatedAt))
	var dr lmarket.DeploymentResult
	m.query("/market/deployment/"+d.dep.String(), &dr)
	acc := dr.Escrow.Account
	// Each report is capped separately, so the total paid is at most the
	// uncapped cost of the totals and at most the per-block cap.
	if acc.Transferred == 0 || acc.Transferred > cost || acc.Transferred > cap || acc.Deposited != acc.Transferred+acc.Refunded {
		t.Fatalf("paid %d for usage %+v (uncapped cost %d, cap %d over %d blocks); escrow %+v", acc.Transferred, u, cost, cap, l.ClosedAt-l.CreatedAt, acc)
	}
	t.Logf("usage %d cpu-ms, %d MiB-s over %d blocks: paid %d udeai (per-block lease would pay %d)", u.TotalCPU, u.TotalMemory, l.ClosedAt-l.CreatedAt, acc.Transferred, cap)
	m.supplyConserved()
}

// TestMarketExecEscrowRunsDry is the dry-escrow case on the exec runtime
// (local processes): the lease closes for lack of funds in the block the
// escrow runs out, and the provider stops the process.
func TestMarketExecEscrowRunsDry(t *testing.T) {
	bin := runtimetest.EchoBinary(t)
	ctx := t.Context()
	m := startMarketNet(t, 200*time.Millisecond)
	rt, err := runtime.NewExec(runtime.ExecOptions{StateDir: t.TempDir(), Allow: []string{bin}})
	if err != nil {
		t.Fatal(err)
	}
	m.runProvider(rt, t.TempDir(), market.PriceTable{CPUCore: 20_000})
	ten := market.NewTenant(m.c, m.tenant)
	tenantStart := m.balance(m.tenant.Address())
	d := m.deploy(ten, bin, "exec-short-lived", 10_000, 500_000)
	ref, err := runtime.NewLeaseRef(d.lease.String())
	if err != nil {
		t.Fatal(err)
	}
	if st, err := rt.Status(ctx, ref); err != nil || len(st.Services) != 1 || st.Services[0].Running != 1 {
		t.Fatalf("exec status %+v, %v", st, err)
	}
	waitFor(t, "the lease to close for lack of funds", 40*time.Second, func() bool {
		l, err := ten.Lease(ctx, d.lease)
		return err == nil && l.State != lmarket.LeaseActive
	})
	l, _ := ten.Lease(ctx, d.lease)
	if l.State != lmarket.LeaseInsufficientFunds || l.Reason != lmarket.ReasonInsufficientFunds {
		t.Fatalf("lease %+v, want insufficient_funds with reason 20000", l)
	}
	waitFor(t, "the process to stop", 20*time.Second, func() bool {
		_, err := rt.Status(ctx, ref)
		return errors.Is(err, runtime.ErrNotFound)
	})
	if _, err := http.Get(d.uri); err == nil {
		t.Fatalf("%s still answers after the lease ran dry", d.uri)
	}
	// The whole deposit went to the provider, nothing more: 500,000 plus
	// two fees (deployment, lease) left the tenant.
	if got, want := m.balance(m.tenant.Address()), tenantStart-500_000-2*ledger.DefaultParams().MinFee; got != want {
		t.Fatalf("tenant balance %d, want %d", got, want)
	}
	m.supplyConserved()
}
