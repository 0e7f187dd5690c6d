package tx

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"
)

// testKey returns a deterministic key for seed.
func testKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func bankRegistry(t testing.TB) *Registry {
	r := NewRegistry()
	if err := r.Register(TypeMsgSend, "bank/send", DecodeMsgSend); err != nil {
		t.Fatal(err)
	}
	return r
}

func signedTransfer(t testing.TB) *Tx {
	t.Helper()
	to := AddressFromPubKey(testKey(2).Public().(ed25519.PublicKey))
	tx, err := Builder{ChainID: "deai-test", Nonce: 7, Fee: 1000, Memo: "hi",
		Msgs: []Msg{&MsgSend{From: AddressFromPubKey(testKey(1).Public().(ed25519.PublicKey)), To: to, Amount: 5}}}.Sign(testKey(1))
	if err != nil {
		t.Fatal(err)
	}
	return tx
}

func TestRoundTrip(t *testing.T) {
	reg := bankRegistry(t)
	orig := signedTransfer(t)
	raw, err := orig.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(raw, reg)
	if err != nil {
		t.Fatal(err)
	}
	if got.ChainID != "deai-test" || got.Nonce != 7 || got.Fee != 1000 || got.Memo != "hi" || len(got.Msgs) != 1 {
		t.Fatalf("decoded %+v", got)
	}
	if m := got.Msgs[0].(*MsgSend); *m != *orig.Msgs[0].(*MsgSend) {
		t.Errorf("msg = %+v, want %+v", m, orig.Msgs[0])
	}
	if !got.VerifySignature() {
		t.Error("signature does not verify after decode")
	}
	if got.Sender() != AddressFromPubKey(testKey(1).Public().(ed25519.PublicKey)) {
		t.Error("wrong sender")
	}
	re, _ := got.Encode()
	if !bytes.Equal(re, raw) {
		t.Error("re-encoding differs")
	}
	// A tx built field by field encodes identically (no hidden state).
	fresh := &Tx{ChainID: got.ChainID, PubKey: got.PubKey, Nonce: got.Nonce, Fee: got.Fee, Memo: got.Memo, Msgs: got.Msgs, Signature: got.Signature}
	if fb, err := fresh.Encode(); err != nil || !bytes.Equal(fb, raw) {
		t.Errorf("field-by-field encoding differs: %v", err)
	}
	h, _ := got.Hash()
	if h != sha256.Sum256(raw) || h != HashOf(raw) {
		t.Error("hash is not sha256 of the encoding")
	}
	if len(raw) != 1+1+9+32+8+8+2+2+1+4+48+64 {
		t.Errorf("transfer is %d bytes", len(raw))
	}
	// Decode copies its input.
	raw[len(raw)-1] ^= 1
	if !got.VerifySignature() {
		t.Error("decoded tx aliases the caller's buffer")
	}
}

func TestSignBytesCoverEverything(t *testing.T) {
	base := signedTransfer(t)
	baseSB, _ := base.SignBytes()
	if !bytes.HasPrefix(baseSB, []byte(SignDomain)) {
		t.Fatal("sign bytes lack the domain tag")
	}
	mut := []func(*Tx){
		func(x *Tx) { x.ChainID = "deai-other" },
		func(x *Tx) { x.Nonce++ },
		func(x *Tx) { x.Fee++ },
		func(x *Tx) { x.Memo = "ho" },
		func(x *Tx) {
			x.Msgs = []Msg{&MsgSend{From: x.Msgs[0].(*MsgSend).From, To: x.Msgs[0].(*MsgSend).To, Amount: 6}}
		},
	}
	for i, m := range mut {
		x := &Tx{ChainID: base.ChainID, PubKey: base.PubKey, Nonce: base.Nonce, Fee: base.Fee, Memo: base.Memo, Msgs: base.Msgs, Signature: base.Signature}
		m(x)
		sb, err := x.SignBytes()
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Equal(sb, baseSB) {
			t.Errorf("mutation %d does not change the sign bytes", i)
		}
		if x.VerifySignature() {
			t.Errorf("mutation %d keeps the signature valid", i)
		}
	}
}

// encodeRaw builds arbitrary (possibly invalid) tx bytes field by field.
type rawTx struct {
	version  byte
	chainID  string
	pub      []byte
	nonce    uint64
	fee      uint64
	memo     string
	msgCount int
	msgs     [][]byte // each already type ‖ len ‖ body
	sig      []byte
	trailing []byte
}

func sendMsgBytes(amount uint64) []byte {
	m := &MsgSend{From: Address{1}, To: Address{2}, Amount: Amount(amount)}
	b := AppendU16(nil, uint16(TypeMsgSend))
	return AppendBytes16(b, m.AppendBody(nil))
}

func (r rawTx) bytes() []byte {
	b := []byte{r.version, byte(len(r.chainID))}
	b = append(b, r.chainID...)
	b = append(b, r.pub...)
	b = AppendU64(b, r.nonce)
	b = AppendU64(b, r.fee)
	b = AppendString16(b, r.memo)
	b = append(b, byte(r.msgCount))
	for _, m := range r.msgs {
		b = append(b, m...)
	}
	b = append(b, r.sig...)
	return append(b, r.trailing...)
}

func validRaw() rawTx {
	return rawTx{version: 1, chainID: "deai-test", pub: make([]byte, 32), nonce: 1, fee: 1, msgCount: 1,
		msgs: [][]byte{sendMsgBytes(5)}, sig: make([]byte, 64)}
}

func TestDecodeRejects(t *testing.T) {
	reg := bankRegistry(t)
	if _, err := Decode(validRaw().bytes(), reg); err != nil {
		t.Fatalf("baseline does not decode: %v", err)
	}
	valid := validRaw().bytes()
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrMalformed},
		{"truncated by one", valid[:len(valid)-1], ErrMalformed},
		{"truncated in header", valid[:10], ErrMalformed},
		{"trailing byte", append(append([]byte{}, valid...), 0), ErrMalformed},
		{"oversize", append(append([]byte{}, valid...), make([]byte, MaxTxBytes)...), ErrOversize},
		{"unknown version", func() []byte { r := validRaw(); r.version = 2; return r.bytes() }(), ErrMalformed},
		{"version zero", func() []byte { r := validRaw(); r.version = 0; return r.bytes() }(), ErrMalformed},
		{"empty chain id", func() []byte { r := validRaw(); r.chainID = ""; return r.bytes() }(), ErrMalformed},
		{"chain id too long", func() []byte { r := validRaw(); r.chainID = strings.Repeat("c", 65); return r.bytes() }(), ErrMalformed},
		{"chain id with space", func() []byte { r := validRaw(); r.chainID = "deai test"; return r.bytes() }(), ErrMalformed},
		{"memo too long", func() []byte { r := validRaw(); r.memo = strings.Repeat("m", 257); return r.bytes() }(), ErrMalformed},
		{"memo not utf8", func() []byte { r := validRaw(); r.memo = "\xff"; return r.bytes() }(), ErrMalformed},
		{"zero messages", func() []byte { r := validRaw(); r.msgCount = 0; r.msgs = nil; return r.bytes() }(), ErrMalformed},
		{"too many messages", func() []byte { r := validRaw(); r.msgCount = 65; return r.bytes() }(), ErrMalformed},
		{"count exceeds input", func() []byte { r := validRaw(); r.msgCount = 60; return r.bytes() }(), ErrMalformed},
		{"count below messages", func() []byte { r := validRaw(); r.msgs = append(r.msgs, sendMsgBytes(1)); return r.bytes() }(), ErrMalformed},
		{"unknown message type", func() []byte {
			r := validRaw()
			r.msgs = [][]byte{AppendBytes16(AppendU16(nil, 0x7777), make([]byte, 48))}
			return r.bytes()
		}(), ErrUnknownMsg},
		{"short message body", func() []byte {
			r := validRaw()
			r.msgs = [][]byte{AppendBytes16(AppendU16(nil, uint16(TypeMsgSend)), make([]byte, 47))}
			return r.bytes()
		}(), ErrMalformed},
		{"message length past end", func() []byte {
			r := validRaw()
			r.msgs = [][]byte{AppendU16(AppendU16(nil, uint16(TypeMsgSend)), 0xffff)}
			return r.bytes()
		}(), ErrMalformed},
		{"short signature", func() []byte { r := validRaw(); r.sig = make([]byte, 63); return r.bytes() }(), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.in, reg)
			if err == nil {
				t.Fatalf("decoded %+v, want error", got)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestBuilderValidates(t *testing.T) {
	priv := testKey(1)
	from := AddressFromPubKey(priv.Public().(ed25519.PublicKey))
	tests := []struct {
		name string
		b    Builder
		want error
	}{
		{"zero amount", Builder{ChainID: "c", Msgs: []Msg{&MsgSend{From: from, To: Address{1}}}}, ErrZeroAmount},
		{"no messages", Builder{ChainID: "c"}, ErrMalformed},
		{"no chain id", Builder{Msgs: []Msg{&MsgSend{From: from, To: Address{1}, Amount: 1}}}, ErrMalformed},
		{"memo too long", Builder{ChainID: "c", Memo: strings.Repeat("x", 300), Msgs: []Msg{&MsgSend{From: from, To: Address{1}, Amount: 1}}}, ErrOversize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := tt.b.Sign(priv); !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := (Builder{ChainID: "c", Msgs: []Msg{&MsgSend{From: from, To: Address{1}, Amount: 1}}}).Sign(priv[:10]); err == nil {
		t.Error("short private key accepted")
	}
}

func TestTotalSpend(t *testing.T) {
	x := &Tx{Fee: 10, Msgs: []Msg{&MsgSend{Amount: 5}, &MsgSend{Amount: 7}}}
	if s, err := x.TotalSpend(); err != nil || s != 22 {
		t.Errorf("TotalSpend = %d, %v", s, err)
	}
	x.Msgs[1] = &MsgSend{Amount: MaxAmount}
	if _, err := x.TotalSpend(); !errors.Is(err, ErrOverflow) {
		t.Errorf("err = %v, want overflow", err)
	}
}

func TestRegistry(t *testing.T) {
	r := bankRegistry(t)
	if err := r.Register(TypeMsgSend, "again", DecodeMsgSend); err == nil {
		t.Error("duplicate registration accepted")
	}
	if n, ok := r.Name(TypeMsgSend); !ok || n != "bank/send" {
		t.Errorf("Name = %q, %v", n, ok)
	}
	if ts := r.Types(); len(ts) != 1 || ts[0] != TypeMsgSend {
		t.Errorf("Types = %v", ts)
	}
	if _, err := Decode(validRaw().bytes(), nil); err == nil {
		t.Error("nil registry accepted")
	}
}

func TestVerifySignatureRejects(t *testing.T) {
	x := signedTransfer(t)
	raw, _ := x.Encode()
	bad := append([]byte(nil), raw...)
	bad[len(bad)-1] ^= 0x01
	y, err := Decode(bad, bankRegistry(t))
	if err != nil {
		t.Fatal(err)
	}
	if y.VerifySignature() {
		t.Error("flipped signature verifies")
	}
	if VerifySignature(x.PubKey[:31], []byte("m"), x.Signature) {
		t.Error("short key verifies")
	}
}

func TestHashParse(t *testing.T) {
	h := HashOf([]byte("x"))
	for _, s := range []string{h.String(), strings.ToLower(h.String())} {
		if got, err := ParseHash(s); err != nil || got != h {
			t.Errorf("ParseHash(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "zz", h.String()[:62], h.String() + "00"} {
		if _, err := ParseHash(s); err == nil {
			t.Errorf("ParseHash(%q) accepted", s)
		}
	}
}
