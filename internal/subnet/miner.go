package subnet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wire"
)

// Defaults for MinerOptions fields left zero.
const (
	DefaultMaxConcurrent   = 4
	DefaultShutdownTimeout = 30 * time.Second
	// DefaultMetagraphTTL is how long the miner trusts its copy of the
	// metagraph when authorizing callers (one block time).
	DefaultMetagraphTTL = 12 * time.Second
)

// Log attribute keys.
const (
	logKeyComponent = "component"
	logKeyNetuid    = "netuid"
	logKeyHotkey    = "hotkey"
	logKeyUID       = "uid"
	logKeyErr       = "err"
	logKeyAddr      = "addr"
	logKeyPath      = "path"
	logKeyStatus    = "status"
	logKeyDuration  = "duration"
	logKeyTempo     = "tempo"
	logKeyMiners    = "miners"
)

// MinerOptions configure a Miner.
type MinerOptions struct {
	Netuid uint16
	Key    Key   // the miner's hotkey
	Chain  Chain // bound to Key
	// Backend serves the OpenAI-compatible routes: the engine's server
	// (adapted in internal/node) or a Proxy.
	Backend     http.Handler
	ModelDigest string // published and put in every receipt
	Region      string
	// Listener is where the miner serves.
	Listener net.Listener
	// Endpoint is the URL published on chain; default http://<listener addr>.
	Endpoint string
	// MaxConcurrent bounds the requests served at once; more get 503.
	MaxConcurrent int
	// Authorize decides which verified callers may query; default: hotkeys
	// registered on the subnet with stake (validators, gateways).
	Authorize wire.AuthorizeFunc
	// Verifier options other than Self and Authorize (clock, windows).
	Verifier wire.VerifierOptions
	// ShutdownTimeout bounds draining in-flight requests on shutdown.
	ShutdownTimeout time.Duration
	// Now is the clock for receipts; nil is time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Metrics, when set, gets the miner's series (deai_miner_*, labelled
	// with netuid and hotkey) and is served at GET /metrics on the
	// listener, without verification; nil: neither.
	Metrics *prometheus.Registry
}

// Miner serves a subnet's task. Build it with NewMiner and run it with Run.
type Miner struct {
	o     MinerOptions
	log   *slog.Logger
	slots chan struct{}
	h     http.Handler
	meta  *metaCache
	m     *minerMetrics
}

// NewMiner checks o and builds the miner's HTTP stack: verification, the
// concurrency limit, receipts, then the backend.
func NewMiner(o MinerOptions) (*Miner, error) {
	switch {
	case o.Key == nil:
		return nil, errors.New("new miner: no hotkey")
	case o.Chain == nil:
		return nil, errors.New("new miner: no chain")
	case o.Backend == nil:
		return nil, errors.New("new miner: no backend")
	case o.Listener == nil:
		return nil, errors.New("new miner: no listener")
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Endpoint == "" {
		o.Endpoint = "http://" + o.Listener.Addr().String()
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Miner{
		o:     o,
		log:   log.With(logKeyComponent, "miner", logKeyNetuid, o.Netuid, logKeyHotkey, o.Key.Address().String()),
		slots: make(chan struct{}, o.MaxConcurrent),
		meta:  newMetaCache(o.Chain, o.Netuid, DefaultMetagraphTTL, o.Verifier.Now),
		m:     newMinerMetrics(),
	}
	vo := o.Verifier
	vo.Self = o.Key.Address()
	vo.Authorize = o.Authorize
	if vo.Authorize == nil {
		vo.Authorize = m.meta.authorizeStaked
	}
	if vo.Logger == nil {
		vo.Logger = log
	}
	m.h = m.m.instrument(wire.NewVerifier(vo).Wrap(http.HandlerFunc(m.serve)))
	if o.Metrics != nil {
		if err := registerAll(registerer(o.Metrics, o.Netuid, o.Key.Address()), m.m.requests, m.m.duration, m.m.tokens); err != nil {
			return nil, fmt.Errorf("new miner: register metrics: %w", err)
		}
		m.h = withMetrics(m.h, o.Metrics)
	}
	return m, nil
}

// Handler returns the miner's HTTP handler (for tests and benchmarks).
func (m *Miner) Handler() http.Handler { return m.h }

// Run announces the miner on chain (registering the hotkey if needed and
// publishing its serving info) and serves until ctx ends; then it stops
// accepting, drains in-flight requests for up to ShutdownTimeout, and
// returns nil.
func (m *Miner) Run(ctx context.Context) error {
	if err := m.Announce(ctx); err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           m.h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelDebug),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(m.o.Listener) }()
	m.log.InfoContext(ctx, "miner serving", logKeyAddr, m.o.Endpoint)
	select {
	case err := <-errc:
		return fmt.Errorf("miner: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.o.ShutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	if err != nil {
		return fmt.Errorf("miner: drain in-flight requests: %w", err)
	}
	m.log.InfoContext(ctx, "miner stopped")
	return nil
}

// Announce registers the hotkey on the subnet if it is not yet, and
// publishes the serving info if the chain does not already hold it.
func (m *Miner) Announce(ctx context.Context) error {
	mg, err := m.o.Chain.Metagraph(ctx, m.o.Netuid)
	if err != nil {
		return fmt.Errorf("miner: read metagraph: %w", err)
	}
	n, ok := mg.Neuron(m.o.Key.Address())
	if !ok {
		if err := m.o.Chain.Register(ctx, m.o.Netuid); err != nil {
			return fmt.Errorf("miner: register on subnet %d: %w", m.o.Netuid, err)
		}
		m.log.InfoContext(ctx, "registered")
	}
	info := ServeInfo{Endpoint: m.o.Endpoint, ProtocolVersion: ProtocolVersion, ModelDigest: m.o.ModelDigest, Region: m.o.Region}
	if ok && n.Serving == info {
		return nil
	}
	if err := m.o.Chain.Serve(ctx, m.o.Netuid, info); err != nil {
		return fmt.Errorf("miner: publish serving info: %w", err)
	}
	return nil
}

// serve runs after verification: concurrency limit, then the backend with
// a receipt.
func (m *Miner) serve(w http.ResponseWriter, r *http.Request) {
	select {
	case m.slots <- struct{}{}:
		defer func() { <-m.slots }()
	default:
		wire.WriteError(w, &wire.Rejection{Status: http.StatusServiceUnavailable, Code: "miner_busy",
			Message: fmt.Sprintf("miner is serving %d requests, its limit", m.o.MaxConcurrent)})
		return
	}
	c, _ := wire.CallerFrom(r.Context())
	rw := newReceiptWriter(w)
	m.o.Backend.ServeHTTP(rw, r)
	rc := wire.Receipt{Netuid: m.o.Netuid, RequestHash: c.RequestHash, ModelDigest: m.o.ModelDigest, TimeUnixMs: m.o.Now().UnixMilli()}
	if err := rw.finish(rc, m.o.Key); err != nil {
		m.log.DebugContext(r.Context(), "send response", logKeyPath, r.URL.Path, logKeyErr, err)
	}
	m.m.tokens.WithLabelValues("prompt").Add(float64(rw.usage.prompt))
	m.m.tokens.WithLabelValues("completion").Add(float64(rw.usage.completion))
}

// metaCache is the miner's copy of the metagraph, used to authorize
// callers. A caller not in the copy triggers one refresh, at most once per
// second, so a newly staked validator is admitted within a block.
type metaCache struct {
	chain  Chain
	netuid uint16
	ttl    time.Duration
	now    func() time.Time

	mu      sync.Mutex // guards the fields below
	mg      Metagraph
	fetched time.Time
	tried   time.Time
}

func newMetaCache(c Chain, netuid uint16, ttl time.Duration, now func() time.Time) *metaCache {
	if now == nil {
		now = time.Now
	}
	return &metaCache{chain: c, netuid: netuid, ttl: ttl, now: now}
}

// staked reports whether hotkey is registered with stake.
func (c *metaCache) staked(hotkey tx.Address) (known, ok bool) {
	n, found := c.mg.Neuron(hotkey)
	return !c.fetched.IsZero(), found && n.Stake > 0
}

func (c *metaCache) authorizeStaked(ctx context.Context, hotkey tx.Address) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	known, ok := c.staked(hotkey)
	fresh := known && now.Sub(c.fetched) < c.ttl
	if ok && fresh {
		return nil
	}
	if !fresh || now.Sub(c.tried) >= time.Second {
		c.tried = now
		mg, err := c.chain.Metagraph(ctx, c.netuid)
		if err != nil {
			if known {
				if _, ok := c.staked(hotkey); ok {
					return nil // stale copy says yes; the chain is briefly unreachable
				}
			}
			return errs.Wrap("authorize caller", errs.Transient, err)
		}
		c.mg, c.fetched = mg, now
		if _, ok := c.staked(hotkey); ok {
			return nil
		}
	}
	return errs.E("authorize caller", errs.Permission, "hotkey %s has no stake on subnet %d", hotkey, c.netuid)
}
