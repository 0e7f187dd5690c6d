package paych

import (
	"errors"
	"fmt"

	"github.com/deai-network/deai/internal/tx"
)

// Message type codes: module byte 4.
const (
	TypeMsgOpenChannel tx.MsgType = 0x0401
	TypeMsgTopUp       tx.MsgType = 0x0402
	TypeMsgRedeem      tx.MsgType = 0x0403
	TypeMsgSettle      tx.MsgType = 0x0404
	TypeMsgCollect     tx.MsgType = 0x0405
)

// MaxRedeemVouchers bounds the vouchers of one MsgRedeem (each is about
// 200 bytes; a tx is at most 16 KiB).
const MaxRedeemVouchers = 64

func missing(what string) error { return fmt.Errorf("missing %s address", what) }

// MsgOpenChannel opens a channel from From (the signer, who signs its
// vouchers) to To with Deposit, settling SettleDelay blocks after
// MsgSettle (Params.MinSettleDelay to MaxSettleDelay). Without Owner the
// deposit comes from From. With Owner it comes from Owner's account
// through the spend permission Owner granted From (agents.Charge: caps,
// allowlist with To as the counterparty, expiry), and the rest goes back
// to Owner at collect: an agent host funds channels without holding the
// owner's key. The channel's ID is ChannelIDFor(From, To, n) for From's
// n-th channel, reported by the paych.channel_opened event.
type MsgOpenChannel struct {
	From        tx.Address `json:"from"`
	To          tx.Address `json:"to"`
	Deposit     tx.Amount  `json:"deposit"`
	SettleDelay uint64     `json:"settle_delay"`
	Owner       tx.Address `json:"via_owner,omitzero"` // zero: From pays
}

// Type implements tx.Msg.
func (m *MsgOpenChannel) Type() tx.MsgType { return TypeMsgOpenChannel }

// AppendBody implements tx.Msg: from(20) ‖ to(20) ‖ deposit u64 ‖ settle
// delay u64 ‖ owner(20, zeros: none).
func (m *MsgOpenChannel) AppendBody(dst []byte) []byte {
	dst = append(dst, m.From[:]...)
	dst = append(dst, m.To[:]...)
	dst = tx.AppendU64(dst, uint64(m.Deposit))
	dst = tx.AppendU64(dst, m.SettleDelay)
	return append(dst, m.Owner[:]...)
}

// ValidateBasic implements tx.Msg.
func (m *MsgOpenChannel) ValidateBasic() error {
	switch {
	case m.From.IsZero():
		return fmt.Errorf("open channel: %w", missing("from"))
	case m.To.IsZero():
		return fmt.Errorf("open channel: %w", missing("to"))
	case m.From == m.To:
		return fmt.Errorf("open channel: from and to are both %s, want two accounts", m.From)
	case m.Owner == m.From:
		return fmt.Errorf("open channel: via_owner is from (%s): leave it empty to pay from your own account", m.From)
	case m.Deposit.IsZero():
		return fmt.Errorf("open channel: deposit: %w", tx.ErrZeroAmount)
	case m.SettleDelay == 0:
		return errors.New("open channel: settle delay 0, want at least the chain's min_settle_delay")
	}
	return nil
}

// Spend implements tx.Spender: the deposit comes from the signer unless
// an owner pays it.
func (m *MsgOpenChannel) Spend() tx.Amount {
	if m.Owner.IsZero() {
		return m.Deposit
	}
	return 0
}

func decodeMsgOpenChannel(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgOpenChannel{From: readAddr(r), To: readAddr(r), Deposit: tx.Amount(r.U64()), SettleDelay: r.U64(), Owner: readAddr(r)}
	return m, r.Done()
}

// MsgTopUp adds Amount to an open (not settling) channel. Without Owner,
// Sender (the signer) must be the channel's funder and pays. With Owner,
// Sender must be the channel's From, Owner its funder, and the amount
// comes from Owner through Owner's spend permission for Sender.
type MsgTopUp struct {
	Sender  tx.Address `json:"sender"`
	Channel ChannelID  `json:"channel"`
	Amount  tx.Amount  `json:"amount"`
	Owner   tx.Address `json:"via_owner,omitzero"`
}

// Type implements tx.Msg.
func (m *MsgTopUp) Type() tx.MsgType { return TypeMsgTopUp }

// AppendBody implements tx.Msg: sender(20) ‖ channel(32) ‖ amount u64 ‖
// owner(20, zeros: none).
func (m *MsgTopUp) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Sender[:]...)
	dst = append(dst, m.Channel[:]...)
	dst = tx.AppendU64(dst, uint64(m.Amount))
	return append(dst, m.Owner[:]...)
}

// ValidateBasic implements tx.Msg.
func (m *MsgTopUp) ValidateBasic() error {
	switch {
	case m.Sender.IsZero():
		return fmt.Errorf("top up: %w", missing("sender"))
	case m.Channel.IsZero():
		return errors.New("top up: missing channel id")
	case m.Owner == m.Sender:
		return fmt.Errorf("top up: via_owner is the sender (%s): leave it empty to pay from your own account", m.Sender)
	case m.Amount.IsZero():
		return fmt.Errorf("top up: %w", tx.ErrZeroAmount)
	}
	return nil
}

// Spend implements tx.Spender.
func (m *MsgTopUp) Spend() tx.Amount {
	if m.Owner.IsZero() {
		return m.Amount
	}
	return 0
}

func decodeMsgTopUp(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgTopUp{Sender: readAddr(r)}
	copy(m.Channel[:], r.Fixed(HashSize))
	m.Amount = tx.Amount(r.U64())
	m.Owner = readAddr(r)
	return m, r.Done()
}

// MsgRedeem is the payee (the signer) redeeming vouchers, in order, on
// one or several channels it is the payee of; each is paid out at once.
// The message fails as a whole if any voucher is refused.
type MsgRedeem struct {
	Payee    tx.Address      `json:"payee"`
	Vouchers []SignedVoucher `json:"vouchers"`
}

// Type implements tx.Msg.
func (m *MsgRedeem) Type() tx.MsgType { return TypeMsgRedeem }

// AppendBody implements tx.Msg: payee(20) ‖ u8 count ‖ signed vouchers.
func (m *MsgRedeem) AppendBody(dst []byte) []byte {
	dst = append(dst, m.Payee[:]...)
	n := min(len(m.Vouchers), 0xff)
	dst = append(dst, byte(n))
	for i := range m.Vouchers[:n] {
		dst = m.Vouchers[i].AppendEncode(dst)
	}
	return dst
}

// ValidateBasic implements tx.Msg.
func (m *MsgRedeem) ValidateBasic() error {
	if m.Payee.IsZero() {
		return fmt.Errorf("redeem: %w", missing("payee"))
	}
	if len(m.Vouchers) == 0 || len(m.Vouchers) > MaxRedeemVouchers {
		return fmt.Errorf("redeem: %d vouchers, want 1 to %d", len(m.Vouchers), MaxRedeemVouchers)
	}
	for i := range m.Vouchers {
		if err := m.Vouchers[i].Validate(); err != nil {
			return fmt.Errorf("redeem: voucher %d: %w", i, err)
		}
	}
	return nil
}

func decodeMsgRedeem(b []byte) (tx.Msg, error) {
	r := tx.NewReader(b)
	m := &MsgRedeem{Payee: readAddr(r)}
	n := int(r.U8())
	if r.Err() == nil && n*voucherFixedLen > r.Len() {
		r.Fail(fmt.Errorf("%d vouchers cannot fit in %d bytes", n, r.Len()))
	}
	if r.Err() == nil && n > 0 {
		m.Vouchers = make([]SignedVoucher, n)
		for i := range m.Vouchers {
			m.Vouchers[i] = readSignedVoucher(r)
		}
	}
	return m, r.Done()
}

// MsgSettle starts a channel's settlement: from then on it takes no
// top-ups, and SettleDelay blocks later no vouchers either and may be
// collected. Sender (the signer) is the channel's From, To or funder.
type MsgSettle struct {
	Sender  tx.Address `json:"sender"`
	Channel ChannelID  `json:"channel"`
}

// MsgCollect closes a settled channel: what the payee has not redeemed
// goes back to the funder. Sender (the signer) is the channel's From, To
// or funder.
type MsgCollect struct {
	Sender  tx.Address `json:"sender"`
	Channel ChannelID  `json:"channel"`
}

// Type implements tx.Msg.
func (m *MsgSettle) Type() tx.MsgType { return TypeMsgSettle }

// Type implements tx.Msg.
func (m *MsgCollect) Type() tx.MsgType { return TypeMsgCollect }

// AppendBody implements tx.Msg: sender(20) ‖ channel(32).
func (m *MsgSettle) AppendBody(dst []byte) []byte {
	return append(append(dst, m.Sender[:]...), m.Channel[:]...)
}

// AppendBody implements tx.Msg, with MsgSettle's layout.
func (m *MsgCollect) AppendBody(dst []byte) []byte {
	return append(append(dst, m.Sender[:]...), m.Channel[:]...)
}

func validateChannelMsg(op string, sender tx.Address, id ChannelID) error {
	switch {
	case sender.IsZero():
		return fmt.Errorf("%s: %w", op, missing("sender"))
	case id.IsZero():
		return fmt.Errorf("%s: missing channel id", op)
	}
	return nil
}

// ValidateBasic implements tx.Msg.
func (m *MsgSettle) ValidateBasic() error { return validateChannelMsg("settle", m.Sender, m.Channel) }

// ValidateBasic implements tx.Msg.
func (m *MsgCollect) ValidateBasic() error {
	return validateChannelMsg("collect", m.Sender, m.Channel)
}

func readChannelMsg(b []byte) (tx.Address, ChannelID, error) {
	r := tx.NewReader(b)
	a := readAddr(r)
	var id ChannelID
	copy(id[:], r.Fixed(HashSize))
	return a, id, r.Done()
}

func decodeMsgSettle(b []byte) (tx.Msg, error) {
	a, id, err := readChannelMsg(b)
	return &MsgSettle{Sender: a, Channel: id}, err
}

func decodeMsgCollect(b []byte) (tx.Msg, error) {
	a, id, err := readChannelMsg(b)
	return &MsgCollect{Sender: a, Channel: id}, err
}

// registerMsgs registers the decoders of the module's messages in r.
func registerMsgs(r *tx.Registry) error {
	for _, e := range []struct {
		t    tx.MsgType
		name string
		dec  tx.MsgDecoder
	}{
		{TypeMsgOpenChannel, "paych/open_channel", decodeMsgOpenChannel},
		{TypeMsgTopUp, "paych/top_up", decodeMsgTopUp},
		{TypeMsgRedeem, "paych/redeem", decodeMsgRedeem},
		{TypeMsgSettle, "paych/settle", decodeMsgSettle},
		{TypeMsgCollect, "paych/collect", decodeMsgCollect},
	} {
		if err := r.Register(e.t, e.name, e.dec); err != nil {
			return err
		}
	}
	return nil
}
