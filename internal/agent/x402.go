package agent

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

// The x402 v2 headers (payments spec §3) and the deai scheme.
const (
	HeaderPaymentRequired  = "PAYMENT-REQUIRED"
	HeaderPaymentSignature = "PAYMENT-SIGNATURE"
	HeaderPaymentResponse  = "PAYMENT-RESPONSE"
	X402Version            = 2
	// Scheme pays with cumulative vouchers on a deai payment channel
	// (ledger/paych) from the client to PayTo.
	Scheme = "deai-paych"
	// Asset is the unit of Requirements.Amount.
	Asset = tx.Denom
	// MaxHeaderLen bounds the payment headers accepted.
	MaxHeaderLen = 4096
)

// RequestDomain prefixes what RequestHashOf hashes.
const RequestDomain = "deai/agent/request/v1\x00"

// RequestHashOf binds a payment to one request: sha256 of RequestDomain,
// the method, the request URI (path and query) and the body's sha256.
func RequestHashOf(method, requestURI string, body []byte) paych.RequestHash {
	bh := sha256.Sum256(body)
	h := sha256.New()
	h.Write([]byte(RequestDomain))
	h.Write(tx.AppendBytes8(nil, []byte(method)))
	h.Write(tx.AppendU32(nil, uint32(len(requestURI))))
	h.Write([]byte(requestURI))
	h.Write(bh[:])
	var out paych.RequestHash
	h.Sum(out[:0])
	return out
}

// PaymentRequired is the 402 answer, base64 JSON in PAYMENT-REQUIRED and
// plain JSON in the body.
type PaymentRequired struct {
	X402Version int            `json:"x402Version"`
	Error       string         `json:"error,omitempty"` // an error code when a payment was refused
	Message     string         `json:"message,omitempty"`
	Resource    Resource       `json:"resource"`
	Accepts     []Requirements `json:"accepts"`
}

// Resource is what is paid for.
type Resource struct {
	URL    string `json:"url"`
	Method string `json:"method"`
}

// Requirements are the terms of the deai scheme.
type Requirements struct {
	Scheme            string     `json:"scheme"`
	Network           string     `json:"network"` // the chain id
	Amount            tx.Amount  `json:"amount"`  // the price, in Asset
	Asset             string     `json:"asset"`
	PayTo             tx.Address `json:"payTo"`
	MaxTimeoutSeconds int        `json:"maxTimeoutSeconds"`
	Extra             Terms      `json:"extra"`
}

// Terms are the channel requirements of the deai scheme.
type Terms struct {
	// RequestHash is RequestHashOf the request: the voucher must carry it.
	RequestHash paych.RequestHash `json:"requestHash"`
	// A voucher is accepted on an open channel from the payer to PayTo
	// whose settle delay is at least MinSettleDelay blocks.
	MinSettleDelay uint64 `json:"minSettleDelay,omitempty"`
}

// Encode returns the header value: base64 of the JSON.
func (p *PaymentRequired) Encode() string {
	b, _ := json.Marshal(p)
	return base64.StdEncoding.EncodeToString(b)
}

func decodeB64JSON(s string, v any) error {
	if len(s) > MaxHeaderLen {
		return fmt.Errorf("%d bytes, over %d", len(s), MaxHeaderLen)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return err
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("trailing data")
	}
	return nil
}

// DecodePaymentRequired decodes a PAYMENT-REQUIRED header and returns its
// deai-paych requirements.
func DecodePaymentRequired(s string) (PaymentRequired, Requirements, error) {
	var p PaymentRequired
	if err := decodeB64JSON(s, &p); err != nil {
		return PaymentRequired{}, Requirements{}, fmt.Errorf("decode %s: %w", HeaderPaymentRequired, err)
	}
	if p.X402Version != X402Version {
		return p, Requirements{}, fmt.Errorf("decode %s: x402 version %d, want %d", HeaderPaymentRequired, p.X402Version, X402Version)
	}
	for _, r := range p.Accepts {
		if r.Scheme == Scheme {
			if r.Amount.IsZero() || r.PayTo.IsZero() || r.Network == "" {
				return p, r, fmt.Errorf("decode %s: %s requirements need an amount, payTo and network", HeaderPaymentRequired, Scheme)
			}
			return p, r, nil
		}
	}
	return p, Requirements{}, fmt.Errorf("decode %s: no %q scheme among %d accepted", HeaderPaymentRequired, Scheme, len(p.Accepts))
}

// PaymentPayload is what PAYMENT-SIGNATURE carries (base64 JSON).
type PaymentPayload struct {
	X402Version int      `json:"x402Version"`
	Accepted    Accepted `json:"accepted"`
	Payload     struct {
		// Voucher is base64 of the paych.SignedVoucher encoding; its
		// RequestHash binds it to the request.
		Voucher string `json:"voucher"`
	} `json:"payload"`
}

// Accepted names the scheme and network a payment follows.
type Accepted struct {
	Scheme  string `json:"scheme"`
	Network string `json:"network"`
}

// EncodePaymentSignature returns the PAYMENT-SIGNATURE value for v.
func EncodePaymentSignature(v *paych.SignedVoucher) string {
	var p PaymentPayload
	p.X402Version = X402Version
	p.Accepted = Accepted{Scheme: Scheme, Network: v.ChainID}
	p.Payload.Voucher = base64.StdEncoding.EncodeToString(v.Encode())
	b, _ := json.Marshal(&p)
	return base64.StdEncoding.EncodeToString(b)
}

// DecodePaymentSignature decodes a PAYMENT-SIGNATURE value into its
// voucher; it checks the structure, not the signature.
func DecodePaymentSignature(s string) (paych.SignedVoucher, error) {
	var p PaymentPayload
	if err := decodeB64JSON(s, &p); err != nil {
		return paych.SignedVoucher{}, fmt.Errorf("decode %s: %w", HeaderPaymentSignature, err)
	}
	switch {
	case p.X402Version != X402Version:
		return paych.SignedVoucher{}, fmt.Errorf("decode %s: x402 version %d, want %d", HeaderPaymentSignature, p.X402Version, X402Version)
	case p.Accepted.Scheme != Scheme:
		return paych.SignedVoucher{}, fmt.Errorf("decode %s: scheme %q, want %q", HeaderPaymentSignature, p.Accepted.Scheme, Scheme)
	}
	raw, err := base64.StdEncoding.DecodeString(p.Payload.Voucher)
	if err != nil {
		return paych.SignedVoucher{}, fmt.Errorf("decode %s: voucher: %w", HeaderPaymentSignature, err)
	}
	v, err := paych.DecodeSignedVoucher(raw)
	if err != nil {
		return paych.SignedVoucher{}, fmt.Errorf("decode %s: %w", HeaderPaymentSignature, err)
	}
	if err := v.Validate(); err != nil {
		return paych.SignedVoucher{}, fmt.Errorf("decode %s: %w", HeaderPaymentSignature, err)
	}
	if v.ChainID != p.Accepted.Network {
		return paych.SignedVoucher{}, fmt.Errorf("decode %s: voucher for chain %q under network %q", HeaderPaymentSignature, v.ChainID, p.Accepted.Network)
	}
	return v, nil
}

// VoucherHash is the sha256 of a voucher's canonical encoding.
func VoucherHash(v *paych.SignedVoucher) [32]byte { return sha256.Sum256(v.Encode()) }

// ReceiptDomain prefixes what a payee signs in a PaymentReceipt.
const ReceiptDomain = "deai/agent/payment-receipt/v1\x00"

// PaymentReceipt is the PAYMENT-RESPONSE header (base64 JSON), signed by
// the payee: proof that it kept the voucher for this request and gave
// this response.
type PaymentReceipt struct {
	Success      bool              `json:"success"`
	Network      string            `json:"network"`
	Payer        tx.Address        `json:"payer"`
	Payee        tx.Address        `json:"payee"`
	Channel      paych.ChannelID   `json:"channel"`
	Lane         uint32            `json:"lane"`
	Nonce        uint64            `json:"nonce"`
	Amount       tx.Amount         `json:"amount"` // the lane's cumulative
	Paid         tx.Amount         `json:"paid"`   // this call
	VoucherHash  paych.RequestHash `json:"voucherHash"`
	RequestHash  paych.RequestHash `json:"requestHash"`
	ResponseHash paych.RequestHash `json:"responseHash"` // sha256 of the body
	Status       int               `json:"status"`
	PubKey       bank.HexBytes     `json:"pubkey"`
	Signature    bank.HexBytes     `json:"signature"`
}

// SignBytes returns what the payee signs: every field but the signature.
func (r *PaymentReceipt) SignBytes() []byte {
	b := append(make([]byte, 0, 320), ReceiptDomain...)
	if r.Success {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = tx.AppendBytes8(b, []byte(r.Network))
	b = append(b, r.Payer[:]...)
	b = append(b, r.Payee[:]...)
	b = append(b, r.Channel[:]...)
	b = tx.AppendU32(b, r.Lane)
	b = tx.AppendU64(b, r.Nonce)
	b = tx.AppendU64(b, uint64(r.Amount))
	b = tx.AppendU64(b, uint64(r.Paid))
	b = append(b, r.VoucherHash[:]...)
	b = append(b, r.RequestHash[:]...)
	b = append(b, r.ResponseHash[:]...)
	b = tx.AppendU32(b, uint32(r.Status))
	return append(b, r.PubKey...)
}

// Sign signs the receipt with the payee's key.
func (r *PaymentReceipt) Sign(key ed25519.PrivateKey) {
	r.PubKey = bank.HexBytes(key.Public().(ed25519.PublicKey))
	r.Signature = ed25519.Sign(key, r.SignBytes())
}

// Verify checks that the receipt is signed by Payee's key.
func (r *PaymentReceipt) Verify() error {
	if len(r.PubKey) != ed25519.PublicKeySize || tx.AddressFromPubKey(ed25519.PublicKey(r.PubKey)) != r.Payee {
		return fmt.Errorf("verify payment receipt: public key is not payee %s's", r.Payee)
	}
	if !tx.VerifySignature(ed25519.PublicKey(r.PubKey), r.SignBytes(), r.Signature) {
		return errors.New("verify payment receipt: signature does not verify")
	}
	return nil
}

// Encode returns the header value.
func (r *PaymentReceipt) Encode() string {
	b, _ := json.Marshal(r)
	return base64.StdEncoding.EncodeToString(b)
}

// DecodePaymentReceipt decodes a PAYMENT-RESPONSE value; it does not
// verify the signature.
func DecodePaymentReceipt(s string) (PaymentReceipt, error) {
	var r PaymentReceipt
	if err := decodeB64JSON(s, &r); err != nil {
		return PaymentReceipt{}, fmt.Errorf("decode %s: %w", HeaderPaymentResponse, err)
	}
	return r, nil
}
