package agent

import (
	"bytes"
	"encoding/base64"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/ledger/paych"
)

func seedVoucher(t testing.TB) paych.SignedVoucher {
	v, err := paych.Voucher{ChainID: testChain, Channel: paych.ChannelID{1}, Lane: 2, Nonce: 3, Amount: 4, RequestHash: paych.RequestHash{5}}.Sign(newKey(1))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// FuzzDecodePaymentSignature: the decoder never panics, and what it
// accepts encodes back to an equal voucher.
func FuzzDecodePaymentSignature(f *testing.F) {
	v := seedVoucher(f)
	f.Add(EncodePaymentSignature(&v))
	f.Add("")
	f.Add(base64.StdEncoding.EncodeToString([]byte(`{"x402Version":2,"accepted":{"scheme":"deai-paych","network":"x"},"payload":{"voucher":""}}`)))
	f.Fuzz(func(t *testing.T, s string) {
		got, err := DecodePaymentSignature(s)
		if err != nil {
			return
		}
		again, err := DecodePaymentSignature(EncodePaymentSignature(&got))
		if err != nil || !bytes.Equal(again.Encode(), got.Encode()) {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzDecodePaymentRequired: never panics; accepted terms re-encode.
func FuzzDecodePaymentRequired(f *testing.F) {
	pr := PaymentRequired{X402Version: X402Version, Accepts: []Requirements{{Scheme: Scheme, Network: testChain, Amount: 5, Asset: Asset, PayTo: addr(1)}}}
	f.Add(pr.Encode())
	f.Add("e30=")
	f.Fuzz(func(t *testing.T, s string) {
		p, r, err := DecodePaymentRequired(s)
		if err != nil {
			return
		}
		_, r2, err := DecodePaymentRequired(p.Encode())
		if err != nil || r2.Amount != r.Amount || r2.PayTo != r.PayTo {
			t.Fatalf("round trip: %v", err)
		}
	})
}

// FuzzDecodePaymentReceipt: never panics.
func FuzzDecodePaymentReceipt(f *testing.F) {
	r := PaymentReceipt{Success: true, Network: testChain, Payee: addr(1), Paid: 3}
	r.Sign(newKey(1))
	f.Add(r.Encode())
	f.Fuzz(func(t *testing.T, s string) {
		got, err := DecodePaymentReceipt(s)
		if err != nil {
			return
		}
		_ = got.Verify()
	})
}

// FuzzDecodeMessage: never panics; what decodes encodes back to the
// same bytes.
func FuzzDecodeMessage(f *testing.F) {
	req := httptest.NewRequest("POST", "/p?q=1", nil)
	if err := SignRequest(req, []byte("b"), newKey(1), addr(2), time.Unix(1e9, 0), time.Minute, "k"); err != nil {
		f.Fatal(err)
	}
	raw, _ := base64.StdEncoding.DecodeString(req.Header.Get(HeaderMessage))
	f.Add(raw)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeMessage(b)
		if err != nil {
			return
		}
		if !bytes.Equal(m.Encode(), b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", m.Encode(), b)
		}
	})
}
