package runner

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/deai-network/deai/internal/agent"
	lagents "github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

// Data is what step templates see.
type Data struct {
	Input  string             // the trigger's or the request's body
	Steps  map[string]*Result // earlier steps by id
	Run    uint64
	Agent  string // the agent's address
	Caller string // in a service's steps: who called (the signed sender, else the payer)

	id string // unique per run: the idempotency keys of its calls
}

// Result is one step's outcome.
type Result struct {
	Text   string    `json:"text"`
	JSON   any       `json:"json,omitempty"` // Text parsed, when it is JSON
	Paid   tx.Amount `json:"paid,omitempty"` // vouchers kept by the payee
	Spent  tx.Amount `json:"spent,omitempty"`
	Tx     string    `json:"tx,omitempty"`
	Status int       `json:"status,omitempty"`
}

func newResult(text string) *Result {
	res := &Result{Text: text}
	var v any
	if json.Valid([]byte(text)) && json.Unmarshal([]byte(text), &v) == nil {
		res.JSON = v
	}
	return res
}

// Step errors the HTTP trigger and services map to statuses.
var (
	ErrStep     = errors.New("step failed")
	ErrNoLeaser = errors.New("this agent has no lease client")
)

// StepError is a failed step.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string   { return fmt.Sprintf("step %s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() []error { return []error{ErrStep, e.Err} }

// steps runs steps in order; the output is the last step's text.
func (r *Runner) steps(ctx context.Context, run uint64, steps []StepSpec, d *Data) (string, tx.Amount, error) {
	var out string
	var paid tx.Amount
	for i := range steps {
		st := &steps[i]
		res, err := r.step(ctx, run, st, d)
		if res != nil {
			d.Steps[st.ID] = res
			paid += res.Paid
			out = res.Text
		}
		if err != nil {
			return out, paid, &StepError{Step: st.ID, Err: err}
		}
	}
	return out, paid, nil
}

func (r *Runner) step(ctx context.Context, run uint64, st *StepSpec, d *Data) (*Result, error) {
	switch {
	case st.Call != nil:
		return r.call(ctx, run, st.ID, st.Call, d)
	case st.Model != nil:
		return r.model(ctx, run, st.ID, st.Model, d)
	case st.HTTP != nil:
		return r.fetch(ctx, st.ID, st.HTTP, d)
	case st.Read != nil:
		b, err := os.ReadFile(resolve(r.o.Dir, st.Read.File))
		if err != nil {
			return nil, err
		}
		return newResult(string(b)), nil
	case st.Value != nil:
		v, err := render(st.ID, *st.Value, d)
		if err != nil {
			return nil, err
		}
		return newResult(v), nil
	case st.Transfer != nil:
		t := st.Transfer
		var msg tx.Msg = &tx.MsgSend{From: r.self, To: t.to, Amount: t.Amount}
		if !r.spec.owner.IsZero() {
			msg = &lagents.MsgSpend{Owner: r.spec.owner, Agent: r.self, To: t.to, Amount: t.Amount}
		}
		return r.onChain(ctx, run, st.ID, t.to, t.Amount, "transfer", msg)
	case st.Stake != nil:
		s := st.Stake
		return r.onChain(ctx, run, st.ID, s.hotkey, s.Amount, fmt.Sprintf("stake on subnet %d", s.Netuid),
			&subnet.MsgAddStake{Staker: r.self, Hotkey: s.hotkey, Netuid: s.Netuid, Amount: s.Amount})
	case st.Lease != nil:
		return r.lease(ctx, run, st.ID, st.Lease)
	}
	return nil, errors.New("empty step")
}

// reserve reserves amount for cp in the budget, recording a refusal (and
// a pending approval) in the audit log.
func (r *Runner) reserve(ctx context.Context, run uint64, step string, cp tx.Address, amount tx.Amount) (*agent.Reservation, error) {
	res, err := r.budget.Reserve(ctx, cp, amount)
	if err != nil {
		r.refused(run, step, cp, amount, err)
	}
	return res, err
}

// refused records a payment the budget or the payee refused.
func (r *Runner) refused(run uint64, step string, cp tx.Address, amount tx.Amount, err error) {
	var ae *agent.ApprovalError
	if errors.As(err, &ae) {
		r.pendingApproval(run, step, ae.Approval)
		return
	}
	r.record(agent.AuditEntry{Kind: agent.AuditPaymentRefused, Run: run, Step: step, Counterparty: cp, Amount: amount, Detail: err.Error()})
}

// onChain reserves amount, sends msg and commits the reservation once
// the tx is in a block.
func (r *Runner) onChain(ctx context.Context, run uint64, step string, cp tx.Address, amount tx.Amount, what string, msg tx.Msg) (*Result, error) {
	res, err := r.reserve(ctx, run, step, cp, amount)
	if err != nil {
		return nil, err
	}
	tr, err := r.ledger.Send(ctx, msg)
	if err != nil {
		res.Release()
		r.record(agent.AuditEntry{Kind: agent.AuditPaymentRefused, Run: run, Step: step, Counterparty: cp, Amount: amount, Detail: what + ": " + err.Error()})
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	hash := strings.ToUpper(hex.EncodeToString(tr.Hash))
	if err := res.Commit(amount); err != nil {
		return nil, err
	}
	r.record(agent.AuditEntry{Kind: agent.AuditAction, Run: run, Step: step, Counterparty: cp, Amount: amount, TxHash: hash, Detail: what})
	out := newResult(fmt.Sprintf(`{"tx":%q,"height":%d}`, hash, tr.Height))
	out.Spent, out.Tx = amount, hash
	return out, nil
}

func (r *Runner) lease(ctx context.Context, run uint64, step string, l *LeaseStep) (*Result, error) {
	if r.o.Leaser == nil {
		return nil, ErrNoLeaser
	}
	sdl, err := os.ReadFile(resolve(r.o.Dir, l.SDL))
	if err != nil {
		return nil, err
	}
	// The deposit goes to the market's escrow: the budget's "escrow"
	// counterparty.
	res, err := r.reserve(ctx, run, step, tx.Address{}, l.Deposit)
	if err != nil {
		return nil, err
	}
	lr, err := r.o.Leaser.Lease(ctx, LeaseRequest{SDL: sdl, Deposit: l.Deposit, MaxPrice: l.MaxPrice, BidWait: l.bidWait})
	if err != nil {
		res.Release()
		r.record(agent.AuditEntry{Kind: agent.AuditPaymentRefused, Run: run, Step: step, Amount: l.Deposit, Detail: "lease: " + err.Error()})
		return nil, fmt.Errorf("lease: %w", err)
	}
	if err := res.Commit(l.Deposit); err != nil {
		return nil, err
	}
	r.record(agent.AuditEntry{Kind: agent.AuditAction, Run: run, Step: step, Counterparty: lr.Provider, Amount: l.Deposit,
		Detail: fmt.Sprintf("lease %s at %s per block", lr.Lease, lr.Price)})
	raw, _ := json.Marshal(lr)
	out := newResult(string(raw))
	out.Spent = l.Deposit
	return out, nil
}

// target is where a paid call goes.
type target struct {
	url      string
	payee    tx.Address
	maxPrice tx.Amount
}

// lookup resolves a registry name to its endpoint, payee and price.
func (r *Runner) lookup(ctx context.Context, name string) (target, error) {
	var s lagents.Service
	if err := r.ledger.Query(ctx, "/agents/service/"+name, &s); err != nil {
		if agent.IsNotFound(err) {
			return target{}, fmt.Errorf("service %q is not in the registry (or expired)", name)
		}
		return target{}, err
	}
	if h := r.height(); h > s.Expiry {
		return target{}, fmt.Errorf("service %q expired at height %d", name, s.Expiry)
	}
	return target{url: s.Endpoint, payee: s.Owner, maxPrice: s.Price}, nil
}

func (r *Runner) call(ctx context.Context, run uint64, step string, c *CallStep, d *Data) (*Result, error) {
	t := target{url: c.URL, payee: c.payee}
	if c.Service != "" {
		var err error
		if t, err = r.lookup(ctx, c.Service); err != nil {
			return nil, err
		}
	}
	if !c.MaxPrice.IsZero() {
		t.maxPrice = c.MaxPrice
	}
	body, err := render(step+".body", c.Body, d)
	if err != nil {
		return nil, err
	}
	var out *Result
	paid, err := r.paid(ctx, run, step, t, true, func(hc *http.Client) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, c.Method, t.url, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		if json.Valid([]byte(body)) {
			req.Header.Set("Content-Type", "application/json")
		}
		// The call is signed as an agent message (agent.Signer below the
		// paying client); a retry within this run is the same operation.
		req.Header.Set(agent.HeaderIdempotencyKey, d.id+"/"+step)
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		resp.Body.Close()
		if err != nil {
			return resp, err
		}
		out = newResult(string(b))
		out.Status = resp.StatusCode
		if resp.StatusCode >= 300 {
			return resp, fmt.Errorf("%s answered %d: %s", t.url, resp.StatusCode, truncate(b, 300))
		}
		return resp, nil
	})
	if out != nil {
		out.Paid = paid
	}
	return out, err
}

// paid makes one paid exchange with t through a client that pays its
// 402s from the payee's channel (opened or topped up as needed) and
// records the payment from the answer's receipt. do returns the answer
// (its headers are read here) or the error.
func (r *Runner) paid(ctx context.Context, run uint64, step string, t target, sign bool, do func(*http.Client) (*http.Response, error)) (tx.Amount, error) {
	var paid tx.Amount
	for attempt := 0; ; attempt++ {
		pe, err := r.pays.get(ctx, t.payee)
		if err != nil {
			r.record(agent.AuditEntry{Kind: agent.AuditPaymentRefused, Run: run, Step: step, Counterparty: t.payee, Detail: err.Error()})
			return 0, err
		}
		base := r.tport
		if sign {
			base = &agent.Signer{Key: r.o.Key.PrivateKey(), To: t.payee, Base: base}
		}
		hc := &http.Client{Transport: &agent.Client{Payer: pe.payer, MaxPrice: t.maxPrice, Base: base, PayUpFront: true}}
		resp, err := do(hc)
		if resp != nil {
			if rc, derr := agent.DecodePaymentReceipt(receiptHeader(resp)); derr == nil && rc.Success && rc.Paid > 0 {
				paid += rc.Paid
				r.record(agent.AuditEntry{Kind: agent.AuditPayment, Run: run, Step: step, Counterparty: t.payee, Amount: rc.Paid,
					Channel: rc.Channel.String(), Lane: rc.Lane, Nonce: rc.Nonce, Detail: t.url})
				if serr := r.pays.save(); serr != nil {
					r.log.Error("save channels", "err", serr)
				}
			}
		}
		if err == nil {
			return paid, nil
		}
		if errors.Is(err, agent.ErrChannelExhausted) && attempt == 0 {
			if terr := r.pays.topUp(ctx, pe); terr != nil {
				r.record(agent.AuditEntry{Kind: agent.AuditPaymentRefused, Run: run, Step: step, Counterparty: t.payee, Detail: terr.Error()})
				return paid, errors.Join(err, terr)
			}
			continue
		}
		if paid == 0 {
			r.refused(run, step, t.payee, 0, err)
		}
		return paid, err
	}
}

// receiptHeader finds the payee's receipt in the headers or, after a
// streamed body, the trailers.
func receiptHeader(resp *http.Response) string {
	if h := resp.Header.Get(agent.HeaderPaymentResponse); h != "" {
		return h
	}
	return resp.Trailer.Get(agent.HeaderPaymentResponse)
}

func truncate(b []byte, n int) string {
	s := strings.TrimSpace(string(b))
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// model asks a model through a gateway with the official OpenAI SDK,
// paying with vouchers (or a prepaid API key).
func (r *Runner) model(ctx context.Context, run uint64, step string, m *ModelStep, d *Data) (*Result, error) {
	t := target{url: m.Gateway, payee: m.payee, maxPrice: m.MaxPrice}
	if m.Service != "" {
		rt, err := r.lookup(ctx, m.Service)
		if err != nil {
			return nil, err
		}
		t.url, t.payee = rt.url, rt.payee
		if t.maxPrice.IsZero() {
			t.maxPrice = rt.maxPrice
		}
	}
	prompt, err := render(step+".prompt", m.Prompt, d)
	if err != nil {
		return nil, err
	}
	system, err := render(step+".system", m.System, d)
	if err != nil {
		return nil, err
	}
	params := openai.ChatCompletionNewParams{Model: m.Model, MaxTokens: openai.Int(m.MaxTokens)}
	if system != "" {
		params.Messages = append(params.Messages, openai.SystemMessage(system))
	}
	params.Messages = append(params.Messages, openai.UserMessage(prompt))
	if m.Seed != nil {
		params.Seed = openai.Int(*m.Seed)
	}
	if m.Temp != nil {
		params.Temperature = openai.Float(*m.Temp)
	}
	ask := func(hc *http.Client) (*http.Response, *openai.ChatCompletion, error) {
		opts := []option.RequestOption{option.WithBaseURL(t.url), option.WithMaxRetries(0),
			option.WithHeader("X-Deai-Payer", r.self.String())}
		if m.APIKeyEnv != "" {
			opts = append(opts, option.WithHTTPClient(hc), option.WithAPIKey(os.Getenv(m.APIKeyEnv)))
		} else {
			// Paid with vouchers: no key leaves the agent, not even one
			// the SDK found in OPENAI_API_KEY.
			opts = append(opts, option.WithHTTPClient(&http.Client{Transport: noAuth{hc.Transport}}))
		}
		var raw *http.Response
		opts = append(opts, option.WithResponseInto(&raw))
		client := openai.NewClient(opts...)
		cc, err := client.Chat.Completions.New(ctx, params)
		return raw, cc, err
	}
	var cc *openai.ChatCompletion
	var paid tx.Amount
	if t.payee.IsZero() {
		_, cc, err = ask(&http.Client{Transport: r.tport})
	} else {
		paid, err = r.paid(ctx, run, step, t, false, func(hc *http.Client) (*http.Response, error) {
			raw, c, err := ask(hc)
			cc = c
			return raw, err
		})
	}
	if err != nil {
		return nil, err
	}
	if len(cc.Choices) == 0 {
		return nil, errors.New("the gateway answered no choices")
	}
	res := newResult(cc.Choices[0].Message.Content)
	res.Paid = paid
	return res, nil
}

// fetch is an unpaid HTTP request.
func (r *Runner) fetch(ctx context.Context, step string, h *HTTPStep, d *Data) (*Result, error) {
	body, err := render(step+".body", h.Body, d)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, h.Method, h.URL, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	resp, err := (&http.Client{Transport: r.tport}).Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 300 {
		return nil, fmt.Errorf("%s answered %d: %s", h.URL, resp.StatusCode, truncate(b, 300))
	}
	res := newResult(string(b))
	res.Status = resp.StatusCode
	return res, nil
}

// outputs writes a successful run's result.
func (r *Runner) outputs(ctx context.Context, run uint64, d *Data, last string) error {
	for i, o := range r.spec.Outputs {
		v := last
		if o.Value != "" {
			var err error
			if v, err = render(fmt.Sprintf("outputs[%d]", i), o.Value, d); err != nil {
				return err
			}
		}
		line := strings.TrimRight(v, "\n") + "\n"
		var err error
		dest := o.File
		if o.File != "" {
			path := resolve(r.o.Dir, o.File)
			if err = os.MkdirAll(filepath.Dir(path), 0o755); err == nil {
				var f *os.File
				if f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644); err == nil {
					_, err = f.WriteString(line)
					err = errors.Join(err, f.Close())
				}
			}
		} else {
			dest = o.HTTP
			var req *http.Request
			if req, err = http.NewRequestWithContext(ctx, http.MethodPost, o.HTTP, strings.NewReader(v)); err == nil {
				var resp *http.Response
				if resp, err = (&http.Client{Transport: r.tport}).Do(req); err == nil {
					io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
					resp.Body.Close()
					if resp.StatusCode >= 300 {
						err = fmt.Errorf("%s answered %d", o.HTTP, resp.StatusCode)
					}
				}
			}
		}
		if err != nil {
			return fmt.Errorf("output %d (%s): %w", i, dest, err)
		}
		r.record(agent.AuditEntry{Kind: agent.AuditOutput, Run: run, Detail: fmt.Sprintf("%s (%d bytes)", dest, len(v))})
	}
	return nil
}

type errorBody struct {
	Code    string `json:"error"`
	Message string `json:"message"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func readBody(req *http.Request, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(req.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("request body over %d bytes", limit)
	}
	return b, nil
}

// statusOf maps a run's error to the HTTP status of a trigger or service
// answer: a budget refusal is 402 (the caller may approve or top up), an
// approval wait 403; everything else failed upstream (502), so a paid
// service call is not charged.
func statusOf(err error) int {
	switch {
	case errors.Is(err, agent.ErrApprovalRequired):
		return http.StatusForbidden
	case isBudget(err):
		return http.StatusPaymentRequired
	}
	return http.StatusBadGateway
}

func codeOf(err error) string {
	switch {
	case errors.Is(err, agent.ErrApprovalRequired):
		return "approval_required"
	case isBudget(err):
		return "budget_exceeded"
	}
	return "step_failed"
}

func isBudget(err error) bool {
	for _, e := range []error{agent.ErrBudgetExceeded, agent.ErrCapExceeded, agent.ErrPerCallExceeded, agent.ErrCounterpartyCap,
		agent.ErrNotAllowed, agent.ErrBudgetExpired, agent.ErrKilled} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// jsonOrText sets a service answer's content type.
func contentType(b []byte) string {
	if json.Valid(bytes.TrimSpace(b)) {
		return "application/json"
	}
	return "text/plain; charset=utf-8"
}

// noAuth drops the Authorization header of every request.
type noAuth struct{ base http.RoundTripper }

func (n noAuth) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" {
		req = req.Clone(req.Context())
		req.Header.Del("Authorization")
	}
	return n.base.RoundTrip(req)
}
