package agent

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

// Errors of the paying client.
var (
	// ErrPriceTooHigh: the service asks more than Client.MaxPrice.
	ErrPriceTooHigh = errors.New("price above the client's maximum")
	// ErrBadTerms: the 402 names another payee, network or request.
	ErrBadTerms = errors.New("payment terms do not match the channel")
	// ErrBadReceipt: the service answered a paid call without a valid
	// receipt; the payment counts as made.
	ErrBadReceipt = errors.New("invalid payment receipt")
)

// Client is an http.RoundTripper that pays for 402 answers: it sends the
// request, and on 402 with deai-paych terms (payee and network of its
// Payer's channel, price at most MaxPrice, the request's own hash) it
// pays through the Payer, which first reserves the price in the Budget,
// and retries with PAYMENT-SIGNATURE. A paid answer below 500 with the
// payee's receipt over this voucher, request and response body is
// accepted (charged); an answer of 500 or more rejects the payment (not
// charged, and the lane rolls back). The request body is buffered.
type Client struct {
	Payer    *Payer
	MaxPrice tx.Amount         // 0: no maximum besides the budget
	Base     http.RoundTripper // nil: http.DefaultTransport
	// PayUpFront remembers the price of each method, host and path from
	// its last 402 and pays with the first attempt after that, saving a
	// round trip; a changed price costs one 402 and the payment of the
	// refused attempt is rolled back.
	PayUpFront bool

	mu     sync.Mutex // guards prices
	prices map[string]tx.Amount
}

var _ http.RoundTripper = (*Client)(nil)

func (c *Client) base() http.RoundTripper {
	if c.Base != nil {
		return c.Base
	}
	return http.DefaultTransport
}

// RoundTrip implements http.RoundTripper.
func (c *Client) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("paid request: read body: %w", err)
		}
	}
	reqHash := RequestHashOf(req.Method, req.URL.RequestURI(), body)
	key := req.Method + " " + req.URL.Host + req.URL.Path
	var resp *http.Response
	var err error
	if c.PayUpFront {
		if price := c.knownPrice(key); price != 0 {
			resp, err = c.payAndSend(req, body, price, reqHash)
			if err != nil || resp.StatusCode != http.StatusPaymentRequired {
				return resp, err
			}
			// The price changed or the voucher was refused (the payment
			// was rolled back): follow the 402's terms.
		}
	}
	if resp == nil {
		resp, err = c.base().RoundTrip(withBody(req, body, ""))
		if err != nil || resp.StatusCode != http.StatusPaymentRequired {
			return resp, err
		}
	}
	_, terms, err := DecodePaymentRequired(resp.Header.Get(HeaderPaymentRequired))
	drain(resp)
	if err != nil {
		return nil, fmt.Errorf("paid request %s: %w", req.URL.Redacted(), err)
	}
	p := c.Payer
	switch {
	case terms.PayTo != p.Payee():
		return nil, fmt.Errorf("paid request %s: %w: payee %s, the channel pays %s", req.URL.Redacted(), ErrBadTerms, terms.PayTo, p.Payee())
	case terms.Network != p.ChainID():
		return nil, fmt.Errorf("paid request %s: %w: network %q, the channel is on %q", req.URL.Redacted(), ErrBadTerms, terms.Network, p.ChainID())
	case terms.Extra.RequestHash != reqHash:
		return nil, fmt.Errorf("paid request %s: %w: request hash %s, this request is %s", req.URL.Redacted(), ErrBadTerms, terms.Extra.RequestHash, reqHash)
	case c.MaxPrice != 0 && terms.Amount > c.MaxPrice:
		return nil, fmt.Errorf("paid request %s: %w: %s asked, at most %s", req.URL.Redacted(), ErrPriceTooHigh, terms.Amount, c.MaxPrice)
	}
	if c.PayUpFront {
		c.mu.Lock()
		if c.prices == nil {
			c.prices = map[string]tx.Amount{}
		}
		c.prices[key] = terms.Amount
		c.mu.Unlock()
	}
	return c.payAndSend(req, body, terms.Amount, reqHash)
}

func (c *Client) knownPrice(key string) tx.Amount {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.prices[key]
}

// payAndSend pays price for the request and sends it with the voucher.
// A 402 answer comes back unread, with the payment rolled back.
func (c *Client) payAndSend(req *http.Request, body []byte, price tx.Amount, reqHash paych.RequestHash) (*http.Response, error) {
	pay, err := c.Payer.Pay(req.Context(), price, reqHash)
	if err != nil {
		return nil, fmt.Errorf("paid request %s: %w", req.URL.Redacted(), err)
	}
	resp, err := c.base().RoundTrip(withBody(req, body, EncodePaymentSignature(&pay.Voucher)))
	if err != nil {
		// Whether the service kept the voucher is unknown; it can only
		// have kept it for a successful answer, which it would have sent.
		pay.Reject()
		return nil, fmt.Errorf("paid request %s: %w", req.URL.Redacted(), err)
	}
	if resp.StatusCode >= 500 || resp.StatusCode >= 400 && resp.Header.Get(HeaderPaymentResponse) == "" {
		// The handler failed (the paywall drops the voucher), or the
		// paywall refused the voucher: nothing is paid.
		pay.Reject()
		return resp, nil
	}
	rb, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		pay.Reject()
		return nil, fmt.Errorf("paid request %s: read response: %w", req.URL.Redacted(), err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(rb))
	receipt := resp.Header.Get(HeaderPaymentResponse)
	if receipt == "" {
		// A streamed answer's receipt follows its body, as a trailer.
		receipt = resp.Trailer.Get(HeaderPaymentResponse)
	}
	if err := checkReceipt(receipt, pay, rb); err != nil {
		// The service may still redeem the voucher: count it as paid.
		if aerr := pay.Accept(); aerr != nil {
			err = errors.Join(err, aerr)
		}
		return nil, fmt.Errorf("paid request %s: %w", req.URL.Redacted(), err)
	}
	if err := pay.Accept(); err != nil {
		return nil, fmt.Errorf("paid request %s: %w", req.URL.Redacted(), err)
	}
	return resp, nil
}

func checkReceipt(h string, pay *Payment, body []byte) error {
	if h == "" {
		return fmt.Errorf("%w: no %s header", ErrBadReceipt, HeaderPaymentResponse)
	}
	r, err := DecodePaymentReceipt(h)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadReceipt, err)
	}
	if r.Payee != pay.p.Payee() {
		return fmt.Errorf("%w: signed for payee %s, the channel pays %s", ErrBadReceipt, r.Payee, pay.p.Payee())
	}
	if err := r.Verify(); err != nil {
		return fmt.Errorf("%w: %w", ErrBadReceipt, err)
	}
	switch {
	case !r.Success:
		return fmt.Errorf("%w: the receipt says the voucher was not kept", ErrBadReceipt)
	case r.VoucherHash != VoucherHash(&pay.Voucher):
		return fmt.Errorf("%w: for another voucher", ErrBadReceipt)
	case r.RequestHash != pay.Voucher.RequestHash:
		return fmt.Errorf("%w: for another request", ErrBadReceipt)
	case r.ResponseHash != sha256.Sum256(body):
		return fmt.Errorf("%w: response hash does not match the body", ErrBadReceipt)
	}
	return nil
}

func withBody(req *http.Request, body []byte, payment string) *http.Request {
	r := req.Clone(req.Context())
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	if payment != "" {
		r.Header.Set(HeaderPaymentSignature, payment)
	}
	return r
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
