package agent

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

const testChain = "deai-test-1"

// memChannels is an in-memory ChannelSource.
type memChannels struct {
	mu sync.Mutex
	m  map[paych.ChannelID]paych.Channel
}

func (m *memChannels) Channel(_ context.Context, id paych.ChannelID) (paych.Channel, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.m[id]
	if !ok {
		return paych.Channel{}, ErrUnknownChannel
	}
	return c, nil
}

var _ ChannelSource = (*memChannels)(nil)

// payFixture is a payer (key 1) with a channel of deposit to a payee
// (key 2) that serves h behind a paywall at price.
type payFixture struct {
	payerKey, payeeKey ed25519.PrivateKey
	ch                 paych.Channel
	chans              *memChannels
	wall               *Paywall
	srv                *httptest.Server
	budget             *Budget
	payer              *Payer
	client             *http.Client
}

// newWallOnly is the fixture's keys, channel and paywall, with no server
// or payer.
func newWallOnly(t testing.TB) *payFixture {
	t.Helper()
	f := &payFixture{payerKey: newKey(1), payeeKey: newKey(2)}
	from := tx.AddressFromPubKey(f.payerKey.Public().(ed25519.PublicKey))
	to := tx.AddressFromPubKey(f.payeeKey.Public().(ed25519.PublicKey))
	f.ch = paych.Channel{ID: paych.ChannelIDFor(from, to, 0), From: from, To: to, Funder: from, State: paych.ChannelOpen, Balance: 1000, SettleDelay: 1000}
	f.chans = &memChannels{m: map[paych.ChannelID]paych.Channel{f.ch.ID: f.ch}}
	var err error
	f.wall, err = NewPaywall(PaywallOptions{ChainID: testChain, Key: f.payeeKey, Channels: f.chans,
		Price: func(*http.Request) tx.Amount { return 5 }})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func newPayFixture(t testing.TB, price, deposit, total tx.Amount, h http.Handler) *payFixture {
	t.Helper()
	f := &payFixture{payerKey: newKey(1), payeeKey: newKey(2)}
	from := tx.AddressFromPubKey(f.payerKey.Public().(ed25519.PublicKey))
	to := tx.AddressFromPubKey(f.payeeKey.Public().(ed25519.PublicKey))
	f.ch = paych.Channel{ID: paych.ChannelIDFor(from, to, 0), From: from, To: to, Funder: from, State: paych.ChannelOpen, Balance: deposit, SettleDelay: 1000}
	f.chans = &memChannels{m: map[paych.ChannelID]paych.Channel{f.ch.ID: f.ch}}
	var err error
	f.wall, err = NewPaywall(PaywallOptions{ChainID: testChain, Key: f.payeeKey, Channels: f.chans,
		Price: func(*http.Request) tx.Amount { return price }, Height: func() uint64 { return 10 }})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.wall.Wrap(h))
	t.Cleanup(f.srv.Close)
	f.budget = mustBudget(t, BudgetOptions{Policy: Policy{Total: total}})
	f.payer, err = NewPayer(PayerOptions{Key: f.payerKey, ChainID: testChain, Channel: f.ch.ID, Payee: to, Deposit: deposit, Budget: f.budget})
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	f.client = &http.Client{Transport: &Client{Payer: f.payer, Base: tr}}
	return f
}

var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Write(append([]byte("echo:"), b...))
})

func (f *payFixture) post(t testing.TB, body string) (*http.Response, string, error) {
	t.Helper()
	resp, err := f.client.Post(f.srv.URL+"/v1/echo", "text/plain", strings.NewReader(body))
	if err != nil {
		return nil, "", err
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), nil
}

func TestPaidCall(t *testing.T) {
	f := newPayFixture(t, 5, 1000, 100, echo)
	for i := range 3 {
		resp, body, err := f.post(t, "hi")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 200 || body != "echo:hi" {
			t.Fatalf("call %d: %d %q", i, resp.StatusCode, body)
		}
		r, err := DecodePaymentReceipt(resp.Header.Get(HeaderPaymentResponse))
		if err != nil || r.Verify() != nil || !r.Success || r.Paid != 5 || r.Payee != f.wall.Payee() {
			t.Fatalf("receipt %+v: %v", r, err)
		}
	}
	if got := f.budget.Usage().Spent; got != 15 {
		t.Errorf("budget spent %s, want 15udeai", got)
	}
	if got := f.wall.Earned(f.ch.ID); got != 15 {
		t.Errorf("payee earned %s, want 15udeai", got)
	}
	// Sequential calls reuse lane 0: one voucher to redeem, cumulative.
	vs := f.wall.Unredeemed()
	if len(vs) != 1 || vs[0].Amount != 15 || vs[0].Nonce != 3 || vs[0].Lane != 0 {
		t.Fatalf("unredeemed %+v, want lane 0 nonce 3 amount 15", vs)
	}
	f.wall.MarkRedeemed(vs)
	if vs := f.wall.Unredeemed(); len(vs) != 0 {
		t.Errorf("after MarkRedeemed: %d unredeemed", len(vs))
	}
}

// TestFailingServiceNotPaid: a handler answering 500 keeps no voucher and
// the client rolls its lane back, so the next successful call pays only
// its own price.
func TestFailingServiceNotPaid(t *testing.T) {
	var fail atomic.Bool
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			http.Error(w, "backend down", http.StatusInternalServerError)
			return
		}
		w.Write([]byte("ok"))
	})
	f := newPayFixture(t, 5, 1000, 100, h)
	fail.Store(true)
	for range 3 {
		resp, _, err := f.post(t, "x")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 500 {
			t.Fatalf("status %d, want 500: %s", resp.StatusCode, resp.Header.Get(HeaderPaymentRequired))
		}
	}
	if u := f.budget.Usage(); u.Spent != 0 || u.Reserved != 0 {
		t.Errorf("after failures: %+v, want nothing spent or held", u)
	}
	if f.wall.Earned(f.ch.ID) != 0 || len(f.wall.Unredeemed()) != 0 {
		t.Errorf("payee kept a voucher of a failed call")
	}
	fail.Store(false)
	if resp, _, err := f.post(t, "x"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("call after failures: %v %v", resp, err)
	}
	vs := f.wall.Unredeemed()
	if len(vs) != 1 || vs[0].Amount != 5 {
		t.Fatalf("unredeemed %+v, want one voucher of 5udeai", vs)
	}
	if got := f.budget.Usage().Spent; got != 5 {
		t.Errorf("spent %s, want 5udeai", got)
	}
}

// TestConcurrentPaidCalls: 1,000 concurrent paid calls under a budget for
// 300: exactly 300 are served and paid, the rest fail with
// ErrBudgetExceeded and pay nothing.
func TestConcurrentPaidCalls(t *testing.T) {
	const n, price, calls = 1000, 3, 300
	var served atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Write([]byte("ok"))
	})
	f := newPayFixture(t, price, 1_000_000, calls*price, h)
	var ok, over atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _, err := f.post(t, "x")
			switch {
			case errors.Is(err, ErrBudgetExceeded):
				over.Add(1)
			case err != nil:
				t.Errorf("call: %v", err)
			case resp.StatusCode != 200:
				t.Errorf("status %d", resp.StatusCode)
			default:
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	if ok.Load() != calls || over.Load() != n-calls || served.Load() != calls {
		t.Fatalf("%d paid, %d over budget, %d served; want %d, %d, %d", ok.Load(), over.Load(), served.Load(), calls, n-calls, calls)
	}
	if u := f.budget.Usage(); u.Spent != calls*price || u.Reserved != 0 {
		t.Errorf("budget %+v, want spent %d", u, calls*price)
	}
	var sum tx.Amount
	for _, v := range f.wall.Unredeemed() {
		sum += v.Amount
	}
	if sum != calls*price || f.wall.Earned(f.ch.ID) != calls*price || f.payer.Paid() != calls*price {
		t.Errorf("vouchers sum %s, earned %s, payer paid %s; want %d each", sum, f.wall.Earned(f.ch.ID), f.payer.Paid(), calls*price)
	}
}

func TestChannelExhausted(t *testing.T) {
	f := newPayFixture(t, 40, 100, 1000, echo)
	for range 2 {
		if _, _, err := f.post(t, "x"); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.post(t, "x"); !errors.Is(err, ErrChannelExhausted) {
		t.Fatalf("third call on a 100udeai channel: %v, want ErrChannelExhausted", err)
	}
	if u := f.budget.Usage(); u.Spent != 80 || u.Reserved != 0 {
		t.Errorf("budget %+v", u)
	}
}

// rawPaid sends a request with a hand-made PAYMENT-SIGNATURE.
func rawPaid(t *testing.T, f *payFixture, body, payment string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", f.srv.URL+"/v1/echo", strings.NewReader(body))
	if payment != "" {
		req.Header.Set(HeaderPaymentSignature, payment)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode == http.StatusPaymentRequired {
		pr, _, err := DecodePaymentRequired(resp.Header.Get(HeaderPaymentRequired))
		if err != nil {
			t.Fatalf("402 without a valid %s: %v", HeaderPaymentRequired, err)
		}
		return resp.StatusCode, pr.Error
	}
	var eb ErrorBody
	json.Unmarshal(b, &eb)
	return resp.StatusCode, eb.Error.Code
}

func TestPaywallRejections(t *testing.T) {
	f := newPayFixture(t, 5, 100, 1000, echo)
	reqHash := RequestHashOf("POST", "/v1/echo", []byte("x"))
	voucher := func(mod func(*paych.Voucher)) paych.Voucher {
		v := paych.Voucher{ChainID: testChain, Channel: f.ch.ID, Lane: 0, Nonce: 1, Amount: 5, RequestHash: reqHash}
		if mod != nil {
			mod(&v)
		}
		return v
	}
	sign := func(v paych.Voucher, key ed25519.PrivateKey) string {
		sv, err := v.Sign(key)
		if err != nil {
			t.Fatal(err)
		}
		return EncodePaymentSignature(&sv)
	}
	first := sign(voucher(nil), f.payerKey)
	other := newKey(7)
	otherCh := paych.ChannelIDFor(f.ch.From, tx.AddressFromPubKey(other.Public().(ed25519.PublicKey)), 0)
	f.chans.m[otherCh] = paych.Channel{ID: otherCh, From: f.ch.From, To: tx.AddressFromPubKey(other.Public().(ed25519.PublicKey)), State: paych.ChannelOpen, Balance: 100}
	tampered := func() string {
		sv, _ := voucher(nil).Sign(f.payerKey)
		sv.Amount = 50 // after signing
		return EncodePaymentSignature(&sv)
	}()
	tests := []struct {
		name    string
		payment string
		status  int
		code    string
	}{
		{"no payment", "", 402, CodePaymentRequired},
		{"not base64", "%%%", 400, CodeMalformedPayment},
		{"not a voucher", base64.StdEncoding.EncodeToString([]byte(`{"x402Version":2,"accepted":{"scheme":"deai-paych","network":"deai-test-1"},"payload":{"voucher":"AAAA"}}`)), 400, CodeMalformedPayment},
		{"tampered", tampered, 400, CodeBadSignature},
		{"wrong signer", sign(voucher(nil), other), 400, CodeBadSignature},
		{"other network", sign(voucher(func(v *paych.Voucher) { v.ChainID = "other-1" }), f.payerKey), 400, CodeWrongNetwork},
		{"other request", sign(voucher(func(v *paych.Voucher) { v.RequestHash[0] ^= 1 }), f.payerKey), 400, CodeRequestMismatch},
		{"unknown channel", sign(voucher(func(v *paych.Voucher) { v.Channel[0] ^= 1 }), f.payerKey), 402, CodeUnknownChannel},
		{"another payee's channel", sign(voucher(func(v *paych.Voucher) { v.Channel = otherCh }), f.payerKey), 402, CodeUnknownChannel},
		{"under price", sign(voucher(func(v *paych.Voucher) { v.Amount = 4 }), f.payerKey), 402, CodeInsufficientPayment},
		{"over balance", sign(voucher(func(v *paych.Voucher) { v.Amount = 101 }), f.payerKey), 402, CodeChannelExhausted},
		{"expired", sign(voucher(func(v *paych.Voucher) { v.Expiry = 9 }), f.payerKey), 402, CodeVoucherExpired},
		{"first", first, 200, ""},
		{"replayed", first, 402, CodeReplayedVoucher},
		{"next", sign(voucher(func(v *paych.Voucher) { v.Nonce, v.Amount = 5, 10 }), f.payerKey), 200, ""},
		{"stale", sign(voucher(func(v *paych.Voucher) { v.Nonce, v.Amount = 4, 20 }), f.payerKey), 402, CodeStaleVoucher},
		{"no increase", sign(voucher(func(v *paych.Voucher) { v.Nonce, v.Amount = 6, 12 }), f.payerKey), 402, CodeInsufficientPayment},
		{"other lane", sign(voucher(func(v *paych.Voucher) { v.Lane, v.Amount = 3, 5 }), f.payerKey), 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code := rawPaid(t, f, "x", tt.payment)
			if status != tt.status || code != tt.code {
				t.Errorf("got %d %q, want %d %q", status, code, tt.status, tt.code)
			}
		})
	}
	if got := f.wall.Earned(f.ch.ID); got != 15 {
		t.Errorf("earned %s after the table, want 15udeai", got)
	}
}

func TestLaneBusy(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered <- struct{}{}
		<-release
	})
	f := newPayFixture(t, 5, 100, 1000, h)
	reqHash := RequestHashOf("POST", "/v1/echo", []byte("x"))
	v1, _ := paych.Voucher{ChainID: testChain, Channel: f.ch.ID, Nonce: 1, Amount: 5, RequestHash: reqHash}.Sign(f.payerKey)
	v2, _ := paych.Voucher{ChainID: testChain, Channel: f.ch.ID, Nonce: 2, Amount: 10, RequestHash: reqHash}.Sign(f.payerKey)
	done := make(chan int)
	go func() {
		s, _ := rawPaid(t, f, "x", EncodePaymentSignature(&v1))
		done <- s
	}()
	<-entered
	if s, code := rawPaid(t, f, "x", EncodePaymentSignature(&v2)); s != 409 || code != CodeLaneBusy {
		t.Errorf("second voucher on a busy lane: %d %q", s, code)
	}
	close(release)
	if s := <-done; s != 200 {
		t.Errorf("first: %d", s)
	}
}

// TestSignedPaidCall: a signed and paid agent-to-agent call (Receiver
// outside the Paywall, Signer under the paying Client): the 402 attempt
// is not stored for the idempotency key, the paid retry runs once, and a
// repeat of the key is answered from the store without paying again.
func TestSignedPaidCall(t *testing.T) {
	var runs atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		io.WriteString(w, "done")
	})
	f := newPayFixture(t, 5, 1000, 100, nil)
	rc, err := NewReceiver(ReceiverOptions{Self: f.wall.Payee()})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.Config.Handler = rc.Wrap(f.wall.Wrap(h))
	f.client.Transport.(*Client).Base = &Signer{Key: f.payerKey, To: f.wall.Payee(), Base: f.client.Transport.(*Client).Base}
	for i := range 2 {
		req, _ := http.NewRequest("POST", f.srv.URL+"/v1/job", strings.NewReader("j"))
		req.Header.Set(HeaderIdempotencyKey, "job-1")
		resp, err := f.client.Do(req)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(b) != "done" {
			t.Fatalf("call %d: %d %q", i, resp.StatusCode, b)
		}
		if replay := resp.Header.Get(HeaderIdempotentReplay) == "true"; replay != (i == 1) {
			t.Errorf("call %d: replay header %v", i, replay)
		}
	}
	if runs.Load() != 1 || f.budget.Usage().Spent != 5 || f.wall.Earned(f.ch.ID) != 5 {
		t.Errorf("runs %d, spent %s, earned %s; want 1, 5, 5", runs.Load(), f.budget.Usage().Spent, f.wall.Earned(f.ch.ID))
	}
}

func TestPayUpFront(t *testing.T) {
	var price atomic.Int64
	price.Store(5)
	f := newPayFixture(t, 5, 1000, 100, echo)
	var requests atomic.Int64
	f.wall.o.Price = func(*http.Request) tx.Amount { return tx.Amount(price.Load()) }
	wrapped := f.wall.Wrap(echo)
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		wrapped.ServeHTTP(w, r)
	})
	f.client.Transport.(*Client).PayUpFront = true
	for i, tt := range []struct {
		price    int64
		requests int64
	}{{5, 2}, {5, 1}, {7, 2}, {7, 1}} {
		price.Store(tt.price)
		before := requests.Load()
		resp, body, err := f.post(t, "x")
		if err != nil || resp.StatusCode != 200 || body != "echo:x" {
			t.Fatalf("call %d: %v %v %q", i, err, resp, body)
		}
		if n := requests.Load() - before; n != tt.requests {
			t.Errorf("call %d at price %d: %d requests, want %d", i, tt.price, n, tt.requests)
		}
	}
	if got := f.budget.Usage(); got.Spent != 24 || got.Reserved != 0 || f.wall.Earned(f.ch.ID) != 24 {
		t.Errorf("budget %+v, earned %s; want 24udeai spent and earned", got, f.wall.Earned(f.ch.ID))
	}
}
