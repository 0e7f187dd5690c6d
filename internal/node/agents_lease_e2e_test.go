package node_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/agent"
	"github.com/deai-network/deai/internal/agent/runner"
	"github.com/deai-network/deai/internal/ledger"
	lmarket "github.com/deai-network/deai/internal/ledger/market"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/market"
	"github.com/deai-network/deai/internal/market/runtime"
	"github.com/deai-network/deai/internal/market/runtime/runtimetest"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/subnet"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

// newStepAgent parses an agent spec whose only step is step (a YAML
// mapping on one line) and builds its runner over the market net, signing
// as k, with its state in a fresh directory.
func newStepAgent(t *testing.T, m *marketNet, k *wallet.Key, name, budget, step string) (*runner.Runner, string) {
	t.Helper()
	spec := fmt.Sprintf(`name: %s
budget: %s
triggers:
  - http: {listen: %q}
steps:
  - %s
`, name, budget, freeListen(t), step)
	s, err := runner.Parse([]byte(spec))
	if err != nil {
		t.Fatalf("spec:\n%s\n%v", spec, err)
	}
	dir := t.TempDir()
	state := filepath.Join(dir, "state")
	r, err := runner.New(t.Context(), runner.Options{Spec: s, Dir: dir, StateDir: state, Key: k, Chain: m.c,
		Leaser: node.AgentLeaser(m.c, k)})
	if err != nil {
		t.Fatal(err)
	}
	return r, state
}

// auditAction returns the audit log's only action entry of step.
func auditAction(t *testing.T, state, step string) agent.AuditEntry {
	t.Helper()
	var found []agent.AuditEntry
	for _, e := range readAudit(t, state) {
		if e.Entry.Kind == agent.AuditAction && e.Entry.Step == step {
			found = append(found, e.Entry)
		}
	}
	if len(found) != 1 {
		t.Fatalf("audit log of %s: %d actions of step %s, want 1: %+v", state, len(found), step, found)
	}
	return found[0]
}

// TestAgentLeaseStep runs an agent whose step rents compute from a
// provider daemon (exec runtime) on a real node: the cheapest bid within
// max_price is leased, the workload answers, and the budget and the
// audit log hold exactly the deposit paid to escrow. A max_price below
// every bid fails the step, closes the deployment it created (the
// deposit comes back) and leaves the budget untouched.
func TestAgentLeaseStep(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node and a provider daemon")
	}
	ctx := t.Context()
	bin := runtimetest.EchoBinary(t)
	m := startMarketNet(t, 200*time.Millisecond)
	rt, err := runtime.NewExec(runtime.ExecOptions{StateDir: t.TempDir(), Allow: []string{bin}})
	if err != nil {
		t.Fatal(err)
	}
	m.runProvider(rt, t.TempDir(), market.PriceTable{CPUCore: 20, MemoryGiB: 16}) // 11 udeai per block
	ten := market.NewTenant(m.c, m.tenant)

	sdl := filepath.Join(t.TempDir(), "echo.yaml")
	if err := os.WriteFile(sdl, fmt.Appendf(nil, echoSDL, bin, "hello-from-agent", 50), 0o600); err != nil {
		t.Fatal(err)
	}
	const deposit, maxPrice = 1_000_000, 20

	start := time.Now()
	r, state := newStepAgent(t, m, m.tenant, "renter", "{total: 2000000}",
		fmt.Sprintf("{id: rent, lease: {sdl: %q, deposit: %d, max_price: %d, bid_wait: 20s}}", sdl, deposit, maxPrice))
	res, err := r.RunOnce(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("lease step: %s", time.Since(start).Round(time.Millisecond))
	step := res.Steps["rent"]
	if step == nil || step.JSON == nil || step.Spent != deposit {
		t.Fatalf("step result %+v, want the lease as JSON and %d spent", step, deposit)
	}
	var lr runner.LeaseResult
	if err := json.Unmarshal([]byte(step.Text), &lr); err != nil {
		t.Fatal(err)
	}
	if lr.Provider != m.provider.Address() || lr.Price == 0 || lr.Price > maxPrice {
		t.Fatalf("lease %+v, want the provider %s at most %d per block", lr, m.provider.Address(), maxPrice)
	}
	id, err := lmarket.ParseLeaseID(lr.Lease)
	if err != nil {
		t.Fatal(err)
	}
	l, err := ten.Lease(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if l.State != lmarket.LeaseActive || l.Price != lr.Price {
		t.Fatalf("lease on chain %+v, want active at %s", l, lr.Price)
	}
	var dr lmarket.DeploymentResult
	m.query("/market/deployment/"+id.Deployment().String(), &dr)
	if dr.Escrow.Account.Deposited != deposit {
		t.Fatalf("escrow deposited %d, want %d", dr.Escrow.Account.Deposited, deposit)
	}
	// The step answers where the workload listens, and it answers there.
	uri := leaseURI(t, ten, id)
	if len(lr.Endpoints) != 1 || "http://"+lr.Endpoints[0]+"/" != uri {
		t.Fatalf("lease endpoints %q, want the provider's %s", lr.Endpoints, uri)
	}
	runtimetest.WaitHTTP(ctx, t, uri, "hello-from-agent")

	if u := r.Budget().Usage(); u.Spent != deposit || u.Reserved != 0 {
		t.Fatalf("budget %+v, want %d spent and nothing reserved", u, deposit)
	}
	if got := r.Budget().SpentWith(tx.Address{}); got != deposit {
		t.Fatalf("budget spent %s with escrow, want %d", got, deposit)
	}
	if e := auditAction(t, state, "rent"); e.Amount != deposit || e.Counterparty != m.provider.Address() {
		t.Fatalf("audit action %+v, want %d to the provider", e, deposit)
	}

	// No bid at 5 per block or less: the step fails, the deployment is
	// closed with its deposit refunded, and the budget spent nothing.
	before := m.balance(m.tenant.Address())
	cheap, cheapState := newStepAgent(t, m, m.tenant, "cheap", "{total: 2000000}",
		fmt.Sprintf("{id: rent, lease: {sdl: %q, deposit: %d, max_price: 5, bid_wait: 10s}}", sdl, deposit))
	if _, err := cheap.RunOnce(ctx, nil); !errors.Is(err, runner.ErrStep) || !strings.Contains(err.Error(), "none at most 5udeai per block") {
		t.Fatalf("lease below every bid: %v, want a failed step for want of a bid that fits", err)
	}
	if u := cheap.Budget().Usage(); u.Spent != 0 || u.Reserved != 0 {
		t.Fatalf("budget after the refused lease %+v, want nothing spent or reserved", u)
	}
	var deps []lmarket.Deployment
	m.query("/market/deployments/"+m.tenant.Address().String(), &deps)
	if len(deps) != 2 || deps[0].ID != id.Deployment() || deps[1].State != lmarket.DeploymentClosed {
		t.Fatalf("deployments %+v, want the leased one and a closed one", deps)
	}
	// The deposit came back: only the two fees (create, close) are gone.
	if got, want := m.balance(m.tenant.Address()), before-2*ledger.DefaultParams().MinFee; got != want {
		t.Fatalf("tenant balance %d after the refused lease, want %d", got, want)
	}
	var refused []agent.AuditEntry
	for _, e := range readAudit(t, cheapState) {
		switch e.Entry.Kind {
		case agent.AuditAction:
			t.Fatalf("audit action after a refused lease: %+v", e.Entry)
		case agent.AuditPaymentRefused:
			refused = append(refused, e.Entry)
		}
	}
	if len(refused) != 1 || refused[0].Amount != deposit {
		t.Fatalf("refusals %+v, want one of the deposit %d", refused, deposit)
	}

	// Closing the lease stops the workload.
	if err := ten.CloseLease(ctx, id); err != nil {
		t.Fatal(err)
	}
	ref, err := runtime.NewLeaseRef(id.String())
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the process to stop", 20*time.Second, func() bool {
		_, err := rt.Status(ctx, ref)
		return errors.Is(err, runtime.ErrNotFound)
	})
	m.supplyConserved()
}

// leaseURI waits until the provider reports the lease's one service
// available and returns its URL (as marketNet.deploySDL does).
func leaseURI(t *testing.T, ten *market.Tenant, id lmarket.LeaseID) string {
	t.Helper()
	pc, err := ten.ProviderClient(t.Context(), id.Provider)
	if err != nil {
		t.Fatal(err)
	}
	var uri string
	waitFor(t, "the lease to become available", 20*time.Second, func() bool {
		st, err := pc.LeaseStatus(t.Context(), id.String())
		if err == nil && len(st.Services) == 1 && len(st.Services[0].URIs) == 1 && st.Services[0].Available == 1 {
			uri = "http://" + st.Services[0].URIs[0] + "/"
		}
		return uri != ""
	})
	return uri
}

// TestAgentStakeStep runs an agent whose step stakes on a subnet neuron
// on a real node: the neuron's stake grows by exactly the amount, which
// the budget and the audit log record; a budget whose per-call limit is
// below the amount refuses the step before anything is sent.
func TestAgentStakeStep(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node")
	}
	ctx := t.Context()
	m := startMarketNet(t, 200*time.Millisecond)
	var d lsubnet.Digest
	d[0] = 0x42
	m.send(m.tenant, &lsubnet.MsgCreateSubnet{Owner: m.tenant.Address(), Name: "stake-step", TaskType: subnet.TaskTextGeneration, Digests: []lsubnet.Digest{d}})
	hotkey := m.provider
	if err := subnet.NewLedgerChain(m.c, hotkey).Register(ctx, 1); err != nil {
		t.Fatal(err)
	}
	stake := func() tx.Amount {
		var si lsubnet.StakeInfo
		m.query("/subnet/1/stake/"+hotkey.Address().String(), &si)
		return si.Total
	}
	const amount = 3 * tx.UnitsPerDEAI
	step := fmt.Sprintf("{id: bond, stake: {netuid: 1, hotkey: %s, amount: %d}}", hotkey.Address(), amount)

	before, balance := stake(), m.balance(m.tenant.Address())
	r, state := newStepAgent(t, m, m.tenant, "staker", "{total: 10deai}", step)
	res, err := r.RunOnce(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := stake(); got != before+amount {
		t.Fatalf("stake %s, want %s + %d", got, before, amount)
	}
	if got, want := m.balance(m.tenant.Address()), balance-amount-ledger.DefaultParams().MinFee; got != want {
		t.Fatalf("agent balance %d, want %d", got, want)
	}
	if s := res.Steps["bond"]; s == nil || s.Spent != amount || s.Tx == "" {
		t.Fatalf("step result %+v, want %d spent in a tx", s, amount)
	}
	if u := r.Budget().Usage(); u.Spent != amount || u.Reserved != 0 {
		t.Fatalf("budget %+v, want %d spent", u, amount)
	}
	if e := auditAction(t, state, "bond"); e.Amount != amount || e.Counterparty != hotkey.Address() || e.TxHash != res.Steps["bond"].Tx {
		t.Fatalf("audit action %+v, want %d to %s in tx %s", e, amount, hotkey.Address(), res.Steps["bond"].Tx)
	}

	// A per-call limit below the amount: refused, nothing staked.
	before = stake()
	small, _ := newStepAgent(t, m, m.tenant, "small", "{total: 10deai, per_call: 1deai}", step)
	if _, err := small.RunOnce(ctx, nil); !errors.Is(err, agent.ErrPerCallExceeded) {
		t.Fatalf("stake above per_call: %v, want %v", err, agent.ErrPerCallExceeded)
	}
	if got := stake(); got != before {
		t.Fatalf("stake %s after a refused step, want %s", got, before)
	}
	if u := small.Budget().Usage(); u.Spent != 0 || u.Reserved != 0 {
		t.Fatalf("budget after the refusal %+v, want nothing spent", u)
	}
}
