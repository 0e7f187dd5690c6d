package runner

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/agent"
	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/tx"
)

// Leaser rents compute for a lease step; internal/node implements it with
// the market's tenant client. A nil Leaser refuses lease steps.
type Leaser interface {
	Lease(ctx context.Context, req LeaseRequest) (LeaseResult, error)
}

// LeaseRequest is what a lease step asks for.
type LeaseRequest struct {
	SDL      []byte
	Deposit  tx.Amount
	MaxPrice tx.Amount // per block; 0: any bid
	BidWait  time.Duration
}

// LeaseResult is the lease a Leaser created.
type LeaseResult struct {
	Lease     string     `json:"lease"` // the lease ID: owner/dseq/gseq/oseq/provider
	Provider  tx.Address `json:"provider"`
	Price     tx.Amount  `json:"price"`               // per block
	Endpoints []string   `json:"endpoints,omitempty"` // host:port the workload listens on
}

// Options configure New.
type Options struct {
	Spec *Spec
	// Dir is the spec file's directory; relative paths in the spec start
	// there.
	Dir string
	// StateDir holds budget.json, channels.json, approvals/, KILL and
	// audit.log; empty: the spec's state: (relative to Dir).
	StateDir string
	Key      agent.Key
	Chain    chain.Client
	Leaser   Leaser
	// HTTP is the transport of every outgoing call (nil: a default with
	// timeouts).
	HTTP   http.RoundTripper
	Logger *slog.Logger
	Now    func() time.Time
}

// Runner runs one declarative agent. Build it with New, then Run it.
type Runner struct {
	o      Options
	spec   *Spec
	self   tx.Address
	log    *slog.Logger
	ledger *agent.LedgerChain
	budget *agent.Budget
	audit  *agent.AuditLog
	wall   *agent.Paywall
	recv   *agent.Receiver // signed agent messages, for services that require them
	pays   *payers
	state  string
	chain  string // chain id
	tport  http.RoundTripper

	hmu sync.Mutex // guards hAt and h
	hAt time.Time
	h   uint64

	runMu sync.Mutex // one run at a time
	mu    sync.Mutex // guards runs
	runs  uint64
}

// File names inside the state directory.
const (
	budgetFile    = "budget.json"
	channelsFile  = "channels.json"
	earnedFile    = "earned.json"
	auditFile     = "audit.log"
	approvalsDir  = "approvals"
	killFile      = "KILL"
	pendingSuffix = ".json"
	sigSuffix     = ".sig"
)

// AuditPath is where an agent with state directory dir keeps its log.
func AuditPath(dir string) string { return filepath.Join(dir, auditFile) }

// ApprovalsDir is where pending approvals (ID.json) and the owner's
// signatures (ID.sig) meet.
func ApprovalsDir(dir string) string { return filepath.Join(dir, approvalsDir) }

// KillPath is the file whose presence stops every payment.
func KillPath(dir string) string { return filepath.Join(dir, killFile) }

// New opens the agent's state (budget, channels, audit log) and checks
// the chain; it starts nothing.
func New(ctx context.Context, o Options) (*Runner, error) {
	switch {
	case o.Spec == nil:
		return nil, errors.New("new agent runner: no spec")
	case o.Key == nil:
		return nil, errors.New("new agent runner: no key")
	case o.Chain == nil:
		return nil, errors.New("new agent runner: no chain client")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTP == nil {
		o.HTTP = &http.Transport{Proxy: http.ProxyFromEnvironment, ResponseHeaderTimeout: 2 * time.Minute, MaxIdleConnsPerHost: 16}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := o.Spec
	state := o.StateDir
	if state == "" {
		if s.State == "" {
			return nil, errors.New("new agent runner: no state directory (set state: in the spec)")
		}
		state = resolve(o.Dir, s.State)
	}
	if err := os.MkdirAll(filepath.Join(state, approvalsDir), 0o700); err != nil {
		return nil, fmt.Errorf("new agent runner: %w", err)
	}
	r := &Runner{o: o, spec: s, self: o.Key.Address(), log: log.With("component", "agent", "agent", s.Name),
		ledger: agent.NewLedgerChain(o.Chain, o.Key), state: state, tport: o.HTTP}
	r.ledger.Owner = s.owner
	id, err := r.ledger.ChainID(ctx)
	if err != nil {
		return nil, fmt.Errorf("new agent runner: %w", err)
	}
	r.chain = id
	b := s.Budget
	slack := b.Total / 100
	if b.SaveSlack != nil {
		slack = *b.SaveSlack
	}
	r.budget, err = agent.NewBudget(agent.BudgetOptions{Path: filepath.Join(state, budgetFile), Now: o.Now, SaveSlack: slack, Policy: agent.Policy{
		Total: b.Total, PerPeriod: b.PerPeriod, Period: b.period, MaxPerCall: b.PerCall, Allow: b.allow, Expires: b.expires,
		ApproveAbove: b.ApproveAbove, Owner: ed25519.PublicKey(b.ownerPK)}})
	if err != nil {
		return nil, fmt.Errorf("new agent runner: %w", err)
	}
	r.pays, err = loadPayers(r, filepath.Join(state, channelsFile))
	if err != nil {
		return nil, fmt.Errorf("new agent runner: %w", err)
	}
	if len(s.Services) > 0 {
		accepted, err := loadEarned(filepath.Join(state, earnedFile))
		if err != nil {
			return nil, fmt.Errorf("new agent runner: %w", err)
		}
		r.wall, err = agent.NewPaywall(agent.PaywallOptions{Key: o.Key.PrivateKey(), ChainID: id, Channels: r.ledger,
			Logger: log, Height: r.height, Price: r.servicePrice, Accepted: accepted})
		if err != nil {
			return nil, fmt.Errorf("new agent runner: %w", err)
		}
	}
	r.recv, err = agent.NewReceiver(agent.ReceiverOptions{Self: r.self, Now: o.Now})
	if err != nil {
		return nil, fmt.Errorf("new agent runner: %w", err)
	}
	r.audit, err = agent.OpenAuditLog(AuditPath(state), o.Key.PrivateKey(), o.Now)
	if err != nil {
		return nil, fmt.Errorf("new agent runner: %w", err)
	}
	if _, err := r.audit.Append(agent.AuditEntry{Kind: agent.AuditStart, Detail: fmt.Sprintf("name=%s chain=%s", s.Name, id)}); err != nil {
		r.audit.Close()
		return nil, fmt.Errorf("new agent runner: %w", err)
	}
	return r, nil
}

// resolve makes p relative to dir unless it is absolute.
func resolve(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// height is the latest height, read at most once a second: the paywall
// asks for it on every voucher with an expiry.
func (r *Runner) height() uint64 {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	if time.Since(r.hAt) < time.Second {
		return r.h
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h, err := r.ledger.Height(ctx)
	if err != nil {
		return r.h
	}
	r.hAt, r.h = time.Now(), h
	return h
}

// Address is the agent's account.
func (r *Runner) Address() tx.Address { return r.self }

// Budget is the agent's budget at the signer.
func (r *Runner) Budget() *agent.Budget { return r.budget }

// StateDir is the directory of the agent's state.
func (r *Runner) StateDir() string { return r.state }

// Paywall is the payee side of the agent's services (nil without any).
func (r *Runner) Paywall() *agent.Paywall { return r.wall }

// Paid returns what the agent's vouchers paid each payee so far.
func (r *Runner) Paid() map[tx.Address]tx.Amount { return r.pays.paid() }

// Close flushes the budget and closes the audit log.
func (r *Runner) Close() error {
	return errors.Join(r.budget.Flush(), r.pays.save(), r.saveEarned(), r.audit.Close())
}

func (r *Runner) record(e agent.AuditEntry) {
	if _, err := r.audit.Append(e); err != nil {
		r.log.Error("audit log", "err", err)
	}
}

// Run starts the agent's services, triggers, redeemer and control loop
// (approvals, kill switch) and blocks until ctx ends; then it stops them,
// redeems once more and closes. The listeners are bound before Run
// returns an error for a taken address.
func (r *Runner) Run(ctx context.Context) error {
	defer r.Close()
	if err := r.register(ctx); err != nil {
		return err
	}
	var servers []*http.Server
	var lns []net.Listener
	closeAll := func() {
		for _, l := range lns {
			l.Close()
		}
	}
	muxes := map[string]*http.ServeMux{}
	order := []string{}
	for i := range r.spec.Services {
		sv := &r.spec.Services[i]
		m := muxes[sv.Listen]
		if m == nil {
			m = http.NewServeMux()
			muxes[sv.Listen] = m
			order = append(order, sv.Listen)
		}
		h := r.wall.Wrap(r.serviceHandler(sv))
		if sv.RequireSignature {
			// Outside the paywall: an unsigned call is refused before it
			// is asked to pay.
			h = r.recv.Wrap(h)
		}
		m.Handle(sv.Path, h)
	}
	for i := range r.spec.Triggers {
		if t := r.spec.Triggers[i].HTTP; t != nil {
			m := http.NewServeMux()
			m.HandleFunc("POST "+t.Path, r.handleTrigger)
			muxes[t.Listen] = m
			order = append(order, t.Listen)
		}
	}
	for _, addr := range order {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("agent %s: listen %s: %w", r.spec.Name, addr, err)
		}
		lns = append(lns, ln)
		srv := &http.Server{Handler: muxes[addr], ReadHeaderTimeout: 10 * time.Second,
			BaseContext: func(net.Listener) context.Context { return context.WithoutCancel(ctx) }}
		servers = append(servers, srv)
		r.log.Info("agent listening", "addr", ln.Addr().String())
	}
	var wg sync.WaitGroup
	for i, srv := range servers {
		wg.Go(func() { _ = srv.Serve(lns[i]) })
	}
	rctx, stop := context.WithCancel(ctx)
	wg.Go(func() { r.control(rctx) })
	if r.wall != nil {
		wg.Go(func() { r.redeemLoop(rctx) })
	}
	for i := range r.spec.Triggers {
		if d := r.spec.Triggers[i].every; d > 0 {
			wg.Go(func() { r.every(rctx, d) })
		}
	}
	<-ctx.Done()
	stop()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	for _, srv := range servers {
		_ = srv.Shutdown(sctx)
	}
	cancel()
	wg.Wait()
	if r.wall != nil {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
		r.redeem(fctx)
		cancel()
	}
	r.record(agent.AuditEntry{Kind: agent.AuditStop})
	return nil
}

// every runs the agent at each tick; a run still going when the next tick
// comes makes that tick skip.
func (r *Runner) every(ctx context.Context, d time.Duration) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		if !r.runMu.TryLock() {
			r.log.Warn("previous run still going; tick skipped")
		} else {
			r.runMu.Unlock()
			if _, err := r.RunOnce(ctx, nil); err != nil && ctx.Err() == nil {
				r.log.Warn("run failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RunResult is one run's outcome.
type RunResult struct {
	Run    uint64             `json:"run"`
	Output string             `json:"output"`
	Paid   tx.Amount          `json:"paid"`
	Steps  map[string]*Result `json:"steps"`
}

// RunOnce runs the agent's steps once with input as .Input, then its
// outputs. Runs are serialized.
func (r *Runner) RunOnce(ctx context.Context, input []byte) (RunResult, error) {
	r.runMu.Lock()
	defer r.runMu.Unlock()
	r.checkControl()
	r.mu.Lock()
	r.runs++
	n := r.runs
	r.mu.Unlock()
	r.record(agent.AuditEntry{Kind: agent.AuditRun, Run: n})
	data := &Data{Input: string(input), Steps: map[string]*Result{}, Run: n, Agent: r.self.String(), id: newRunID()}
	out, paid, err := r.steps(ctx, n, r.spec.Steps, data)
	res := RunResult{Run: n, Output: out, Paid: paid, Steps: data.Steps}
	if err == nil {
		err = r.outputs(ctx, n, data, out)
	}
	if err != nil {
		r.record(agent.AuditEntry{Kind: agent.AuditRunFailed, Run: n, Amount: paid, Detail: err.Error()})
		return res, err
	}
	r.record(agent.AuditEntry{Kind: agent.AuditRunDone, Run: n, Amount: paid})
	return res, nil
}

// handleTrigger runs the agent on a POST and answers the run's result.
func (r *Runner) handleTrigger(w http.ResponseWriter, req *http.Request) {
	body, err := readBody(req, 1<<20)
	if err != nil {
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Code: "body_too_large", Message: err.Error()})
		return
	}
	res, err := r.RunOnce(req.Context(), body)
	if err != nil {
		writeJSON(w, statusOf(err), struct {
			errorBody
			Run  uint64    `json:"run"`
			Paid tx.Amount `json:"paid"`
		}{errorBody{Code: codeOf(err), Message: err.Error()}, res.Run, res.Paid})
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// control applies the owner's approvals and the kill switch, checking
// the state directory every second.
func (r *Runner) control(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		r.checkControl()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Runner) checkControl() {
	// The KILL file is the switch; the budget keeps its state across
	// restarts, so the two are compared, not the file with its last look.
	_, err := os.Stat(KillPath(r.state))
	killed := err == nil
	if killed != r.budget.Usage().Killed {
		if err := r.budget.Kill(killed); err != nil {
			r.log.Error("kill switch", "err", err)
		}
		detail := "kill switch on: no payments"
		if !killed {
			detail = "kill switch off"
		}
		r.record(agent.AuditEntry{Kind: agent.AuditAction, Step: "kill", Detail: detail})
	}
	dir := ApprovalsDir(r.state)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		id, ok := strings.CutSuffix(e.Name(), sigSuffix)
		if !ok {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue
		}
		sig, err := hex.DecodeString(strings.TrimSpace(string(raw)))
		a, known := r.budget.Pending(id)
		if err == nil && known {
			err = r.budget.Approve(id, sig)
		} else if err == nil {
			err = agent.ErrUnknownApproval
		}
		if err != nil {
			r.log.Warn("approval refused", "id", id, "err", err)
			r.record(agent.AuditEntry{Kind: agent.AuditPaymentRefused, Step: "approve", Detail: "approval " + id + ": " + err.Error()})
		} else {
			r.record(agent.AuditEntry{Kind: agent.AuditApproved, Counterparty: a.Counterparty, Amount: a.Amount, Detail: "approval " + id})
		}
		os.Remove(filepath.Join(dir, e.Name()))
		os.Remove(filepath.Join(dir, id+pendingSuffix))
	}
}

// pendingApproval writes an approval waiting for the owner where `deai
// agent approve` finds it.
func (r *Runner) pendingApproval(run uint64, step string, a agent.Approval) {
	raw, err := json.MarshalIndent(a, "", "  ")
	if err == nil {
		err = os.WriteFile(filepath.Join(ApprovalsDir(r.state), a.ID+pendingSuffix), raw, 0o600)
	}
	if err != nil {
		r.log.Error("write pending approval", "err", err)
	}
	r.record(agent.AuditEntry{Kind: agent.AuditApprovalPending, Run: run, Step: step, Counterparty: a.Counterparty, Amount: a.Amount,
		Detail: fmt.Sprintf("approval %s until %s: deai agent approve %s", a.ID, a.Expires.UTC().Format(time.RFC3339), a.ID)})
}

// newRunID names one run (or one served call) for idempotency keys.
func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
