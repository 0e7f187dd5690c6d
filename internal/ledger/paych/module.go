package paych

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

// Event types emitted by the module (bank adds its own transfer events
// for the money moving in and out of EscrowAccount, agents its
// agents.spend event for channels funded through a spend permission).
// Channels are named by their hex ID; amounts are udeai strings with the
// denom, e.g. "1500udeai".
const (
	EventChannelOpened = "paych.channel_opened" // id, from, to, funder, deposit, settle_delay
	EventToppedUp      = "paych.topped_up"      // id, sender, amount, balance
	EventRedeemed      = "paych.redeemed"       // id, lane, nonce, amount (the lane's cumulative), paid (this voucher's delta), redeemed (the channel's total)
	EventSettling      = "paych.settling"       // id, sender, settling_at
	EventCollected     = "paych.collected"      // id, sender, funder, redeemed, refund
)

// Module is the payment channel ledger module.
type Module struct{}

var (
	_ module.Module  = Module{}
	_ module.Genesis = Module{}
	_ module.Querier = Module{}
)

// New returns the module.
func New() Module { return Module{} }

// Name implements module.Module.
func (Module) Name() string { return Name }

// RegisterMsgs implements module.Module.
func (Module) RegisterMsgs(r *tx.Registry) error { return registerMsgs(r) }

// ValidateGenesis implements module.Genesis.
func (Module) ValidateGenesis(raw json.RawMessage) error {
	_, err := ParseGenesis(raw)
	return err
}

// InitGenesis implements module.Genesis: it stores the params.
func (Module) InitGenesis(ctx *module.Context, raw json.RawMessage) error {
	g, err := ParseGenesis(raw)
	if err != nil {
		return module.Wrap(module.ReasonInvalid, err)
	}
	ctx.Store.Set(paramsKey, appendParams(nil, &g.Params))
	return nil
}

// signer is implemented by every message of the module: the account that
// must have signed the tx.
type signer interface{ signer() tx.Address }

func (m *MsgOpenChannel) signer() tx.Address { return m.From }
func (m *MsgTopUp) signer() tx.Address       { return m.Sender }
func (m *MsgRedeem) signer() tx.Address      { return m.Payee }
func (m *MsgSettle) signer() tx.Address      { return m.Sender }
func (m *MsgCollect) signer() tx.Address     { return m.Sender }

// Deliver implements module.Module.
func (Module) Deliver(ctx *module.Context, sender tx.Address, msg tx.Msg) error {
	s, ok := msg.(signer)
	if !ok {
		return module.Errorf(module.ReasonUnknownMsg, "paych cannot execute message type %#04x", uint16(msg.Type()))
	}
	if s.signer() != sender {
		return module.Errorf(module.ReasonUnauthorized, "message acts for %s but is signed by %s", s.signer(), sender)
	}
	x, err := newExec(ctx)
	if err != nil {
		return err
	}
	switch m := msg.(type) {
	case *MsgOpenChannel:
		return x.open(m)
	case *MsgTopUp:
		return x.topUp(m)
	case *MsgRedeem:
		return x.redeem(m)
	case *MsgSettle:
		return x.settle(m)
	case *MsgCollect:
		return x.collect(m)
	}
	return module.Errorf(module.ReasonUnknownMsg, "paych cannot execute message type %#04x", uint16(msg.Type()))
}

// exec is one message's execution.
type exec struct {
	ctx *module.Context
	w   writer
	h   uint64
	p   Params
}

func newExec(ctx *module.Context) (*exec, error) {
	w := newWriter(ctx.Store)
	p, err := w.params()
	if err != nil {
		return nil, err
	}
	return &exec{ctx: ctx, w: w, h: uint64(ctx.Height), p: p}, nil
}

func (x *exec) emit(typ string, attrs ...string) {
	if !x.ctx.Check {
		x.ctx.Emit(typ, attrs...)
	}
}

func u64s(v uint64) string { return strconv.FormatUint(v, 10) }

// fund moves amt into the escrow from funder: directly when agent is
// zero, else through funder's spend permission for agent, with to as the
// counterparty.
func (x *exec) fund(funder, agent, to tx.Address, amt tx.Amount, purpose string) error {
	if !agent.IsZero() {
		if _, err := agents.Charge(x.ctx, funder, agent, to, amt, purpose); err != nil {
			return err
		}
	}
	return bank.Transfer(x.ctx, funder, EscrowAccount, amt)
}

func (x *exec) open(m *MsgOpenChannel) error {
	switch {
	case m.SettleDelay < x.p.MinSettleDelay || m.SettleDelay > x.p.MaxSettleDelay:
		return module.Errorf(module.ReasonInvalid, "open channel: settle delay of %d blocks, want %d to %d", m.SettleDelay, x.p.MinSettleDelay, x.p.MaxSettleDelay)
	case m.Deposit < x.p.MinDeposit:
		return module.Errorf(module.ReasonInvalid, "open channel: deposit %s is below the minimum %s", m.Deposit, x.p.MinDeposit)
	}
	seq, err := x.w.seq(m.From)
	if err != nil {
		return err
	}
	c := &Channel{ID: ChannelIDFor(m.From, m.To, seq), From: m.From, To: m.To, Funder: m.From, State: ChannelOpen,
		Balance: m.Deposit, SettleDelay: m.SettleDelay, OpenedAt: x.h}
	agent := tx.Address{}
	if !m.Owner.IsZero() {
		c.Funder, agent = m.Owner, m.From
	}
	if err := x.fund(c.Funder, agent, c.To, m.Deposit, agents.PurposeChannelOpen); err != nil {
		return err
	}
	x.w.setSeq(m.From, seq+1)
	x.w.setChannel(c)
	for _, r := range []struct {
		role byte
		a    tx.Address
	}{{roleFrom, c.From}, {roleTo, c.To}, {roleFunder, c.Funder}} {
		x.w.st.Set(indexKey(r.role, r.a, c.ID), []byte{})
	}
	x.emit(EventChannelOpened, "id", c.ID.String(), "from", c.From.String(), "to", c.To.String(), "funder", c.Funder.String(),
		"deposit", c.Balance.String(), "settle_delay", u64s(c.SettleDelay))
	return nil
}

// party reports whether a may settle or collect c.
func (c *Channel) party(a tx.Address) bool { return a == c.From || a == c.To || a == c.Funder }

func (x *exec) topUp(m *MsgTopUp) error {
	c, err := x.w.channel(m.Channel)
	if err != nil {
		return err
	}
	agent := tx.Address{}
	if m.Owner.IsZero() {
		if m.Sender != c.Funder {
			return module.Errorf(module.ReasonUnauthorized, "top up: channel %s is funded by %s, not %s", c.ID, c.Funder, m.Sender)
		}
	} else {
		if m.Sender != c.From || m.Owner != c.Funder {
			return module.Errorf(module.ReasonUnauthorized, "top up: channel %s is opened by %s and funded by %s, not %s for %s", c.ID, c.From, c.Funder, m.Sender, m.Owner)
		}
		agent = m.Sender
	}
	if c.State != ChannelOpen {
		return module.Errorf(module.ReasonInvalid, "top up: channel %s is %s, want open", c.ID, c.State)
	}
	nb, err := c.Balance.Add(m.Amount)
	if err != nil {
		return module.Errorf(module.ReasonOverflow, "top up: channel %s balance would overflow: %s + %s", c.ID, c.Balance, m.Amount)
	}
	if err := x.fund(c.Funder, agent, c.To, m.Amount, agents.PurposeChannelTopUp); err != nil {
		return err
	}
	c.Balance = nb
	x.w.setChannel(c)
	x.emit(EventToppedUp, "id", c.ID.String(), "sender", m.Sender.String(), "amount", m.Amount.String(), "balance", c.Balance.String())
	return nil
}

// CheckVoucher checks, without the signature (see SignedVoucher.Verify
// and VerifyBatch), that v may be redeemed on c after lane position prev
// at height, on chain chainID: the chain id, the channel, the signer
// (c.From), the expiry, the nonce (above prev's) and the amount (above
// prev's). It returns what v adds to the lane. MsgRedeem applies exactly
// these checks, against the lane's redeemed position, plus the
// signature, the lane limit and the channel's balance; a payee applies
// them against the last voucher it accepted on the lane, so it accepts
// only what the chain will pay. Each refusal has its own reason and
// message.
func (c *Channel) CheckVoucher(v *SignedVoucher, chainID string, prev Lane, height uint64) (tx.Amount, error) {
	switch {
	case v.ChainID != chainID:
		return 0, module.Errorf(module.ReasonWrongChainID, "voucher is for chain %q, this is %q", v.ChainID, chainID)
	case v.Channel != c.ID:
		return 0, module.Errorf(module.ReasonInvalid, "voucher is for channel %s, not %s", v.Channel, c.ID)
	case len(v.PubKey) != tx.PubKeySize || v.Signer() != c.From:
		return 0, module.Errorf(module.ReasonBadSignature, "voucher is signed by %s, channel %s takes vouchers signed by %s", v.Signer(), c.ID, c.From)
	case v.Expiry != 0 && height > v.Expiry:
		return 0, module.Errorf(module.ReasonInvalid, "voucher for lane %d nonce %d expired at height %d, this is block %d", v.Lane, v.Nonce, v.Expiry, height)
	case v.Nonce == prev.Nonce:
		return 0, module.Errorf(module.ReasonBadNonce, "replayed voucher: lane %d of channel %s is already at nonce %d", v.Lane, c.ID, v.Nonce)
	case v.Nonce < prev.Nonce:
		return 0, module.Errorf(module.ReasonBadNonce, "stale voucher: nonce %d is below lane %d's nonce %d", v.Nonce, v.Lane, prev.Nonce)
	case v.Amount <= prev.Redeemed:
		return 0, module.Errorf(module.ReasonInvalid, "voucher for lane %d nonce %d: cumulative amount %s does not exceed the lane's %s", v.Lane, v.Nonce, v.Amount, prev.Redeemed)
	}
	return v.Amount - prev.Redeemed, nil
}

func (x *exec) redeem(m *MsgRedeem) error {
	ok := VerifyBatch(m.Vouchers)
	for i := range m.Vouchers {
		if err := x.redeemOne(m.Payee, &m.Vouchers[i], ok[i]); err != nil {
			if len(m.Vouchers) > 1 {
				return fmt.Errorf("voucher %d: %w", i, err)
			}
			return err
		}
	}
	return nil
}

func (x *exec) redeemOne(payee tx.Address, v *SignedVoucher, sigOK bool) error {
	c, err := x.w.channel(v.Channel)
	if err != nil {
		return err
	}
	switch {
	case payee != c.To:
		return module.Errorf(module.ReasonUnauthorized, "channel %s pays %s: only it may redeem, not %s", c.ID, c.To, payee)
	case c.State == ChannelClosed:
		return module.Errorf(module.ReasonInvalid, "channel %s is closed: vouchers are no longer redeemable", c.ID)
	case c.Settled(x.h):
		return module.Errorf(module.ReasonInvalid, "channel %s settled at height %d: vouchers are no longer redeemable, collect it", c.ID, c.SettlingAt)
	case !sigOK:
		return module.Errorf(module.ReasonBadSignature, "voucher for lane %d nonce %d: signature does not verify for its public key and contents", v.Lane, v.Nonce)
	}
	lane, had, err := x.w.lane(c.ID, v.Lane)
	if err != nil {
		return err
	}
	delta, err := c.CheckVoucher(v, x.ctx.ChainID, *lane, x.h)
	if err != nil {
		return err
	}
	if !had && c.Lanes >= x.p.MaxLanes {
		return module.Errorf(module.ReasonInvalid, "channel %s already has %d lanes, the most allowed: use one of them", c.ID, c.Lanes)
	}
	redeemed, err := c.Redeemed.Add(delta)
	if err != nil || redeemed > c.Balance {
		return module.Errorf(module.ReasonInsufficientFunds, "voucher for lane %d nonce %d would bring channel %s's redeemed total to %s+%s, over its balance %s",
			v.Lane, v.Nonce, c.ID, c.Redeemed, delta, c.Balance)
	}
	if !had {
		c.Lanes++
	}
	lane.Nonce, lane.Redeemed = v.Nonce, v.Amount
	c.Redeemed = redeemed
	x.w.setLane(c.ID, lane)
	x.w.setChannel(c)
	if err := bank.Transfer(x.ctx, EscrowAccount, c.To, delta); err != nil {
		return module.Wrap(module.ReasonInternal, err) // the escrow holds every open channel's Balance − Redeemed
	}
	x.emit(EventRedeemed, "id", c.ID.String(), "lane", u64s(uint64(v.Lane)), "nonce", u64s(v.Nonce), "amount", v.Amount.String(),
		"paid", delta.String(), "redeemed", c.Redeemed.String())
	return nil
}

func (x *exec) settle(m *MsgSettle) error {
	c, err := x.w.channel(m.Channel)
	if err != nil {
		return err
	}
	switch {
	case !c.party(m.Sender):
		return module.Errorf(module.ReasonUnauthorized, "settle: %s is not a party of channel %s (from %s, to %s, funder %s)", m.Sender, c.ID, c.From, c.To, c.Funder)
	case c.State == ChannelSettling:
		return module.Errorf(module.ReasonInvalid, "settle: channel %s is already settling, at height %d", c.ID, c.SettlingAt)
	case c.State != ChannelOpen:
		return module.Errorf(module.ReasonInvalid, "settle: channel %s is %s, want open", c.ID, c.State)
	}
	c.State, c.SettlingAt = ChannelSettling, x.h+c.SettleDelay // SettleDelay ≤ HardMaxSettleDelay: no overflow
	x.w.setChannel(c)
	x.emit(EventSettling, "id", c.ID.String(), "sender", m.Sender.String(), "settling_at", u64s(c.SettlingAt))
	return nil
}

func (x *exec) collect(m *MsgCollect) error {
	c, err := x.w.channel(m.Channel)
	if err != nil {
		return err
	}
	switch {
	case !c.party(m.Sender):
		return module.Errorf(module.ReasonUnauthorized, "collect: %s is not a party of channel %s (from %s, to %s, funder %s)", m.Sender, c.ID, c.From, c.To, c.Funder)
	case c.State == ChannelOpen:
		return module.Errorf(module.ReasonInvalid, "collect: channel %s is open: settle it first", c.ID)
	case c.State == ChannelClosed:
		return module.Errorf(module.ReasonInvalid, "collect: channel %s is already closed", c.ID)
	case x.h < c.SettlingAt:
		return module.Errorf(module.ReasonRateLimited, "collect: channel %s settles at height %d, this is block %d: the payee may still redeem until then", c.ID, c.SettlingAt, x.h)
	}
	refund := c.Escrowed()
	if refund > 0 {
		if err := bank.Transfer(x.ctx, EscrowAccount, c.Funder, refund); err != nil {
			return module.Wrap(module.ReasonInternal, err)
		}
	}
	if err := x.w.deleteLanes(c.ID); err != nil {
		return err
	}
	c.State, c.Refunded, c.ClosedAt, c.Lanes = ChannelClosed, refund, x.h, 0
	x.w.setChannel(c)
	x.emit(EventCollected, "id", c.ID.String(), "sender", m.Sender.String(), "funder", c.Funder.String(),
		"redeemed", c.Redeemed.String(), "refund", refund.String())
	return nil
}
