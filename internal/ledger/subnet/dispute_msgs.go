package subnet

import (
	"errors"
	"fmt"

	"github.com/deai-network/deai/internal/tx"
)

// Message type codes of disputes and slashing (module byte 2, after the
// weights messages).
const (
	TypeMsgOpenDispute  tx.MsgType = 0x020b
	TypeMsgDisputeVote  tx.MsgType = 0x020c
	TypeMsgEquivocation tx.MsgType = 0x020d
)

// Limits of the dispute messages.
const (
	// MaxReceiptLen bounds an encoded wire.Receipt in a message (a receipt
	// with the largest digests is about 4.4 KB).
	MaxReceiptLen = 8192
	// MaxRequestLen bounds the request body a challenger publishes for the
	// committee to re-execute. A tx is also bounded by the chain's
	// max_tx_bytes, which is usually smaller.
	MaxRequestLen = 64 << 10
	// MaxVoteDigestLen bounds the tokens digest of a vote (as in receipts).
	MaxVoteDigestLen = 4096
)

// MsgOpenDispute challenges a miner's answer: Receipt is the miner's
// signed wire.Receipt (its canonical encoding), Request the request body
// it answered (sha256(Request) must be the receipt's request hash). The
// challenger (the signer) locks Bond, at least the subnet's dispute_bond,
// until the dispute resolves.
type MsgOpenDispute struct {
	Challenger tx.Address `json:"challenger"`
	Netuid     uint16     `json:"netuid"`
	Receipt    []byte     `json:"receipt"`
	Request    []byte     `json:"request"`
	Bond       tx.Amount  `json:"bond"`
}

// Type implements tx.Msg.
func (m *MsgOpenDispute) Type() tx.MsgType { return TypeMsgOpenDispute }

// AppendBody implements tx.Msg: challenger(20) ‖ netuid u16 ‖ receipt (u16
// len) ‖ request (u32 len) ‖ bond u64.
func (m *MsgOpenDispute) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Challenger[:]...)
	dst = tx.AppendU16(dst, m.Netuid)
	dst = tx.AppendStr16(dst, string(m.Receipt))
	dst = appendBytes32(dst, m.Request)
	return tx.AppendU64(dst, uint64(m.Bond))
}

// ValidateBasic implements tx.Msg: the sizes and a bond; the receipt
// itself is checked against the state (with its own reason codes).
func (m *MsgOpenDispute) ValidateBasic() error {
	switch {
	case m.Challenger.IsZero():
		return fmt.Errorf("open dispute: %w", missing("challenger"))
	case len(m.Receipt) == 0 || len(m.Receipt) > MaxReceiptLen:
		return fmt.Errorf("open dispute: receipt is %d bytes, want 1 to %d", len(m.Receipt), MaxReceiptLen)
	case len(m.Request) > MaxRequestLen:
		return fmt.Errorf("open dispute: request is %d bytes, limit %d", len(m.Request), MaxRequestLen)
	case m.Bond.IsZero():
		return fmt.Errorf("open dispute: bond: %w", tx.ErrZeroAmount)
	}
	return nil
}

// Spend implements tx.Spender: the challenger's balance must cover the
// fee plus the bond.
func (m *MsgOpenDispute) Spend() tx.Amount { return m.Bond }

func decodeMsgOpenDispute(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgOpenDispute{}
	copy(m.Challenger[:], r.Fixed(tx.AddressLen))
	m.Netuid = r.U16()
	m.Receipt = clone(r.Bytes16(MaxReceiptLen))
	m.Request = clone(readBytes32(r, MaxRequestLen))
	m.Bond = tx.Amount(r.U64())
	return m, r.Done()
}

// MsgDisputeVote is a committee member's (the signer's) verdict on an open
// dispute after re-executing its request: Guilty when the miner's answer
// does not match, TokensDigest what the re-execution produced.
type MsgDisputeVote struct {
	Voter        tx.Address `json:"voter"`
	ID           uint64     `json:"id"`
	Guilty       bool       `json:"guilty"`
	TokensDigest string     `json:"tokens_digest"`
}

// Type implements tx.Msg.
func (m *MsgDisputeVote) Type() tx.MsgType { return TypeMsgDisputeVote }

// AppendBody implements tx.Msg: voter(20) ‖ id u64 ‖ guilty bool ‖ tokens
// digest (u16 len).
func (m *MsgDisputeVote) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Voter[:]...)
	dst = tx.AppendU64(dst, m.ID)
	dst = tx.AppendBool(dst, m.Guilty)
	return tx.AppendStr16(dst, m.TokensDigest)
}

// ValidateBasic implements tx.Msg.
func (m *MsgDisputeVote) ValidateBasic() error {
	switch {
	case m.Voter.IsZero():
		return fmt.Errorf("dispute vote: %w", missing("voter"))
	case m.ID == 0:
		return errors.New("dispute vote: missing dispute id")
	case len(m.TokensDigest) > MaxVoteDigestLen:
		return fmt.Errorf("dispute vote: tokens digest is %d bytes, limit %d", len(m.TokensDigest), MaxVoteDigestLen)
	}
	return nil
}

func decodeMsgDisputeVote(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgDisputeVote{}
	copy(m.Voter[:], r.Fixed(tx.AddressLen))
	m.ID = r.U64()
	m.Guilty = r.Bool()
	m.TokensDigest = string(r.Bytes16(MaxVoteDigestLen))
	return m, r.Done()
}

// MsgEquivocation reports two receipts one miner signed for the same
// request with different token digests. The built-in engine is
// deterministic (the request carries the seed), so at least one of them is
// a lie: the miner is slashed and jailed at once and Reporter (the signer)
// gets the challenger's reward.
type MsgEquivocation struct {
	Reporter tx.Address `json:"reporter"`
	ReceiptA []byte     `json:"receipt_a"`
	ReceiptB []byte     `json:"receipt_b"`
}

// Type implements tx.Msg.
func (m *MsgEquivocation) Type() tx.MsgType { return TypeMsgEquivocation }

// AppendBody implements tx.Msg: reporter(20) ‖ receipt A (u16 len) ‖
// receipt B (u16 len).
func (m *MsgEquivocation) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Reporter[:]...)
	dst = tx.AppendStr16(dst, string(m.ReceiptA))
	return tx.AppendStr16(dst, string(m.ReceiptB))
}

// ValidateBasic implements tx.Msg.
func (m *MsgEquivocation) ValidateBasic() error {
	switch {
	case m.Reporter.IsZero():
		return fmt.Errorf("equivocation: %w", missing("reporter"))
	case len(m.ReceiptA) == 0 || len(m.ReceiptA) > MaxReceiptLen:
		return fmt.Errorf("equivocation: receipt A is %d bytes, want 1 to %d", len(m.ReceiptA), MaxReceiptLen)
	case len(m.ReceiptB) == 0 || len(m.ReceiptB) > MaxReceiptLen:
		return fmt.Errorf("equivocation: receipt B is %d bytes, want 1 to %d", len(m.ReceiptB), MaxReceiptLen)
	}
	return nil
}

func decodeMsgEquivocation(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgEquivocation{}
	copy(m.Reporter[:], r.Fixed(tx.AddressLen))
	m.ReceiptA = clone(r.Bytes16(MaxReceiptLen))
	m.ReceiptB = clone(r.Bytes16(MaxReceiptLen))
	return m, r.Done()
}

// clone copies b so a message never aliases the tx bytes; nil stays nil
// only on a decoding error.
func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

// appendBytes32 appends a u32 length and b.
func appendBytes32(dst, b []byte) []byte {
	return append(tx.AppendU32(dst, uint32(len(b))), b...)
}

// readBytes32 reads what appendBytes32 wrote, failing above max bytes.
func readBytes32(r *tx.Reader, max int) []byte {
	n := r.U32()
	if r.Err() != nil {
		return nil
	}
	if uint64(n) > uint64(max) {
		r.Fail(fmt.Errorf("length %d exceeds limit %d", n, max))
		return nil
	}
	v := r.Fixed(int(n))
	if v == nil && r.Err() == nil {
		return []byte{}
	}
	return v
}
