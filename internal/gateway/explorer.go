package gateway

import (
	"context"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/chain"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

// The explorer is a read-only web UI at /ui/ over the chain the gateway
// already reads and the gateway's own state: blocks, accounts, subnets
// with their metagraph and charts of incentive and emission over epochs,
// the gateway's miners, leases, agents and disputes, updated live through
// Server-Sent Events. Its assets are embedded (ui/): no CDN, no external
// fonts, charts are inline SVG. It is mounted when Options.Chain is set.

// Explorer tunables.
const (
	// DefaultExplorerEpochs is how many epochs of metagraph history the
	// explorer keeps per subnet.
	DefaultExplorerEpochs = 100
	// explorerPoll is how often the event stream and the history sampler
	// read the chain's status.
	explorerPoll = 500 * time.Millisecond
	// explorerMaxStreams bounds the concurrent event streams.
	explorerMaxStreams = 64
	// explorerMaxBlocks bounds /ui/api/blocks?n=.
	explorerMaxBlocks = 50
	// explorerMaxSubnets bounds the subnets whose history is kept.
	explorerMaxSubnets = 64
)

// explorerQueryPrefixes are the ledger queries /ui/api/query/ passes on:
// public state only (see internal/ledger/query.go and each module's
// query.go).
var explorerQueryPrefixes = []string{"/account/", "/balance/", "/subnet/", "/market/", "/agents/", "/paych/"}

// explorerQueryExact are the allowed queries without an argument.
var explorerQueryExact = []string{"/params", "/supply"}

//go:embed ui
var uiFiles embed.FS

// explorer keeps the state behind /ui/api: the epoch history of every
// subnet, and the stop signal of the event streams.
type explorer struct {
	c       chain.Client
	streams chan struct{} // a token per open event stream
	stop    chan struct{} // closed when the server shuts down
	once    sync.Once

	mu   sync.Mutex // guards hist
	hist map[uint16]*subnetHistory
}

// subnetHistory is one subnet's last epochs, oldest first.
type subnetHistory struct {
	Netuid    uint16        `json:"netuid"`
	LastEpoch uint64        `json:"last_epoch"` // the block of the newest sample's epoch
	Epochs    []epochSample `json:"epochs"`
}

// epochSample is the metagraph right after one epoch.
type epochSample struct {
	Epoch   uint64         `json:"epoch"`
	Block   uint64         `json:"block"` // the epoch's block (last_epoch)
	Neurons []neuronSample `json:"neurons"`
}

type neuronSample struct {
	UID       uint16     `json:"uid"`
	Hotkey    tx.Address `json:"hotkey"`
	Incentive float64    `json:"incentive"` // [0,1]
	Emission  tx.Amount  `json:"emission"`  // udeai in that epoch
}

func newExplorer(c chain.Client) *explorer {
	return &explorer{c: c, streams: make(chan struct{}, explorerMaxStreams), stop: make(chan struct{}), hist: map[uint16]*subnetHistory{}}
}

// shutdown ends the event streams (http.Server.Shutdown does not cancel
// the requests it waits for).
func (e *explorer) shutdown() { e.once.Do(func() { close(e.stop) }) }

// run samples the metagraphs until ctx ends.
func (e *explorer) run(ctx context.Context, g *Gateway) {
	t := time.NewTicker(2 * explorerPoll)
	defer t.Stop()
	for {
		if err := e.sample(ctx); err != nil && ctx.Err() == nil {
			g.log.DebugContext(ctx, "explorer: sample the metagraphs", logKeyErr, err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sample records the metagraph of every subnet whose last epoch moved
// since the previous sample.
func (e *explorer) sample(ctx context.Context) error {
	var list []lsubnet.SubnetInfo
	if err := queryJSON(ctx, e.c, "/subnet/list", &list); err != nil {
		return err
	}
	for _, s := range list {
		e.mu.Lock()
		h := e.hist[s.Netuid]
		seen := h != nil && h.LastEpoch == s.LastEpoch && len(h.Epochs) > 0
		full := h == nil && len(e.hist) >= explorerMaxSubnets
		e.mu.Unlock()
		if seen || full {
			continue
		}
		var mg lsubnet.Metagraph
		if err := queryJSON(ctx, e.c, fmt.Sprintf("/subnet/%d/metagraph", s.Netuid), &mg); err != nil {
			return err
		}
		smp := epochSample{Epoch: mg.Epoch, Block: mg.LastEpoch, Neurons: make([]neuronSample, 0, len(mg.Neurons))}
		for _, n := range mg.Neurons {
			smp.Neurons = append(smp.Neurons, neuronSample{UID: n.UID, Hotkey: n.Hotkey, Incentive: float64(n.Incentive) / 65535, Emission: n.Emission})
		}
		e.record(s.Netuid, smp)
	}
	return nil
}

// record appends smp to netuid's history unless it holds that epoch.
func (e *explorer) record(netuid uint16, smp epochSample) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := e.hist[netuid]
	if h == nil {
		h = &subnetHistory{Netuid: netuid}
		e.hist[netuid] = h
	}
	h.LastEpoch = smp.Block
	if n := len(h.Epochs); n > 0 && h.Epochs[n-1].Block == smp.Block {
		return
	}
	h.Epochs = append(h.Epochs, smp)
	if over := len(h.Epochs) - DefaultExplorerEpochs; over > 0 {
		h.Epochs = slices.Delete(h.Epochs, 0, over)
	}
}

// history returns a copy of every subnet's history, by netuid.
func (e *explorer) history() []subnetHistory {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]subnetHistory, 0, len(e.hist))
	for _, h := range e.hist {
		out = append(out, subnetHistory{Netuid: h.Netuid, LastEpoch: h.LastEpoch, Epochs: slices.Clone(h.Epochs)})
	}
	slices.SortFunc(out, func(a, b subnetHistory) int { return int(a.Netuid) - int(b.Netuid) })
	return out
}

func queryJSON(ctx context.Context, c chain.Client, path string, v any) error {
	r, err := c.Query(ctx, path, nil)
	if err != nil {
		return fmt.Errorf("query %s: %w", path, err)
	}
	if r.Code != 0 {
		return fmt.Errorf("query %s: %s (code %d)", path, r.Log, r.Code)
	}
	if err := json.Unmarshal(r.Value, v); err != nil {
		return fmt.Errorf("query %s: decode: %w", path, err)
	}
	return nil
}

// explorerRoutes mounts the explorer on mux.
func (g *Gateway) explorerRoutes(mux *http.ServeMux) {
	static, err := fs.Sub(uiFiles, "ui")
	if err != nil {
		panic("gateway: embedded ui: " + err.Error()) // the directory is compiled in
	}
	mux.HandleFunc("GET /ui", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'")
		http.ServeFileFS(w, r, static, "index.html")
	})
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /ui/api/status", g.handleExplorerStatus)
	mux.HandleFunc("GET /ui/api/blocks", g.handleExplorerBlocks)
	mux.HandleFunc("GET /ui/api/query/{path...}", g.handleExplorerQuery)
	mux.HandleFunc("GET /ui/api/miners", g.handleExplorerMiners)
	mux.HandleFunc("GET /ui/api/history", g.handleExplorerHistory)
	mux.HandleFunc("GET /ui/api/events", g.handleExplorerEvents)
	mux.HandleFunc("GET /ui/api/agents", g.handleExplorerAgents)
	mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		explorerError(w, http.StatusNotFound, "no route "+r.Method+" "+r.URL.Path)
	})
}

func explorerError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

type explorerStatus struct {
	ChainID        string     `json:"chain_id"`
	Height         int64      `json:"height"`
	Time           time.Time  `json:"time"`
	BlockHash      string     `json:"block_hash"`
	GatewayAddress tx.Address `json:"gateway_address"`
}

func (g *Gateway) handleExplorerStatus(w http.ResponseWriter, r *http.Request) {
	st, err := g.o.Chain.Status(r.Context())
	if err != nil {
		explorerError(w, http.StatusBadGateway, "the chain's status cannot be read")
		return
	}
	writeJSON(w, http.StatusOK, explorerStatus{ChainID: st.ChainID, Height: st.LatestHeight, Time: st.LatestBlockTime,
		BlockHash: strings.ToUpper(hex.EncodeToString(st.LatestBlockHash)), GatewayAddress: g.self})
}

// blockSummary is a block as the explorer lists it.
type blockSummary struct {
	Height int64     `json:"height"`
	Time   time.Time `json:"time"`
	Hash   string    `json:"hash"`
	Txs    int       `json:"txs"`
}

func summarize(b chain.Block) blockSummary {
	return blockSummary{Height: b.Height, Time: b.Time, Hash: strings.ToUpper(hex.EncodeToString(b.Hash)), Txs: len(b.Txs)}
}

// handleExplorerBlocks lists the last ?n= blocks (default 20), newest
// first.
func (g *Gateway) handleExplorerBlocks(w http.ResponseWriter, r *http.Request) {
	n := 20
	if s := r.URL.Query().Get("n"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > explorerMaxBlocks {
			explorerError(w, http.StatusBadRequest, fmt.Sprintf("n must be 1 to %d", explorerMaxBlocks))
			return
		}
		n = v
	}
	st, err := g.o.Chain.Status(r.Context())
	if err != nil {
		explorerError(w, http.StatusBadGateway, "the chain's status cannot be read")
		return
	}
	out := []blockSummary{}
	for h := st.LatestHeight; h >= 1 && h > st.LatestHeight-int64(n) && h >= st.EarliestHeight; h-- {
		b, err := g.o.Chain.Block(r.Context(), h)
		if err != nil {
			break // pruned or not yet indexed: list what there is
		}
		out = append(out, summarize(b))
	}
	writeJSON(w, http.StatusOK, out)
}

// explorerQueryAllowed reports whether path (without its ?query) is a
// public ledger query the explorer passes on.
func explorerQueryAllowed(path string) bool {
	if slices.Contains(explorerQueryExact, path) {
		return true
	}
	for _, p := range explorerQueryPrefixes {
		if strings.HasPrefix(path, p) && len(path) > len(p) {
			return true
		}
	}
	return false
}

// handleExplorerQuery passes GET /ui/api/query/<ledger path>[?query] to
// the chain when the path is on the allowlist; the answer is the ledger's
// JSON, or {"error", "code"} with 400 when the ledger refuses it.
func (g *Gateway) handleExplorerQuery(w http.ResponseWriter, r *http.Request) {
	path := "/" + r.PathValue("path")
	if slices.Contains(strings.Split(path, "/"), "..") || strings.ContainsAny(path, "\x00\n") {
		explorerError(w, http.StatusBadRequest, "bad query path")
		return
	}
	if !explorerQueryAllowed(path) {
		explorerError(w, http.StatusForbidden, "query "+path+" is not public through the explorer")
		return
	}
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	res, err := g.o.Chain.Query(r.Context(), path, nil)
	if err != nil {
		explorerError(w, http.StatusBadGateway, "the chain cannot be queried")
		return
	}
	if res.Code != 0 {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": res.Log, "code": res.Code})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(res.Value) //nolint:errcheck // the client left
}

// explorerMiner is the gateway's view of one miner.
type explorerMiner struct {
	Hotkey   tx.Address `json:"hotkey"`
	Netuid   uint16     `json:"netuid"`
	UID      uint16     `json:"uid"`
	Model    string     `json:"model"`
	Endpoint string     `json:"endpoint"`
	Region   string     `json:"region"`
	Routable bool       `json:"routable"` // in the current model list
	minerView
	Earned tx.Amount `json:"earned"` // charged for its answers, less the fee
	Paid   tx.Amount `json:"paid"`   // settled on chain
}

func (g *Gateway) handleExplorerMiners(w http.ResponseWriter, r *http.Request) {
	views := g.router.views()
	byKey := map[tx.Address]*explorerMiner{}
	var out []*explorerMiner
	add := func(a tx.Address) *explorerMiner {
		if m := byKey[a]; m != nil {
			return m
		}
		m := &explorerMiner{Hotkey: a, minerView: views[a]}
		byKey[a] = m
		out = append(out, m)
		return m
	}
	if ms, err := g.modelsNow(r.Context()); err == nil {
		for _, md := range ms {
			for _, mn := range md.Miners {
				m := add(mn.Hotkey)
				m.Netuid, m.UID, m.Model, m.Endpoint, m.Region, m.Routable = md.Netuid, mn.UID, md.ID, mn.Endpoint, mn.Region, true
			}
		}
	}
	for a := range views {
		add(a)
	}
	g.payouts.mu.Lock()
	for a := range g.payouts.earned {
		add(a)
	}
	for _, m := range out {
		m.Earned, m.Paid = g.payouts.earned[m.Hotkey], g.payouts.paid[m.Hotkey]
	}
	fees, settled := g.payouts.fees, g.payouts.settled
	g.payouts.mu.Unlock()
	slices.SortFunc(out, func(a, b *explorerMiner) int {
		if a.Netuid != b.Netuid {
			return int(a.Netuid) - int(b.Netuid)
		}
		if a.UID != b.UID {
			return int(a.UID) - int(b.UID)
		}
		return strings.Compare(a.Hotkey.String(), b.Hotkey.String())
	})
	if out == nil {
		out = []*explorerMiner{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"miners": out, "fees": fees, "settlements": settled})
}

func (g *Gateway) handleExplorerHistory(w http.ResponseWriter, r *http.Request) {
	hs := g.ex.history()
	if s := r.URL.Query().Get("netuid"); s != "" {
		n, err := strconv.ParseUint(s, 10, 16)
		if err != nil {
			explorerError(w, http.StatusBadRequest, "netuid must be a number")
			return
		}
		hs = slices.DeleteFunc(hs, func(h subnetHistory) bool { return h.Netuid != uint16(n) })
	}
	writeJSON(w, http.StatusOK, hs)
}

// handleExplorerEvents streams "block" events (a blockSummary each) as
// the chain grows, polling its status every explorerPoll, until the
// client goes or the server shuts down.
func (g *Gateway) handleExplorerEvents(w http.ResponseWriter, r *http.Request) {
	select {
	case g.ex.streams <- struct{}{}:
		defer func() { <-g.ex.streams }()
	default:
		explorerError(w, http.StatusServiceUnavailable, "too many event streams")
		return
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return
	}
	rc.Flush() //nolint:errcheck // a failed flush shows on the next write
	ctx := r.Context()
	t := time.NewTicker(explorerPoll)
	defer t.Stop()
	var last int64
	for {
		if st, err := g.o.Chain.Status(ctx); err == nil && st.LatestHeight != last {
			sum := blockSummary{Height: st.LatestHeight, Time: st.LatestBlockTime, Hash: strings.ToUpper(hex.EncodeToString(st.LatestBlockHash))}
			if b, err := g.o.Chain.Block(ctx, st.LatestHeight); err == nil {
				sum = summarize(b)
			}
			data, _ := json.Marshal(sum)
			if _, err := fmt.Fprintf(w, "id: %d\nevent: block\ndata: %s\n\n", sum.Height, data); err != nil {
				return
			}
			if err := rc.Flush(); err != nil {
				return
			}
			last = st.LatestHeight
		}
		select {
		case <-ctx.Done():
			return
		case <-g.ex.stop:
			return
		case <-t.C:
		}
	}
}

// AgentBudget is one agent's budget at its signer, as the explorer shows
// it.
type AgentBudget struct {
	Name      string     `json:"name"`
	Address   tx.Address `json:"address"`
	Total     tx.Amount  `json:"total"`
	Spent     tx.Amount  `json:"spent"`
	Reserved  tx.Amount  `json:"reserved"`
	PerPeriod tx.Amount  `json:"per_period,omitempty"`
	Period    string     `json:"period,omitempty"`
	PeriodUse tx.Amount  `json:"period_used"`
	Killed    bool       `json:"killed"`
	Earned    tx.Amount  `json:"earned"` // vouchers its services kept
}

// handleExplorerAgents answers the budgets of the agents this process
// runs (Options.Agents), an empty list without any.
func (g *Gateway) handleExplorerAgents(w http.ResponseWriter, r *http.Request) {
	out := []AgentBudget{}
	if g.o.Agents != nil {
		out = append(out, g.o.Agents()...)
	}
	writeJSON(w, http.StatusOK, out)
}
