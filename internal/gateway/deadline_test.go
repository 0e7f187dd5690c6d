package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestClientDeadline: a client whose deadline passes while the miner is
// still working cancels the miner's request, and is not charged.
func TestClientDeadline(t *testing.T) {
	miner := testKey(t, 3)
	user := testKey(t, 8).Address()
	arrived, canceled := make(chan struct{}, 1), make(chan error, 1)
	msrv := signingMiner(t, miner, func(r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done() // answers only if never canceled
		canceled <- r.Context().Err()
	})
	g, _ := newTestGateway(t, []Miner{{Hotkey: miner.Address(), Endpoint: msrv.URL, Digest: pinned}}, Options{})
	g.accts.endDeposit("h", user, 1_000_000, true)
	handled := make(chan struct{}, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.Handler().ServeHTTP(w, r)
		handled <- struct{}{}
	}))
	t.Cleanup(srv.Close)

	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/completions",
		strings.NewReader(`{"model":"tiny","prompt":"hi","max_tokens":10}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sk-user")
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("the request answered %d past its deadline", resp.StatusCode)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("client error %v, want its deadline", err)
	}
	<-arrived
	if err := <-canceled; !errors.Is(err, context.Canceled) {
		t.Errorf("the miner's request ended with %v, want canceled", err)
	}
	<-handled
	if u := g.accts.usage(user); u.Spent != 0 || u.Held != 0 || u.Requests != 0 || u.Balance != 1_000_000 {
		t.Errorf("usage after the client's deadline: %+v; want nothing spent or held", u)
	}
	if s := g.router.stats[miner.Address()]; s.inflight != 0 || s.failures != 0 {
		t.Errorf("miner stats %+v: the client leaving must not count against the miner", *s)
	}
}
