package wire

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/tx"
)

// Epistula headers (version 2) and deai's receipt header.
const (
	HeaderVersion   = "Epistula-Version"
	HeaderTimestamp = "Epistula-Timestamp"
	HeaderUUID      = "Epistula-Uuid"
	HeaderSignedBy  = "Epistula-Signed-By"
	HeaderSignedFor = "Epistula-Signed-For"
	HeaderSignature = "Epistula-Request-Signature"
	// HeaderReceipt carries the miner's signed Receipt, base64: a header
	// on plain responses, a trailer on streams.
	HeaderReceipt = "X-Deai-Receipt"
)

// Version is the Epistula version deai speaks.
const Version = "2"

// Signer signs with a hotkey; *wallet.Key implements it.
type Signer interface {
	Sign(msg []byte) []byte
	PubKey() ed25519.PublicKey
}

// Envelope is the signed part of a request: every Epistula header, decoded.
type Envelope struct {
	TimestampMs int64             // milliseconds since the Unix epoch
	UUID        string            // a uuid4 in canonical 8-4-4-4-12 form
	SignedBy    ed25519.PublicKey // the sender's hotkey
	SignedFor   tx.Address        // the receiver's hotkey address
	Signature   []byte            // ed25519 over Message
}

// Signer returns the sender's address.
func (e *Envelope) Signer() tx.Address { return tx.AddressFromPubKey(e.SignedBy) }

// Message returns the signed bytes for a body with the given sha256:
// "{sha256_hex(body)}.{uuid}.{timestamp}.{signed_for}" exactly as Epistula
// writes it, with signed_for as the receiver's bech32 address. Tx sign
// bytes start with a domain string, never with hex digits, so a request
// signature can never pass as a tx signature.
func (e *Envelope) Message(bodyHash [sha256.Size]byte) []byte {
	var b []byte
	b = hex.AppendEncode(b, bodyHash[:])
	b = append(b, '.')
	b = append(b, e.UUID...)
	b = append(b, '.')
	b = strconv.AppendInt(b, e.TimestampMs, 10)
	b = append(b, '.')
	b = append(b, e.SignedFor.String()...)
	return b
}

// Apply writes the envelope as headers.
func (e *Envelope) Apply(h http.Header) {
	h.Set(HeaderVersion, Version)
	h.Set(HeaderTimestamp, strconv.FormatInt(e.TimestampMs, 10))
	h.Set(HeaderUUID, e.UUID)
	h.Set(HeaderSignedBy, hex.EncodeToString(e.SignedBy))
	h.Set(HeaderSignedFor, e.SignedFor.String())
	h.Set(HeaderSignature, "0x"+hex.EncodeToString(e.Signature))
}

// ErrUnsigned is wrapped by ParseEnvelope when a request carries no
// signature headers at all.
var ErrUnsigned = errs.E("parse envelope", errs.Permission, "request is not signed")

// ParseEnvelope decodes the Epistula headers strictly: every header present
// and in its canonical form. It checks no signature.
func ParseEnvelope(h http.Header) (Envelope, error) {
	var e Envelope
	if h.Get(HeaderSignature) == "" && h.Get(HeaderSignedBy) == "" {
		return e, ErrUnsigned
	}
	bad := func(format string, args ...any) (Envelope, error) {
		return Envelope{}, errs.E("parse envelope", errs.Invalid, format, args...)
	}
	if v := h.Get(HeaderVersion); v != Version {
		return bad("%s is %q, want %q", HeaderVersion, v, Version)
	}
	ts := h.Get(HeaderTimestamp)
	n, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != ts {
		return bad("%s %q is not a canonical non-negative integer", HeaderTimestamp, ts)
	}
	e.TimestampMs = n
	e.UUID = h.Get(HeaderUUID)
	if !validUUID(e.UUID) {
		return bad("%s %q is not a lower-case uuid", HeaderUUID, e.UUID)
	}
	pub, err := decodeHexN(h.Get(HeaderSignedBy), ed25519.PublicKeySize)
	if err != nil {
		return bad("%s: %v", HeaderSignedBy, err)
	}
	e.SignedBy = pub
	if e.SignedFor, err = tx.ParseAddress(h.Get(HeaderSignedFor)); err != nil {
		return bad("%s: %v", HeaderSignedFor, err)
	}
	if e.SignedFor.String() != h.Get(HeaderSignedFor) {
		return bad("%s is not in canonical lower-case form", HeaderSignedFor)
	}
	sig, ok := strings.CutPrefix(h.Get(HeaderSignature), "0x")
	if !ok {
		return bad("%s must start with 0x", HeaderSignature)
	}
	if e.Signature, err = decodeHexN(sig, ed25519.SignatureSize); err != nil {
		return bad("%s: %v", HeaderSignature, err)
	}
	return e, nil
}

// decodeHexN decodes exactly n bytes of lower-case hex.
func decodeHexN(s string, n int) ([]byte, error) {
	if len(s) != 2*n {
		return nil, fmt.Errorf("want %d hex digits, got %d", 2*n, len(s))
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return nil, fmt.Errorf("not lower-case hex")
		}
	}
	return hex.DecodeString(s)
}

func validUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// NewUUID returns a random uuid4.
func NewUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Sign signs req for receiver with key: it sets the Epistula headers for
// body, which must be exactly the bytes req will send, using the current
// time and a fresh uuid.
func Sign(req *http.Request, body []byte, key Signer, receiver tx.Address) {
	SignAt(req, body, key, receiver, time.Now(), NewUUID())
}

// SignAt is Sign with the time and uuid given, for tests and replays.
func SignAt(req *http.Request, body []byte, key Signer, receiver tx.Address, now time.Time, uuid string) {
	e := Envelope{TimestampMs: now.UnixMilli(), UUID: uuid, SignedBy: key.PubKey(), SignedFor: receiver}
	e.Signature = key.Sign(e.Message(sha256.Sum256(body)))
	e.Apply(req.Header)
}
