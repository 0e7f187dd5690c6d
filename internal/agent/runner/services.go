package runner

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/agent"
	lagents "github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

// DefaultChannelDeposit is a new channel's deposit when the spec names
// none.
const DefaultChannelDeposit = tx.Amount(tx.UnitsPerDEAI)

// DefaultRegisterBlocks is a registry record's lifetime when the spec
// names none.
const DefaultRegisterBlocks = 100_000

// servicePrice is the paywall's price of a request: its service's.
func (r *Runner) servicePrice(req *http.Request) tx.Amount {
	for i := range r.spec.Services {
		sv := &r.spec.Services[i]
		if req.URL.Path == sv.Path && req.Host != "" && sameListen(req, sv.Listen) {
			return sv.Price
		}
	}
	// A path no service serves: the mux answers 404 for free.
	return 0
}

// sameListen reports whether req arrived on the service's listener (two
// services may share a path on different listeners).
func sameListen(req *http.Request, listen string) bool {
	la, ok := req.Context().Value(http.LocalAddrContextKey).(interface{ String() string })
	if !ok {
		return true
	}
	_, port, _ := splitPort(listen)
	_, lport, _ := splitPort(la.String())
	return port == lport
}

func splitPort(hp string) (string, string, bool) {
	for i := len(hp) - 1; i >= 0; i-- {
		if hp[i] == ':' {
			return hp[:i], hp[i+1:], true
		}
	}
	return hp, "", false
}

// serviceHandler runs a service's steps for each paid request: the body
// is .Input and the last step's text the answer. A failed step answers
// 502 and the paywall drops the voucher, so the caller pays nothing.
func (r *Runner) serviceHandler(sv *ServiceSpec) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := readBody(req, 1<<20)
		if err != nil {
			writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Code: "body_too_large", Message: err.Error()})
			return
		}
		r.mu.Lock()
		r.runs++
		n := r.runs
		r.mu.Unlock()
		var payer tx.Address
		if v, derr := agent.DecodePaymentSignature(req.Header.Get(agent.HeaderPaymentSignature)); derr == nil {
			payer = v.Signer()
		}
		caller := payer
		if from, ok := agent.SenderFrom(req.Context()); ok {
			caller = from
		}
		d := &Data{Input: string(body), Steps: map[string]*Result{}, Run: n, Agent: r.self.String(), Caller: caller.String(), id: newRunID()}
		out, paid, err := r.steps(req.Context(), n, sv.Steps, d)
		if err != nil {
			r.record(agent.AuditEntry{Kind: agent.AuditRunFailed, Run: n, Step: sv.Name, Counterparty: payer, Amount: paid,
				Detail: "service call failed, not charged: " + err.Error()})
			writeJSON(w, http.StatusBadGateway, errorBody{Code: codeOf(err), Message: err.Error()})
			return
		}
		r.record(agent.AuditEntry{Kind: agent.AuditEarned, Run: n, Step: sv.Name, Counterparty: payer, Amount: sv.Price,
			Detail: fmt.Sprintf("served %s (spent %s on it)", sv.Path, paid)})
		w.Header().Set("Content-Type", contentType([]byte(out)))
		w.WriteHeader(http.StatusOK)
		w.Write([]byte(out))
	})
}

// register puts every service with a register: block in the on-chain
// registry, or updates its record when it differs.
func (r *Runner) register(ctx context.Context) error {
	for i := range r.spec.Services {
		sv := &r.spec.Services[i]
		if sv.Register == nil {
			continue
		}
		rg := sv.Register
		// The ledger keeps capabilities sorted, each once.
		caps := slices.Compact(slices.Sorted(slices.Values(rg.Capabilities)))
		spec := lagents.ServiceSpec{Description: rg.Description, Endpoint: rg.Endpoint, Price: sv.Price, Capabilities: caps}
		raw, err := os.ReadFile(resolve(r.o.Dir, rg.Schema))
		if err != nil {
			return fmt.Errorf("register %s: schema: %w", sv.Name, err)
		}
		spec.SchemaDigest = sha256.Sum256(raw)
		blocks := rg.Blocks
		if blocks == 0 {
			blocks = DefaultRegisterBlocks
		}
		var cur lagents.Service
		err = r.ledger.Query(ctx, "/agents/service/"+sv.Name, &cur)
		var msg tx.Msg
		switch {
		case agent.IsNotFound(err):
			msg = &lagents.MsgRegisterService{Owner: r.self, Name: sv.Name, ServiceSpec: spec, Expiry: r.height() + blocks}
		case err != nil:
			return fmt.Errorf("register %s: %w", sv.Name, err)
		case cur.Owner != r.self:
			return fmt.Errorf("register %s: the name belongs to %s", sv.Name, cur.Owner)
		case sameSpec(cur.ServiceSpec, spec):
			continue
		default:
			msg = &lagents.MsgUpdateService{Owner: r.self, Name: sv.Name, ServiceSpec: spec}
		}
		tr, err := r.ledger.Send(ctx, msg)
		if err != nil {
			return fmt.Errorf("register %s: %w", sv.Name, err)
		}
		r.record(agent.AuditEntry{Kind: agent.AuditAction, Step: "register", TxHash: fmt.Sprintf("%X", tr.Hash),
			Detail: fmt.Sprintf("service %s at %s for %s per call", sv.Name, rg.Endpoint, sv.Price)})
	}
	return nil
}

func sameSpec(a, b lagents.ServiceSpec) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// redeemLoop redeems the vouchers the services earned every
// RedeemInterval.
func (r *Runner) redeemLoop(ctx context.Context) {
	t := time.NewTicker(r.spec.redeemIv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.redeem(ctx)
		}
	}
}

// redeem submits the latest unredeemed voucher of every lane.
func (r *Runner) redeem(ctx context.Context) {
	vs := r.wall.Unredeemed()
	if len(vs) == 0 {
		return
	}
	red := &agent.Redeemer{Paywall: r.wall, Chain: r.ledger, Logger: r.log}
	n, err := red.RedeemOnce(ctx)
	if n > 0 {
		r.record(agent.AuditEntry{Kind: agent.AuditRedeemed, Detail: fmt.Sprintf("%d of %d vouchers redeemed", n, len(vs))})
	}
	if err != nil {
		r.log.Warn("redeem", "err", err)
	}
	if err := r.saveEarned(); err != nil {
		r.log.Error("save earned vouchers", "err", err)
	}
}

// saveEarned keeps the paywall's accepted vouchers for the next start.
func (r *Runner) saveEarned() error {
	if r.wall == nil {
		return nil
	}
	raw, err := json.Marshal(r.wall.Accepted())
	if err != nil {
		return err
	}
	return agent.WriteFileAtomic(filepath.Join(r.state, earnedFile), raw)
}

func loadEarned(path string) ([]paych.SignedVoucher, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var vs []paych.SignedVoucher
	if err := json.Unmarshal(raw, &vs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return vs, nil
}

// payers holds one channel (and Payer) per payee, opened on the first
// payment and kept in channels.json with each lane's accepted position.
type payers struct {
	r    *Runner
	path string

	mu    sync.Mutex // guards m and saved, and opening channels
	m     map[tx.Address]*payerEntry
	saved map[tx.Address]savedChannel
}

type payerEntry struct {
	payee   tx.Address
	channel paych.ChannelID
	deposit tx.Amount
	payer   *agent.Payer
}

// savedChannel is a channel as channels.json keeps it.
type savedChannel struct {
	Channel paych.ChannelID `json:"channel"`
	Deposit tx.Amount       `json:"deposit"`
	Lanes   []paych.Lane    `json:"lanes"`
}

func loadPayers(r *Runner, path string) (*payers, error) {
	p := &payers{r: r, path: path, m: map[tx.Address]*payerEntry{}, saved: map[tx.Address]savedChannel{}}
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return p, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &p.saved); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

func (p *payers) lanes() int {
	if n := p.r.spec.Channels.Lanes; n > 0 {
		return n
	}
	return agent.DefaultLanes
}

// get returns the payee's payer, resuming a saved channel, adopting an
// open one found on chain or opening one.
func (p *payers) get(ctx context.Context, payee tx.Address) (*payerEntry, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pe := p.m[payee]; pe != nil {
		return pe, nil
	}
	r := p.r
	var ch paych.Channel
	var start []paych.Lane
	if sc, ok := p.saved[payee]; ok {
		c, err := r.ledger.Channel(ctx, sc.Channel)
		if err == nil && c.State == paych.ChannelOpen {
			ch, start = c, sc.Lanes
		}
	}
	if ch.ID.IsZero() {
		var open []paych.Channel
		if err := r.ledger.Query(ctx, "/paych/channels/from/"+r.self.String()+"?state=open", &open); err != nil && !agent.IsNotFound(err) {
			return nil, fmt.Errorf("channels of %s: %w", r.self, err)
		}
		for _, c := range open {
			if c.To == payee && c.State == paych.ChannelOpen && (ch.ID.IsZero() || c.Balance > ch.Balance) {
				ch = c
			}
		}
		if !ch.ID.IsZero() {
			// The payee's positions are at least the ledger's.
			var ls []paych.Lane
			if err := r.ledger.Query(ctx, "/paych/lanes/"+ch.ID.String(), &ls); err != nil && !agent.IsNotFound(err) {
				return nil, fmt.Errorf("lanes of channel %s: %w", ch.ID, err)
			}
			start = ls
		}
	}
	if ch.ID.IsZero() {
		dep := r.spec.Channels.Deposit
		if dep.IsZero() {
			dep = DefaultChannelDeposit
		}
		var params paych.Params
		if err := r.ledger.Query(ctx, "/paych/params", &params); err != nil {
			return nil, err
		}
		delay := max(r.spec.Channels.SettleDelay, params.MinSettleDelay)
		c, err := r.ledger.OpenChannel(ctx, payee, dep, delay)
		if err != nil {
			return nil, err
		}
		ch = c
		r.record(agent.AuditEntry{Kind: agent.AuditAction, Step: "open_channel", Counterparty: payee, Amount: dep, Channel: c.ID.String(),
			Detail: fmt.Sprintf("payment channel opened, settle delay %d blocks", delay)})
	}
	n := p.lanes()
	var use []paych.Lane
	for _, l := range start {
		if int(l.Lane) < n {
			use = append(use, l)
		}
	}
	pay, err := agent.NewPayer(agent.PayerOptions{Key: r.o.Key.PrivateKey(), ChainID: r.chain, Channel: ch.ID, Payee: payee,
		Deposit: ch.Balance, Lanes: n, Start: use, Budget: r.budget})
	if err != nil {
		return nil, err
	}
	pe := &payerEntry{payee: payee, channel: ch.ID, deposit: ch.Balance, payer: pay}
	p.m[payee] = pe
	return pe, nil
}

// topUp adds the spec's deposit to an exhausted channel.
func (p *payers) topUp(ctx context.Context, pe *payerEntry) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.r
	dep := r.spec.Channels.Deposit
	if dep.IsZero() {
		dep = DefaultChannelDeposit
	}
	if err := r.ledger.TopUp(ctx, pe.channel, dep); err != nil {
		return err
	}
	c, err := r.ledger.Channel(ctx, pe.channel)
	if err != nil {
		return err
	}
	pe.deposit = c.Balance
	pe.payer.TopUp(c.Balance)
	r.record(agent.AuditEntry{Kind: agent.AuditAction, Step: "top_up", Counterparty: pe.payee, Amount: dep, Channel: pe.channel.String(),
		Detail: fmt.Sprintf("channel balance now %s", c.Balance)})
	return nil
}

// paid is what each payee kept so far.
func (p *payers) paid() map[tx.Address]tx.Amount {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[tx.Address]tx.Amount{}
	for a, pe := range p.m {
		out[a] = pe.payer.Paid()
	}
	return out
}

// save writes every channel's lanes.
func (p *payers) save() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for a, pe := range p.m {
		p.saved[a] = savedChannel{Channel: pe.channel, Deposit: pe.deposit, Lanes: pe.payer.Lanes()}
	}
	raw, err := json.MarshalIndent(p.saved, "", "  ")
	if err != nil {
		return err
	}
	return agent.WriteFileAtomic(p.path, raw)
}
