package chain

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	cmtquery "github.com/cometbft/cometbft/libs/pubsub/query"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	ctypes "github.com/cometbft/cometbft/rpc/core/types"
)

// RPCClient is a Client for a remote node over CometBFT's JSON-RPC, with
// one websocket for events. Close it when done.
type RPCClient struct {
	*rpcClient
	http *rpchttp.HTTP
	ws   *wsSource
}

var _ Client = (*RPCClient)(nil)

// DialOptions tunes Dial.
type DialOptions struct {
	Logger *slog.Logger // nil discards
}

// Dial connects to the node whose RPC server listens at addr
// ("http://127.0.0.1:26657", "tcp://127.0.0.1:26657" or "127.0.0.1:26657")
// and checks that it answers within ctx.
func Dial(ctx context.Context, addr string, opts ...DialOptions) (*RPCClient, error) {
	var o DialOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	remote := RPCURL(addr)
	h, err := rpchttp.New(remote, "/websocket")
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", remote, err)
	}
	h.SetLogger(newCometLogger(log, slog.LevelError, nil))
	// Check the node answers before opening the websocket, which would
	// otherwise retry in the background.
	if _, err := h.Status(ctx); err != nil {
		return nil, fmt.Errorf("dial %s: %w", remote, err)
	}
	if err := h.Start(); err != nil {
		return nil, fmt.Errorf("dial %s: open websocket: %w", remote, err)
	}
	ws := &wsSource{h: h, subs: map[string]*wsSub{}}
	check := func(ctx context.Context, tx []byte) (CheckResult, error) {
		r, err := h.BroadcastTxSync(ctx, tx)
		if err != nil {
			return CheckResult{}, mapMempoolError(err)
		}
		return CheckResult{Hash: TxHash(tx), Code: r.Code, Codespace: r.Codespace, Log: r.Log, Data: nilIfEmpty(r.Data)}, nil
	}
	cl, err := newRPCClient(h, check, ws, log)
	if err != nil {
		h.Stop() //nolint:errcheck // reporting the first error
		return nil, fmt.Errorf("dial %s: %w", remote, err)
	}
	return &RPCClient{rpcClient: cl, http: h, ws: ws}, nil
}

// RPCURL turns a listen address such as "tcp://127.0.0.1:26657" into the
// http:// URL a client dials.
func RPCURL(addr string) string {
	switch {
	case strings.HasPrefix(addr, "tcp://"):
		return "http://" + strings.TrimPrefix(addr, "tcp://")
	case strings.Contains(addr, "://"):
		return addr
	}
	return "http://" + addr
}

// Close stops the websocket and fails pending calls with ErrClosed.
func (c *RPCClient) Close() error {
	c.ws.closeAll()
	c.rpcClient.close()
	if err := c.http.Stop(); err != nil && !strings.Contains(err.Error(), "already stopped") {
		return fmt.Errorf("close rpc client: %w", err)
	}
	return nil
}

// wsSource multiplexes subscriptions over one websocket: CometBFT's client
// keeps one channel per query, so each distinct query is subscribed once
// and fanned out here.
type wsSource struct {
	h *rpchttp.HTTP

	mu     sync.Mutex // guards subs and closed
	subs   map[string]*wsSub
	closed bool
}

// wsSub is one server-side subscription and its readers.
type wsSub struct {
	in   <-chan ctypes.ResultEvent
	stop chan struct{}
	mu   sync.Mutex // guards outs
	outs map[chan Event]struct{}
}

func (s *wsSource) subscribe(ctx context.Context, query string) (<-chan Event, error) {
	// The server answers a bad query asynchronously; check it here so the
	// caller gets the error.
	q, err := cmtquery.New(query)
	if err != nil {
		return nil, fmt.Errorf("subscribe %q: %w", query, err)
	}
	key := q.String()
	out := make(chan Event, SubscriptionBuffer)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	sub := s.subs[key]
	if sub == nil {
		// A large buffer: CometBFT's listener drops events when it is full,
		// and the fan-out below never blocks.
		sctx, cancel := context.WithTimeout(ctx, wsCallTimeout)
		in, err := s.h.Subscribe(sctx, "deai", key, SubscriptionBuffer)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("subscribe %q: %w", query, err)
		}
		sub = &wsSub{in: in, stop: make(chan struct{}), outs: map[chan Event]struct{}{}}
		s.subs[key] = sub
		go sub.run()
	}
	sub.mu.Lock()
	sub.outs[out] = struct{}{}
	sub.mu.Unlock()

	go func() {
		select {
		case <-ctx.Done():
		case <-sub.stop:
		}
		s.leave(key, sub, out)
	}()
	return out, nil
}

// leave removes out from sub, closing it, and drops the server subscription
// when it was the last reader.
func (s *wsSource) leave(key string, sub *wsSub, out chan Event) {
	s.mu.Lock()
	sub.mu.Lock()
	if _, ok := sub.outs[out]; ok {
		delete(sub.outs, out)
		close(out)
	}
	last := len(sub.outs) == 0
	sub.mu.Unlock()
	if !last || s.subs[key] != sub {
		s.mu.Unlock()
		return
	}
	delete(s.subs, key)
	close(sub.stop)
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return
	}
	// Bounded: while the websocket reconnects, sending blocks. An error
	// means it is down, and the server dropped the subscription with it.
	ctx, cancel := context.WithTimeout(context.Background(), wsCallTimeout)
	defer cancel()
	_ = s.h.Unsubscribe(ctx, "deai", key)
}

// wsCallTimeout bounds a subscribe or unsubscribe request on the websocket.
const wsCallTimeout = 5 * time.Second

func (s *wsSource) closeAll() {
	s.mu.Lock()
	subs := s.subs
	s.subs = map[string]*wsSub{}
	s.closed = true
	s.mu.Unlock()
	for _, sub := range subs {
		close(sub.stop)
		sub.mu.Lock()
		for out := range sub.outs {
			delete(sub.outs, out)
			close(out)
		}
		sub.mu.Unlock()
	}
}

// run converts events and hands them to every reader without blocking; a
// reader whose buffer is full is closed, as the in-process bus does.
func (sub *wsSub) run() {
	for {
		select {
		case <-sub.stop:
			return
		case re := <-sub.in:
			ev, ok := FromEventData(re.Data)
			if !ok {
				continue
			}
			sub.mu.Lock()
			for out := range sub.outs {
				select {
				case out <- ev:
				default:
					delete(sub.outs, out)
					close(out)
				}
			}
			sub.mu.Unlock()
		}
	}
}
