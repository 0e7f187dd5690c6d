package gateway

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"

	"github.com/deai-network/deai/internal/tx"
)

// The x402 v2 headers of voucher-paid requests, and the hint that lowers
// a quote.
const (
	HeaderPaymentRequired  = "PAYMENT-REQUIRED"  // a 402's terms (base64 JSON)
	HeaderPaymentSignature = "PAYMENT-SIGNATURE" // the client's voucher
	HeaderPaymentResponse  = "PAYMENT-RESPONSE"  // the gateway's signed receipt (a trailer on streams)
	// HeaderPayer names the payer's address so that the quote can count
	// its credit. It is not authenticated: it can only lower a quote, and
	// a voucher that then pays too little is refused.
	HeaderPayer = "X-Deai-Payer"
)

// Payment refusal codes the gateway gives itself; a Payments
// implementation's codes (PaymentError.Code) pass through unchanged.
const (
	CodePaymentRequired     = "payment_required"     // no PAYMENT-SIGNATURE yet
	CodeInsufficientPayment = "insufficient_payment" // the voucher and the credit do not cover the hold
	CodeReplayedVoucher     = "replayed_voucher"     // the gateway already credited this voucher
)

// Payments checks the payment-channel vouchers of requests sent without
// an API key (the x402 "deai-paych" scheme) and keeps those of the
// requests that succeeded; internal/node adapts agent.Paywall to it. Its
// methods must be safe for concurrent use.
type Payments interface {
	// Required returns the PAYMENT-REQUIRED value asking price for the
	// request (method, request URI, body), with code and msg saying why.
	Required(method, requestURI string, body []byte, price tx.Amount, code, msg string) string
	// Check decodes a PAYMENT-SIGNATURE value and checks that its voucher
	// pays at least price for this request; it holds the voucher's lane
	// until Settle. A refusal is a *PaymentError.
	Check(ctx context.Context, header, method, requestURI string, body []byte, price tx.Amount) (*Voucher, error)
	// Settle ends a check: a kept voucher will be redeemed, a dropped one
	// leaves its lane where it was.
	Settle(v *Voucher, kept bool)
	// Receipt returns the PAYMENT-RESPONSE value for a kept voucher and
	// the answer's status and body hash (sha256).
	Receipt(v *Voucher, status int, bodyHash [32]byte) string
}

// Voucher is a voucher a Payments accepted for one request.
type Voucher struct {
	Payer   tx.Address // the channel's From: who is credited
	Channel string     // the channel's id, hex
	Lane    uint32
	Nonce   uint64
	Amount  tx.Amount // the lane's cumulative amount
	Delta   tx.Amount // what this voucher adds to the lane: the credit
	Encoded string    // the signed voucher, base64: kept in the store
	Claim   any       // the Payments implementation's own state
}

// PaymentError is a refused voucher: the HTTP status and a stable code.
type PaymentError struct {
	Status  int
	Code    string
	Message string
}

func (e *PaymentError) Error() string { return e.Code + ": " + e.Message }

// voucherKey names a voucher for double-credit checks.
func voucherKey(channel string, lane uint32, nonce uint64) string {
	return channel + "/" + strconv.FormatUint(uint64(lane), 10) + "/" + strconv.FormatUint(nonce, 10)
}

// KeptVouchers returns the latest kept voucher of every lane in s (the
// Encoded values of their records), for a Payments implementation to
// start from after a restart.
func KeptVouchers(s Store) ([]string, error) {
	type lane struct {
		channel string
		lane    uint32
	}
	latest := map[lane]Record{}
	var order []lane
	err := s.Replay(func(r Record) error {
		if r.Kind != recordVoucher {
			return nil
		}
		k := lane{r.Channel, r.Lane}
		old, ok := latest[k]
		if !ok {
			order = append(order, k)
		}
		if !ok || r.Nonce > old.Nonce {
			latest[k] = r
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("kept vouchers: %w", err)
	}
	out := make([]string, 0, len(order))
	for _, k := range order {
		out = append(out, latest[k].Voucher)
	}
	return out, nil
}

// Usage returns addr's account as GET /v1/usage reports it; voucher
// payers have no API key, so the operator reads theirs here.
func (g *Gateway) Usage(addr tx.Address) Usage { return g.accts.usage(addr) }

// payer returns the rate and stream state of a voucher payer.
func (a *accounts) payer(addr tx.Address) *keyState {
	a.mu.Lock()
	defer a.mu.Unlock()
	ks := a.payers[addr]
	if ks == nil {
		ks = &keyState{addr: addr, rate: a.rate, burst: a.burst, maxStreams: a.maxStreams, tokens: a.burst, last: a.now()}
		a.payers[addr] = ks
	}
	return ks
}

// quote is what a voucher must pay for a request holding hold: the hold
// less the payer's spendable credit, at least one base unit. A nil payer
// has no credit.
func (a *accounts) quote(payer *tx.Address, hold tx.Amount) tx.Amount {
	var avail tx.Amount
	if payer != nil {
		a.mu.Lock()
		if x := a.accts[*payer]; x != nil {
			avail = x.available()
		}
		a.mu.Unlock()
	}
	if hold > avail {
		return max(hold-avail, 1)
	}
	return 1
}

// reservePaid admits a voucher-paid request of ks holding hold, paid by a
// voucher adding delta under key: the voucher covers what it can and the
// account's credit the rest (fromAcct, held). The voucher is not credited
// before the request succeeds, so no other request spends it meanwhile.
func (a *accounts) reservePaid(ks *keyState, key string, hold, delta tx.Amount) (fromAcct tx.Amount, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, seen := a.vouchers[key]; seen {
		return 0, errVoucherSeen
	}
	if err := a.takeLocked(ks); err != nil {
		return 0, err
	}
	if delta < hold {
		fromAcct = hold - delta
	}
	x := a.acctLocked(ks.addr)
	if x.available() < fromAcct {
		return 0, errInsufficient
	}
	x.held += fromAcct
	a.vouchers[key] = false
	return fromAcct, nil
}

// settlePaid ends a voucher-paid request: it releases fromAcct and, when
// the voucher was kept, credits delta and spends cost (at most hold);
// otherwise nothing is credited or spent. It returns what was spent.
func (a *accounts) settlePaid(ks *keyState, key string, fromAcct, hold, delta tx.Amount, kept bool, cost tx.Amount, prompt, completion uint32) tx.Amount {
	a.mu.Lock()
	defer a.mu.Unlock()
	x := a.acctLocked(ks.addr)
	x.held -= fromAcct
	if !kept {
		delete(a.vouchers, key)
		return 0
	}
	a.vouchers[key] = true
	x.deposited += delta
	x.vouchers += delta
	cost = min(cost, hold)
	x.spent += cost
	x.requests++
	x.prompt += uint64(prompt)
	x.completion += uint64(completion)
	return cost
}

var errVoucherSeen = errors.New("voucher already credited")

// servePaid answers a request sent without an API key: a 402 quoting the
// request's hold less the payer's credit, or, with a voucher, the
// request itself, charged per token from the credit the voucher adds.
func (g *Gateway) servePaid(w http.ResponseWriter, r *http.Request, body, out []byte, req request, model *Model, price, hold tx.Amount, holdTokens uint64) {
	ctx := r.Context()
	var hint *tx.Address
	if a, err := tx.ParseAddress(r.Header.Get(HeaderPayer)); err == nil {
		hint = &a
	}
	uri := r.URL.RequestURI()
	hdr := r.Header.Get(HeaderPaymentSignature)
	if hdr == "" {
		g.requirePayment(w, r, body, g.accts.quote(hint, hold), &PaymentError{Status: http.StatusPaymentRequired, Code: CodePaymentRequired,
			Message: fmt.Sprintf("this request holds up to %s: pay with a deai-paych voucher, or send an API key", hold)})
		return
	}
	v, err := g.o.Payments.Check(ctx, hdr, r.Method, uri, body, g.accts.quote(hint, hold))
	if err != nil {
		var pe *PaymentError
		if errors.As(err, &pe) && pe.Status == http.StatusPaymentRequired {
			g.requirePayment(w, r, body, g.accts.quote(hint, hold), pe)
			return
		}
		writeError(w, err)
		return
	}
	settled := false
	defer func() {
		if !settled {
			g.o.Payments.Settle(v, false) // a panic is not paid either
		}
	}()
	ks := g.accts.payer(v.Payer)
	key := voucherKey(v.Channel, v.Lane, v.Nonce)
	fromAcct, err := g.accts.reservePaid(ks, key, hold, v.Delta)
	if err != nil {
		g.o.Payments.Settle(v, false)
		settled = true
		g.m.voucher(false, uint64(v.Delta))
		switch {
		case errors.Is(err, errInsufficient):
			// Another request of this payer used the credit meanwhile, or
			// the hint named someone else.
			g.requirePayment(w, r, body, g.accts.quote(&v.Payer, hold), &PaymentError{Status: http.StatusPaymentRequired, Code: CodeInsufficientPayment,
				Message: fmt.Sprintf("the voucher adds %s and the credit does not cover the rest of the %s hold: pay again", v.Delta, hold)})
		case errors.Is(err, errVoucherSeen):
			g.requirePayment(w, r, body, g.accts.quote(&v.Payer, hold), &PaymentError{Status: http.StatusPaymentRequired, Code: CodeReplayedVoucher,
				Message: "this voucher was already credited"})
		default:
			writeError(w, err)
		}
		return
	}
	if req.Stream {
		if err := g.accts.openStream(ks); err != nil {
			g.accts.settlePaid(ks, key, fromAcct, hold, v.Delta, false, 0, 0, 0)
			writeError(w, err)
			return
		}
		defer g.accts.closeStream(ks)
	}

	// The receipt signs the exact body the client gets: a plain answer is
	// buffered, a stream hashed as it goes out and receipted in a trailer.
	var res result
	var rec *recorder
	var hw *hashWriter
	if req.Stream {
		hw = &hashWriter{ResponseWriter: w, h: sha256.New()}
		w.Header().Set("Trailer", HeaderPaymentResponse)
		res = g.forward(hw, r, model, r.URL.Path, out, true)
	} else {
		rec = &recorder{header: http.Header{}, status: http.StatusOK}
		res = g.forward(rec, r, model, r.URL.Path, out, false)
	}
	g.o.Payments.Settle(v, res.ok)
	settled = true
	g.m.voucher(res.ok, uint64(v.Delta))
	var cost tx.Amount
	if res.ok {
		g.m.answered(model.ID, res.receipt.PromptTokens, res.receipt.CompletionTokens)
		cost = price * tx.Amount(res.receipt.PromptTokens+res.receipt.CompletionTokens)
		if err := g.store.Append(Record{Kind: recordVoucher, TimeMs: g.o.Now().UnixMilli(), Account: v.Payer, Amount: v.Delta,
			Channel: v.Channel, Lane: v.Lane, Nonce: v.Nonce, Cumulative: v.Amount, Voucher: v.Encoded}); err != nil {
			g.log.ErrorContext(ctx, "store voucher", logKeyErr, err)
		}
	}
	cost = g.accts.settlePaid(ks, key, fromAcct, hold, v.Delta, res.ok, cost, res.receipt.PromptTokens, res.receipt.CompletionTokens)
	g.log.DebugContext(ctx, "settled paid", logKeyModel, model.ID, logKeyMiner, res.miner.Hotkey.String(), "ok", res.ok,
		"prompt_tokens", res.receipt.PromptTokens, "completion_tokens", res.receipt.CompletionTokens, "cost", uint64(cost), "credit", uint64(v.Delta))
	g.recordCharge(ctx, ks, model, res, cost)
	if req.Stream {
		if len(res.tail) > 0 {
			hw.Write(res.tail) //nolint:errcheck // the client may have gone
		}
		if res.ok {
			var sum [32]byte
			hw.h.Sum(sum[:0])
			w.Header().Set(HeaderPaymentResponse, g.o.Payments.Receipt(v, http.StatusOK, sum))
		}
		return
	}
	h := w.Header()
	for k, vs := range rec.header {
		h[k] = vs
	}
	if res.ok {
		h.Set(HeaderPaymentResponse, g.o.Payments.Receipt(v, rec.status, sha256.Sum256(rec.body.Bytes())))
	}
	h.Set("Content-Length", strconv.Itoa(rec.body.Len()))
	w.WriteHeader(rec.status)
	w.Write(rec.body.Bytes()) //nolint:errcheck // the client may have gone
}

// requirePayment answers 402 with the terms in PAYMENT-REQUIRED and the
// reason as an OpenAI error.
func (g *Gateway) requirePayment(w http.ResponseWriter, r *http.Request, body []byte, price tx.Amount, pe *PaymentError) {
	w.Header().Set(HeaderPaymentRequired, g.o.Payments.Required(r.Method, r.URL.RequestURI(), body, price, pe.Code, pe.Message))
	writeError(w, pe)
}

// recorder buffers a plain answer until its receipt is signed.
type recorder struct {
	header http.Header
	body   bytes.Buffer
	status int
	wrote  bool
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(s int) {
	if !r.wrote {
		r.status, r.wrote = s, true
	}
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	return r.body.Write(b)
}

// hashWriter passes a stream to the client and hashes what it sends.
type hashWriter struct {
	http.ResponseWriter
	h hash.Hash
}

func (w *hashWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.h.Write(b[:n])
	return n, err
}

// Unwrap lets http.ResponseController flush the underlying writer.
func (w *hashWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
