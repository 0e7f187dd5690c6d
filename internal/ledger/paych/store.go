package paych

import (
	"crypto/sha256"
	"fmt"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// Name is the module name and key prefix.
const Name = "paych"

// State keys:
//
//	paych/params                    Params
//	paych/c/<channel id>            Channel
//	paych/l/<channel id><lane u32>  Lane (deleted when the channel is collected)
//	paych/n/<from>                  u64: channels from has opened (the next seq)
//	paych/i/<role><addr><id>        (empty) index: role 'f' from, 't' to, 'o' funder
var paramsKey = []byte("paych/params")

const (
	tagChannel = 'c'
	tagLane    = 'l'
	tagSeq     = 'n'
	tagIndex   = 'i'
)

// Roles of an address in a channel, for the index and the queries.
const (
	roleFrom   = 'f'
	roleTo     = 't'
	roleFunder = 'o'
)

func prefix(tag byte) []byte { return []byte{'p', 'a', 'y', 'c', 'h', '/', tag, '/'} }

func channelKey(id ChannelID) []byte { return append(prefix(tagChannel), id[:]...) }
func lanePrefix(id ChannelID) []byte { return append(prefix(tagLane), id[:]...) }
func laneKey(id ChannelID, lane uint32) []byte {
	return tx.AppendU32(lanePrefix(id), lane)
}
func seqKey(from tx.Address) []byte { return append(prefix(tagSeq), from[:]...) }
func indexPrefix(role byte, a tx.Address) []byte {
	return append(append(prefix(tagIndex), role), a[:]...)
}
func indexKey(role byte, a tx.Address, id ChannelID) []byte {
	return append(indexPrefix(role, a), id[:]...)
}

// EscrowAccount is the bank account that holds every open channel's
// unredeemed deposit (Balance − Redeemed). Nobody holds a key for it
// (finding a public key whose hash starts with these 20 bytes is a
// preimage attack); the channel records say whose the money is, and
// bank.Transfer in and out keeps the supply invariant.
var EscrowAccount = func() tx.Address {
	sum := sha256.Sum256([]byte("deai/module/paych/escrow"))
	var a tx.Address
	copy(a[:], sum[:tx.AddressLen])
	return a
}()

// ChannelState is a channel's state; the numbers are stored on chain and
// never change, JSON and String use the lower-case names.
type ChannelState uint8

// Channel states. A settling channel whose SettlingAt has come is
// "settled": it takes no more vouchers and waits for MsgCollect.
const (
	ChannelInvalid  ChannelState = 0
	ChannelOpen     ChannelState = 1
	ChannelSettling ChannelState = 2
	ChannelClosed   ChannelState = 3
)

var stateNames = [...]string{"invalid", "open", "settling", "closed"}

func (s ChannelState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state_%d", uint8(s))
}

// MarshalText implements encoding.TextMarshaler.
func (s ChannelState) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *ChannelState) UnmarshalText(b []byte) error {
	for i, n := range stateNames {
		if n == string(b) && i > 0 {
			*s = ChannelState(i)
			return nil
		}
	}
	return fmt.Errorf("channel state %q: want open, settling or closed", b)
}

// Channel is a unidirectional payment channel from From to To. From
// signs the vouchers; Funder's money is in it and gets the rest back at
// collect (Funder is From, or the owner whose spend permission funded a
// channel that its agent From opened). Redeemed is what To has been paid
// (payouts happen at redeem); Balance − Redeemed sits in EscrowAccount
// until the channel is collected.
type Channel struct {
	ID          ChannelID    `json:"id"`
	From        tx.Address   `json:"from"`
	To          tx.Address   `json:"to"`
	Funder      tx.Address   `json:"funder"`
	State       ChannelState `json:"state"`
	Balance     tx.Amount    `json:"balance"`  // deposited in total
	Redeemed    tx.Amount    `json:"redeemed"` // paid to To
	Refunded    tx.Amount    `json:"refunded"` // paid back to Funder at collect
	SettleDelay uint64       `json:"settle_delay"`
	// SettlingAt is the first height at which the channel is settled (no
	// more vouchers; collect allowed); 0 until MsgSettle.
	SettlingAt uint64 `json:"settling_at,omitempty"`
	Lanes      uint32 `json:"lanes"` // lanes with a redeemed voucher
	OpenedAt   uint64 `json:"opened_at"`
	ClosedAt   uint64 `json:"closed_at,omitempty"`
}

// Settled reports whether the channel's window has passed at height: it
// takes no more vouchers.
func (c *Channel) Settled(height uint64) bool {
	return c.State == ChannelClosed || c.State == ChannelSettling && height >= c.SettlingAt
}

// Escrowed returns what the channel holds in EscrowAccount.
func (c *Channel) Escrowed() tx.Amount {
	if c.State == ChannelClosed {
		return 0
	}
	return c.Balance - min(c.Redeemed, c.Balance)
}

func (c *Channel) encode() []byte {
	b := make([]byte, 0, 160)
	b = append(b, c.ID[:]...)
	b = append(b, c.From[:]...)
	b = append(b, c.To[:]...)
	b = append(b, c.Funder[:]...)
	b = append(b, byte(c.State))
	for _, v := range []uint64{uint64(c.Balance), uint64(c.Redeemed), uint64(c.Refunded), c.SettleDelay, c.SettlingAt} {
		b = tx.AppendU64(b, v)
	}
	b = tx.AppendU32(b, c.Lanes)
	b = tx.AppendU64(b, c.OpenedAt)
	return tx.AppendU64(b, c.ClosedAt)
}

func decodeChannel(b []byte) (*Channel, error) {
	r := tx.NewReader(b)
	c := &Channel{}
	copy(c.ID[:], r.Fixed(HashSize))
	c.From, c.To, c.Funder = readAddr(r), readAddr(r), readAddr(r)
	c.State = ChannelState(r.U8())
	var bal, red, ref uint64
	for _, p := range []*uint64{&bal, &red, &ref, &c.SettleDelay, &c.SettlingAt} {
		*p = r.U64()
	}
	c.Balance, c.Redeemed, c.Refunded = tx.Amount(bal), tx.Amount(red), tx.Amount(ref)
	c.Lanes = r.U32()
	c.OpenedAt = r.U64()
	c.ClosedAt = r.U64()
	return c, decodeDone(r, "channel")
}

// Lane is a lane's redeemed position: the nonce and cumulative amount of
// the last voucher redeemed on it (for a payee's own bookkeeping, of the
// last one it accepted).
type Lane struct {
	Lane     uint32    `json:"lane"`
	Nonce    uint64    `json:"nonce"`
	Redeemed tx.Amount `json:"redeemed"`
}

func (l *Lane) encode() []byte {
	return tx.AppendU64(tx.AppendU64(make([]byte, 0, 16), l.Nonce), uint64(l.Redeemed))
}

func decodeLane(lane uint32, b []byte) (*Lane, error) {
	r := tx.NewReader(b)
	l := &Lane{Lane: lane, Nonce: r.U64(), Redeemed: tx.Amount(r.U64())}
	return l, decodeDone(r, "lane")
}

func readAddr(r *tx.Reader) tx.Address {
	var a tx.Address
	copy(a[:], r.Fixed(tx.AddressLen))
	return a
}

func decodeDone(r *tx.Reader, what string) error {
	if err := r.Done(); err != nil {
		return module.Errorf(module.ReasonInternal, "decode %s: %v", what, err)
	}
	return nil
}

// store wraps the module's reads with their encodings. Read errors are
// internal.
type store struct{ kv state.KV }

func (s store) get(key []byte, what string) ([]byte, error) {
	b, err := s.kv.Get(key)
	if err != nil {
		return nil, module.Wrap(module.ReasonInternal, fmt.Errorf("read %s: %w", what, err))
	}
	return b, nil
}

func (s store) params() (Params, error) {
	b, err := s.get(paramsKey, "paych params")
	if err != nil || b == nil {
		return DefaultParams(), err
	}
	r := tx.NewReader(b)
	p := readParams(r)
	return p, decodeDone(r, "paych params")
}

// channel returns the channel; absent is ReasonNotFound.
func (s store) channel(id ChannelID) (*Channel, error) {
	b, err := s.get(channelKey(id), "channel")
	if err != nil {
		return nil, err
	}
	if b == nil {
		return nil, module.Errorf(module.ReasonNotFound, "channel %s does not exist", id)
	}
	return decodeChannel(b)
}

// lane returns a lane's state; a lane never redeemed is the zero Lane.
func (s store) lane(id ChannelID, lane uint32) (*Lane, bool, error) {
	b, err := s.get(laneKey(id, lane), "lane")
	if err != nil || b == nil {
		return &Lane{Lane: lane}, false, err
	}
	l, err := decodeLane(lane, b)
	return l, true, err
}

func (s store) seq(from tx.Address) (uint64, error) {
	b, err := s.get(seqKey(from), "channel sequence")
	if err != nil || b == nil {
		return 0, err
	}
	r := tx.NewReader(b)
	n := r.U64()
	return n, decodeDone(r, "channel sequence")
}

// writer adds the writes.
type writer struct {
	store
	st state.Store
}

func newWriter(st state.Store) writer { return writer{store{st}, st} }

func (w writer) setChannel(c *Channel) { w.st.Set(channelKey(c.ID), c.encode()) }
func (w writer) setLane(id ChannelID, l *Lane) {
	w.st.Set(laneKey(id, l.Lane), l.encode())
}
func (w writer) setSeq(from tx.Address, n uint64) { w.st.Set(seqKey(from), tx.AppendU64(nil, n)) }

// deleteLanes removes every lane of a channel; a channel has at most
// Params.MaxLanes of them, so the scan is bounded.
func (w writer) deleteLanes(id ChannelID) error {
	var keys [][]byte
	if err := w.st.Iterate(lanePrefix(id), func(k, _ []byte) error {
		keys = append(keys, append([]byte(nil), k...))
		return nil
	}); err != nil {
		return module.Wrap(module.ReasonInternal, fmt.Errorf("list lanes of channel %s: %w", id, err))
	}
	for _, k := range keys {
		w.st.Delete(k)
	}
	return nil
}
