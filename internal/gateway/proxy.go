package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wire"
)

// request is the part of an OpenAI request body the gateway reads; the
// rest passes through to the miner untouched.
type request struct {
	Model               string   `json:"model"`
	Stream              bool     `json:"stream"`
	MaxTokens           *int64   `json:"max_tokens"`
	MaxCompletionTokens *int64   `json:"max_completion_tokens"`
	Temperature         *float64 `json:"temperature"`
	Seed                *int64   `json:"seed"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n')) //nolint:errcheck // the client may have gone
}

// decode parses and checks the body, and returns the body to send to
// miners: normalized (keys sorted by encoding/json), without "model" (a
// miner serves one model), and asking streams for usage so that the
// receipt counts tokens.
func decode(body []byte) (request, []byte, error) {
	var req request
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return req, nil, newAPIError(http.StatusBadRequest, "invalid_request_error", "invalid_json", "the body is not a JSON object")
	}
	if err := json.Unmarshal(body, &req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return req, nil, paramError(te.Field, fmt.Sprintf("%s has the wrong type", te.Field))
		}
		return req, nil, newAPIError(http.StatusBadRequest, "invalid_request_error", "invalid_json", "the body is not valid JSON")
	}
	switch {
	case req.Model == "":
		return req, nil, paramError("model", "model is required")
	case req.MaxTokens != nil && *req.MaxTokens < 0:
		return req, nil, paramError("max_tokens", "max_tokens must not be negative")
	case req.MaxCompletionTokens != nil && *req.MaxCompletionTokens < 0:
		return req, nil, paramError("max_completion_tokens", "max_completion_tokens must not be negative")
	}
	delete(fields, "model")
	// A sampled request without a seed gets one, so that what a miner
	// answers is a function of the bytes it signs a receipt for: anyone
	// holding the receipt and the request can re-execute it (package
	// verify). Greedy requests (temperature 0) need none.
	_, chat := fields["messages"]
	_, prompt := fields["prompt"]
	if req.Seed == nil && (chat || prompt) && (req.Temperature == nil || *req.Temperature != 0) {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return req, nil, fmt.Errorf("seed: %w", err)
		}
		fields["seed"] = json.RawMessage(strconv.FormatInt(int64(binary.BigEndian.Uint64(b[:])>>1), 10))
	}
	if req.Stream {
		fields["stream_options"] = json.RawMessage(`{"include_usage":true}`)
	}
	out, err := json.Marshal(fields)
	if err != nil {
		return req, nil, paramError("", "the body cannot be re-encoded")
	}
	return req, out, nil
}

// deterministic reports whether the answer depends only on the request.
func (r *request) deterministic() bool {
	return !r.Stream && ((r.Temperature != nil && *r.Temperature == 0) || r.Seed != nil)
}

// maxTokens is the completion budget reserved before the answer is known.
func (r *request) maxTokens(path string) int64 {
	switch {
	case path == "/v1/embeddings":
		return 0
	case r.MaxCompletionTokens != nil:
		return *r.MaxCompletionTokens
	case r.MaxTokens != nil:
		return *r.MaxTokens
	}
	return DefaultMaxTokens
}

func (g *Gateway) price(model string) tx.Amount {
	if p, ok := g.o.Prices[model]; ok {
		return p
	}
	return DefaultPrice
}

func (g *Gateway) handleInference(w http.ResponseWriter, r *http.Request) {
	// Without an API key a request pays with a voucher, if the gateway
	// takes them (paid.go).
	paid := g.o.Payments != nil && r.Header.Get("Authorization") == ""
	var ks *keyState
	if !paid {
		var err error
		if ks, err = g.auth(r); err != nil {
			writeError(w, err)
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.o.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if !errors.As(err, &mbe) {
			err = newAPIError(http.StatusBadRequest, "invalid_request_error", "invalid_json", "the body could not be read")
		}
		writeError(w, err)
		return
	}
	req, out, err := decode(body)
	if err != nil {
		writeError(w, err)
		return
	}
	ms, err := g.modelsNow(r.Context())
	if err != nil {
		g.log.WarnContext(r.Context(), "route", logKeyErr, err)
		writeError(w, newAPIError(http.StatusServiceUnavailable, "server_error", "network_unavailable", "the network's metagraph cannot be read"))
		return
	}
	var model *Model
	for i := range ms {
		if ms[i].ID == req.Model {
			model = &ms[i]
		}
	}
	if model == nil {
		e := newAPIError(http.StatusNotFound, "invalid_request_error", "model_not_found", fmt.Sprintf("the model '%s' does not exist", req.Model))
		e.Param = strp("model")
		writeError(w, e)
		return
	}
	setModel(r, model.ID)
	path := r.URL.Path
	// Hold the most this request can cost: the completion budget plus a
	// prompt of at most one token per body byte.
	price := g.price(model.ID)
	holdTokens := uint64(req.maxTokens(path) + int64(len(body)))
	hold := price * tx.Amount(holdTokens)
	if paid {
		g.servePaid(w, r, body, out, req, model, price, hold, holdTokens)
		return
	}
	var key [32]byte
	if req.deterministic() && g.cache != nil {
		key = cacheKey(model.Digest, path, out)
		c, ok := g.cache.get(key)
		g.m.cacheLookup(ok)
		if ok {
			h := w.Header()
			h.Set(HeaderCache, "hit")
			h.Set(HeaderMiner, c.miner)
			h.Set(HeaderModelDigest, c.digest)
			h.Set(HeaderReceipt, c.receipt)
			h.Set("Content-Type", c.ctype)
			w.WriteHeader(http.StatusOK)
			w.Write(c.body) //nolint:errcheck // the client may have gone
			return
		}
	}
	if req.Stream {
		if err := g.accts.openStream(ks); err != nil {
			writeError(w, err)
			return
		}
		defer g.accts.closeStream(ks)
	}
	if err := g.accts.reserve(ks, hold, holdTokens); err != nil {
		writeError(w, err)
		return
	}
	res := g.forward(w, r, model, path, out, req.Stream)
	var cost tx.Amount
	if res.ok {
		cost = g.accts.settle(ks, hold, holdTokens, price*tx.Amount(res.receipt.PromptTokens+res.receipt.CompletionTokens),
			res.receipt.PromptTokens, res.receipt.CompletionTokens)
	} else {
		g.accts.settle(ks, hold, holdTokens, 0, 0, 0)
	}
	g.log.DebugContext(r.Context(), "settled", logKeyModel, model.ID, logKeyMiner, res.miner.Hotkey.String(), "path", path, "ok", res.ok,
		"prompt_tokens", res.receipt.PromptTokens, "completion_tokens", res.receipt.CompletionTokens, "cost", uint64(cost))
	g.recordCharge(r.Context(), ks, model, res, cost)
	if res.ok {
		g.m.answered(model.ID, res.receipt.PromptTokens, res.receipt.CompletionTokens)
	}
	if len(res.tail) > 0 {
		w.Write(res.tail) //nolint:errcheck // the client may have gone
	}
	if res.ok && key != ([32]byte{}) && res.status == http.StatusOK {
		g.cache.put(key, cached{body: res.body, ctype: res.ctype, miner: res.miner.Hotkey.String(), digest: model.Digest, receipt: res.receiptHeader})
	}
}

// recordCharge stores a request's charge with the miner's receipt (a
// refused request's receipt too, charged nothing) and owes the miner its
// share.
func (g *Gateway) recordCharge(ctx context.Context, ks *keyState, model *Model, res result, cost tx.Amount) {
	if !res.ok && res.receiptHeader == "" {
		return
	}
	rec := Record{Kind: recordCharge, TimeMs: g.o.Now().UnixMilli(), Account: ks.addr, Amount: cost, Model: model.ID,
		Miner: res.miner.Hotkey, Receipt: res.receiptHeader, KeyID: ks.id, PromptTokens: res.receipt.PromptTokens, CompletionTokens: res.receipt.CompletionTokens}
	if !res.ok {
		rec.PromptTokens, rec.CompletionTokens = 0, 0
	}
	rec.Fee = g.fee(cost)
	if err := g.store.Append(rec); err != nil {
		g.log.ErrorContext(ctx, "store receipt", logKeyErr, err)
	}
	g.payouts.apply(rec)
}

// observe hands a verified answer's receipt and the request it answered
// to Options.Observe (a spot-checking auditor).
func (g *Gateway) observe(body []byte, res *result) {
	if g.o.Observe != nil && res.ok {
		g.o.Observe(res.receipt, body)
	}
}

// result is the outcome of forwarding one request.
type result struct {
	ok            bool // a verified 200 answer reached the client: charge it
	status        int
	miner         Miner
	receipt       wire.Receipt
	receiptHeader string
	body          []byte // plain responses
	ctype         string
	tail          []byte // a stream's held-back [DONE]: written after settling
}

// outcome of one attempt.
type outcome int

const (
	attemptDone  outcome = iota // the client has its answer (or an error already started)
	attemptRetry                // nothing reached the client; try another miner
	attemptGone                 // the client left
)

// forward sends body to miners until one answers, at most MaxAttempts.
func (g *Gateway) forward(w http.ResponseWriter, r *http.Request, m *Model, path string, body []byte, stream bool) result {
	if !stream && g.o.HedgeAfter > 0 {
		res := g.forwardHedged(w, r, m, path, body)
		g.observe(body, &res)
		return res
	}
	tried := map[tx.Address]bool{}
	var lastErr error
	for range g.o.MaxAttempts {
		mn, ok := g.router.pick(m.Miners, m.Digest, tried)
		if !ok {
			break
		}
		tried[mn.Hotkey] = true
		res, oc, err := g.attempt(r.Context(), w, mn, m, path, body, stream)
		switch oc {
		case attemptDone:
			g.observe(body, &res)
			return res
		case attemptGone:
			return result{}
		}
		lastErr = err
		g.log.InfoContext(r.Context(), "miner failed; retrying on another", logKeyMiner, mn.Hotkey.String(), logKeyModel, m.ID, logKeyErr, err)
	}
	if lastErr == nil {
		writeError(w, newAPIError(http.StatusServiceUnavailable, "server_error", "no_miner_available", "no miner is available for this model"))
	} else {
		writeError(w, newAPIError(http.StatusBadGateway, "server_error", "miner_failed", "no miner answered this request"))
	}
	return result{}
}

// attempt sends the request to one miner.
func (g *Gateway) attempt(ctx context.Context, w http.ResponseWriter, mn Miner, m *Model, path string, body []byte, stream bool) (result, outcome, error) {
	start := g.o.Now()
	judged := false
	defer func() {
		if !judged {
			g.router.release(mn.Hotkey)
		}
	}()
	fail := func(err error) (result, outcome, error) {
		judged = true
		g.router.done(mn.Hotkey, false, 0)
		return result{}, attemptRetry, err
	}
	// The miner's request ends with the client's, except once a stream's
	// [DONE] went out: SDKs hang up then, and the receipt in the trailer
	// that follows is still needed to settle what the client received.
	mctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	var finished atomic.Bool
	stopWatch := context.AfterFunc(ctx, func() {
		if !finished.Load() {
			cancel()
		}
	})
	defer stopWatch()
	req, err := http.NewRequestWithContext(mctx, http.MethodPost, mn.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		return fail(fmt.Errorf("build request: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	wire.Sign(req, body, g.o.Key, mn.Hotkey)
	resp, err := g.o.Client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return result{}, attemptGone, ctx.Err()
		}
		return fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // draining for reuse
		return fail(fmt.Errorf("miner answered %d", resp.StatusCode))
	}
	ctype := resp.Header.Get("Content-Type")
	h := w.Header()
	if resp.StatusCode == http.StatusOK && strings.HasPrefix(ctype, "text/event-stream") {
		return g.relayStream(ctx, w, resp, mn, m, body, start, &judged, &finished)
	}
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, DefaultMaxResponse))
	if err != nil {
		if ctx.Err() != nil {
			return result{}, attemptGone, ctx.Err()
		}
		return fail(fmt.Errorf("read answer: %w", err))
	}
	rc, err := wire.CheckResponse(resp, body, respBody, mn.Hotkey)
	if err == nil && rc.ModelDigest != m.Digest {
		err = fmt.Errorf("receipt names model %s, pinned %s", rc.ModelDigest, m.Digest)
	}
	if err != nil {
		return fail(fmt.Errorf("receipt: %w", err))
	}
	judged = true
	g.router.done(mn.Hotkey, true, g.o.Now().Sub(start))
	rh := resp.Header.Get(wire.HeaderReceipt)
	h.Set("Content-Type", ctype)
	h.Set(HeaderMiner, mn.Hotkey.String())
	h.Set(HeaderModelDigest, rc.ModelDigest)
	h.Set(HeaderReceipt, rh)
	w.WriteHeader(resp.StatusCode)
	w.Write(respBody) //nolint:errcheck // the client may have gone
	// A miner's 4xx (a request it refuses) is passed on, with its receipt,
	// and not charged.
	return result{ok: resp.StatusCode == http.StatusOK, status: resp.StatusCode, miner: mn, receipt: rc, receiptHeader: rh,
		body: respBody, ctype: ctype}, attemptDone, nil
}

// relayStream passes a miner's SSE stream to the client as it arrives,
// then checks the receipt in its trailer. Once a byte is sent there is no
// retry: a broken stream ends with an error event and is not charged.
func (g *Gateway) relayStream(ctx context.Context, w http.ResponseWriter, resp *http.Response, mn Miner, m *Model, reqBody []byte, start time.Time, judged *bool, finished *atomic.Bool) (result, outcome, error) {
	h := w.Header()
	h.Set("Content-Type", resp.Header.Get("Content-Type"))
	h.Set("Cache-Control", "no-cache")
	h.Set(HeaderMiner, mn.Hotkey.String())
	h.Set(HeaderModelDigest, m.Digest)
	h.Add("Trailer", HeaderReceipt) // beside a voucher payment's PAYMENT-RESPONSE
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	rc.Flush() //nolint:errcheck // a failed flush shows on the next write
	var all bytes.Buffer
	var tail []byte
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			all.Write(buf[:n])
			out := buf[:n]
			if finished.Load() {
				continue // held back with [DONE]
			}
			// [DONE] and what follows wait until the request is settled, so
			// a client that saw [DONE] sees its usage already charged.
			if i := bytes.Index(all.Bytes(), []byte("data: [DONE]")); i >= 0 {
				finished.Store(true)
				held := all.Len() - i
				if held > n {
					held = n // the marker began in an earlier read: hold only this one
				}
				out = buf[:n-held]
				tail = append(tail, buf[n-held:n]...)
			}
			if _, werr := w.Write(out); werr != nil && !finished.Load() {
				*judged = true
				g.router.release(mn.Hotkey)
				return result{}, attemptGone, werr
			}
			rc.Flush() //nolint:errcheck // a failed flush shows on the next write
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			*judged = true
			if ctx.Err() != nil {
				g.router.release(mn.Hotkey)
				return result{}, attemptGone, ctx.Err()
			}
			g.router.done(mn.Hotkey, false, 0)
			fmt.Fprint(w, `data: {"error":{"message":"the miner's stream broke off","type":"server_error","param":null,"code":"stream_interrupted"}}`+"\n\n")
			rc.Flush() //nolint:errcheck // the stream ends here anyway
			return result{miner: mn}, attemptDone, nil
		}
	}
	*judged = true
	receipt, err := wire.CheckResponse(resp, reqBody, all.Bytes(), mn.Hotkey)
	if err == nil && receipt.ModelDigest != m.Digest {
		err = fmt.Errorf("receipt names model %s, pinned %s", receipt.ModelDigest, m.Digest)
	}
	if err != nil {
		// The client has the tokens but the miner gave no proof: no charge.
		g.router.done(mn.Hotkey, false, 0)
		g.log.WarnContext(ctx, "stream receipt", logKeyMiner, mn.Hotkey.String(), logKeyErr, err)
		return result{miner: mn, tail: tail}, attemptDone, nil
	}
	g.router.done(mn.Hotkey, true, g.o.Now().Sub(start))
	rh := resp.Trailer.Get(wire.HeaderReceipt)
	h.Set(HeaderReceipt, rh)
	return result{ok: true, status: http.StatusOK, miner: mn, receipt: receipt, receiptHeader: rh, tail: tail}, attemptDone, nil
}
