package agent

import (
	"bytes"
	"container/heap"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/tx"
)

// Signed agent-to-agent messages.
const (
	// HeaderMessage carries a signed Message, base64 of its encoding.
	HeaderMessage = "Deai-Agent-Message"
	// HeaderIdempotentReplay is set on a stored response answered again
	// for a repeated idempotency key.
	HeaderIdempotentReplay = "Deai-Idempotent-Replay"
	// MessageDomain prefixes the signed bytes of a message.
	MessageDomain = "deai/agent/message/v1\x00"
	// NonceSize is the bytes of a message nonce (random).
	NonceSize = 16
	// MaxIdempotencyKey bounds an idempotency key's length.
	MaxIdempotencyKey = 255
	// maxPath bounds a message's path.
	maxPath = 2048
)

// Message is a request from one agent to another, signed by the sender
// over all of its fields: the receiver checks it is the addressee, that
// method, path and body are the request's, that it is not expired, that
// its nonce was not seen, and answers a repeated idempotency key with the
// stored response.
type Message struct {
	PubKey         ed25519.PublicKey // the sender's; From is its address
	To             tx.Address
	Method         string
	Path           string // the request URI: path and query
	BodyHash       [32]byte
	Timestamp      time.Time // signed at, millisecond precision
	Expiry         time.Time // not accepted after, millisecond precision
	Nonce          [NonceSize]byte
	IdempotencyKey string // "" for none
	Signature      []byte
}

// From returns the sender's address.
func (m *Message) From() tx.Address { return tx.AddressFromPubKey(m.PubKey) }

func (m *Message) appendBody(b []byte) []byte {
	b = append(b, fixedLen(m.PubKey, ed25519.PublicKeySize)...)
	b = append(b, m.To[:]...)
	b = tx.AppendBytes8(b, []byte(m.Method))
	b = tx.AppendU32(b, uint32(len(m.Path)))
	b = append(b, m.Path...)
	b = append(b, m.BodyHash[:]...)
	b = tx.AppendU64(b, uint64(m.Timestamp.UnixMilli()))
	b = tx.AppendU64(b, uint64(m.Expiry.UnixMilli()))
	b = append(b, m.Nonce[:]...)
	return tx.AppendBytes8(b, []byte(m.IdempotencyKey))
}

func fixedLen(b []byte, n int) []byte {
	out := make([]byte, n)
	copy(out, b)
	return out
}

// SignBytes returns MessageDomain followed by the encoding of every field
// but the signature.
func (m *Message) SignBytes() []byte { return m.appendBody([]byte(MessageDomain)) }

// Encode returns the canonical encoding: the fields of SignBytes (without
// the domain), then the 64-byte signature.
func (m *Message) Encode() []byte {
	return append(m.appendBody(nil), fixedLen(m.Signature, ed25519.SignatureSize)...)
}

// DecodeMessage decodes Encode's bytes; it rejects short input, trailing
// bytes, over-long fields and non-printable methods. It does not verify
// the signature.
func DecodeMessage(b []byte) (Message, error) {
	r := tx.NewReader(b)
	var m Message
	if pk := r.Fixed(ed25519.PublicKeySize); pk != nil {
		m.PubKey = ed25519.PublicKey(bytes.Clone(pk))
	}
	copy(m.To[:], r.Fixed(len(m.To)))
	m.Method = string(r.Bytes8(16))
	n := r.U32()
	if r.Err() == nil && (n > maxPath || int(n) > r.Len()) {
		return Message{}, fmt.Errorf("decode message: path of %d bytes, at most %d", n, maxPath)
	}
	m.Path = string(r.Fixed(int(n)))
	copy(m.BodyHash[:], r.Fixed(32))
	m.Timestamp = time.UnixMilli(int64(r.U64())).UTC()
	m.Expiry = time.UnixMilli(int64(r.U64())).UTC()
	copy(m.Nonce[:], r.Fixed(NonceSize))
	m.IdempotencyKey = string(r.Bytes8(MaxIdempotencyKey))
	if sig := r.Fixed(ed25519.SignatureSize); sig != nil {
		m.Signature = bytes.Clone(sig)
	}
	if err := r.Done(); err != nil {
		return Message{}, fmt.Errorf("decode message: %w", err)
	}
	if m.Method == "" {
		return Message{}, errors.New("decode message: empty method")
	}
	for i := 0; i < len(m.Method); i++ {
		if c := m.Method[i]; c < 'A' || c > 'Z' {
			return Message{}, fmt.Errorf("decode message: method %q is not upper-case letters", m.Method)
		}
	}
	return m, nil
}

// DecodeMessageHeader decodes a HeaderMessage value.
func DecodeMessageHeader(s string) (Message, error) {
	if len(s) > MaxHeaderLen {
		return Message{}, fmt.Errorf("decode message: header of %d bytes, over %d", len(s), MaxHeaderLen)
	}
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return Message{}, fmt.Errorf("decode message: %w", err)
	}
	return DecodeMessage(b)
}

// SignRequest signs req (whose body is body) from key to the agent to,
// valid for ttl from now, with idempotencyKey ("" for none), and sets
// HeaderMessage. Each call draws a fresh random nonce: a retry of the
// same operation is a new message with the same idempotency key.
func SignRequest(req *http.Request, body []byte, key ed25519.PrivateKey, to tx.Address, now time.Time, ttl time.Duration, idempotencyKey string) error {
	if len(idempotencyKey) > MaxIdempotencyKey {
		return fmt.Errorf("sign message: idempotency key of %d bytes, at most %d", len(idempotencyKey), MaxIdempotencyKey)
	}
	m := Message{PubKey: key.Public().(ed25519.PublicKey), To: to, Method: req.Method, Path: req.URL.RequestURI(),
		BodyHash: sha256.Sum256(body), Timestamp: now.Truncate(time.Millisecond), Expiry: now.Add(ttl).Truncate(time.Millisecond),
		IdempotencyKey: idempotencyKey}
	if _, err := rand.Read(m.Nonce[:]); err != nil {
		return fmt.Errorf("sign message: nonce: %w", err)
	}
	m.Signature = ed25519.Sign(key, m.SignBytes())
	req.Header.Set(HeaderMessage, base64.StdEncoding.EncodeToString(m.Encode()))
	return nil
}

// Receiver defaults.
const (
	DefaultMaxTTL         = 5 * time.Minute
	DefaultMaxSkew        = 30 * time.Second
	DefaultNonceCapacity  = 1 << 20
	DefaultIdempotencyTTL = 24 * time.Hour
	DefaultIdempotencyCap = 100_000
)

// ReceiverOptions configure NewReceiver.
type ReceiverOptions struct {
	Self    tx.Address       // the receiving agent: messages must be addressed to it
	Now     func() time.Time // default time.Now
	MaxTTL  time.Duration    // longest Expiry − Timestamp accepted
	MaxSkew time.Duration    // how far in the future a Timestamp may be
	// NonceCapacity bounds the seen-nonce cache; nonces are evicted once
	// their message expired. When full of unexpired nonces, new messages
	// are refused (503) rather than risking a replay.
	NonceCapacity int
	// IdempotencyTTL and IdempotencyCap bound the stored responses (the
	// oldest are evicted first).
	IdempotencyTTL time.Duration
	IdempotencyCap int
	MaxBody        int64 // default 8 MiB
	// Authorize, when set, is asked about every sender whose message
	// verified, before its nonce is recorded; an error refuses it (403).
	Authorize func(ctx context.Context, from tx.Address) error
}

// The error codes of a refused message (JSON ErrorBody).
const (
	CodeUnsigned        = "unsigned"               // 401
	CodeMalformed       = "malformed_message"      // 400
	CodeWrongRecipient  = "wrong_recipient"        // 403
	CodeMismatch        = "message_mismatch"       // 400: method, path or body differ from the signed ones
	CodeMsgSignature    = "bad_signature"          // 401
	CodeExpired         = "expired"                // 401
	CodeFuture          = "future_timestamp"       // 400
	CodeTTLTooLong      = "ttl_too_long"           // 400
	CodeReplayed        = "replayed"               // 409: nonce seen
	CodeNonceCacheFull  = "nonce_cache_full"       // 503
	CodeInProgress      = "in_progress"            // 409: same idempotency key still running
	CodeIdempotencyReus = "idempotency_key_reused" // 422: same key, another request
	CodeForbidden       = "forbidden"              // 403: Authorize refused the sender
)

// Receiver is the middleware that accepts only valid signed messages.
// Its methods are safe for concurrent use.
type Receiver struct {
	o ReceiverOptions

	mu     sync.Mutex // guards seen, expiry, idem and idemOrder
	seen   map[string]time.Time
	expiry expiryHeap
	idem   map[string]*idemEntry
	order  []idemRef // stored responses in insertion order
}

type idemEntry struct {
	reqHash [32]byte // method, path and body the key was first used for
	done    bool
	status  int
	header  http.Header
	body    []byte
	at      time.Time
}

// NewReceiver returns a receiver.
func NewReceiver(o ReceiverOptions) (*Receiver, error) {
	if o.Self.IsZero() {
		return nil, errors.New("new receiver: missing self address")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxTTL <= 0 {
		o.MaxTTL = DefaultMaxTTL
	}
	if o.MaxSkew <= 0 {
		o.MaxSkew = DefaultMaxSkew
	}
	if o.NonceCapacity <= 0 {
		o.NonceCapacity = DefaultNonceCapacity
	}
	if o.IdempotencyTTL <= 0 {
		o.IdempotencyTTL = DefaultIdempotencyTTL
	}
	if o.IdempotencyCap <= 0 {
		o.IdempotencyCap = DefaultIdempotencyCap
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 8 << 20
	}
	return &Receiver{o: o, seen: map[string]time.Time{}, idem: map[string]*idemEntry{}}, nil
}

type senderKey struct{}

// SenderFrom returns the verified sender of a request served behind a
// Receiver.
func SenderFrom(ctx context.Context) (tx.Address, bool) {
	a, ok := ctx.Value(senderKey{}).(tx.Address)
	return a, ok
}

// Verify checks a message for a request of method, path and body at now
// and records its nonce.
func (rc *Receiver) Verify(ctx context.Context, m *Message, method, path string, body []byte) *Rejection {
	now := rc.o.Now()
	switch {
	case m.To != rc.o.Self:
		return refuse(http.StatusForbidden, CodeWrongRecipient, "message is for %s, this agent is %s", m.To, rc.o.Self)
	case m.Method != method || m.Path != path:
		return refuse(http.StatusBadRequest, CodeMismatch, "message signs %s %s, the request is %s %s", m.Method, m.Path, method, path)
	case m.BodyHash != sha256.Sum256(body):
		return refuse(http.StatusBadRequest, CodeMismatch, "message signs another body")
	case !tx.VerifySignature(m.PubKey, m.SignBytes(), m.Signature):
		return refuse(http.StatusUnauthorized, CodeMsgSignature, "message signature does not verify for %s", m.From())
	case m.Timestamp.After(now.Add(rc.o.MaxSkew)):
		return refuse(http.StatusBadRequest, CodeFuture, "message timestamp %s is ahead of this agent's clock %s", m.Timestamp.Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))
	case !now.Before(m.Expiry):
		return refuse(http.StatusUnauthorized, CodeExpired, "message expired at %s", m.Expiry.Format(time.RFC3339Nano))
	case m.Expiry.Sub(m.Timestamp) > rc.o.MaxTTL:
		return refuse(http.StatusBadRequest, CodeTTLTooLong, "message valid for %s, at most %s", m.Expiry.Sub(m.Timestamp), rc.o.MaxTTL)
	}
	if rc.o.Authorize != nil {
		if err := rc.o.Authorize(ctx, m.From()); err != nil {
			return refuse(http.StatusForbidden, CodeForbidden, "sender %s is not allowed: %v", m.From(), err)
		}
	}
	key := string(m.PubKey) + string(m.Nonce[:])
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for len(rc.expiry) > 0 && !now.Before(rc.expiry[0].at) {
		e := heap.Pop(&rc.expiry).(expiryItem)
		delete(rc.seen, e.key)
	}
	if _, ok := rc.seen[key]; ok {
		return refuse(http.StatusConflict, CodeReplayed, "nonce %x from %s was already used", m.Nonce, m.From())
	}
	if len(rc.seen) >= rc.o.NonceCapacity {
		return refuse(http.StatusServiceUnavailable, CodeNonceCacheFull, "too many messages in flight, retry later")
	}
	rc.seen[key] = m.Expiry
	heap.Push(&rc.expiry, expiryItem{key: key, at: m.Expiry})
	return nil
}

// Wrap returns next behind the receiver.
func (rc *Receiver) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get(HeaderMessage)
		if h == "" {
			writeJSONError(w, http.StatusUnauthorized, CodeUnsigned, "request has no "+HeaderMessage+" header")
			return
		}
		m, err := DecodeMessageHeader(h)
		if err != nil {
			writeJSONError(w, http.StatusBadRequest, CodeMalformed, err.Error())
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, rc.o.MaxBody+1))
		if err != nil || int64(len(body)) > rc.o.MaxBody {
			writeJSONError(w, http.StatusRequestEntityTooLarge, "body_too_large", fmt.Sprintf("request body over %d bytes or unreadable", rc.o.MaxBody))
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if perr := rc.Verify(r.Context(), &m, r.Method, r.URL.RequestURI(), body); perr != nil {
			writeJSONError(w, perr.Status, perr.Code, perr.Message)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), senderKey{}, m.From()))
		if m.IdempotencyKey == "" {
			next.ServeHTTP(w, r)
			return
		}
		rc.serveIdempotent(w, r, &m, next)
	})
}

func (rc *Receiver) serveIdempotent(w http.ResponseWriter, r *http.Request, m *Message, next http.Handler) {
	ik := m.From().String() + "\x00" + m.IdempotencyKey
	rh := sha256.Sum256(append([]byte(m.Method+"\x00"+m.Path+"\x00"), m.BodyHash[:]...))
	now := rc.o.Now()
	rc.mu.Lock()
	rc.expireIdemLocked(now)
	e := rc.idem[ik]
	switch {
	case e != nil && e.reqHash != rh:
		rc.mu.Unlock()
		writeJSONError(w, http.StatusUnprocessableEntity, CodeIdempotencyReus, "idempotency key "+strconv.Quote(m.IdempotencyKey)+" was used for another request")
		return
	case e != nil && !e.done:
		rc.mu.Unlock()
		writeJSONError(w, http.StatusConflict, CodeInProgress, "a request with idempotency key "+strconv.Quote(m.IdempotencyKey)+" is still running")
		return
	case e != nil:
		rc.mu.Unlock()
		for k, v := range e.header {
			w.Header()[k] = v
		}
		w.Header().Set(HeaderIdempotentReplay, "true")
		w.WriteHeader(e.status)
		w.Write(e.body)
		return
	}
	e = &idemEntry{reqHash: rh, at: now}
	rc.idem[ik] = e
	rc.order = append(rc.order, idemRef{ik, e})
	rc.mu.Unlock()

	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	stored := false
	defer func() {
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if !stored {
			delete(rc.idem, ik) // a failed attempt may be retried
		}
	}()
	next.ServeHTTP(rec, r)
	rc.mu.Lock()
	if storable(rec.status) {
		e.done, e.status, e.header, e.body, stored = true, rec.status, rec.header.Clone(), bytes.Clone(rec.body.Bytes()), true
	}
	rc.mu.Unlock()
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.status)
	w.Write(rec.body.Bytes())
}

// storable reports whether a response is the outcome of an execution, to
// answer again for the same idempotency key: not a server failure, and
// not a refusal that asks the client to try again (402 payment required,
// 408, 409 conflict, 429), so that a paid call behind the receiver is
// not answered its own 402 when it retries with a voucher.
func storable(status int) bool {
	switch status {
	case http.StatusPaymentRequired, http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return false
	}
	return status < 500
}

type idemRef struct {
	key string
	e   *idemEntry
}

// expireIdemLocked drops stored responses past their TTL and the oldest
// beyond the capacity.
func (rc *Receiver) expireIdemLocked(now time.Time) {
	for len(rc.order) > 0 {
		ref := rc.order[0]
		if rc.idem[ref.key] == ref.e && ref.e.at.Add(rc.o.IdempotencyTTL).After(now) && len(rc.order) < rc.o.IdempotencyCap {
			break
		}
		if rc.idem[ref.key] == ref.e {
			delete(rc.idem, ref.key)
		}
		rc.order = rc.order[1:]
	}
}

type expiryItem struct {
	key string
	at  time.Time
}

// expiryHeap orders seen nonces by expiry, earliest first.
type expiryHeap []expiryItem

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h expiryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *expiryHeap) Push(x any)        { *h = append(*h, x.(expiryItem)) }
func (h *expiryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// HeaderIdempotencyKey is the request header a Signer copies into the
// message's idempotency key.
const HeaderIdempotencyKey = "Idempotency-Key"

// Signer is an http.RoundTripper that signs every request it sends as a
// Message from Key to To, valid for TTL, with the request's
// Idempotency-Key header as the idempotency key. Each attempt is a new
// message with a fresh nonce, so it composes with Client (put Signer
// under it as Base) and with retries.
type Signer struct {
	Key  ed25519.PrivateKey
	To   tx.Address
	TTL  time.Duration     // 0: one minute
	Now  func() time.Time  // nil: time.Now
	Base http.RoundTripper // nil: http.DefaultTransport
}

var _ http.RoundTripper = (*Signer)(nil)

// RoundTrip implements http.RoundTripper.
func (s *Signer) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("sign request: read body: %w", err)
		}
	}
	r := withBody(req, body, "")
	now, ttl := time.Now, s.TTL
	if s.Now != nil {
		now = s.Now
	}
	if ttl <= 0 {
		ttl = time.Minute
	}
	if err := SignRequest(r, body, s.Key, s.To, now(), ttl, req.Header.Get(HeaderIdempotencyKey)); err != nil {
		return nil, err
	}
	base := s.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}
