package gateway

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wire"
)

// answer is one miner's verified reply to a non-streaming request, not
// yet sent to the client.
type answer struct {
	mn     Miner
	status int
	ctype  string
	body   []byte
	rc     wire.Receipt
	rh     string
	err    error
}

// fetch sends a non-streaming request to one miner picked by the router
// and verifies its receipt, without writing to the client. It judges the
// miner, unless ctx ended first (the client left or another miner won the
// race): then the miner is released unjudged.
func (g *Gateway) fetch(ctx context.Context, mn Miner, m *Model, path string, body []byte) answer {
	start := g.o.Now()
	a, err := g.fetchOnce(ctx, mn, m, path, body)
	switch {
	case err == nil:
		g.router.done(mn.Hotkey, true, g.o.Now().Sub(start))
	case ctx.Err() != nil:
		g.router.release(mn.Hotkey)
	default:
		g.router.done(mn.Hotkey, false, 0)
	}
	a.mn, a.err = mn, err
	return a
}

func (g *Gateway) fetchOnce(ctx context.Context, mn Miner, m *Model, path string, body []byte) (answer, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, mn.Endpoint+path, bytes.NewReader(body))
	if err != nil {
		return answer{}, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	wire.Sign(req, body, g.o.Key, mn.Hotkey)
	resp, err := g.o.Client.Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck // draining for reuse
		return answer{}, fmt.Errorf("miner answered %d", resp.StatusCode)
	}
	ctype := resp.Header.Get("Content-Type")
	if strings.HasPrefix(ctype, "text/event-stream") {
		return answer{}, fmt.Errorf("miner streamed an answer to a request for none")
	}
	respBody, err := io.ReadAll(io.LimitReader(resp.Body, DefaultMaxResponse))
	if err != nil {
		return answer{}, fmt.Errorf("read answer: %w", err)
	}
	rc, err := wire.CheckResponse(resp, body, respBody, mn.Hotkey)
	if err == nil && rc.ModelDigest != m.Digest {
		err = fmt.Errorf("receipt names model %s, pinned %s", rc.ModelDigest, m.Digest)
	}
	if err != nil {
		return answer{}, fmt.Errorf("receipt: %w", err)
	}
	return answer{status: resp.StatusCode, ctype: ctype, body: respBody, rc: rc, rh: resp.Header.Get(wire.HeaderReceipt)}, nil
}

// forwardHedged answers a non-streaming request: it asks the best miner,
// and when no answer came within HedgeAfter, or an attempt failed, asks
// the next one too (at most MaxAttempts in all). The first verified
// answer goes to the client and is the only one charged; the requests
// still running are canceled.
func (g *Gateway) forwardHedged(w http.ResponseWriter, r *http.Request, m *Model, path string, body []byte) result {
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel() // the losers
	answers := make(chan answer, g.o.MaxAttempts)
	tried := map[tx.Address]bool{}
	pending := 0
	launch := func() bool {
		if len(tried) >= g.o.MaxAttempts {
			return false
		}
		mn, ok := g.router.pick(m.Miners, m.Digest, tried)
		if !ok {
			return false
		}
		tried[mn.Hotkey] = true
		pending++
		go func() { answers <- g.fetch(ctx, mn, m, path, body) }()
		return true
	}
	launch()
	hedge := time.NewTimer(g.o.HedgeAfter)
	defer hedge.Stop()
	var lastErr error
	for pending > 0 {
		select {
		case <-hedge.C:
			launch()
		case a := <-answers:
			pending--
			if a.err == nil {
				return g.writeAnswer(w, m, a)
			}
			if r.Context().Err() != nil {
				return result{} // the client left
			}
			lastErr = a.err
			g.log.InfoContext(r.Context(), "miner failed; asking another", logKeyMiner, a.mn.Hotkey.String(), logKeyModel, m.ID, logKeyErr, a.err)
			launch()
		}
	}
	if lastErr == nil {
		writeError(w, newAPIError(http.StatusServiceUnavailable, "server_error", "no_miner_available", "no miner is available for this model"))
	} else {
		writeError(w, newAPIError(http.StatusBadGateway, "server_error", "miner_failed", "no miner answered this request"))
	}
	return result{}
}

// writeAnswer sends a verified answer to the client. A miner's 4xx (a
// request it refuses) is passed on, with its receipt, and not charged.
func (g *Gateway) writeAnswer(w http.ResponseWriter, m *Model, a answer) result {
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set(HeaderMiner, a.mn.Hotkey.String())
	h.Set(HeaderModelDigest, a.rc.ModelDigest)
	h.Set(HeaderReceipt, a.rh)
	w.WriteHeader(a.status)
	w.Write(a.body) //nolint:errcheck // the client may have gone
	return result{ok: a.status == http.StatusOK, status: a.status, miner: a.mn, receipt: a.rc, receiptHeader: a.rh, body: a.body, ctype: a.ctype}
}
