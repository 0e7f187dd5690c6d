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
	"sync/atomic"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/tx"
)

type msgFixture struct {
	sender ed25519.PrivateKey
	self   tx.Address
	clk    *clock
	rc     *Receiver
	h      http.Handler
	runs   atomic.Int64
}

func newMsgFixture(t *testing.T, o ReceiverOptions) *msgFixture {
	t.Helper()
	f := &msgFixture{sender: newKey(3), self: addr(9), clk: newClock()}
	o.Self, o.Now = f.self, f.clk.Now
	var err error
	f.rc, err = NewReceiver(o)
	if err != nil {
		t.Fatal(err)
	}
	f.h = f.rc.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.runs.Add(1)
		from, _ := SenderFrom(r.Context())
		if r.URL.Query().Get("fail") != "" {
			http.Error(w, "down", 500)
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Run", string(rune('0'+n)))
		io.WriteString(w, from.String()+":"+string(b))
	}))
	return f
}

// request builds a signed request; mod may change the message before it
// is encoded (after signing: a tamper).
func (f *msgFixture) request(t *testing.T, path, body, idem string, mod func(*Message)) *http.Request {
	t.Helper()
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	if err := SignRequest(req, []byte(body), f.sender, f.self, f.clk.Now(), time.Minute, idem); err != nil {
		t.Fatal(err)
	}
	if mod != nil {
		m, err := DecodeMessageHeader(req.Header.Get(HeaderMessage))
		if err != nil {
			t.Fatal(err)
		}
		mod(&m)
		req.Header.Set(HeaderMessage, base64.StdEncoding.EncodeToString(m.Encode()))
	}
	return req
}

func (f *msgFixture) do(req *http.Request) (int, string, http.Header) {
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, req)
	if w.Code >= 400 {
		var eb ErrorBody
		json.Unmarshal(w.Body.Bytes(), &eb)
		return w.Code, eb.Error.Code, w.Header()
	}
	return w.Code, w.Body.String(), w.Header()
}

func TestMessageRejections(t *testing.T) {
	f := newMsgFixture(t, ReceiverOptions{MaxTTL: 2 * time.Minute})
	resign := func(mod func(*Message)) func(*Message) {
		return func(m *Message) {
			mod(m)
			m.Signature = ed25519.Sign(f.sender, m.SignBytes())
		}
	}
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		code   string
	}{
		{"unsigned", func() *http.Request { return httptest.NewRequest("POST", "/x", nil) }, 401, CodeUnsigned},
		{"malformed", func() *http.Request {
			r := httptest.NewRequest("POST", "/x", nil)
			r.Header.Set(HeaderMessage, "AAAA")
			return r
		}, 400, CodeMalformed},
		{"tampered body", func() *http.Request {
			r := f.request(t, "/x", "a", "", nil)
			r.Body = io.NopCloser(strings.NewReader("b"))
			return r
		}, 400, CodeMismatch},
		{"tampered path", func() *http.Request { return f.request(t, "/x", "a", "", func(m *Message) { m.Path = "/y" }) }, 400, CodeMismatch},
		{"tampered expiry", func() *http.Request {
			return f.request(t, "/x", "a", "", func(m *Message) { m.Expiry = m.Expiry.Add(time.Second) })
		}, 401, CodeMsgSignature},
		{"tampered idempotency key", func() *http.Request {
			return f.request(t, "/x", "a", "k", func(m *Message) { m.IdempotencyKey = "k2" })
		}, 401, CodeMsgSignature},
		{"tampered nonce", func() *http.Request { return f.request(t, "/x", "a", "", func(m *Message) { m.Nonce[0] ^= 1 }) }, 401, CodeMsgSignature},
		{"other key", func() *http.Request {
			return f.request(t, "/x", "a", "", func(m *Message) { m.PubKey = newKey(4).Public().(ed25519.PublicKey) })
		}, 401, CodeMsgSignature},
		{"wrong recipient", func() *http.Request { return f.request(t, "/x", "a", "", resign(func(m *Message) { m.To = addr(8) })) }, 403, CodeWrongRecipient},
		{"expired", func() *http.Request {
			return f.request(t, "/x", "a", "", resign(func(m *Message) {
				m.Timestamp, m.Expiry = m.Timestamp.Add(-2*time.Minute), m.Timestamp.Add(-time.Millisecond)
			}))
		}, 401, CodeExpired},
		{"future", func() *http.Request {
			return f.request(t, "/x", "a", "", resign(func(m *Message) { m.Timestamp, m.Expiry = m.Timestamp.Add(time.Minute), m.Expiry.Add(time.Minute) }))
		}, 400, CodeFuture},
		{"ttl too long", func() *http.Request {
			return f.request(t, "/x", "a", "", resign(func(m *Message) { m.Expiry = m.Timestamp.Add(3 * time.Minute) }))
		}, 400, CodeTTLTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code, _ := f.do(tt.req())
			if status != tt.status || code != tt.code {
				t.Errorf("got %d %q, want %d %q", status, code, tt.status, tt.code)
			}
		})
	}
	if n := f.runs.Load(); n != 0 {
		t.Errorf("handler ran %d times for refused messages", n)
	}
}

func TestMessageReplay(t *testing.T) {
	f := newMsgFixture(t, ReceiverOptions{NonceCapacity: 2})
	from := tx.AddressFromPubKey(f.sender.Public().(ed25519.PublicKey))
	req := f.request(t, "/x", "a", "", nil)
	hdr := req.Header.Get(HeaderMessage)
	if status, body, _ := f.do(req); status != 200 || body != from.String()+":a" {
		t.Fatalf("first: %d %q", status, body)
	}
	resend := func() (int, string) {
		r := httptest.NewRequest("POST", "/x", strings.NewReader("a"))
		r.Header.Set(HeaderMessage, hdr)
		s, c, _ := f.do(r)
		return s, c
	}
	if s, c := resend(); s != 409 || c != CodeReplayed {
		t.Errorf("re-sent: %d %q, want 409 %q", s, c, CodeReplayed)
	}
	if s, _, _ := f.do(f.request(t, "/x", "a", "", nil)); s != 200 {
		t.Fatalf("second message: %d", s)
	}
	// The cache (capacity 2) is full of unexpired nonces: refuse.
	if s, c, _ := f.do(f.request(t, "/x", "a", "", nil)); s != 503 || c != CodeNonceCacheFull {
		t.Errorf("full cache: %d %q", s, c)
	}
	// After expiry the nonces are evicted and the re-sent message is
	// refused as expired, not accepted.
	f.clk.Add(time.Minute)
	if s, c := resend(); s != 401 || c != CodeExpired {
		t.Errorf("re-sent after expiry: %d %q, want 401 %q", s, c, CodeExpired)
	}
	if s, _, _ := f.do(f.request(t, "/x", "a", "", nil)); s != 200 {
		t.Errorf("after eviction: %d", s)
	}
	if n := len(f.rc.seen); n != 1 {
		t.Errorf("%d nonces cached, want 1 after eviction", n)
	}
}

func TestMessageIdempotency(t *testing.T) {
	f := newMsgFixture(t, ReceiverOptions{IdempotencyTTL: time.Hour})
	s1, b1, h1 := f.do(f.request(t, "/x", "a", "op-1", nil))
	s2, b2, h2 := f.do(f.request(t, "/x", "a", "op-1", nil)) // a retry: new nonce, same key
	if s1 != 200 || s2 != 200 || b1 != b2 || h2.Get(HeaderIdempotentReplay) != "true" || h1.Get(HeaderIdempotentReplay) != "" {
		t.Fatalf("first %d %q, repeat %d %q %v", s1, b1, s2, b2, h2)
	}
	if h2.Get("X-Run") != "1" || f.runs.Load() != 1 {
		t.Errorf("handler ran %d times, want once", f.runs.Load())
	}
	if s, c, _ := f.do(f.request(t, "/x", "b", "op-1", nil)); s != 422 || c != CodeIdempotencyReus {
		t.Errorf("same key, other body: %d %q", s, c)
	}
	// A failed attempt is not stored: the retry runs again.
	f.do(f.request(t, "/x?fail=1", "a", "op-2", nil))
	f.do(f.request(t, "/x?fail=1", "a", "op-2", nil))
	if f.runs.Load() != 3 {
		t.Errorf("runs %d, want 3 (failures are retried)", f.runs.Load())
	}
	// Past the TTL the key is forgotten.
	f.clk.Add(time.Hour)
	if _, _, h := f.do(f.request(t, "/x", "a", "op-1", nil)); h.Get(HeaderIdempotentReplay) != "" {
		t.Errorf("stored response served after its TTL")
	}
}

func TestMessageEncodeRoundTrip(t *testing.T) {
	req := httptest.NewRequest("PUT", "/a/b?c=d", nil)
	if err := SignRequest(req, []byte("body"), newKey(5), addr(2), newClock().Now(), time.Minute, "key"); err != nil {
		t.Fatal(err)
	}
	m, err := DecodeMessageHeader(req.Header.Get(HeaderMessage))
	if err != nil {
		t.Fatal(err)
	}
	if m.Method != "PUT" || m.Path != "/a/b?c=d" || m.IdempotencyKey != "key" || m.To != addr(2) || m.Expiry.Sub(m.Timestamp) != time.Minute {
		t.Errorf("decoded %+v", m)
	}
	if !ed25519.Verify(m.PubKey, m.SignBytes(), m.Signature) {
		t.Error("signature does not verify after a round trip")
	}
	enc := m.Encode()
	for _, b := range [][]byte{enc[:len(enc)-1], append(enc, 0), nil} {
		if _, err := DecodeMessage(b); err == nil {
			t.Errorf("decoded %d bytes of a %d-byte message", len(b), len(enc))
		}
	}
}

func TestMessageAuthorize(t *testing.T) {
	allowed := tx.AddressFromPubKey(newKey(3).Public().(ed25519.PublicKey))
	f := newMsgFixture(t, ReceiverOptions{Authorize: func(_ context.Context, from tx.Address) error {
		if from != allowed {
			return errors.New("not on the list")
		}
		return nil
	}})
	if s, _, _ := f.do(f.request(t, "/x", "a", "", nil)); s != 200 {
		t.Errorf("allowed sender: %d", s)
	}
	f.sender = newKey(4)
	if s, c, _ := f.do(f.request(t, "/x", "a", "", nil)); s != 403 || c != CodeForbidden {
		t.Errorf("other sender: %d %q", s, c)
	}
}
