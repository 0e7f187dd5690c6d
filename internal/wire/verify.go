package wire

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/tx"
)

// Defaults for VerifierOptions fields left zero.
const (
	// DefaultMaxAge is Epistula's reference freshness window.
	DefaultMaxAge = 8 * time.Second
	// DefaultMaxFuture bounds how far ahead of the receiver's clock a
	// timestamp may be (clock skew).
	DefaultMaxFuture = 2 * time.Second
	// DefaultReplayCapacity bounds the replay cache: at most this many
	// requests are accepted per freshness window; more get 503.
	DefaultReplayCapacity = 1 << 16
	// DefaultMaxBodyBytes bounds a signed request's body.
	DefaultMaxBodyBytes = 8 << 20
)

// Rejection codes: the "code" of the JSON error body, stable for clients.
const (
	CodeUnsigned     = "unsigned_request"
	CodeMalformed    = "malformed_signature"
	CodeBadSignature = "bad_signature"
	CodeWrongTarget  = "wrong_signed_for"
	CodeStale        = "stale_request"
	CodeFuture       = "future_request"
	CodeReplay       = "replayed_request"
	CodeUnauthorized = "unauthorized_hotkey"
	CodeTooLarge     = "body_too_large"
	CodeBadBody      = "unreadable_body"
	CodeBusy         = "replay_cache_full"
)

// Rejection is why a request was refused: the HTTP status and the code and
// message of the JSON body.
type Rejection struct {
	Status  int
	Code    string
	Message string
	Err     error // the detail; logged, not sent
}

func (r *Rejection) Error() string {
	if r.Err != nil {
		return r.Code + ": " + r.Message + ": " + r.Err.Error()
	}
	return r.Code + ": " + r.Message
}

func (r *Rejection) Unwrap() error { return r.Err }

func reject(status int, code, msg string, err error) *Rejection {
	return &Rejection{Status: status, Code: code, Message: msg, Err: err}
}

// ErrorBody is the JSON body of a rejection, in OpenAI's error shape so
// that SDK clients surface it.
type ErrorBody struct {
	Error ErrorObject `json:"error"`
}

// ErrorObject is the "error" member of ErrorBody.
type ErrorObject struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    string `json:"code"`
}

// WriteError answers a rejection.
func WriteError(w http.ResponseWriter, r *Rejection) {
	typ := "authentication_error"
	switch r.Status {
	case http.StatusForbidden:
		typ = "permission_error"
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		typ = "invalid_request_error"
	case http.StatusServiceUnavailable:
		typ = "server_error"
	}
	b, _ := json.Marshal(ErrorBody{Error: ErrorObject{Message: r.Message, Type: typ, Code: r.Code}})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", itoa(len(b)))
	w.WriteHeader(r.Status)
	w.Write(b) //nolint:errcheck // the client is gone
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// AuthorizeFunc decides whether a verified sender may call: typically "is
// this hotkey registered with stake on the subnet". A non-nil error
// rejects the request with 403 (or 503 when the error's kind is
// errs.Transient, e.g. the metagraph cannot be read).
type AuthorizeFunc func(ctx context.Context, signer tx.Address) error

// VerifierOptions configure a Verifier.
type VerifierOptions struct {
	// Self is the receiver's hotkey address; Signed-For must equal it.
	Self tx.Address
	// Authorize is called with every verified sender; nil allows all.
	Authorize AuthorizeFunc
	// Now is the clock; nil is time.Now.
	Now            func() time.Time
	MaxAge         time.Duration // default DefaultMaxAge
	MaxFuture      time.Duration // default DefaultMaxFuture
	ReplayCapacity int           // default DefaultReplayCapacity
	MaxBodyBytes   int64         // default DefaultMaxBodyBytes
	// Logger gets one debug line per rejection; nil discards.
	Logger *slog.Logger
}

// Verifier checks signed requests. It is safe for concurrent use.
type Verifier struct {
	o      VerifierOptions
	log    *slog.Logger
	replay *replayCache
}

// NewVerifier returns a Verifier for o.
func NewVerifier(o VerifierOptions) *Verifier {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.MaxFuture <= 0 {
		o.MaxFuture = DefaultMaxFuture
	}
	if o.ReplayCapacity <= 0 {
		o.ReplayCapacity = DefaultReplayCapacity
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Verifier{o: o, log: log.With("component", "wire"), replay: newReplayCache(o.ReplayCapacity)}
}

// Caller is what a verified request proves about its sender.
type Caller struct {
	Address     tx.Address
	Envelope    Envelope
	RequestHash [sha256.Size]byte // sha256 of the body
}

type callerKey struct{}

// CallerFrom returns the verified caller that Verifier.Wrap stored in ctx.
func CallerFrom(ctx context.Context) (Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// Verify checks a request's headers and body, in order: signature headers
// present and well-formed; timestamp within [now-MaxAge, now+MaxFuture];
// Signed-For is this receiver; the signature; the (sender, uuid) pair not
// seen before; Authorize. The replay cache only learns requests whose
// signature verified, so forged traffic cannot fill it.
func (v *Verifier) Verify(ctx context.Context, h http.Header, body []byte) (Caller, *Rejection) {
	e, err := ParseEnvelope(h)
	if err != nil {
		if errors.Is(err, ErrUnsigned) {
			return Caller{}, reject(http.StatusUnauthorized, CodeUnsigned, "request is not signed (Epistula headers missing)", err)
		}
		return Caller{}, reject(http.StatusBadRequest, CodeMalformed, "malformed signature headers", err)
	}
	now := v.o.Now()
	ts := time.UnixMilli(e.TimestampMs)
	if now.Sub(ts) > v.o.MaxAge {
		return Caller{}, reject(http.StatusUnauthorized, CodeStale, "request timestamp is older than "+v.o.MaxAge.String(), nil)
	}
	if ts.Sub(now) > v.o.MaxFuture {
		return Caller{}, reject(http.StatusUnauthorized, CodeFuture, "request timestamp is in the future", nil)
	}
	if e.SignedFor != v.o.Self {
		return Caller{}, reject(http.StatusUnauthorized, CodeWrongTarget, "request is signed for "+e.SignedFor.String()+", not this hotkey", nil)
	}
	hash := sha256.Sum256(body)
	if !tx.VerifySignature(e.SignedBy, e.Message(hash), e.Signature) {
		return Caller{}, reject(http.StatusUnauthorized, CodeBadSignature, "signature does not verify", nil)
	}
	switch v.replay.add(string(e.SignedBy)+e.UUID, now, now.Add(v.o.MaxAge+v.o.MaxFuture)) {
	case replaySeen:
		return Caller{}, reject(http.StatusConflict, CodeReplay, "request uuid was already used", nil)
	case replayFull:
		return Caller{}, reject(http.StatusServiceUnavailable, CodeBusy, "too many requests in the freshness window", nil)
	}
	c := Caller{Address: e.Signer(), Envelope: e, RequestHash: hash}
	if v.o.Authorize != nil {
		if err := v.o.Authorize(ctx, c.Address); err != nil {
			if errs.KindOf(err) == errs.Transient {
				return Caller{}, reject(http.StatusServiceUnavailable, CodeUnauthorized, "cannot check the sender's stake now", err)
			}
			return Caller{}, reject(http.StatusForbidden, CodeUnauthorized, "hotkey "+c.Address.String()+" may not call this miner", err)
		}
	}
	return c, nil
}

// Wrap returns middleware that reads the body (bounded), verifies the
// request, and passes it on with the body restored and the Caller in its
// context; a rejected request gets its status and a JSON error body.
func (v *Verifier) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, v.o.MaxBodyBytes))
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				v.fail(w, r, reject(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body too large", err))
				return
			}
			v.fail(w, r, reject(http.StatusBadRequest, CodeBadBody, "cannot read request body", err))
			return
		}
		c, rej := v.Verify(r.Context(), r.Header, body)
		if rej != nil {
			v.fail(w, r, rej)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), callerKey{}, c))
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

func (v *Verifier) fail(w http.ResponseWriter, r *http.Request, rej *Rejection) {
	v.log.DebugContext(r.Context(), "request rejected", "path", r.URL.Path, "status", rej.Status, "code", rej.Code, "err", rej.Err)
	WriteError(w, rej)
}

type replayResult int

const (
	replayNew replayResult = iota
	replaySeen
	replayFull
)

// replayCache remembers (sender, uuid) pairs until their timestamps can no
// longer pass the freshness check. Entries expire in insertion order
// (expiry = insertion time + window, and the clock moves forward), so a
// FIFO queue finds the expired ones in O(1) each.
type replayCache struct {
	mu    sync.Mutex // guards the fields below
	cap   int
	seen  map[string]time.Time
	queue []replayEntry // ring buffer in insertion order
	head  int
	n     int
}

type replayEntry struct {
	key    string
	expiry time.Time
}

func newReplayCache(capacity int) *replayCache {
	return &replayCache{cap: capacity, seen: make(map[string]time.Time), queue: make([]replayEntry, capacity)}
}

func (c *replayCache) add(key string, now, expiry time.Time) replayResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.expireLocked(now)
	if _, ok := c.seen[key]; ok {
		return replaySeen
	}
	if c.n == c.cap {
		return replayFull
	}
	c.seen[key] = expiry
	c.queue[(c.head+c.n)%c.cap] = replayEntry{key: key, expiry: expiry}
	c.n++
	return replayNew
}

func (c *replayCache) expireLocked(now time.Time) {
	for c.n > 0 {
		e := &c.queue[c.head]
		if e.expiry.After(now) {
			return
		}
		delete(c.seen, e.key)
		*e = replayEntry{}
		c.head = (c.head + 1) % c.cap
		c.n--
	}
}

// len reports the live entries (tests).
func (c *replayCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}
