package gateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/tx"
)

// testPayments is an in-test Payments: a voucher is the header
// "PAYER CHANNEL LANE NONCE AMOUNT" (unsigned), checked against the lane
// positions kept so far like agent.Paywall does (nonce above the lane's,
// amount at least price above it). The PAYMENT-REQUIRED value is
// "price=N code=C" and a receipt "STATUS HASH".
type testPayments struct {
	noReplayCheck bool // forget the lanes: only the gateway guards against double credit

	mu      sync.Mutex           // guards the fields below
	lanes   map[string][2]uint64 // channel/lane → nonce, cumulative amount
	settled []bool               // each Settle's kept
}

var _ Payments = (*testPayments)(nil)

func (p *testPayments) Required(method, uri string, body []byte, price tx.Amount, code, msg string) string {
	return fmt.Sprintf("price=%d code=%s", price, code)
}

func (p *testPayments) Check(_ context.Context, header, method, uri string, body []byte, price tx.Amount) (*Voucher, error) {
	f := strings.Fields(header)
	if len(f) != 5 {
		return nil, &PaymentError{Status: http.StatusBadRequest, Code: "malformed_payment", Message: "want 5 fields"}
	}
	payer, err := tx.ParseAddress(f[0])
	if err != nil {
		return nil, &PaymentError{Status: http.StatusBadRequest, Code: "malformed_payment", Message: err.Error()}
	}
	lane, _ := strconv.ParseUint(f[2], 10, 32)
	nonce, _ := strconv.ParseUint(f[3], 10, 64)
	amount, _ := strconv.ParseUint(f[4], 10, 64)
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.lanes == nil {
		p.lanes = map[string][2]uint64{}
	}
	pos := p.lanes[f[1]+"/"+f[2]]
	if p.noReplayCheck {
		pos = [2]uint64{} // every voucher starts the lane afresh
	}
	switch {
	case !p.noReplayCheck && nonce <= pos[0]:
		return nil, &PaymentError{Status: http.StatusPaymentRequired, Code: "replayed_voucher", Message: "nonce used"}
	case amount < pos[1] || tx.Amount(amount-pos[1]) < price:
		return nil, &PaymentError{Status: http.StatusPaymentRequired, Code: "insufficient_payment", Message: "pays too little"}
	}
	return &Voucher{Payer: payer, Channel: f[1], Lane: uint32(lane), Nonce: nonce, Amount: tx.Amount(amount),
		Delta: tx.Amount(amount - pos[1]), Encoded: header}, nil
}

func (p *testPayments) Settle(v *Voucher, kept bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.settled = append(p.settled, kept)
	if kept {
		p.lanes[v.Channel+"/"+strconv.FormatUint(uint64(v.Lane), 10)] = [2]uint64{v.Nonce, uint64(v.Amount)}
	}
}

func (p *testPayments) Receipt(v *Voucher, status int, bodyHash [32]byte) string {
	return fmt.Sprintf("%d %s", status, hex.EncodeToString(bodyHash[:]))
}

// paidPost sends body without an API key, with the payer hint and the
// voucher header when set, and returns the status, the payment headers
// and the body.
func paidPost(t *testing.T, url, hint, voucher, body string) (status int, required, receipt string, respBody []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if hint != "" {
		req.Header.Set(HeaderPayer, hint)
	}
	if voucher != "" {
		req.Header.Set(HeaderPaymentSignature, voucher)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get(HeaderPaymentRequired), resp.Header.Get(HeaderPaymentResponse), b
}

// TestPaidCredit: a request without a key gets a 402 quoting its hold
// (less the hinted payer's credit), a voucher for the quote is credited
// and the request charged per token from it; a voucher too small, a
// replayed one and one whose request fails credit and charge nothing.
func TestPaidCredit(t *testing.T) {
	miner := testKey(t, 3)
	payer := testKey(t, 8).Address()
	msrv := signingMiner(t, miner, nil)
	var fail sync.Mutex // guards failing: the miner answers 500
	failing := false
	front := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail.Lock()
		f := failing
		fail.Unlock()
		if f {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		r.URL.Host = strings.TrimPrefix(msrv.URL, "http://")
		r.URL.Scheme = "http"
		r.RequestURI = ""
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body) //nolint:errcheck // test
	})
	mfront := httptest.NewServer(front)
	t.Cleanup(mfront.Close)
	miners := []Miner{{Hotkey: miner.Address(), Endpoint: mfront.URL, Digest: pinned}}
	pay := &testPayments{}
	store := &memStore{}
	g, srv := newTestGateway(t, miners, Options{Payments: pay, Store: store, MaxAttempts: 1})
	url := srv.URL + "/v1/completions"
	body := `{"model":"tiny","prompt":"hi","max_tokens":10}`
	hold := tx.Amount(10 + len(body)) // price 1 per token
	const cost = answerPrompt + answerCompletion
	v := func(lane, nonce, amount uint64) string {
		return fmt.Sprintf("%s ch1 %d %d %d", payer, lane, nonce, amount)
	}

	resp, err := http.Get(srv.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v1/models without a key: %d, want 200 when vouchers are taken", resp.StatusCode)
	}
	status, req, _, _ := paidPost(t, url, "", "", body)
	if want := fmt.Sprintf("price=%d code=%s", hold, CodePaymentRequired); status != http.StatusPaymentRequired || req != want {
		t.Fatalf("no voucher: %d %q, want 402 %q", status, req, want)
	}
	status, _, rcpt, rb := paidPost(t, url, "", v(0, 1, uint64(hold)), body)
	if h := sha256.Sum256(rb); status != http.StatusOK || rcpt != "200 "+hex.EncodeToString(h[:]) {
		t.Fatalf("paid: %d receipt %q body %s", status, rcpt, rb)
	}
	want := Usage{Account: payer.String(), Balance: hold - cost, Deposited: hold, Vouchers: hold, Spent: cost, Requests: 1,
		PromptTokens: answerPrompt, CompletionTokens: answerCompletion}
	if diff := cmp.Diff(want, g.Usage(payer)); diff != "" {
		t.Fatalf("usage after one paid request (-want +got):\n%s", diff)
	}

	// With the hint, the quote is what the credit lacks; without, the hold.
	if _, req, _, _ := paidPost(t, url, payer.String(), "", body); req != fmt.Sprintf("price=%d code=%s", cost, CodePaymentRequired) {
		t.Errorf("quote with the hint: %q, want price %d", req, cost)
	}
	if _, req, _, _ := paidPost(t, url, "not-an-address", "", body); req != fmt.Sprintf("price=%d code=%s", hold, CodePaymentRequired) {
		t.Errorf("quote with a bad hint: %q, want the hold %d", req, hold)
	}
	status, _, _, _ = paidPost(t, url, payer.String(), v(0, 2, uint64(hold+cost)), body)
	if status != http.StatusOK {
		t.Fatalf("second paid request: %d", status)
	}
	want.Deposited, want.Vouchers, want.Spent, want.Requests = hold+cost, hold+cost, 2*cost, 2
	want.Balance, want.PromptTokens, want.CompletionTokens = hold-cost, 2*answerPrompt, 2*answerCompletion
	if diff := cmp.Diff(want, g.Usage(payer)); diff != "" {
		t.Fatalf("usage after two paid requests (-want +got):\n%s", diff)
	}

	tests := []struct {
		name, hint, voucher string
		status              int
		code                string
	}{
		{"replayed", payer.String(), v(0, 2, uint64(hold+cost)), 402, "replayed_voucher"},
		{"too small", "", v(0, 3, uint64(hold+cost+1)), 402, "insufficient_payment"},
		// The hint names a payer with credit, the voucher is another's.
		{"lying hint", payer.String(), fmt.Sprintf("%s ch2 0 1 %d", testKey(t, 5).Address(), cost), 402, CodeInsufficientPayment},
		{"malformed", "", "x", 400, "malformed_payment"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, req, rcpt, rb := paidPost(t, url, tt.hint, tt.voucher, body)
			if status != tt.status || !strings.Contains(string(rb), `"code":"`+tt.code+`"`) || rcpt != "" {
				t.Errorf("%d %s receipt %q, want %d %s", status, rb, rcpt, tt.status, tt.code)
			}
			if tt.status == 402 && !strings.Contains(req, "code="+tt.code) {
				t.Errorf("PAYMENT-REQUIRED %q, want code %s", req, tt.code)
			}
		})
	}
	if u := g.Usage(testKey(t, 5).Address()); u.Deposited != 0 || u.Held != 0 {
		t.Errorf("the refused voucher's payer: %+v", u)
	}

	t.Run("failed request is not paid", func(t *testing.T) {
		fail.Lock()
		failing = true
		fail.Unlock()
		defer func() { fail.Lock(); failing = false; fail.Unlock() }()
		pay.mu.Lock()
		n := len(pay.settled)
		pay.mu.Unlock()
		status, _, rcpt, _ := paidPost(t, url, "", v(0, 3, uint64(2*hold+cost)), body)
		if status < 500 || rcpt != "" {
			t.Fatalf("failing miner: %d receipt %q", status, rcpt)
		}
		if diff := cmp.Diff(want, g.Usage(payer)); diff != "" {
			t.Errorf("usage after a failed request (-want +got):\n%s", diff)
		}
		pay.mu.Lock()
		defer pay.mu.Unlock()
		if got := pay.settled[n:]; len(got) != 1 || got[0] {
			t.Errorf("settled %v, want one dropped voucher", got)
		}
	})

	t.Run("restart replays the credit", func(t *testing.T) {
		g2, err := New(Options{Key: testKey(t, 9), Network: staticNetwork{}, Store: store, Payments: &testPayments{}})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, g2.Usage(payer)); diff != "" {
			t.Errorf("usage after replay (-want +got):\n%s", diff)
		}
		kept, err := KeptVouchers(store)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{v(0, 2, uint64(hold+cost))}, kept); diff != "" {
			t.Errorf("kept vouchers (-want +got):\n%s", diff)
		}
	})
}

// TestPaidNoDoubleCredit: a voucher the Payments would take twice (same
// channel, lane and nonce) is credited once, live and on replay.
func TestPaidNoDoubleCredit(t *testing.T) {
	miner := testKey(t, 3)
	payer := testKey(t, 8).Address()
	msrv := signingMiner(t, miner, nil)
	miners := []Miner{{Hotkey: miner.Address(), Endpoint: msrv.URL, Digest: pinned}}
	store := &memStore{}
	g, srv := newTestGateway(t, miners, Options{Payments: &testPayments{noReplayCheck: true}, Store: store, MaxAttempts: 1})
	url := srv.URL + "/v1/completions"
	body := `{"model":"tiny","prompt":"hi","max_tokens":10}`
	voucher := fmt.Sprintf("%s ch1 0 1 1000", payer)
	if status, _, _, _ := paidPost(t, url, "", voucher, body); status != http.StatusOK {
		t.Fatalf("first: %d", status)
	}
	status, _, _, rb := paidPost(t, url, "", voucher, body)
	if status != http.StatusPaymentRequired || !strings.Contains(string(rb), CodeReplayedVoucher) {
		t.Errorf("the same voucher again: %d %s, want 402 %s", status, rb, CodeReplayedVoucher)
	}
	if u := g.Usage(payer); u.Deposited != 1000 || u.Requests != 1 {
		t.Errorf("usage %+v, want one credit of 1000 and one request", u)
	}
	// A store holding a voucher twice is refused on open.
	store.Append(store.recs[0]) //nolint:errcheck // memStore
	if _, err := New(Options{Key: testKey(t, 9), Network: staticNetwork{}, Store: store}); err == nil || !strings.Contains(err.Error(), "credited twice") {
		t.Errorf("replay of a doubled voucher: %v", err)
	}
}

// TestPaidOff: without Payments a request without a key stays 401.
func TestPaidOff(t *testing.T) {
	_, srv := newTestGateway(t, nil, Options{})
	status, _, _, rb := paidPost(t, srv.URL+"/v1/chat/completions", "", "x", `{"model":"tiny"}`)
	if status != http.StatusUnauthorized || !strings.Contains(string(rb), "invalid_api_key") {
		t.Errorf("%d %s, want 401", status, rb)
	}
}
