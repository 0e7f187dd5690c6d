package paych

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	voied "github.com/oasisprotocol/curve25519-voi/primitives/ed25519"

	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/tx"
)

// VoucherDomain prefixes the signed bytes of every voucher. It differs
// from tx.SignDomain ("deai/tx/sign/v1\x00"), from wire.ReceiptDomain and
// from Epistula request messages (which start with hex digits), so a
// voucher signature can never pass for a signature over any other deai
// object, nor the other way round. The "v1" is the voucher version.
const VoucherDomain = "deai/paych/voucher/v1\x00"

// Encoding sizes.
const (
	HashSize = 32
	// voucherFixedLen is a signed voucher's size without its chain id.
	voucherFixedLen = 1 + HashSize + 4 + 8 + 8 + 8 + HashSize + tx.PubKeySize + tx.SignatureSize
)

// ChannelID names a payment channel: sha256 of a domain tag, the opener,
// the payee and the opener's channel sequence (see ChannelIDFor). JSON
// and String use lower-case hex.
type ChannelID [HashSize]byte

// ChannelIDFor returns the ID of the seq-th channel (from 0) that from
// opens; the paych.channel_opened event reports it as well.
func ChannelIDFor(from, to tx.Address, seq uint64) ChannelID {
	h := sha256.New()
	h.Write([]byte("deai/paych/channel/v1\x00"))
	h.Write(from[:])
	h.Write(to[:])
	h.Write(binary.BigEndian.AppendUint64(nil, seq))
	var id ChannelID
	h.Sum(id[:0])
	return id
}

// ParseChannelID parses 64 hex digits.
func ParseChannelID(s string) (ChannelID, error) {
	var id ChannelID
	if len(s) != 2*len(id) {
		return id, fmt.Errorf("parse channel id %q: want 64 hex digits", s)
	}
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		return id, fmt.Errorf("parse channel id %q: %w", s, err)
	}
	return id, nil
}

func (id ChannelID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is all zeros (no channel).
func (id ChannelID) IsZero() bool { return id == ChannelID{} }

// MarshalText implements encoding.TextMarshaler.
func (id ChannelID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *ChannelID) UnmarshalText(b []byte) error {
	v, err := ParseChannelID(string(b))
	*id = v
	return err
}

// RequestHash binds a voucher to one request (e.g. the sha256 of the
// request body); all zeros is none. JSON and String use lower-case hex.
type RequestHash [HashSize]byte

func (h RequestHash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText implements encoding.TextMarshaler.
func (h RequestHash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *RequestHash) UnmarshalText(b []byte) error {
	if len(b) != 2*len(h) {
		return fmt.Errorf("parse request hash %q: want 64 hex digits", b)
	}
	_, err := hex.Decode(h[:], b)
	return err
}

// Voucher is a payer's promise on a channel: the lane's cumulative
// Amount, so only the latest voucher of a lane matters (Filecoin paych
// semantics). Nonce strictly increases per lane; the payee keeps the
// latest voucher per lane and can redeem it at any time before the
// channel settles.
type Voucher struct {
	ChainID string    `json:"chain_id"`
	Channel ChannelID `json:"channel"`
	Lane    uint32    `json:"lane"`
	Nonce   uint64    `json:"nonce"`  // ≥ 1, strictly increasing per lane
	Amount  tx.Amount `json:"amount"` // cumulative for the lane
	// Expiry is the last height at which the voucher may be redeemed; 0
	// is none.
	Expiry      uint64      `json:"expiry,omitempty"`
	RequestHash RequestHash `json:"request_hash,omitzero"`
}

// appendBody appends chain id(u8 len) ‖ channel(32) ‖ lane u32 ‖ nonce u64
// ‖ amount u64 ‖ expiry u64 ‖ request hash(32).
func (v *Voucher) appendBody(dst []byte) []byte {
	id := v.ChainID
	if len(id) > 0xff {
		id = id[:0xff]
	}
	dst = tx.AppendBytes8(dst, []byte(id))
	dst = append(dst, v.Channel[:]...)
	dst = tx.AppendU32(dst, v.Lane)
	dst = tx.AppendU64(dst, v.Nonce)
	dst = tx.AppendU64(dst, uint64(v.Amount))
	dst = tx.AppendU64(dst, v.Expiry)
	return append(dst, v.RequestHash[:]...)
}

// SignBytes returns VoucherDomain followed by the voucher's canonical
// encoding: what the payer signs.
func (v *Voucher) SignBytes() []byte {
	return v.appendBody(append(make([]byte, 0, len(VoucherDomain)+voucherFixedLen+len(v.ChainID)), VoucherDomain...))
}

// Validate checks what needs no state: a chain id, a channel, a nonce
// and an amount.
func (v *Voucher) Validate() error {
	switch {
	case len(v.ChainID) == 0 || len(v.ChainID) > tx.MaxChainIDLen:
		return fmt.Errorf("voucher: chain id length %d, want 1..%d", len(v.ChainID), tx.MaxChainIDLen)
	case v.Channel.IsZero():
		return errors.New("voucher: missing channel id")
	case v.Nonce == 0:
		return errors.New("voucher: nonce 0, want at least 1")
	case v.Amount.IsZero():
		return fmt.Errorf("voucher: %w", tx.ErrZeroAmount)
	}
	for i := 0; i < len(v.ChainID); i++ {
		if c := v.ChainID[i]; c < 0x21 || c > 0x7e {
			return fmt.Errorf("voucher: chain id %q is not printable ASCII", v.ChainID)
		}
	}
	return nil
}

// Sign signs v with priv, the key of the channel's From address.
func (v Voucher) Sign(priv ed25519.PrivateKey) (SignedVoucher, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return SignedVoucher{}, fmt.Errorf("sign voucher: private key is %d bytes", len(priv))
	}
	if err := v.Validate(); err != nil {
		return SignedVoucher{}, fmt.Errorf("sign voucher: %w", err)
	}
	pub := priv.Public().(ed25519.PublicKey)
	return SignedVoucher{Voucher: v, PubKey: bank.HexBytes(pub), Signature: ed25519.Sign(priv, v.SignBytes())}, nil
}

// SignedVoucher is a voucher with its signer's public key and ed25519
// signature over SignBytes.
//
// Canonical encoding (Encode, and inside MsgRedeem), 189 bytes plus the
// chain id:
//
//	chain_id      u8 len ‖ bytes
//	channel       32 bytes
//	lane          u32
//	nonce         u64
//	amount        u64   (cumulative, udeai)
//	expiry        u64   (0: none)
//	request_hash  32 bytes (zeros: none)
//	pubkey        32 bytes
//	signature     64 bytes
type SignedVoucher struct {
	Voucher
	PubKey    bank.HexBytes `json:"pubkey"`
	Signature bank.HexBytes `json:"signature"`
}

// Signer returns the address of the signing key.
func (s *SignedVoucher) Signer() tx.Address { return tx.AddressFromPubKey(ed25519.PublicKey(s.PubKey)) }

// Verify reports whether the signature is valid for PubKey under the
// ZIP-215 rules of tx.VerifySignature. It does not check that PubKey is
// the channel's signer (Channel.CheckVoucher does).
func (s *SignedVoucher) Verify() bool {
	return tx.VerifySignature(ed25519.PublicKey(s.PubKey), s.SignBytes(), s.Signature)
}

// Validate checks the voucher and the key and signature lengths.
func (s *SignedVoucher) Validate() error {
	if err := s.Voucher.Validate(); err != nil {
		return err
	}
	if len(s.PubKey) != tx.PubKeySize || len(s.Signature) != tx.SignatureSize {
		return fmt.Errorf("voucher: public key of %d bytes and signature of %d, want %d and %d", len(s.PubKey), len(s.Signature), tx.PubKeySize, tx.SignatureSize)
	}
	return nil
}

// fixed appends b cut or zero-padded to n bytes, so that encoding never
// panics (Validate rejects wrong lengths).
func fixed(dst, b []byte, n int) []byte {
	if len(b) >= n {
		return append(dst, b[:n]...)
	}
	dst = append(dst, b...)
	return append(dst, make([]byte, n-len(b))...)
}

// AppendEncode appends the canonical encoding.
func (s *SignedVoucher) AppendEncode(dst []byte) []byte {
	dst = s.appendBody(dst)
	dst = fixed(dst, s.PubKey, tx.PubKeySize)
	return fixed(dst, s.Signature, tx.SignatureSize)
}

// Encode returns the canonical encoding, e.g. for an HTTP header (base64
// it) or a payee's store.
func (s *SignedVoucher) Encode() []byte {
	return s.AppendEncode(make([]byte, 0, voucherFixedLen+len(s.ChainID)))
}

func readSignedVoucher(r *tx.Reader) SignedVoucher {
	var s SignedVoucher
	s.ChainID = string(r.Bytes8(tx.MaxChainIDLen))
	copy(s.Channel[:], r.Fixed(HashSize))
	s.Lane = r.U32()
	s.Nonce = r.U64()
	s.Amount = tx.Amount(r.U64())
	s.Expiry = r.U64()
	copy(s.RequestHash[:], r.Fixed(HashSize))
	if pk := r.Fixed(tx.PubKeySize); pk != nil {
		s.PubKey = bank.HexBytes(append([]byte(nil), pk...))
	}
	if sig := r.Fixed(tx.SignatureSize); sig != nil {
		s.Signature = bank.HexBytes(append([]byte(nil), sig...))
	}
	return s
}

// DecodeSignedVoucher decodes the canonical encoding; it rejects short
// input, trailing bytes and chain ids over tx.MaxChainIDLen. It does not
// verify the signature.
func DecodeSignedVoucher(b []byte) (SignedVoucher, error) {
	r := tx.NewReader(b)
	s := readSignedVoucher(r)
	if err := r.Done(); err != nil {
		return SignedVoucher{}, fmt.Errorf("decode voucher: %w", err)
	}
	return s, nil
}

// zip215 are the verification rules of tx.VerifySignature (and of
// CometBFT): batch and single verification accept exactly the same
// signatures.
var zip215 = &voied.Options{Verify: voied.VerifyOptionsZIP_215}

// VerifyBatch checks the signatures of many vouchers (ok[i] reports
// vs[i], with exactly the answer of vs[i].Verify()) with ed25519 batch
// verification from curve25519-voi, the library behind tx.VerifySignature
// and CometBFT's batch verifier: two to three times as fast per signature
// as one by one when all are valid (each distinct key is expanded once
// per batch, so a payee's batches from few payers gain most); when one is
// not, every signature is checked on its own. It runs on the calling
// goroutine, so a payee verifying at a high rate splits its vouchers into
// batches of 64 or more per core.
//
// The batch's random coefficients are derived from a hash of the whole
// batch (keys, signatures, messages), as ed25519-dalek does with a
// transcript, instead of read from a random source: forging a batch
// would take about 2^128 work, the result is deterministic, and the
// ledger, which may not use randomness, verifies MsgRedeem with it.
func VerifyBatch(vs []SignedVoucher) []bool {
	ok := make([]bool, len(vs))
	switch len(vs) {
	case 0:
		return ok
	case 1:
		ok[0] = vs[0].Verify()
		return ok
	}
	bv := voied.NewBatchVerifierWithCapacity(len(vs))
	t := sha512.New()
	t.Write([]byte("deai/paych/batch/v1\x00"))
	// A payee's vouchers come from few payers: each distinct key is
	// decompressed and expanded once per batch (a nil entry is a key that
	// does not decode, which makes its vouchers invalid, as in Verify).
	keys := make(map[string]*voied.ExpandedPublicKey)
	var msg []byte
	for i := range vs {
		v := &vs[i]
		msg = v.SignBytes()
		x, seen := keys[string(v.PubKey)]
		if !seen {
			x, _ = voied.NewExpandedPublicKey(voied.PublicKey(v.PubKey))
			keys[string(v.PubKey)] = x
		}
		bv.AddExpandedWithOptions(x, msg, v.Signature, zip215)
		t.Write(binary.BigEndian.AppendUint32(nil, uint32(len(v.PubKey))))
		t.Write(v.PubKey)
		t.Write(binary.BigEndian.AppendUint32(nil, uint32(len(v.Signature))))
		t.Write(v.Signature)
		t.Write(binary.BigEndian.AppendUint32(nil, uint32(len(msg))))
		t.Write(msg)
	}
	var seed [sha512.Size]byte
	t.Sum(seed[:0])
	_, valid := bv.Verify(&hashStream{seed: seed})
	copy(ok, valid)
	return ok
}

// hashStream is an io.Reader of SHA-512(seed ‖ counter) blocks.
type hashStream struct {
	seed [sha512.Size]byte
	ctr  uint64
	buf  []byte
}

func (h *hashStream) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(h.buf) == 0 {
			var in [sha512.Size + 8]byte
			copy(in[:], h.seed[:])
			binary.BigEndian.PutUint64(in[sha512.Size:], h.ctr)
			h.ctr++
			sum := sha512.Sum512(in[:])
			h.buf = sum[:]
		}
		k := copy(p[n:], h.buf)
		h.buf = h.buf[k:]
		n += k
	}
	return n, nil
}
