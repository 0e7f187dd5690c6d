package wire

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/tx"
)

// ReceiptDomain prefixes the signed bytes of every receipt, so a receipt
// signature never verifies as a tx or request signature.
const ReceiptDomain = "deai/wire/receipt/v1\x00"

// Receipt limits.
const (
	receiptVersion        = 1
	MaxModelDigestLen     = 128
	MaxTokensDigestLen    = 4096 // several comma-joined digests for batched prompts
	maxReceiptEncodedSize = 1 + 2 + 2*sha256.Size + 1 + MaxModelDigestLen + 4 + 4 + 2 + MaxTokensDigestLen +
		tx.AddressLen + 8 + ed25519.PublicKeySize + ed25519.SignatureSize
)

// Receipt is a miner's signed statement about one response.
//
// Canonical encoding (big-endian, every field present, fixed order):
//
//	version           u8 = 1
//	netuid            u16
//	request_hash      32 bytes   sha256 of the request body
//	response_hash     32 bytes   sha256 of the response body as sent
//	model_digest      u8 len ‖ bytes (≤128, UTF-8)
//	prompt_tokens     u32
//	completion_tokens u32
//	tokens_digest     u16 len ‖ bytes (≤4096, UTF-8)
//	miner             20 bytes   address of pub_key
//	time_unix_ms      u64
//	pub_key           32 bytes   the miner's hotkey
//	signature         64 bytes   ed25519 over ReceiptDomain ‖ everything above
type Receipt struct {
	Netuid           uint16            `json:"netuid"`
	RequestHash      [sha256.Size]byte `json:"-"`
	ResponseHash     [sha256.Size]byte `json:"-"`
	ModelDigest      string            `json:"model_digest"`
	PromptTokens     uint32            `json:"prompt_tokens"`
	CompletionTokens uint32            `json:"completion_tokens"`
	TokensDigest     string            `json:"tokens_digest"`
	Miner            tx.Address        `json:"miner"`
	TimeUnixMs       int64             `json:"time_unix_ms"`
	PubKey           ed25519.PublicKey `json:"-"`
	Signature        []byte            `json:"-"`
}

// MarshalJSON writes the hashes, key and signature as hex.
func (r Receipt) MarshalJSON() ([]byte, error) {
	type plain Receipt
	return json.Marshal(struct {
		plain
		RequestHash  string `json:"request_hash"`
		ResponseHash string `json:"response_hash"`
		PubKey       string `json:"pub_key"`
		Signature    string `json:"signature"`
	}{plain(r), hex.EncodeToString(r.RequestHash[:]), hex.EncodeToString(r.ResponseHash[:]),
		hex.EncodeToString(r.PubKey), hex.EncodeToString(r.Signature)})
}

func (r *Receipt) check() error {
	switch {
	case len(r.ModelDigest) > MaxModelDigestLen || !utf8.ValidString(r.ModelDigest):
		return fmt.Errorf("model digest: %d bytes or not UTF-8, limit %d", len(r.ModelDigest), MaxModelDigestLen)
	case len(r.TokensDigest) > MaxTokensDigestLen || !utf8.ValidString(r.TokensDigest):
		return fmt.Errorf("tokens digest: %d bytes or not UTF-8, limit %d", len(r.TokensDigest), MaxTokensDigestLen)
	case r.TimeUnixMs < 0:
		return fmt.Errorf("negative time %d", r.TimeUnixMs)
	case len(r.PubKey) != ed25519.PublicKeySize:
		return fmt.Errorf("public key is %d bytes, want %d", len(r.PubKey), ed25519.PublicKeySize)
	}
	return nil
}

func (r *Receipt) appendBody(b []byte) []byte {
	b = append(b, receiptVersion)
	b = tx.AppendU16(b, r.Netuid)
	b = append(b, r.RequestHash[:]...)
	b = append(b, r.ResponseHash[:]...)
	b = tx.AppendBytes8(b, []byte(r.ModelDigest))
	b = tx.AppendU32(b, r.PromptTokens)
	b = tx.AppendU32(b, r.CompletionTokens)
	b = tx.AppendString16(b, r.TokensDigest)
	b = append(b, r.Miner[:]...)
	b = tx.AppendU64(b, uint64(r.TimeUnixMs))
	return append(b, r.PubKey...)
}

// SignBytes returns ReceiptDomain followed by the encoding without the
// signature.
func (r *Receipt) SignBytes() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, errs.Wrap("receipt sign bytes", errs.Invalid, err)
	}
	return r.appendBody(append(make([]byte, 0, 256), ReceiptDomain...)), nil
}

// Sign sets PubKey and Miner from key and signs the receipt.
func (r *Receipt) Sign(key Signer) error {
	r.PubKey = key.PubKey()
	r.Miner = tx.AddressFromPubKey(r.PubKey)
	msg, err := r.SignBytes()
	if err != nil {
		return err
	}
	r.Signature = key.Sign(msg)
	return nil
}

// Verify checks that Miner is PubKey's address and that the signature is
// valid (ZIP-215 rules, as for txs).
func (r *Receipt) Verify() error {
	msg, err := r.SignBytes()
	if err != nil {
		return err
	}
	if tx.AddressFromPubKey(r.PubKey) != r.Miner {
		return errs.E("verify receipt", errs.Permission, "miner %s is not the address of the signing key", r.Miner)
	}
	if !tx.VerifySignature(r.PubKey, msg, r.Signature) {
		return errs.E("verify receipt", errs.Permission, "signature does not verify")
	}
	return nil
}

// Encode returns the canonical encoding of a signed receipt.
func (r *Receipt) Encode() ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, errs.Wrap("encode receipt", errs.Invalid, err)
	}
	if len(r.Signature) != ed25519.SignatureSize {
		return nil, errs.E("encode receipt", errs.Invalid, "unsigned")
	}
	return append(r.appendBody(make([]byte, 0, 256)), r.Signature...), nil
}

// DecodeReceipt parses a canonical encoding. It does not verify the
// signature.
func DecodeReceipt(b []byte) (Receipt, error) {
	var r Receipt
	if len(b) > maxReceiptEncodedSize {
		return r, errs.E("decode receipt", errs.Invalid, "%d bytes, limit %d", len(b), maxReceiptEncodedSize)
	}
	rd := tx.NewReader(b)
	if v := rd.U8(); rd.Err() == nil && v != receiptVersion {
		return r, errs.E("decode receipt", errs.Invalid, "unknown version %d", v)
	}
	r.Netuid = rd.U16()
	copy(r.RequestHash[:], rd.Fixed(sha256.Size))
	copy(r.ResponseHash[:], rd.Fixed(sha256.Size))
	r.ModelDigest = string(rd.Bytes8(MaxModelDigestLen))
	r.PromptTokens = rd.U32()
	r.CompletionTokens = rd.U32()
	r.TokensDigest = string(rd.Bytes16(MaxTokensDigestLen))
	copy(r.Miner[:], rd.Fixed(tx.AddressLen))
	r.TimeUnixMs = int64(rd.U64())
	r.PubKey = append(ed25519.PublicKey(nil), rd.Fixed(ed25519.PublicKeySize)...)
	r.Signature = append([]byte(nil), rd.Fixed(ed25519.SignatureSize)...)
	if err := rd.Done(); err != nil {
		return Receipt{}, errs.Wrap("decode receipt", errs.Invalid, err)
	}
	if err := r.check(); err != nil {
		return Receipt{}, errs.Wrap("decode receipt", errs.Invalid, err)
	}
	return r, nil
}

// EncodeHeader returns the receipt as the value of HeaderReceipt: standard
// base64 of the canonical encoding.
func (r *Receipt) EncodeHeader() (string, error) {
	b, err := r.Encode()
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodeHeader parses a HeaderReceipt value. It does not verify the
// signature.
func DecodeHeader(s string) (Receipt, error) {
	if len(s) > base64.StdEncoding.EncodedLen(maxReceiptEncodedSize) {
		return Receipt{}, errs.E("decode receipt header", errs.Invalid, "%d characters, too long", len(s))
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return Receipt{}, errs.Wrap("decode receipt header", errs.Invalid, err)
	}
	return DecodeReceipt(b)
}

// CheckResponse verifies the receipt a miner returned for one exchange:
// the receipt is in resp's header (or, for a stream, trailer: read the
// body to EOF first), it is signed by miner, and its hashes match the
// request and response bodies the caller actually sent and received.
func CheckResponse(resp *http.Response, reqBody, respBody []byte, miner tx.Address) (Receipt, error) {
	v := resp.Header.Get(HeaderReceipt)
	if v == "" {
		v = resp.Trailer.Get(HeaderReceipt)
	}
	if v == "" {
		return Receipt{}, errs.E("check receipt", errs.NotExist, "response carries no %s", HeaderReceipt)
	}
	r, err := DecodeHeader(v)
	if err != nil {
		return Receipt{}, err
	}
	if err := r.Verify(); err != nil {
		return r, err
	}
	switch {
	case r.Miner != miner:
		return r, errs.E("check receipt", errs.Permission, "signed by %s, want %s", r.Miner, miner)
	case r.RequestHash != sha256.Sum256(reqBody):
		return r, errs.E("check receipt", errs.Invalid, "request hash does not match the request sent")
	case r.ResponseHash != sha256.Sum256(respBody):
		return r, errs.E("check receipt", errs.Invalid, "response hash does not match the response received")
	}
	return r, nil
}
