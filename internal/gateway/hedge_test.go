package gateway

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/tx"
)

// TestHedgedRequest: with HedgeAfter set, a request the preferred (slow)
// miner has not answered in time also goes to a fast one; the client gets
// the fast answer, the slow miner's request is canceled, and only the
// answer used is charged and stored.
func TestHedgedRequest(t *testing.T) {
	slow, fast := testKey(t, 3), testKey(t, 4)
	user := testKey(t, 8).Address()
	canceled := make(chan error, 1)
	slowSrv := signingMiner(t, slow, func(r *http.Request) {
		<-r.Context().Done() // answers only if never canceled
		canceled <- r.Context().Err()
	})
	fastSrv := signingMiner(t, fast, nil)
	miners := []Miner{
		{Hotkey: slow.Address(), Endpoint: slowSrv.URL, Digest: pinned, Incentive: 1, Trust: 1}, // the router's first choice
		{Hotkey: fast.Address(), Endpoint: fastSrv.URL, Digest: pinned},
	}
	store := &memStore{}
	g, gsrv := newTestGateway(t, miners, Options{HedgeAfter: time.Millisecond, Store: store})
	g.accts.endDeposit("h", user, 1_000_000, true)

	req, err := http.NewRequest(http.MethodPost, gsrv.URL+"/v1/completions", strings.NewReader(`{"model":"tiny","prompt":"hi","max_tokens":10}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sk-user")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get(HeaderMiner) != fast.Address().String() || resp.Header.Get(HeaderReceipt) == "" {
		t.Fatalf("status %d, miner %s; want 200 from the fast miner with its receipt", resp.StatusCode, resp.Header.Get(HeaderMiner))
	}
	if err := <-canceled; !errors.Is(err, context.Canceled) {
		t.Errorf("the slow miner's request ended with %v, want canceled", err)
	}
	if u := g.accts.usage(user); u.Spent != answerPrompt+answerCompletion || u.Held != 0 || u.Requests != 1 {
		t.Errorf("usage %+v: want one answer charged, nothing held", u)
	}
	var charges []tx.Address
	store.Replay(func(r Record) error { //nolint:errcheck // memStore
		if r.Kind == recordCharge {
			charges = append(charges, r.Miner)
		}
		return nil
	})
	if len(charges) != 1 || charges[0] != fast.Address() {
		t.Errorf("stored charges for %v, want one for the fast miner", charges)
	}
}

// TestHedgeRetriesAfterFailure: in hedged mode a failing miner is still
// followed by another, with no charge for the failure.
func TestHedgeRetriesAfterFailure(t *testing.T) {
	bad := newStubMiner(t)
	close(bad.release)
	good := testKey(t, 4)
	user := testKey(t, 8).Address()
	goodSrv := signingMiner(t, good, nil)
	miners := []Miner{
		{Hotkey: testKey(t, 3).Address(), Endpoint: bad.srv.URL, Digest: pinned, Incentive: 1, Trust: 1},
		{Hotkey: good.Address(), Endpoint: goodSrv.URL, Digest: pinned},
	}
	g, gsrv := newTestGateway(t, miners, Options{HedgeAfter: time.Hour})
	g.accts.endDeposit("h", user, 1_000_000, true)
	if s, v := post(t, gsrv.URL+"/v1/completions", "sk-user", `{"model":"tiny","prompt":"hi","max_tokens":10}`); s != 200 {
		t.Fatalf("status %d %v", s, v)
	}
	if n := bad.hits.Load(); n != 1 {
		t.Errorf("the failing miner saw %d requests, want 1", n)
	}
	if u := g.accts.usage(user); u.Spent != answerPrompt+answerCompletion || u.Held != 0 {
		t.Errorf("usage %+v", u)
	}
}
