package market

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/deai-network/deai/internal/market/manifest"
	"github.com/deai-network/deai/internal/market/runtime"
	"github.com/deai-network/deai/internal/tx"
)

// Order is an open order as the provider sees it.
type Order struct {
	ID       string // owner/dseq/gseq/oseq
	Owner    string
	Group    lmarket.GroupSpec
	MaxPrice uint64 // udeai per block for the whole group
	Height   int64  // block of the order's creation
}

// Lease is a lease of this provider as the chain reports it.
type Lease struct {
	ID      string // owner/dseq/gseq/oseq/provider
	OrderID string
	Owner   string
	DSeq    uint64
	State   string // "active", "closed", "insufficient_funds"
	Price   uint64 // udeai per block
	Group   lmarket.GroupSpec
}

// Lease states the provider branches on (ledger/market's enum names).
const (
	LeaseActive            = "active"
	LeaseClosed            = "closed"
	LeaseInsufficientFunds = "insufficient_funds"
)

// Bid is one of this provider's bids.
type Bid struct {
	ID      string // owner/dseq/gseq/oseq/provider
	OrderID string
	State   string // "open", "active", "lost", "closed"
	Price   uint64
}

// Usage is cumulative metered use of a lease's workloads.
type Usage struct {
	CPUMilliSeconds  uint64 `json:"cpu_milli_seconds"`
	MemoryMiBSeconds uint64 `json:"memory_mib_seconds"`
	GPUSeconds       uint64 `json:"gpu_seconds"`
}

// UnitGPU is the concrete GPU a bid offers for one resource unit.
type UnitGPU struct {
	Unit uint32
	GPU  lmarket.GPUAttr
}

// ProviderInfo is the provider's on-chain record.
type ProviderInfo struct {
	HostURI    string
	Region     string
	Attributes []lmarket.Attribute
	Email      string
	Website    string
}

// Chain is what the provider daemon needs from the ledger. LedgerChain
// implements it over a chain.Client.
type Chain interface {
	Address() tx.Address
	Height(ctx context.Context) (int64, error)
	EnsureProvider(ctx context.Context, p ProviderInfo) error
	OpenOrders(ctx context.Context) ([]Order, error)
	// AuditedAttributes returns the attributes of provider that auditor
	// signed.
	AuditedAttributes(ctx context.Context, provider, auditor string) ([]lmarket.Attribute, error)
	Bid(ctx context.Context, id string) (Bid, error)
	Leases(ctx context.Context) ([]Lease, error) // this provider's active leases
	Lease(ctx context.Context, id string) (Lease, error)
	// ManifestHash is the deployment's current manifest hash.
	ManifestHash(ctx context.Context, deployment string) ([32]byte, error)
	CreateBid(ctx context.Context, o Order, price, deposit uint64, offer []UnitGPU) (string, error)
	CloseBid(ctx context.Context, id string) error
	CloseLease(ctx context.Context, id string, reason uint32) error
	Withdraw(ctx context.Context, id string) error
	// ReportUsage reports a usage-billed lease's cumulative use (the
	// implementation sends what the chain has not seen yet).
	ReportUsage(ctx context.Context, id string, u Usage) error
}

// LeaseStatus is what a tenant sees of a running lease.
type LeaseStatus struct {
	Lease    string          `json:"lease"`
	Runtime  string          `json:"runtime"`
	Services []ServiceStatus `json:"services"`
}

// ServiceStatus is one service of a lease.
type ServiceStatus struct {
	Name      string   `json:"name"`
	Available uint32   `json:"available"` // replicas running
	Total     uint32   `json:"total"`
	URIs      []string `json:"uris,omitempty"` // host:port the tenant can reach
	Restarts  uint32   `json:"restarts,omitempty"`
	Error     string   `json:"error,omitempty"`
}

// LogOptions select a lease's logs.
type LogOptions struct {
	Service string `json:"service,omitempty"`
	Follow  bool   `json:"follow,omitempty"`
	Tail    int    `json:"tail,omitempty"`
}

// Lease close reasons a provider uses (ledger/market's numbering).
const (
	ReasonUnstable        = 10000
	ReasonDecommission    = 10001
	ReasonUnspecified     = 10002
	ReasonManifestTimeout = 10003
)

// ProviderOptions configure a Provider.
type ProviderOptions struct {
	Chain     Chain
	Runtime   runtime.Runtime
	Inventory *Inventory
	Pricer    Pricer
	Info      ProviderInfo
	// StateDir keeps received manifests so a restarted provider knows what
	// it runs.
	StateDir string
	// RequiredAttributes: bid only on orders whose placement asks for all
	// of these (Akash's provider-side filter).
	RequiredAttributes []lmarket.Attribute
	BidDeposit         uint64
	BidTimeout         time.Duration // default 5 min
	ManifestTimeout    time.Duration // default 5 min
	PollInterval       time.Duration // default 500 ms
	WithdrawPeriod     time.Duration // default 1 min
	UsagePeriod        time.Duration // usage reports for usage-billed leases; default 10 s
	CapacityRetry      time.Duration // re-examine orders declined for lack of capacity or an unanswered bid; default 10 s
	Logger             *slog.Logger
	Now                func() time.Time
	// Metrics, when set, gets the provider's Prometheus series and turns
	// on GET /metrics on its API (Handler).
	Metrics *prometheus.Registry
}

// Provider is the provider daemon. Run drives it; the HTTP API (Handler)
// receives manifests and serves status and logs to tenants.
type Provider struct {
	o   ProviderOptions
	log *slog.Logger

	bg sync.WaitGroup // background chain calls (metering); Run waits for them
	m  *metrics

	mu     sync.Mutex             // guards the fields below
	orders map[string]*orderState // order ID -> what we did about it
	leases map[string]*leaseState // lease ID -> lease we run or wait for
}

type orderState struct {
	order   Order
	bidID   string
	bidAt   time.Time
	reason  string    // why we did not bid
	retryAt time.Time // declined for lack of capacity: look again then (zero: never)
}

type leaseState struct {
	lease      Lease
	since      time.Time // when we first saw it active
	deployed   bool
	hash       [32]byte // of the deployed manifest
	withdrawAt time.Time
	usageAt    time.Time
	metering   bool // a usage report or withdrawal is in flight (guarded by Provider.mu)
}

// NewProvider checks o and returns a provider.
func NewProvider(o ProviderOptions) (*Provider, error) {
	if o.Chain == nil || o.Runtime == nil || o.Inventory == nil || o.Pricer == nil {
		return nil, errors.New("provider: chain, runtime, inventory and pricer are required")
	}
	if o.StateDir == "" {
		return nil, errors.New("provider: a state directory is required")
	}
	if o.BidTimeout <= 0 {
		o.BidTimeout = 5 * time.Minute
	}
	if o.ManifestTimeout <= 0 {
		o.ManifestTimeout = 5 * time.Minute
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 500 * time.Millisecond
	}
	if o.WithdrawPeriod <= 0 {
		o.WithdrawPeriod = time.Minute
	}
	if o.UsagePeriod <= 0 {
		o.UsagePeriod = 10 * time.Second
	}
	if o.CapacityRetry <= 0 {
		o.CapacityRetry = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(filepath.Join(o.StateDir, "manifests"), 0o700); err != nil {
		return nil, fmt.Errorf("provider state: %w", err)
	}
	p := &Provider{o: o, log: log.With("component", "provider"), orders: map[string]*orderState{}, leases: map[string]*leaseState{}}
	p.m = newMetrics(p)
	if o.Metrics != nil {
		if err := p.m.register(o.Metrics); err != nil {
			return nil, fmt.Errorf("provider metrics: %w", err)
		}
	}
	return p, nil
}

// Address is the provider's account.
func (p *Provider) Address() tx.Address { return p.o.Chain.Address() }

// Run registers the provider, re-adopts running leases, then follows the
// chain until ctx ends. Workloads keep running when Run returns: a
// provider restart never tears down leases (market spec §10, point 4).
func (p *Provider) Run(ctx context.Context) error {
	if err := p.o.Chain.EnsureProvider(ctx, p.o.Info); err != nil {
		return fmt.Errorf("register provider: %w", err)
	}
	if err := p.reconcile(ctx); err != nil {
		return fmt.Errorf("reconcile leases: %w", err)
	}
	// The runtime's background work (usage sampling, restarts) runs as
	// long as the daemon does.
	rtDone := make(chan error, 1)
	go func() { rtDone <- p.o.Runtime.Run(ctx) }()
	defer func() { <-rtDone }()
	defer p.bg.Wait()
	t := time.NewTicker(p.o.PollInterval)
	defer t.Stop()
	for {
		if err := p.Step(ctx); err != nil && ctx.Err() == nil {
			p.log.Warn("provider step", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// reconcile compares the runtime's workloads with the chain: workloads of
// active leases are adopted (capacity re-reserved, manifest reloaded),
// workloads of leases the chain closed are removed.
func (p *Provider) reconcile(ctx context.Context) error {
	running, err := p.o.Runtime.List(ctx)
	if err != nil {
		return err
	}
	leases, err := p.o.Chain.Leases(ctx)
	if err != nil {
		return err
	}
	byID := map[string]Lease{}
	for _, l := range leases {
		byID[l.ID] = l
	}
	for _, ref := range running {
		id := ref.ID
		l, ok := byID[id]
		if !ok {
			if l, err = p.o.Chain.Lease(ctx, id); err != nil {
				p.log.Warn("running workload of an unknown lease kept", "lease", id, "err", err)
				continue
			}
		}
		if l.State != LeaseActive {
			p.log.Info("removing workload of a closed lease", "lease", id, "state", l.State)
			if err := p.o.Runtime.Close(ctx, ref); err != nil {
				return err
			}
			continue
		}
		if _, err := p.o.Inventory.Reserve(id, &l.Group); err != nil {
			p.log.Warn("adopted lease does not fit the inventory", "lease", id, "err", err)
		}
		ls := &leaseState{lease: l, since: p.o.Now(), deployed: true, withdrawAt: p.o.Now().Add(p.o.WithdrawPeriod)}
		if m, err := p.loadManifest(id); err == nil {
			ls.hash = m.Hash()
		}
		p.mu.Lock()
		p.leases[id] = ls
		p.mu.Unlock()
		p.log.Info("adopted running lease", "lease", id)
	}
	return nil
}

// Step does one round: bid on new orders, follow bids and leases.
func (p *Provider) Step(ctx context.Context) error {
	orders, err := p.o.Chain.OpenOrders(ctx)
	if err != nil {
		return err
	}
	open := make(map[string]bool, len(orders))
	for _, o := range orders {
		open[o.ID] = true
	}
	p.mu.Lock()
	for id, st := range p.orders {
		if !open[id] && st.bidID == "" {
			delete(p.orders, id) // declined and gone from the book
		}
	}
	p.mu.Unlock()
	now := p.o.Now()
	for _, o := range orders {
		p.mu.Lock()
		st, seen := p.orders[o.ID]
		if !seen {
			st = &orderState{order: o}
			p.orders[o.ID] = st
		}
		again := seen && st.bidID == "" && !st.retryAt.IsZero() && !now.Before(st.retryAt)
		p.mu.Unlock()
		if !seen || again {
			p.considerOrder(ctx, o)
		}
	}
	if err := p.followBids(ctx); err != nil {
		return err
	}
	return p.followLeases(ctx)
}

// ShouldBid reports whether the provider's attributes, auditor signatures
// and capabilities satisfy the order, and why not.
func (p *Provider) ShouldBid(ctx context.Context, o Order) (bool, string) {
	g := &o.Group
	if err := g.Validate(); err != nil {
		return false, err.Error()
	}
	// The provider's own filter: required attributes must be asked for.
	if ok, a := lmarket.MatchAttributes(p.o.RequiredAttributes, g.Requirements.Attributes); !ok {
		return false, fmt.Sprintf("order does not ask for the provider's required attribute %s=%s", a.Key, a.Value)
	}
	have := p.attributes()
	sb := g.Requirements.SignedBy
	if len(sb.AllOf) > 0 || len(sb.AnyOf) > 0 {
		for _, aud := range sb.AllOf {
			signed, err := p.o.Chain.AuditedAttributes(ctx, p.Address().String(), aud)
			if err != nil {
				return false, err.Error()
			}
			if ok, a := lmarket.MatchAttributes(g.Requirements.Attributes, signed); !ok {
				return false, fmt.Sprintf("auditor %s has not signed %s=%s", aud, a.Key, a.Value)
			}
		}
		if len(sb.AnyOf) > 0 {
			found := false
			for _, aud := range sb.AnyOf {
				signed, err := p.o.Chain.AuditedAttributes(ctx, p.Address().String(), aud)
				if err == nil {
					if ok, _ := lmarket.MatchAttributes(g.Requirements.Attributes, signed); ok {
						found = true
						break
					}
				}
			}
			if !found {
				return false, "no auditor of signedBy.anyOf signed the required attributes"
			}
		}
	} else if ok, a := lmarket.MatchAttributes(g.Requirements.Attributes, have); !ok {
		return false, fmt.Sprintf("provider lacks attribute %s=%s", a.Key, a.Value)
	}
	for _, u := range g.Units {
		for _, v := range u.Resources.Storage {
			if v.Persistent && !hasStorageClass(have, v.Class) {
				return false, fmt.Sprintf("no persistent storage of class %s", v.Class)
			}
		}
	}
	return true, ""
}

// attributes are the provider's own attributes as the chain matches them:
// those configured plus region=<Region> unless configured.
func (p *Provider) attributes() []lmarket.Attribute {
	have := p.o.Info.Attributes
	if p.o.Info.Region == "" {
		return have
	}
	for _, a := range have {
		if a.Key == "region" {
			return have
		}
	}
	return append(append([]lmarket.Attribute(nil), have...), lmarket.Attribute{Key: "region", Value: p.o.Info.Region})
}

func hasStorageClass(have []lmarket.Attribute, class string) bool {
	for _, a := range have {
		if a.Value == class && len(a.Key) > len("capabilities/storage/") && a.Key[:len("capabilities/storage/")] == "capabilities/storage/" &&
			filepath.Base(a.Key) == "class" {
			return true
		}
	}
	return false
}

// Quote answers "would this provider bid on g, and at what price" without
// reserving anything (deai deploy preflight).
func (p *Provider) Quote(ctx context.Context, owner string, g lmarket.GroupSpec) (uint64, error) {
	maxPrice, err := g.MaxPrice()
	if err != nil {
		return 0, err
	}
	o := Order{ID: "preflight", Owner: owner, Group: g, MaxPrice: maxPrice}
	if ok, why := p.ShouldBid(ctx, o); !ok {
		return 0, fmt.Errorf("%w: %s", ErrNoBid, why)
	}
	r, err := p.o.Inventory.Plan(&g)
	if err != nil {
		return 0, err
	}
	price, err := p.o.Pricer.Price(ctx, PriceQuery{Owner: owner, Group: &g, MaxPrice: maxPrice, Reserved: r})
	if err != nil {
		return 0, err
	}
	if price > maxPrice {
		return price, fmt.Errorf("%w: price %d udeai per block is above the order's maximum %d", ErrNoBid, price, maxPrice)
	}
	return price, nil
}

func (p *Provider) considerOrder(ctx context.Context, o Order) {
	decline := func(why string) {
		p.mu.Lock()
		st := p.orders[o.ID]
		st.reason, st.retryAt = why, time.Time{}
		p.mu.Unlock()
		p.log.Debug("not bidding", "order", o.ID, "why", why)
	}
	if ok, why := p.ShouldBid(ctx, o); !ok {
		decline(why)
		return
	}
	r, err := p.o.Inventory.Reserve(o.ID, &o.Group)
	if err != nil {
		decline(err.Error())
		if errors.Is(err, ErrNoCapacity) {
			// Capacity comes back when leases close: look again later.
			p.mu.Lock()
			p.orders[o.ID].retryAt = p.o.Now().Add(p.o.CapacityRetry)
			p.mu.Unlock()
		}
		return
	}
	price, err := p.o.Pricer.Price(ctx, PriceQuery{Owner: o.Owner, Group: &o.Group, MaxPrice: o.MaxPrice, Reserved: r})
	if err == nil && price > o.MaxPrice {
		err = fmt.Errorf("price %d is above the order's maximum %d", price, o.MaxPrice)
	}
	if err != nil {
		p.o.Inventory.Release(o.ID, &o.Group)
		decline(err.Error())
		return
	}
	var offer []UnitGPU
	for _, pl := range r.Placements {
		if len(pl.GPUs) > 0 && pl.Replica == 0 {
			offer = append(offer, UnitGPU{Unit: pl.Unit, GPU: pl.GPUs[0].Attr()})
		}
	}
	id, err := p.o.Chain.CreateBid(ctx, o, price, p.o.BidDeposit, offer)
	if err != nil {
		p.o.Inventory.Release(o.ID, &o.Group)
		decline("bid rejected: " + err.Error())
		p.log.Warn("bid rejected", "order", o.ID, "err", err)
		if !errors.Is(err, ErrTxRejected) {
			// The chain did not answer (not a refusal): try again later.
			p.mu.Lock()
			p.orders[o.ID].retryAt = p.o.Now().Add(p.o.CapacityRetry)
			p.mu.Unlock()
		}
		return
	}
	p.mu.Lock()
	st := p.orders[o.ID]
	st.bidID, st.bidAt, st.reason, st.retryAt = id, p.o.Now(), "", time.Time{}
	p.mu.Unlock()
	p.log.Info("bid placed", "order", o.ID, "price", price)
	p.m.bids.WithLabelValues("placed").Inc()
}

// followBids releases capacity of bids that lost or closed and closes our
// own bids that waited longer than BidTimeout.
func (p *Provider) followBids(ctx context.Context) error {
	p.mu.Lock()
	var pending []*orderState
	for _, st := range p.orders {
		if st.bidID != "" {
			pending = append(pending, st)
		}
	}
	p.mu.Unlock()
	for _, st := range pending {
		b, err := p.o.Chain.Bid(ctx, st.bidID)
		if err != nil {
			return err
		}
		switch b.State {
		case "lost", "closed":
			p.o.Inventory.Release(b.OrderID, &st.order.Group)
			p.mu.Lock()
			delete(p.orders, b.OrderID)
			p.mu.Unlock()
		case "open":
			if p.o.Now().Sub(st.bidAt) > p.o.BidTimeout {
				p.log.Info("bid timed out", "bid", b.ID)
				p.m.bids.WithLabelValues("timed_out").Inc()
				if err := p.o.Chain.CloseBid(ctx, b.ID); err != nil {
					p.log.Warn("close bid", "bid", b.ID, "err", err)
				}
			}
		}
	}
	return nil
}

// followLeases starts waiting for manifests of new leases, closes leases
// whose manifest never came, tears down leases the chain closed, meters
// and withdraws.
func (p *Provider) followLeases(ctx context.Context) error {
	leases, err := p.o.Chain.Leases(ctx)
	if err != nil {
		return err
	}
	// Leases we run that are no longer active: ask for their final state.
	active := make(map[string]bool, len(leases))
	for _, l := range leases {
		active[l.ID] = true
	}
	p.mu.Lock()
	var gone []string
	for id := range p.leases {
		if !active[id] {
			gone = append(gone, id)
		}
	}
	p.mu.Unlock()
	for _, id := range gone {
		l, err := p.o.Chain.Lease(ctx, id)
		if err != nil {
			p.log.Warn("lease state", "lease", id, "err", err)
			continue
		}
		leases = append(leases, l)
	}
	now := p.o.Now()
	for _, l := range leases {
		p.mu.Lock()
		ls := p.leases[l.ID]
		if ls == nil && l.State == LeaseActive {
			ls = &leaseState{lease: l, since: now, withdrawAt: now.Add(p.o.WithdrawPeriod), usageAt: now.Add(p.o.UsagePeriod)}
			p.leases[l.ID] = ls
			if !p.o.Inventory.Rekey(l.OrderID, l.ID) {
				if _, err := p.o.Inventory.Reserve(l.ID, &l.Group); err != nil {
					p.log.Warn("lease does not fit the inventory", "lease", l.ID, "err", err)
				}
			}
			delete(p.orders, l.OrderID)
			p.log.Info("lease won; waiting for the manifest", "lease", l.ID)
			p.m.leases.WithLabelValues("won").Inc()
		}
		p.mu.Unlock()
		if ls == nil {
			continue
		}
		if l.State != LeaseActive {
			p.teardown(ctx, l, "lease "+l.State)
			continue
		}
		p.mu.Lock()
		deployed, since := ls.deployed, ls.since
		ls.lease = l
		p.mu.Unlock()
		if !deployed && now.Sub(since) > p.o.ManifestTimeout {
			p.log.Info("no manifest in time; closing lease", "lease", l.ID)
			if err := p.o.Chain.CloseLease(ctx, l.ID, ReasonManifestTimeout); err != nil {
				p.log.Warn("close lease", "lease", l.ID, "err", err)
			}
			continue
		}
		if deployed {
			p.meter(ctx, ls, now)
		}
	}
	return nil
}

// meter reports usage and withdraws when they are due. The chain calls run
// in the background, one batch per lease at a time, so a tx that waits
// (or is dropped from the mempool when the lease closes meanwhile) never
// delays the daemon noticing closed leases.
func (p *Provider) meter(ctx context.Context, ls *leaseState, now time.Time) {
	id := ls.lease.ID
	report := ls.lease.Group.Billing == lmarket.BillingUsage && !now.Before(ls.usageAt)
	withdraw := !now.Before(ls.withdrawAt)
	if !report && !withdraw {
		return
	}
	p.mu.Lock()
	if ls.metering {
		p.mu.Unlock()
		return
	}
	ls.metering = true
	p.mu.Unlock()
	if report {
		ls.usageAt = now.Add(p.o.UsagePeriod)
	}
	if withdraw {
		ls.withdrawAt = now.Add(p.o.WithdrawPeriod)
	}
	p.bg.Add(1)
	go func() {
		defer p.bg.Done()
		defer func() {
			p.mu.Lock()
			ls.metering = false
			p.mu.Unlock()
		}()
		if report {
			var u Usage
			ref, err := runtime.NewLeaseRef(id)
			if err == nil {
				var ru runtime.Usage
				ru, err = p.o.Runtime.Usage(ctx, ref)
				u = Usage{CPUMilliSeconds: ru.CPUMilliSeconds, MemoryMiBSeconds: ru.MemoryMiBSeconds, GPUSeconds: ru.GPUSeconds}
			}
			if err == nil {
				err = p.o.Chain.ReportUsage(ctx, id, u)
			}
			p.m.usage.WithLabelValues(outcome(err)).Inc()
			if err != nil && ctx.Err() == nil {
				p.log.Warn("usage report", "lease", id, "err", err)
			}
		}
		if withdraw {
			// Withdrawing settles the escrow: a dry account closes the
			// lease on chain, and a later step tears the workload down.
			err := p.o.Chain.Withdraw(ctx, id)
			p.m.withdraws.WithLabelValues(outcome(err)).Inc()
			if err != nil && ctx.Err() == nil {
				p.log.Warn("withdraw", "lease", id, "err", err)
			}
		}
	}()
}

func (p *Provider) teardown(ctx context.Context, l Lease, why string) {
	ref, err := runtime.NewLeaseRef(l.ID)
	if err == nil {
		err = p.o.Runtime.Close(ctx, ref)
	}
	if err != nil {
		p.log.Warn("tear down", "lease", l.ID, "err", err)
		return
	}
	p.o.Inventory.Release(l.ID, &l.Group)
	p.mu.Lock()
	delete(p.leases, l.ID)
	p.mu.Unlock()
	os.Remove(p.manifestPath(l.ID)) //nolint:errcheck // best effort; a stale file is ignored
	p.log.Info("lease torn down", "lease", l.ID, "why", why)
	p.m.leases.WithLabelValues("torn_down").Inc()
}

// Errors of manifest delivery, mapped to HTTP statuses by the handler.
var (
	ErrNotOwner     = errors.New("caller is not the lease owner")
	ErrHashMismatch = errors.New("manifest hash does not match the deployment's hash on chain")
	ErrNoLease      = errors.New("no active lease of this provider for the deployment")
	ErrBadManifest  = errors.New("manifest does not match the leased group")
)

// AcceptManifest checks a tenant's manifest against the chain and deploys
// the groups this provider leased. It returns the leases deployed.
func (p *Provider) AcceptManifest(ctx context.Context, caller tx.Address, dseq uint64, m manifest.Manifest) ([]string, error) {
	h := m.Hash()
	leases, err := p.o.Chain.Leases(ctx)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, l := range leases {
		if l.DSeq != dseq || l.Owner != caller.String() || l.State != LeaseActive {
			continue
		}
		onChain, err := p.o.Chain.ManifestHash(ctx, l.Owner+"/"+strconv.FormatUint(l.DSeq, 10))
		if err != nil {
			return nil, err
		}
		if h != onChain {
			return nil, fmt.Errorf("%w: got %s…, chain has %s…", ErrHashMismatch, hex.EncodeToString(h[:8]), hex.EncodeToString(onChain[:8]))
		}
		g, err := groupFor(m, l.Group)
		if err != nil {
			return nil, err
		}
		if err := p.saveManifest(l.ID, m); err != nil {
			return nil, err
		}
		ref, err := runtime.NewLeaseRef(l.ID)
		if err != nil {
			return nil, err
		}
		if _, err := p.o.Runtime.Deploy(ctx, ref, g); err != nil {
			return nil, err // the runtime names the lease
		}
		p.mu.Lock()
		ls := p.leases[l.ID]
		if ls == nil {
			now := p.o.Now()
			ls = &leaseState{lease: l, since: now, withdrawAt: now.Add(p.o.WithdrawPeriod), usageAt: now.Add(p.o.UsagePeriod)}
			p.leases[l.ID] = ls
		}
		ls.deployed, ls.hash = true, h
		p.mu.Unlock()
		p.log.Info("manifest accepted; workload deployed", "lease", l.ID)
		p.m.leases.WithLabelValues("deployed").Inc()
		done = append(done, l.ID)
	}
	if len(done) == 0 {
		for _, l := range leases {
			if l.DSeq == dseq && l.State == LeaseActive && l.Owner != caller.String() {
				return nil, ErrNotOwner
			}
		}
		return nil, ErrNoLease
	}
	return done, nil
}

// groupFor finds the manifest group of a leased group and checks that its
// services ask for exactly the leased resources (a tenant cannot run more
// than it pays for).
func groupFor(m manifest.Manifest, spec lmarket.GroupSpec) (manifest.Group, error) {
	for _, g := range m.Groups {
		if g.Name != spec.Name {
			continue
		}
		if len(g.Services) != len(spec.Units) {
			return g, fmt.Errorf("%w: group %s has %d services, the lease %d units", ErrBadManifest, g.Name, len(g.Services), len(spec.Units))
		}
		for i, s := range g.Services {
			u := spec.Units[i]
			if s.Count != u.Count || !sameResources(s.Resources, u.Resources) {
				return g, fmt.Errorf("%w: service %s asks for other resources than unit %d of the lease", ErrBadManifest, s.Name, u.ID)
			}
		}
		return g, nil
	}
	return manifest.Group{}, fmt.Errorf("%w: no group named %s", ErrBadManifest, spec.Name)
}

func sameResources(a, b lmarket.Resources) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// Status returns the runtime status of a lease the caller owns.
func (p *Provider) Status(ctx context.Context, caller tx.Address, lease string) (LeaseStatus, error) {
	if err := p.authorize(ctx, caller, lease); err != nil {
		return LeaseStatus{}, err
	}
	ref, err := runtime.NewLeaseRef(lease)
	if err != nil {
		return LeaseStatus{}, err
	}
	rs, err := p.o.Runtime.Status(ctx, ref)
	if err != nil {
		return LeaseStatus{}, err
	}
	st := LeaseStatus{Lease: lease, Runtime: p.o.Runtime.Name()}
	for _, s := range rs.Services {
		ss := ServiceStatus{Name: s.Name, Total: uint32(s.Replicas), Available: uint32(s.Ready), Restarts: uint32(s.Restarts), Error: s.LastError}
		for _, e := range s.Endpoints {
			ss.URIs = append(ss.URIs, e.Addr())
		}
		st.Services = append(st.Services, ss)
	}
	return st, nil
}

// Logs streams the logs of a lease the caller owns.
func (p *Provider) Logs(ctx context.Context, caller tx.Address, lease string, opts LogOptions) (io.ReadCloser, error) {
	if err := p.authorize(ctx, caller, lease); err != nil {
		return nil, err
	}
	ref, err := runtime.NewLeaseRef(lease)
	if err != nil {
		return nil, err
	}
	ro := runtime.LogOptions{Follow: opts.Follow, Tail: opts.Tail}
	if opts.Service != "" {
		ro.Services = []string{opts.Service}
	}
	return p.o.Runtime.Logs(ctx, ref, ro)
}

func (p *Provider) authorize(ctx context.Context, caller tx.Address, lease string) error {
	l, err := p.o.Chain.Lease(ctx, lease)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrNoLease, err)
	}
	if l.Owner != caller.String() {
		return ErrNotOwner
	}
	return nil
}

// Declined returns the orders the provider saw and did not bid on, with
// the reason (operators read it in logs and tests assert on it).
func (p *Provider) Declined() map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]string{}
	for id, st := range p.orders {
		if st.bidID == "" && st.reason != "" {
			out[id] = st.reason
		}
	}
	return out
}

// Leases lists the leases the daemon runs or waits for, sorted.
func (p *Provider) Leases() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.leases))
	for id := range p.leases {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func (p *Provider) manifestPath(lease string) string {
	sum := sha256.Sum256([]byte(lease))
	return filepath.Join(p.o.StateDir, "manifests", hex.EncodeToString(sum[:12])+".json")
}

func (p *Provider) saveManifest(lease string, m manifest.Manifest) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	tmp := p.manifestPath(lease) + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("save manifest: %w", err)
	}
	return os.Rename(tmp, p.manifestPath(lease))
}

func (p *Provider) loadManifest(lease string) (manifest.Manifest, error) {
	var m manifest.Manifest
	b, err := os.ReadFile(p.manifestPath(lease))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}
