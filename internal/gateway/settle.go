package gateway

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/tx"
)

// Settlement defaults.
const (
	DefaultSettleInterval = 10 * time.Minute
	// MaxPayoutsPerTx bounds one settlement tx well under tx.MaxTxBytes;
	// miners beyond it are paid by the next settlement.
	MaxPayoutsPerTx = 100
	maxFeeBps       = 10_000
)

// errSettlePending: the previous settlement tx is neither committed nor
// provably dead; nothing new is paid until it is.
var errSettlePending = errors.New("previous settlement tx still pending")

// Payout is what one miner receives in a settlement.
type Payout struct {
	Miner  tx.Address `json:"miner"`
	Amount tx.Amount  `json:"amount"`
}

// payouts is what the gateway owes its miners. Each charge credits the
// answering miner with its price less the gateway fee; a settlement pays
// the difference between earned and paid in one bank tx. The store holds
// "settle_begin" (the signed tx, before broadcast) and "settle_done" or
// "settle_failed": amounts count as paid only after a tx commits, and a
// tx whose outcome a crash hid is resolved from the chain (looked up by
// hash, else broadcast again byte for byte) before anything new is paid,
// so nothing is paid twice or forgotten.
type payouts struct {
	settling sync.Mutex // serializes Settle

	mu       sync.Mutex // guards the fields below
	earned   map[tx.Address]tx.Amount
	paid     map[tx.Address]tx.Amount
	fees     tx.Amount // the gateway's cut of all charges
	settled  uint64    // committed settlement txs
	pending  *Record   // a settle_begin without its outcome
	lastHash string    // the last committed settlement tx
}

func newPayouts() *payouts {
	return &payouts{earned: map[tx.Address]tx.Amount{}, paid: map[tx.Address]tx.Amount{}}
}

// apply takes a stored or new record into account.
func (p *payouts) apply(r Record) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch r.Kind {
	case recordCharge:
		if r.Amount > 0 && r.Miner != (tx.Address{}) {
			p.earned[r.Miner] += r.Amount - r.Fee
			p.fees += r.Fee
		}
	case recordSettleBegin:
		p.pending = &r
	case recordSettleDone:
		for _, po := range r.Payouts {
			p.paid[po.Miner] += po.Amount
		}
		p.settled++
		p.lastHash = r.TxHash
		p.pending = nil
	case recordSettleFailed:
		p.pending = nil
	}
}

// due lists what each miner is owed, by address, at most MaxPayoutsPerTx.
func (p *payouts) due() []Payout {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []Payout
	for m, e := range p.earned {
		if owed := e - p.paid[m]; owed > 0 {
			out = append(out, Payout{Miner: m, Amount: owed})
		}
	}
	slices.SortFunc(out, func(a, b Payout) int { return slices.Compare(a.Miner[:], b.Miner[:]) })
	return out[:min(len(out), MaxPayoutsPerTx)]
}

// MinerDues is one miner's line in GET /v1/gateway/settlements.
type MinerDues struct {
	Miner  string    `json:"miner"`
	Earned tx.Amount `json:"earned"`
	Paid   tx.Amount `json:"paid"`
	Owed   tx.Amount `json:"owed"`
}

// Settlements is the gateway's position towards its miners.
type Settlements struct {
	FeeBps      int         `json:"fee_bps"`
	Fees        tx.Amount   `json:"fees"` // the gateway's cut so far
	Earned      tx.Amount   `json:"earned"`
	Paid        tx.Amount   `json:"paid"`
	Owed        tx.Amount   `json:"owed"`
	Settlements uint64      `json:"settlements"`
	LastTx      string      `json:"last_tx,omitempty"`
	PendingTx   string      `json:"pending_tx,omitempty"`
	Miners      []MinerDues `json:"miners"`
}

func (p *payouts) report(feeBps int) Settlements {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Settlements{FeeBps: feeBps, Fees: p.fees, Settlements: p.settled, LastTx: p.lastHash, Miners: []MinerDues{}}
	if p.pending != nil {
		s.PendingTx = p.pending.TxHash
	}
	for m, e := range p.earned {
		d := MinerDues{Miner: m.String(), Earned: e, Paid: p.paid[m], Owed: e - p.paid[m]}
		s.Earned += d.Earned
		s.Paid += d.Paid
		s.Owed += d.Owed
		s.Miners = append(s.Miners, d)
	}
	slices.SortFunc(s.Miners, func(a, b MinerDues) int { return compareStrings(a.Miner, b.Miner) })
	return s
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Settlements reports what the gateway has earned, paid and still owes.
func (g *Gateway) Settlements() Settlements { return g.payouts.report(g.o.FeeBps) }

// fee is the gateway's cut of a charge.
func (g *Gateway) fee(cost tx.Amount) tx.Amount {
	return tx.Amount(uint64(cost) * uint64(g.o.FeeBps) / maxFeeBps)
}

// Settle pays every miner what it is owed, in one signed bank tx from the
// gateway's account, and returns the payouts (none when nobody is owed).
// It first resolves a settlement a crash or a lost connection left
// pending. A tx that fails leaves the amounts owed.
func (g *Gateway) Settle(ctx context.Context) ([]Payout, error) {
	if g.o.Chain == nil {
		return nil, errors.New("settle: no chain client")
	}
	g.payouts.settling.Lock()
	defer g.payouts.settling.Unlock()
	g.payouts.mu.Lock()
	pending := g.payouts.pending
	g.payouts.mu.Unlock()
	if pending != nil {
		if err := g.resolve(ctx, pending); err != nil {
			return nil, err
		}
	}
	due := g.payouts.due()
	if len(due) == 0 {
		return nil, nil
	}
	raw, hash, nonce, err := g.buildSettlement(ctx, due)
	if err != nil {
		return nil, err
	}
	begin := Record{Kind: recordSettleBegin, TimeMs: g.o.Now().UnixMilli(), Account: g.self, TxHash: hash, Nonce: nonce,
		RawTx: hex.EncodeToString(raw), Payouts: due}
	for _, po := range due {
		begin.Amount += po.Amount
	}
	if err := g.store.Append(begin); err != nil {
		return nil, fmt.Errorf("settle: %w", err)
	}
	g.payouts.apply(begin)
	if err := g.finish(ctx, &begin, raw); err != nil {
		return nil, err
	}
	return due, nil
}

// resolve learns the outcome of a settlement tx whose end was not
// recorded: committed (looked up by hash), or broadcast again (the same
// bytes, so it can commit at most once).
func (g *Gateway) resolve(ctx context.Context, r *Record) error {
	q, err := g.o.Chain.Query(ctx, "/tx/"+r.TxHash, nil)
	if err != nil {
		return fmt.Errorf("settle: look up pending tx %s: %w", r.TxHash, err)
	}
	if q.Code == 0 {
		var rec ledger.TxRecord
		if err := json.Unmarshal(q.Value, &rec); err != nil {
			return fmt.Errorf("settle: decode tx %s: %w", r.TxHash, err)
		}
		return g.record(r, rec.Code == 0, rec.Log)
	}
	raw, err := hex.DecodeString(r.RawTx)
	if err != nil {
		return fmt.Errorf("settle: pending tx %s: %w", r.TxHash, err)
	}
	return g.finish(ctx, r, raw)
}

// finish broadcasts a begun settlement and records its outcome. An
// ambiguous error (the node unreachable, ctx ended) leaves it pending.
func (g *Gateway) finish(ctx context.Context, r *Record, raw []byte) error {
	res, err := g.o.Chain.BroadcastCommit(ctx, raw)
	if err != nil {
		return fmt.Errorf("settle: broadcast %s: %w: %w", r.TxHash, errSettlePending, err)
	}
	return g.record(r, res.Code == 0, res.Log)
}

// record appends a settlement's outcome. A committed settlement counts as
// paid even if the append fails: the restart finds it on chain.
func (g *Gateway) record(begin *Record, ok bool, log string) error {
	end := Record{Kind: recordSettleFailed, TimeMs: g.o.Now().UnixMilli(), Account: g.self, TxHash: begin.TxHash}
	if ok {
		end.Kind, end.Amount, end.Payouts = recordSettleDone, begin.Amount, begin.Payouts
	}
	g.m.settled(ok, uint64(end.Amount))
	g.payouts.apply(end)
	if err := g.store.Append(end); err != nil {
		return fmt.Errorf("settle: record %s: %w", end.Kind, err)
	}
	if !ok {
		return fmt.Errorf("settle: tx %s failed: %s", begin.TxHash, log)
	}
	return nil
}

// buildSettlement signs one tx with a bank/send per payout.
func (g *Gateway) buildSettlement(ctx context.Context, due []Payout) (raw []byte, hash string, nonce uint64, err error) {
	st, err := g.o.Chain.Status(ctx)
	if err != nil {
		return nil, "", 0, fmt.Errorf("settle: chain status: %w", err)
	}
	var params ledger.Params
	if err := g.queryJSON(ctx, "/params", &params); err != nil {
		return nil, "", 0, err
	}
	var acct struct {
		Nonce uint64 `json:"nonce"`
	}
	if err := g.queryJSON(ctx, "/account/"+g.self.String(), &acct); err != nil {
		return nil, "", 0, err
	}
	t := &tx.Tx{ChainID: st.ChainID, Nonce: acct.Nonce, Fee: params.MinFee, Memo: "deai gateway settlement", PubKey: g.o.Key.PubKey()}
	for _, po := range due {
		t.Msgs = append(t.Msgs, &tx.MsgSend{From: g.self, To: po.Miner, Amount: po.Amount})
	}
	if err := t.ValidateBasic(); err != nil {
		return nil, "", 0, fmt.Errorf("settle: build tx: %w", err)
	}
	sb, err := t.SignBytes()
	if err != nil {
		return nil, "", 0, fmt.Errorf("settle: %w", err)
	}
	t.Signature = g.o.Key.Sign(sb)
	if raw, err = t.Encode(); err != nil {
		return nil, "", 0, fmt.Errorf("settle: encode tx: %w", err)
	}
	return raw, tx.HashOf(raw).String(), acct.Nonce, nil
}

func (g *Gateway) queryJSON(ctx context.Context, path string, v any) error {
	q, err := g.o.Chain.Query(ctx, path, nil)
	if err != nil {
		return fmt.Errorf("settle: query %s: %w", path, err)
	}
	if q.Code != 0 {
		return fmt.Errorf("settle: query %s: %s (code %d)", path, q.Log, q.Code)
	}
	if err := json.Unmarshal(q.Value, v); err != nil {
		return fmt.Errorf("settle: query %s: %w", path, err)
	}
	return nil
}

// settleLoop settles every interval until ctx ends; failures are logged
// and retried at the next tick (the amounts stay owed).
func (g *Gateway) settleLoop(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		paid, err := g.Settle(ctx)
		if err != nil {
			g.log.WarnContext(ctx, "settle miners", logKeyErr, err)
			continue
		}
		if len(paid) > 0 {
			g.log.InfoContext(ctx, "settled miners", "miners", len(paid))
		}
	}
}

func (g *Gateway) handleSettlements(w http.ResponseWriter, r *http.Request) {
	if _, err := g.auth(r); err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, g.Settlements())
}
