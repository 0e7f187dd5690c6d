package tx

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"
)

// Encoding limits. The decoder enforces them before allocating; the chain
// params may lower MaxTxBytes and MaxMemoBytes further.
const (
	Version        = 1         // the only tx version
	MaxTxBytes     = 16 * 1024 // hard cap on an encoded tx
	MaxChainIDLen  = 64
	MaxMemoBytes   = 256
	MaxMsgs        = 64
	PubKeySize     = ed25519.PublicKeySize
	SignatureSize  = ed25519.SignatureSize
	minMsgOverhead = 4 // type u16 + length u16
)

// SignDomain prefixes the signed bytes of every tx so a tx signature can
// never be mistaken for a signature over any other deai object.
const SignDomain = "deai/tx/sign/v1\x00"

// Decoding and validation sentinels, wrapped with detail; callers classify
// with errors.Is.
var (
	ErrMalformed = errors.New("malformed tx")
	ErrOversize  = errors.New("tx too large")
)

// Tx is a signed transaction.
//
// Canonical encoding (all integers big-endian, every field present, fixed
// order, so each tx has exactly one encoding):
//
//	version    u8        = 1
//	chain_id   u8 len ‖ bytes          (1..64 printable ASCII)
//	pubkey     32 bytes                (ed25519; the sender is its address)
//	nonce      u64                     (must equal the account's next nonce)
//	fee        u64                     (udeai, burned)
//	memo       u16 len ‖ bytes         (0..256, valid UTF-8)
//	msg_count  u8                      (1..64)
//	msgs       msg_count × (type u16 ‖ len u16 ‖ body)
//	signature  64 bytes                (ed25519 over SignBytes)
//
// A Tx returned by Decode keeps its bytes: Encode, SignBytes and Hash reuse
// them, so it must be treated as read-only.
type Tx struct {
	ChainID   string
	PubKey    ed25519.PublicKey
	Nonce     uint64
	Fee       Amount
	Memo      string
	Msgs      []Msg
	Signature []byte

	raw []byte // canonical encoding, set by Decode and Sign
}

// Hash is the sha256 of an encoded tx; it is also CometBFT's tx hash.
type Hash [sha256.Size]byte

// String returns upper-case hex, as CometBFT prints tx hashes.
func (h Hash) String() string { return strings.ToUpper(hex.EncodeToString(h[:])) }

// MarshalText implements encoding.TextMarshaler.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Hash) UnmarshalText(b []byte) error {
	v, err := ParseHash(string(b))
	*h = v
	return err
}

// ParseHash parses 64 hex digits in either case.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 2*len(h) {
		return h, fmt.Errorf("parse tx hash %q: want %d hex digits", s, 2*len(h))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("parse tx hash %q: %w", s, err)
	}
	return h, nil
}

// HashOf returns the hash of encoded tx bytes.
func HashOf(raw []byte) Hash { return sha256.Sum256(raw) }

// Sender returns the address of the signing key.
func (t *Tx) Sender() Address { return AddressFromPubKey(t.PubKey) }

// appendBody appends everything but the signature.
func (t *Tx) appendBody(dst []byte) []byte {
	dst = append(dst, Version)
	dst = AppendBytes8(dst, []byte(t.ChainID))
	dst = append(dst, t.PubKey...)
	dst = AppendU64(dst, t.Nonce)
	dst = AppendU64(dst, uint64(t.Fee))
	dst = AppendString16(dst, t.Memo)
	dst = append(dst, byte(len(t.Msgs)))
	for _, m := range t.Msgs {
		dst = AppendU16(dst, uint16(m.Type()))
		lenAt := len(dst)
		dst = append(dst, 0, 0)
		dst = m.AppendBody(dst)
		n := len(dst) - lenAt - 2
		dst[lenAt], dst[lenAt+1] = byte(n>>8), byte(n)
	}
	return dst
}

// checkShape validates the fields the encoding itself constrains.
func (t *Tx) checkShape() error {
	switch {
	case len(t.ChainID) == 0 || len(t.ChainID) > MaxChainIDLen:
		return fmt.Errorf("%w: chain id length %d, want 1..%d", ErrMalformed, len(t.ChainID), MaxChainIDLen)
	case !printableASCII(t.ChainID):
		return fmt.Errorf("%w: chain id %q is not printable ASCII", ErrMalformed, t.ChainID)
	case len(t.PubKey) != PubKeySize:
		return fmt.Errorf("%w: public key is %d bytes, want %d", ErrMalformed, len(t.PubKey), PubKeySize)
	case len(t.Memo) > MaxMemoBytes:
		return fmt.Errorf("%w: memo is %d bytes, limit %d", ErrOversize, len(t.Memo), MaxMemoBytes)
	case !utf8.ValidString(t.Memo):
		return fmt.Errorf("%w: memo is not valid UTF-8", ErrMalformed)
	case len(t.Msgs) == 0 || len(t.Msgs) > MaxMsgs:
		return fmt.Errorf("%w: %d messages, want 1..%d", ErrMalformed, len(t.Msgs), MaxMsgs)
	}
	for i, m := range t.Msgs {
		if m == nil {
			return fmt.Errorf("%w: message %d is nil", ErrMalformed, i)
		}
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// Encode returns the canonical encoding. It fails if the tx is unsigned or
// breaks an encoding limit.
func (t *Tx) Encode() ([]byte, error) {
	if t.raw != nil {
		return t.raw, nil
	}
	if len(t.Signature) != SignatureSize {
		return nil, fmt.Errorf("encode tx: %w: unsigned", ErrMalformed)
	}
	body, err := t.body()
	if err != nil {
		return nil, fmt.Errorf("encode tx: %w", err)
	}
	return append(body, t.Signature...), nil
}

func (t *Tx) body() ([]byte, error) {
	if err := t.checkShape(); err != nil {
		return nil, err
	}
	b := t.appendBody(make([]byte, 0, 256))
	if len(b)+SignatureSize > MaxTxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrOversize, len(b)+SignatureSize, MaxTxBytes)
	}
	return b, nil // MaxTxBytes < 64 KiB, so no message length overflowed its u16
}

// SignBytes returns SignDomain followed by the encoding of everything but
// the signature; chain id and nonce are therefore signed.
func (t *Tx) SignBytes() ([]byte, error) {
	if t.raw != nil {
		return SignBytesOf(t.raw), nil
	}
	body, err := t.body()
	if err != nil {
		return nil, fmt.Errorf("sign bytes: %w", err)
	}
	return append([]byte(SignDomain), body...), nil
}

// SignBytesOf returns the sign bytes of an encoded tx without decoding it.
// raw must be a decoded (so well-formed) tx.
func SignBytesOf(raw []byte) []byte {
	body := raw[:len(raw)-SignatureSize]
	out := make([]byte, 0, len(SignDomain)+len(body))
	return append(append(out, SignDomain...), body...)
}

// Hash returns the sha256 of the encoding.
func (t *Tx) Hash() (Hash, error) {
	b, err := t.Encode()
	if err != nil {
		return Hash{}, err
	}
	return HashOf(b), nil
}

// Sign sets PubKey from priv and signs the tx. It must be called after the
// last change to any field.
func (t *Tx) Sign(priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return fmt.Errorf("sign tx: private key is %d bytes", len(priv))
	}
	t.raw = nil
	t.PubKey = priv.Public().(ed25519.PublicKey)
	body, err := t.body()
	if err != nil {
		return fmt.Errorf("sign tx: %w", err)
	}
	msg := append([]byte(SignDomain), body...)
	t.Signature = ed25519.Sign(priv, msg)
	t.raw = append(body, t.Signature...)
	return nil
}

// VerifySignature reports whether t carries a valid signature of its sign
// bytes under ZIP-215 rules, the rules CometBFT's ed25519 uses: every node
// and the in-memory ledger accept exactly the same signatures, singly or in
// a batch.
func (t *Tx) VerifySignature() bool {
	msg, err := t.SignBytes()
	if err != nil {
		return false
	}
	return VerifySignature(t.PubKey, msg, t.Signature)
}

var zip215 = &voied.Options{Verify: voied.VerifyOptionsZIP_215}

// VerifySignature checks an ed25519 signature with ZIP-215 rules.
func VerifySignature(pub ed25519.PublicKey, msg, sig []byte) bool {
	if len(pub) != PubKeySize || len(sig) != SignatureSize {
		return false
	}
	return voied.VerifyWithOptions(voied.PublicKey(pub), msg, sig, zip215)
}

// ValidateBasic checks everything about t that needs no state: the encoding
// limits and each message's ValidateBasic. It does not check the signature.
func (t *Tx) ValidateBasic() error {
	if err := t.checkShape(); err != nil {
		return err
	}
	for i, m := range t.Msgs {
		if err := m.ValidateBasic(); err != nil {
			return fmt.Errorf("message %d: %w", i, err)
		}
	}
	return nil
}

// TotalSpend returns Fee plus the Spend of every Spender message, failing
// with ErrOverflow if the sum does not fit.
func (t *Tx) TotalSpend() (Amount, error) {
	total := t.Fee
	for _, m := range t.Msgs {
		s, ok := m.(Spender)
		if !ok {
			continue
		}
		var err error
		if total, err = total.Add(s.Spend()); err != nil {
			return 0, fmt.Errorf("fee plus amounts: %w", err)
		}
	}
	return total, nil
}

// Decode parses a canonical encoded tx, resolving messages through reg. It
// rejects unknown versions and message types, trailing bytes, lengths over
// the limits and non-canonical message bodies, and checks every length
// before allocating. It does not verify the signature. The returned Tx
// keeps its own copy of b.
func Decode(b []byte, reg *Registry) (*Tx, error) {
	if len(b) > MaxTxBytes {
		return nil, fmt.Errorf("decode tx: %w: %d bytes, limit %d", ErrOversize, len(b), MaxTxBytes)
	}
	if reg == nil {
		return nil, errors.New("decode tx: nil message registry")
	}
	raw := append([]byte(nil), b...)
	t, err := decode(raw, reg)
	if err != nil {
		return nil, fmt.Errorf("decode tx: %w", err)
	}
	return t, nil
}

func decode(raw []byte, reg *Registry) (*Tx, error) {
	r := NewReader(raw)
	if v := r.U8(); r.Err() == nil && v != Version {
		return nil, fmt.Errorf("%w: unknown version %d", ErrMalformed, v)
	}
	chainID := r.Bytes8(MaxChainIDLen)
	pub := r.Fixed(PubKeySize)
	nonce := r.U64()
	fee := r.U64()
	memo := r.Bytes16(MaxMemoBytes)
	n := int(r.U8())
	if r.Err() == nil && (n == 0 || n > MaxMsgs) {
		return nil, fmt.Errorf("%w: %d messages, want 1..%d", ErrMalformed, n, MaxMsgs)
	}
	if r.Err() == nil && n*minMsgOverhead+SignatureSize > r.Len() {
		return nil, fmt.Errorf("%w: %d messages cannot fit in %d bytes", ErrMalformed, n, r.Len())
	}
	if err := r.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	t := &Tx{
		ChainID: string(chainID),
		PubKey:  ed25519.PublicKey(pub),
		Nonce:   nonce,
		Fee:     Amount(fee),
		Memo:    string(memo),
		Msgs:    make([]Msg, n),
	}
	for i := range t.Msgs {
		typ := MsgType(r.U16())
		body := r.Bytes16(r.Len())
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("%w: message %d: %v", ErrMalformed, i, err)
		}
		m, err := reg.DecodeMsg(typ, body)
		if err != nil {
			if errors.Is(err, ErrUnknownMsg) {
				return nil, fmt.Errorf("message %d: %w", i, err)
			}
			return nil, fmt.Errorf("%w: message %d: %v", ErrMalformed, i, err)
		}
		t.Msgs[i] = m
	}
	t.Signature = r.Fixed(SignatureSize)
	if err := r.Done(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := t.checkShape(); err != nil {
		return nil, err
	}
	t.raw = raw
	return t, nil
}

// Builder assembles a transaction for signing:
//
//	t, err := tx.Builder{ChainID: id, Nonce: n, Fee: fee, Msgs: []tx.Msg{&tx.MsgSend{...}}}.Sign(priv)
//	raw, _ := t.Encode()
type Builder struct {
	ChainID string
	Nonce   uint64
	Fee     Amount
	Memo    string
	Msgs    []Msg
}

// Sign validates the tx statelessly and signs it with priv.
func (b Builder) Sign(priv ed25519.PrivateKey) (*Tx, error) {
	t := &Tx{ChainID: b.ChainID, Nonce: b.Nonce, Fee: b.Fee, Memo: b.Memo, Msgs: b.Msgs}
	if len(priv) == ed25519.PrivateKeySize {
		t.PubKey = priv.Public().(ed25519.PublicKey)
	}
	if err := t.ValidateBasic(); err != nil {
		return nil, fmt.Errorf("build tx: %w", err)
	}
	if err := t.Sign(priv); err != nil {
		return nil, err
	}
	return t, nil
}

// Transfer is a shortcut for a signed single-MsgSend tx from priv's address.
func Transfer(priv ed25519.PrivateKey, chainID string, nonce uint64, fee Amount, to Address, amount Amount) (*Tx, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("build transfer: private key is %d bytes", len(priv))
	}
	from := AddressFromPubKey(priv.Public().(ed25519.PublicKey))
	return Builder{ChainID: chainID, Nonce: nonce, Fee: fee, Msgs: []Msg{&MsgSend{From: from, To: to, Amount: amount}}}.Sign(priv)
}
