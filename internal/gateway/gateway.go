package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wire"
)

// Response headers the gateway adds.
const (
	HeaderReceipt     = "X-Deai-Receipt" // the miner's signed receipt (a trailer on streams)
	HeaderMiner       = "X-Deai-Miner"   // the answering miner's hotkey address
	HeaderModelDigest = "X-Deai-Model-Digest"
	HeaderCache       = "X-Deai-Cache" // "hit" when answered from the cache
)

// Defaults for Options fields left zero.
const (
	DefaultMaxBody        = 4 << 20
	DefaultMaxAttempts    = 3
	DefaultMetagraphTTL   = 12 * time.Second
	DefaultPrice          = tx.Amount(1) // base units per token
	DefaultMaxTokens      = 256          // reserved for when a request names none
	DefaultCacheBytes     = 64 << 20
	DefaultCacheTTL       = 10 * time.Minute
	DefaultHeaderTimeout  = 30 * time.Second
	DefaultMaxResponse    = 64 << 20
	DefaultMaxStreams     = 8
	DefaultRatePerSecond  = 20
	DefaultRateBurst      = 40
	DefaultShutdownPeriod = 30 * time.Second
)

// Log attribute keys.
const (
	logKeyComponent = "component"
	logKeyMiner     = "miner"
	logKeyModel     = "model"
	logKeyErr       = "err"
	logKeyStatus    = "status"
	logKeyAddr      = "addr"
)

// Options configure a Gateway.
type Options struct {
	Key     wire.Signer // the gateway's hotkey; signs every request to a miner
	Network Network
	// Chain verifies deposits (/tx/<hash>); nil disables POST /v1/deposits.
	// With a Chain the gateway also serves the explorer web UI at /ui/
	// and its read-only JSON API at /ui/api/ (explorer.go).
	Chain chain.Client
	// Keys maps API keys to the ledger accounts they spend from.
	Keys map[string]tx.Address
	// Payments, when set, lets requests without an API key pay with
	// payment-channel vouchers (x402, paid.go); nil: they get 401.
	Payments Payments
	// Quotas limit API keys (see LoadKeys); keys not listed have none.
	Quotas map[string]Quota
	// Prices per token per model id; models not listed cost DefaultPrice.
	Prices map[string]tx.Amount
	// FeeBps is the gateway's cut of every charge in basis points (0 to
	// 10000); the answering miner earns the rest.
	FeeBps int
	// SettleInterval is how often Run pays the miners what they are owed
	// (see Settle); zero means DefaultSettleInterval, negative never. Run
	// settles only with a Chain.
	SettleInterval time.Duration
	Region         string // preferred miner region
	Store          Store  // nil: in memory only
	// Client sends requests to miners; nil: a client with a response
	// header timeout of DefaultHeaderTimeout and no overall timeout.
	Client *http.Client
	// Limits; zero means the default, negative means none (rate, streams,
	// cache).
	MaxBody     int64
	MaxAttempts int
	// HedgeAfter, when positive, sends a non-streaming request that no
	// miner answered within it to another miner as well; the first
	// verified answer wins and is the only one charged. Zero: off.
	HedgeAfter       time.Duration
	RatePerSecond    float64
	RateBurst        int
	MaxStreams       int
	CacheBytes       int
	CacheTTL         time.Duration
	MetagraphTTL     time.Duration
	BreakerThreshold int
	BreakerCooldown  time.Duration
	Now              func() time.Time
	Logger           *slog.Logger
	// Observe, when set, is handed every verified answer's receipt with
	// the exact request body the miner signed it for (a verify.Auditor's
	// Observe, wired by internal/node); it must not block. Cached answers
	// are not passed again.
	Observe func(r wire.Receipt, request []byte)
	// Agents, when set, lists the budgets of the agents this process runs
	// (deai up passes its example agents') for the explorer's agents
	// section: budgets live at each agent's signer, not on the ledger.
	Agents func() []AgentBudget
	// Metrics, when set, gets the gateway's series (deai_gateway_*) and
	// is served at GET /metrics without auth; nil: neither.
	Metrics *prometheus.Registry
}

// Gateway is the OpenAI-compatible endpoint. Build it with New.
type Gateway struct {
	o       Options
	self    tx.Address
	log     *slog.Logger
	router  *router
	accts   *accounts
	cache   *cache
	store   Store
	payouts *payouts
	m       *metrics
	ex      *explorer // nil without a Chain
	h       http.Handler

	mu      sync.Mutex // guards models and fetched
	models  []Model
	fetched time.Time
}

func orDefault[T int | int64 | float64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// New checks o, replays the store into the balances and builds the
// handler.
func New(o Options) (*Gateway, error) {
	switch {
	case o.Key == nil:
		return nil, errors.New("new gateway: no hotkey")
	case o.Network == nil:
		return nil, errors.New("new gateway: no network")
	case o.FeeBps < 0 || o.FeeBps > maxFeeBps:
		return nil, fmt.Errorf("new gateway: fee %d bps out of [0, %d]", o.FeeBps, maxFeeBps)
	}
	o.SettleInterval = orDefault(o.SettleInterval, DefaultSettleInterval)
	o.MaxBody = orDefault(o.MaxBody, DefaultMaxBody)
	o.MaxAttempts = orDefault(o.MaxAttempts, DefaultMaxAttempts)
	o.RatePerSecond = orDefault(o.RatePerSecond, DefaultRatePerSecond)
	o.RateBurst = orDefault(o.RateBurst, DefaultRateBurst)
	o.MaxStreams = orDefault(o.MaxStreams, DefaultMaxStreams)
	o.CacheBytes = orDefault(o.CacheBytes, DefaultCacheBytes)
	o.CacheTTL = orDefault(o.CacheTTL, DefaultCacheTTL)
	o.MetagraphTTL = orDefault(o.MetagraphTTL, DefaultMetagraphTTL)
	o.BreakerThreshold = orDefault(o.BreakerThreshold, DefaultBreakerThreshold)
	o.BreakerCooldown = orDefault(o.BreakerCooldown, DefaultBreakerCooldown)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Client == nil {
		o.Client = &http.Client{Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			ResponseHeaderTimeout: DefaultHeaderTimeout,
			MaxIdleConnsPerHost:   64,
			DisableCompression:    true,
		}}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{o: o, self: tx.AddressFromPubKey(o.Key.PubKey()), log: log.With(logKeyComponent, "gateway"),
		router: newRouter(o.Region, o.BreakerThreshold, o.BreakerCooldown, o.Now),
		accts:  newAccounts(o.Keys, o.Quotas, max(o.RatePerSecond, 0), o.RateBurst, max(o.MaxStreams, 0), o.Now),
		store:  o.Store, payouts: newPayouts(), m: newMetrics()}
	if o.Metrics != nil {
		if err := g.m.register(o.Metrics); err != nil {
			return nil, fmt.Errorf("new gateway: register metrics: %w", err)
		}
	}
	if o.CacheBytes > 0 {
		g.cache = newCache(o.CacheBytes, o.CacheTTL, o.Now)
	}
	if g.store == nil {
		g.store = &memStore{}
	}
	if o.Chain != nil {
		g.ex = newExplorer(o.Chain)
	}
	replay := func(r Record) error {
		if err := g.accts.replay(r); err != nil {
			return err
		}
		g.payouts.apply(r)
		return nil
	}
	if err := g.store.Replay(replay); err != nil {
		return nil, fmt.Errorf("new gateway: %w", err)
	}
	g.h = g.routes()
	return g, nil
}

// Handler returns the gateway's HTTP handler.
func (g *Gateway) Handler() http.Handler { return g.h }

// Address is the ledger address deposits must be sent to: the hotkey's.
func (g *Gateway) Address() tx.Address { return g.self }

// Run serves on ln until ctx ends, then drains in-flight requests. With a
// Chain it also pays the miners every SettleInterval.
func (g *Gateway) Run(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: g.h, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:    slog.NewLogLogger(g.log.Handler(), slog.LevelDebug),
		BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	if g.ex != nil {
		srv.RegisterOnShutdown(g.ex.shutdown)
		ectx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { g.ex.run(ectx, g) })
		defer wg.Wait()
		defer stop()
	}
	if g.o.Chain != nil && g.o.SettleInterval > 0 {
		sctx, stop := context.WithCancel(ctx)
		var wg sync.WaitGroup
		wg.Go(func() { g.settleLoop(sctx, g.o.SettleInterval) })
		defer wg.Wait()
		defer stop()
	}
	g.log.InfoContext(ctx, "gateway serving", logKeyAddr, ln.Addr().String(), "deposit_address", g.self.String())
	select {
	case err := <-errc:
		return fmt.Errorf("gateway: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), DefaultShutdownPeriod)
	defer cancel()
	err := srv.Shutdown(sctx)
	<-errc
	if err != nil {
		return fmt.Errorf("gateway: drain: %w", err)
	}
	return nil
}

func (g *Gateway) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", g.handleModels)
	mux.HandleFunc("POST /v1/chat/completions", g.handleInference)
	mux.HandleFunc("POST /v1/completions", g.handleInference)
	mux.HandleFunc("POST /v1/embeddings", g.handleInference)
	mux.HandleFunc("GET /v1/usage", g.handleUsage)
	mux.HandleFunc("POST /v1/deposits", g.handleDeposit)
	mux.HandleFunc("GET /v1/gateway/settlements", g.handleSettlements)
	if g.o.Metrics != nil {
		mux.Handle("GET /metrics", metricsHandler(g.o.Metrics))
	}
	if g.ex != nil {
		g.explorerRoutes(mux)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, newAPIError(http.StatusNotFound, "invalid_request_error", "not_found", "no route "+r.Method+" "+r.URL.Path))
	})
	return g.m.instrument(mux)
}

// modelsNow returns the network's models, refreshed at most once per
// MetagraphTTL; on a failed refresh a stale list keeps serving.
func (g *Gateway) modelsNow(ctx context.Context) ([]Model, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.o.Now()
	if g.models != nil && now.Sub(g.fetched) < g.o.MetagraphTTL {
		return g.models, nil
	}
	ms, err := g.o.Network.Models(ctx)
	if err != nil {
		if g.models != nil {
			g.log.WarnContext(ctx, "refresh metagraph; serving the stale copy", logKeyErr, err)
			return g.models, nil
		}
		return nil, fmt.Errorf("read the network's models: %w", err)
	}
	if ms == nil {
		ms = []Model{}
	}
	g.models, g.fetched = ms, now
	return ms, nil
}

// auth returns the key's state from "Authorization: Bearer KEY".
func (g *Gateway) auth(r *http.Request) (*keyState, error) {
	key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || key == "" {
		return nil, errUnauthorized
	}
	return g.accts.admit(strings.TrimSpace(key))
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
	Digest  string `json:"digest"`
	Subnet  uint16 `json:"subnet"`
	Task    string `json:"task"`
	Miners  int    `json:"miners"`
}

func (g *Gateway) handleModels(w http.ResponseWriter, r *http.Request) {
	// Voucher payers have no key: with Payments the list (public on the
	// chain anyway) is open to requests without one.
	if g.o.Payments == nil || r.Header.Get("Authorization") != "" {
		if _, err := g.auth(r); err != nil {
			writeError(w, err)
			return
		}
	}
	ms, err := g.modelsNow(r.Context())
	if err != nil {
		g.log.WarnContext(r.Context(), "list models", logKeyErr, err)
		writeError(w, newAPIError(http.StatusServiceUnavailable, "server_error", "network_unavailable", "the network's metagraph cannot be read"))
		return
	}
	list := struct {
		Object string        `json:"object"`
		Data   []modelObject `json:"data"`
	}{Object: "list", Data: []modelObject{}}
	for _, m := range ms {
		list.Data = append(list.Data, modelObject{ID: m.ID, Object: "model", OwnedBy: "deai", Digest: m.Digest, Subnet: m.Netuid, Task: m.Task, Miners: len(m.Miners)})
	}
	writeJSON(w, http.StatusOK, list)
}

func (g *Gateway) handleUsage(w http.ResponseWriter, r *http.Request) {
	ks, err := g.auth(r)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, g.accts.usage(ks.addr))
}
