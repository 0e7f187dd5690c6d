package wire

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/tx"
)

// testKey is an ed25519 Signer for tests.
type testKey struct{ priv ed25519.PrivateKey }

func newTestKey(seed byte) testKey {
	return testKey{ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))}
}

func (k testKey) Sign(msg []byte) []byte    { return ed25519.Sign(k.priv, msg) }
func (k testKey) PubKey() ed25519.PublicKey { return k.priv.Public().(ed25519.PublicKey) }
func (k testKey) Address() tx.Address       { return tx.AddressFromPubKey(k.PubKey()) }

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

const testUUID = "0f8fad5b-d9cb-469f-a165-70867728950e"

func signedRequest(t testing.TB, body []byte, key testKey, receiver tx.Address, at time.Time, uuid string) *http.Request {
	t.Helper()
	req := httptest.NewRequest("POST", "/v1/completions", bytes.NewReader(body))
	SignAt(req, body, key, receiver, at, uuid)
	return req
}

func TestMessageFormat(t *testing.T) {
	miner := newTestKey(2)
	e := Envelope{TimestampMs: 1700000000123, UUID: testUUID, SignedFor: miner.Address()}
	body := []byte(`{"prompt":"hi"}`)
	sum := sha256.Sum256(body)
	want := hexOf(sum[:]) + "." + testUUID + ".1700000000123." + miner.Address().String()
	if got := string(e.Message(sum)); got != want {
		t.Errorf("message:\n got %s\nwant %s", got, want)
	}
}

func hexOf(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestVerifierRejections(t *testing.T) {
	validator := newTestKey(1)
	miner := newTestKey(2)
	other := newTestKey(3)
	unstaked := newTestKey(4)
	body := []byte(`{"prompt":"Once upon a time","max_tokens":8}`)
	now := t0

	authorize := func(_ context.Context, a tx.Address) error {
		switch a {
		case unstaked.Address():
			return errs.E("authorize", errs.Permission, "no stake")
		case other.Address():
			return errs.E("authorize", errs.Transient, "metagraph unavailable")
		}
		return nil
	}

	type result struct {
		Status int
		Code   string
	}
	tests := []struct {
		name string
		req  func() *http.Request
		want result
	}{
		{"ok", func() *http.Request { return signedRequest(t, body, validator, miner.Address(), now, NewUUID()) }, result{200, ""}},
		{"unsigned", func() *http.Request { return httptest.NewRequest("POST", "/v1/completions", bytes.NewReader(body)) }, result{401, CodeUnsigned}},
		{"tampered body", func() *http.Request {
			r := signedRequest(t, body, validator, miner.Address(), now, NewUUID())
			r.Body = io.NopCloser(bytes.NewReader(append([]byte{}, bytes.Replace(body, []byte("8"), []byte("9"), 1)...)))
			return r
		}, result{401, CodeBadSignature}},
		{"tampered timestamp", func() *http.Request {
			r := signedRequest(t, body, validator, miner.Address(), now, NewUUID())
			r.Header.Set(HeaderTimestamp, "1767323045001")
			return r
		}, result{401, CodeBadSignature}},
		{"signer swapped", func() *http.Request {
			r := signedRequest(t, body, validator, miner.Address(), now, NewUUID())
			r.Header.Set(HeaderSignedBy, hexOf(other.PubKey()))
			return r
		}, result{401, CodeBadSignature}},
		{"wrong signed-for", func() *http.Request { return signedRequest(t, body, validator, other.Address(), now, NewUUID()) }, result{401, CodeWrongTarget}},
		{"stale", func() *http.Request {
			return signedRequest(t, body, validator, miner.Address(), now.Add(-DefaultMaxAge-time.Millisecond), NewUUID())
		}, result{401, CodeStale}},
		{"just fresh", func() *http.Request {
			return signedRequest(t, body, validator, miner.Address(), now.Add(-DefaultMaxAge), NewUUID())
		}, result{200, ""}},
		{"future", func() *http.Request {
			return signedRequest(t, body, validator, miner.Address(), now.Add(DefaultMaxFuture+time.Millisecond), NewUUID())
		}, result{401, CodeFuture}},
		{"unstaked", func() *http.Request { return signedRequest(t, body, unstaked, miner.Address(), now, NewUUID()) }, result{403, CodeUnauthorized}},
		{"stake unknown", func() *http.Request { return signedRequest(t, body, other, miner.Address(), now, NewUUID()) }, result{503, CodeUnauthorized}},
		{"malformed version", func() *http.Request {
			r := signedRequest(t, body, validator, miner.Address(), now, NewUUID())
			r.Header.Set(HeaderVersion, "1")
			return r
		}, result{400, CodeMalformed}},
		{"malformed signature", func() *http.Request {
			r := signedRequest(t, body, validator, miner.Address(), now, NewUUID())
			r.Header.Set(HeaderSignature, strings.TrimPrefix(r.Header.Get(HeaderSignature), "0x"))
			return r
		}, result{400, CodeMalformed}},
		{"upper-case uuid", func() *http.Request {
			return signedRequest(t, body, validator, miner.Address(), now, strings.ToUpper(testUUID))
		}, result{400, CodeMalformed}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got result
			var caller Caller
			v := NewVerifier(VerifierOptions{Self: miner.Address(), Authorize: authorize, Now: func() time.Time { return now }})
			h := v.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				caller, _ = CallerFrom(r.Context())
				b, _ := io.ReadAll(r.Body)
				if !bytes.Equal(b, body) {
					t.Errorf("handler got body %q", b)
				}
			}))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, tt.req())
			got.Status = rec.Code
			if rec.Code != 200 {
				var eb ErrorBody
				if err := json.Unmarshal(rec.Body.Bytes(), &eb); err != nil {
					t.Fatalf("error body %q: %v", rec.Body, err)
				}
				got.Code = eb.Error.Code
				if eb.Error.Message == "" || eb.Error.Type == "" {
					t.Errorf("error body without message or type: %s", rec.Body)
				}
			} else if caller.Address != validator.Address() || caller.RequestHash != sha256.Sum256(body) {
				t.Errorf("caller = %v, want %v with the body hash", caller.Address, validator.Address())
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestVerifierReplay(t *testing.T) {
	validator, miner := newTestKey(1), newTestKey(2)
	body := []byte(`{}`)
	now := t0
	v := NewVerifier(VerifierOptions{Self: miner.Address(), Now: func() time.Time { return now }})
	h := v.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	first := signedRequest(t, body, validator, miner.Address(), now, testUUID)
	do := func(r *http.Request) int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	replay := func() *http.Request {
		r := httptest.NewRequest("POST", "/v1/completions", bytes.NewReader(body))
		r.Header = first.Header.Clone()
		return r
	}
	if got := do(first); got != 200 {
		t.Fatalf("first request: %d", got)
	}
	if got := do(replay()); got != http.StatusConflict {
		t.Errorf("replay: status %d, want 409", got)
	}
	// The same uuid from another sender is a different request.
	if got := do(signedRequest(t, body, newTestKey(5), miner.Address(), now, testUUID)); got != 200 {
		t.Errorf("same uuid, other sender: %d", got)
	}
	// Once the window has passed, the entry is gone and the replay is
	// rejected as stale instead: never accepted.
	now = now.Add(DefaultMaxAge + DefaultMaxFuture + time.Millisecond)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, replay())
	if rec.Code != 401 || !strings.Contains(rec.Body.String(), CodeStale) {
		t.Errorf("late replay: %d %s", rec.Code, rec.Body)
	}
	// The next accepted request expires the old entries.
	if got := do(signedRequest(t, body, validator, miner.Address(), now, NewUUID())); got != 200 {
		t.Errorf("fresh request after the window: %d", got)
	}
	if n := v.replay.len(); n != 1 {
		t.Errorf("replay cache holds %d entries after the window, want 1", n)
	}
}

func TestReplayCacheBound(t *testing.T) {
	validator, miner := newTestKey(1), newTestKey(2)
	now := t0
	v := NewVerifier(VerifierOptions{Self: miner.Address(), Now: func() time.Time { return now }, ReplayCapacity: 2})
	codes := []int{}
	for i := 0; i < 3; i++ {
		_, rej := v.Verify(context.Background(), signedRequest(t, nil, validator, miner.Address(), now, NewUUID()).Header, nil)
		code := 200
		if rej != nil {
			code = rej.Status
		}
		codes = append(codes, code)
	}
	now = now.Add(DefaultMaxAge + DefaultMaxFuture)
	_, rej := v.Verify(context.Background(), signedRequest(t, nil, validator, miner.Address(), now, NewUUID()).Header, nil)
	if rej != nil {
		codes = append(codes, rej.Status)
	} else {
		codes = append(codes, 200)
	}
	if diff := cmp.Diff([]int{200, 200, 503, 200}, codes); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestBodyTooLarge(t *testing.T) {
	miner := newTestKey(2)
	v := NewVerifier(VerifierOptions{Self: miner.Address(), MaxBodyBytes: 4})
	rec := httptest.NewRecorder()
	v.Wrap(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader("12345")))
	if rec.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("status %d, want 413", rec.Code)
	}
}

func TestParseEnvelopeRoundTrip(t *testing.T) {
	k, miner := newTestKey(1), newTestKey(2)
	req := signedRequest(t, []byte("x"), k, miner.Address(), t0, testUUID)
	e, err := ParseEnvelope(req.Header)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	e.Apply(h)
	if diff := cmp.Diff(req.Header, h); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
	if e.Signer() != k.Address() || e.TimestampMs != t0.UnixMilli() {
		t.Errorf("envelope %+v", e)
	}
}

func testReceipt() Receipt {
	return Receipt{
		Netuid:           3,
		RequestHash:      sha256.Sum256([]byte("request")),
		ResponseHash:     sha256.Sum256([]byte("response")),
		ModelDigest:      strings.Repeat("ab", 32),
		PromptTokens:     7,
		CompletionTokens: 16,
		TokensDigest:     strings.Repeat("cd", 32),
		TimeUnixMs:       t0.UnixMilli(),
	}
}

func TestReceiptSignVerify(t *testing.T) {
	miner := newTestKey(2)
	r := testReceipt()
	if err := r.Sign(miner); err != nil {
		t.Fatal(err)
	}
	if r.Miner != miner.Address() {
		t.Fatalf("miner %s, want %s", r.Miner, miner.Address())
	}
	if err := r.Verify(); err != nil {
		t.Fatalf("verify: %v", err)
	}
	h, err := r.EncodeHeader()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(r, back); diff != "" {
		t.Errorf("round trip (-want +got)\n%s", diff)
	}
	tamper := []struct {
		name string
		f    func(*Receipt)
	}{
		{"netuid", func(r *Receipt) { r.Netuid++ }},
		{"request hash", func(r *Receipt) { r.RequestHash[0] ^= 1 }},
		{"response hash", func(r *Receipt) { r.ResponseHash[31] ^= 1 }},
		{"model digest", func(r *Receipt) { r.ModelDigest = "x" }},
		{"prompt tokens", func(r *Receipt) { r.PromptTokens++ }},
		{"completion tokens", func(r *Receipt) { r.CompletionTokens-- }},
		{"tokens digest", func(r *Receipt) { r.TokensDigest = "" }},
		{"time", func(r *Receipt) { r.TimeUnixMs++ }},
		{"miner", func(r *Receipt) { r.Miner = newTestKey(9).Address() }},
		{"key and miner", func(r *Receipt) { k := newTestKey(9); r.PubKey, r.Miner = k.PubKey(), k.Address() }},
		{"signature", func(r *Receipt) { r.Signature = append([]byte{r.Signature[0] ^ 1}, r.Signature[1:]...) }},
	}
	for _, tt := range tamper {
		t.Run(tt.name, func(t *testing.T) {
			c := back
			c.PubKey = append(ed25519.PublicKey(nil), back.PubKey...)
			tt.f(&c)
			if err := c.Verify(); err == nil {
				t.Error("tampered receipt verified")
			} else if errs.KindOf(err) != errs.Permission {
				t.Errorf("kind %v, want permission: %v", errs.KindOf(err), err)
			}
		})
	}
}

func TestCheckResponse(t *testing.T) {
	miner := newTestKey(2)
	reqBody, respBody := []byte("request"), []byte("response")
	r := testReceipt()
	r.Sign(miner)
	h, _ := r.EncodeHeader()
	resp := &http.Response{Header: http.Header{HeaderReceipt: {h}}}
	if _, err := CheckResponse(resp, reqBody, respBody, miner.Address()); err != nil {
		t.Fatalf("good receipt: %v", err)
	}
	stream := &http.Response{Header: http.Header{}, Trailer: http.Header{HeaderReceipt: {h}}}
	if _, err := CheckResponse(stream, reqBody, respBody, miner.Address()); err != nil {
		t.Fatalf("receipt in trailer: %v", err)
	}
	for name, f := range map[string]func() error{
		"other miner": func() error { _, err := CheckResponse(resp, reqBody, respBody, newTestKey(7).Address()); return err },
		"request":     func() error { _, err := CheckResponse(resp, []byte("x"), respBody, miner.Address()); return err },
		"response":    func() error { _, err := CheckResponse(resp, reqBody, []byte("x"), miner.Address()); return err },
		"missing": func() error {
			_, err := CheckResponse(&http.Response{}, reqBody, respBody, miner.Address())
			return err
		},
		"garbage": func() error {
			_, err := CheckResponse(&http.Response{Header: http.Header{HeaderReceipt: {"!!"}}}, reqBody, respBody, miner.Address())
			return err
		},
	} {
		if err := f(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestDecodeReceiptRejects(t *testing.T) {
	miner := newTestKey(2)
	r := testReceipt()
	r.Sign(miner)
	good, _ := r.Encode()
	cases := map[string][]byte{
		"empty":        nil,
		"short":        good[:len(good)-1],
		"trailing":     append(append([]byte{}, good...), 0),
		"version":      append([]byte{2}, good[1:]...),
		"digest bound": func() []byte { b := append([]byte{}, good...); b[1+2+64] = 200; return b }(),
	}
	for name, b := range cases {
		if _, err := DecodeReceipt(b); err == nil {
			t.Errorf("%s: decoded", name)
		} else if !errors.Is(err, err) || errs.KindOf(err) != errs.Invalid {
			t.Errorf("%s: kind %v", name, errs.KindOf(err))
		}
	}
	if _, err := (&Receipt{}).Encode(); err == nil {
		t.Error("unsigned receipt encoded")
	}
}
