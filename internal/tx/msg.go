package tx

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
)

// MsgType is the stable wire code of a message type. The high byte names
// the module (1 = bank; later modules take the next free byte), the low
// byte the message within it. Codes are never reused.
type MsgType uint16

// Message type codes of the built-in modules.
const (
	TypeMsgSend MsgType = 0x0101 // bank: transfer
)

// ErrUnknownMsg is wrapped by decoding errors for unregistered message types.
var ErrUnknownMsg = errors.New("unknown message type")

// ErrZeroAmount is wrapped by validation errors for zero amounts.
var ErrZeroAmount = errors.New("zero amount")

// Msg is one operation inside a transaction. A module defines its messages,
// each with a stable type code and a canonical encoding of its body, and
// registers a decoder for each in a Registry.
type Msg interface {
	// Type returns the stable wire code.
	Type() MsgType
	// AppendBody appends the canonical encoding of the message body.
	AppendBody(dst []byte) []byte
	// ValidateBasic checks everything that needs no state.
	ValidateBasic() error
}

// Spender is implemented by messages that move the signer's funds. The
// ledger checks up front, with checked arithmetic, that the fee plus every
// message's Spend fits the sender's balance.
type Spender interface {
	Spend() Amount
}

// MsgDecoder decodes a message body. It must reject trailing bytes; the
// registry additionally re-encodes the result and rejects any body that is
// not the canonical encoding.
type MsgDecoder func(body []byte) (Msg, error)

type msgEntry struct {
	name   string
	decode MsgDecoder
}

// Registry maps message type codes to decoders. It is a value built at
// start-up by the modules of a ledger (never a global) and is read-only
// afterwards, so it may be shared between goroutines.
type Registry struct {
	m map[MsgType]msgEntry
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{m: make(map[MsgType]msgEntry)} }

// Register adds a decoder for t under a human name such as "bank/send".
func (r *Registry) Register(t MsgType, name string, dec MsgDecoder) error {
	if dec == nil || name == "" {
		return fmt.Errorf("register message type %#04x: missing name or decoder", uint16(t))
	}
	if e, ok := r.m[t]; ok {
		return fmt.Errorf("register message type %#04x (%s): already registered as %s", uint16(t), name, e.name)
	}
	r.m[t] = msgEntry{name: name, decode: dec}
	return nil
}

// Name returns the registered name of t.
func (r *Registry) Name(t MsgType) (string, bool) {
	e, ok := r.m[t]
	return e.name, ok
}

// Types returns the registered codes in ascending order.
func (r *Registry) Types() []MsgType {
	ts := make([]MsgType, 0, len(r.m))
	for t := range r.m {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i] < ts[j] })
	return ts
}

// DecodeMsg decodes one message body of type t and checks that it is
// canonical.
func (r *Registry) DecodeMsg(t MsgType, body []byte) (Msg, error) {
	e, ok := r.m[t]
	if !ok {
		return nil, fmt.Errorf("%w %#04x", ErrUnknownMsg, uint16(t))
	}
	m, err := e.decode(body)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", e.name, err)
	}
	if m.Type() != t {
		return nil, fmt.Errorf("decode %s: decoder returned type %#04x", e.name, uint16(m.Type()))
	}
	var scratch [128]byte
	if !bytes.Equal(m.AppendBody(scratch[:0]), body) {
		return nil, fmt.Errorf("decode %s: non-canonical encoding", e.name)
	}
	return m, nil
}

// MsgSend moves Amount from From (who must be the tx signer) to To.
type MsgSend struct {
	From   Address `json:"from"`
	To     Address `json:"to"`
	Amount Amount  `json:"amount"`
}

// msgSendLen is the fixed body size: two addresses and a u64.
const msgSendLen = 2*AddressLen + 8

// Type implements Msg.
func (m *MsgSend) Type() MsgType { return TypeMsgSend }

// AppendBody implements Msg: from(20) ‖ to(20) ‖ amount(u64 BE).
func (m *MsgSend) AppendBody(dst []byte) []byte {
	dst = append(dst, m.From[:]...)
	dst = append(dst, m.To[:]...)
	return AppendU64(dst, uint64(m.Amount))
}

// ValidateBasic implements Msg.
func (m *MsgSend) ValidateBasic() error {
	switch {
	case m.From.IsZero():
		return errors.New("send: missing sender address")
	case m.To.IsZero():
		return errors.New("send: missing recipient address")
	case m.Amount.IsZero():
		return fmt.Errorf("send: %w", ErrZeroAmount)
	}
	return nil
}

// Spend implements Spender.
func (m *MsgSend) Spend() Amount { return m.Amount }

// DecodeMsgSend is the MsgDecoder of MsgSend.
func DecodeMsgSend(body []byte) (Msg, error) {
	if len(body) != msgSendLen {
		return nil, fmt.Errorf("send body is %d bytes, want %d", len(body), msgSendLen)
	}
	m := &MsgSend{Amount: Amount(beU64(body[40:]))}
	copy(m.From[:], body[:20])
	copy(m.To[:], body[20:40])
	return m, nil
}

func beU64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}
