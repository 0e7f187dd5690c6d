package agents

import (
	"encoding/json"
	"strconv"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

// Event types emitted by the module (bank adds its own burn and transfer
// events). Amounts are udeai strings with the denom, e.g. "1500udeai";
// heights are decimal.
const (
	EventServiceRegistered   = "agents.service_registered"   // name, owner, endpoint, price, expiry, fee
	EventServiceUpdated      = "agents.service_updated"      // name, owner, endpoint, price
	EventServiceRenewed      = "agents.service_renewed"      // name, owner, expiry, fee
	EventServiceDeregistered = "agents.service_deregistered" // name, owner
	EventServiceExpired      = "agents.service_expired"      // name, owner, expiry
	EventSpendGranted        = "agents.spend_granted"        // owner, agent, allowance, period_blocks, total_cap, per_call_max, allowlist (count), expiry, replaced (true|false)
	EventSpendRevoked        = "agents.spend_revoked"        // owner, agent, total_spent
	EventSpend               = "agents.spend"                // owner, agent, to, amount, purpose (transfer|channel_open|channel_top_up), period_start, period_spent, total_spent
)

// Purposes of a debit through a spend permission, the purpose attribute
// of EventSpend.
const (
	PurposeTransfer     = "transfer"
	PurposeChannelOpen  = "channel_open"
	PurposeChannelTopUp = "channel_top_up"
)

// Module is the agents ledger module: the service registry and spend
// permissions.
type Module struct{}

var (
	_ module.Module     = Module{}
	_ module.Genesis    = Module{}
	_ module.EndBlocker = Module{}
	_ module.Querier    = Module{}
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

func (m *MsgRegisterService) signer() tx.Address   { return m.Owner }
func (m *MsgUpdateService) signer() tx.Address     { return m.Owner }
func (m *MsgRenewService) signer() tx.Address      { return m.Owner }
func (m *MsgDeregisterService) signer() tx.Address { return m.Owner }
func (m *MsgGrantSpend) signer() tx.Address        { return m.Owner }
func (m *MsgRevokeSpend) signer() tx.Address       { return m.Owner }
func (m *MsgSpend) signer() tx.Address             { return m.Agent }

// Deliver implements module.Module.
func (Module) Deliver(ctx *module.Context, sender tx.Address, msg tx.Msg) error {
	s, ok := msg.(signer)
	if !ok {
		return module.Errorf(module.ReasonUnknownMsg, "agents cannot execute message type %#04x", uint16(msg.Type()))
	}
	if s.signer() != sender {
		return module.Errorf(module.ReasonUnauthorized, "message acts for %s but is signed by %s", s.signer(), sender)
	}
	x, err := newExec(ctx)
	if err != nil {
		return err
	}
	switch m := msg.(type) {
	case *MsgRegisterService:
		return x.register(m)
	case *MsgUpdateService:
		return x.update(m)
	case *MsgRenewService:
		return x.renew(m)
	case *MsgDeregisterService:
		return x.deregister(m)
	case *MsgGrantSpend:
		return x.grant(m)
	case *MsgRevokeSpend:
		return x.revoke(m)
	case *MsgSpend:
		return x.spend(m)
	}
	return module.Errorf(module.ReasonUnknownMsg, "agents cannot execute message type %#04x", uint16(msg.Type()))
}

// exec is one message's (or one EndBlock's) execution.
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
