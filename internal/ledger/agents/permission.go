package agents

import (
	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

func (x *exec) grant(m *MsgGrantSpend) error {
	if m.Expiry != 0 && m.Expiry < x.h {
		return module.Errorf(module.ReasonInvalid, "grant spend to %s: expiry %d is before the current height %d", m.Agent, m.Expiry, x.h)
	}
	old, err := x.w.permission(m.Owner, m.Agent)
	if err != nil {
		return err
	}
	p := &Permission{Owner: m.Owner, Agent: m.Agent, SpendLimits: m.SpendLimits, GrantedAt: x.h, PeriodStart: x.h}
	x.w.setPermission(p)
	x.emit(EventSpendGranted, "owner", p.Owner.String(), "agent", p.Agent.String(), "allowance", p.Allowance.String(),
		"period_blocks", u64s(p.PeriodBlocks), "total_cap", p.TotalCap.String(), "per_call_max", p.PerCallMax.String(),
		"allowlist", u64s(uint64(len(p.Allowlist))), "expiry", u64s(p.Expiry), "replaced", boolStr(old != nil))
	return nil
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func (x *exec) revoke(m *MsgRevokeSpend) error {
	p, err := x.w.permission(m.Owner, m.Agent)
	switch {
	case err != nil:
		return err
	case p == nil:
		return module.Errorf(module.ReasonNotFound, "agent %s has no spend permission from %s", m.Agent, m.Owner)
	case p.Revoked:
		return module.Errorf(module.ReasonInvalid, "spend permission of agent %s from %s was already revoked at height %d", m.Agent, m.Owner, p.RevokedAt)
	}
	p.Revoked, p.RevokedAt = true, x.h
	x.w.setPermission(p)
	x.emit(EventSpendRevoked, "owner", p.Owner.String(), "agent", p.Agent.String(), "total_spent", p.TotalSpent.String())
	return nil
}

func (x *exec) spend(m *MsgSpend) error {
	if _, err := charge(x, m.Owner, m.Agent, m.To, m.Amount, PurposeTransfer); err != nil {
		return err
	}
	return bank.Transfer(x.ctx, m.Owner, m.To, m.Amount)
}

// Charge records that agent moves amt of owner's funds to counterparty
// to under owner's spend permission, after checking, in this order, that
// the permission exists, is not revoked, has not expired at ctx.Height,
// allows to, that amt fits the per-call max, the period's allowance and
// the total cap. It moves no money: the caller moves amt from owner in
// the same message, so a failure of either undoes both. purpose names
// the debit in the agents.spend event (PurposeTransfer, PurposeChannelOpen,
// PurposeChannelTopUp). The paych module funds channels through it.
func Charge(ctx *module.Context, owner, agent, to tx.Address, amt tx.Amount, purpose string) (*Permission, error) {
	x, err := newExec(ctx)
	if err != nil {
		return nil, err
	}
	return charge(x, owner, agent, to, amt, purpose)
}

func charge(x *exec, owner, agent, to tx.Address, amt tx.Amount, purpose string) (*Permission, error) {
	if amt.IsZero() {
		return nil, module.Errorf(module.ReasonZeroAmount, "spend of zero by agent %s", agent)
	}
	p, err := x.w.permission(owner, agent)
	switch {
	case err != nil:
		return nil, err
	case p == nil:
		return nil, module.Errorf(module.ReasonNotFound, "agent %s has no spend permission from %s", agent, owner)
	case p.Revoked:
		return nil, module.Errorf(module.ReasonUnauthorized, "spend permission of agent %s from %s was revoked at height %d", agent, owner, p.RevokedAt)
	case p.Expiry != 0 && x.h > p.Expiry:
		return nil, module.Errorf(module.ReasonUnauthorized, "spend permission of agent %s from %s expired at height %d, this is block %d", agent, owner, p.Expiry, x.h)
	case !p.allows(to):
		return nil, module.Errorf(module.ReasonUnauthorized, "%s is not on the allowlist of agent %s's spend permission from %s", to, agent, owner)
	case p.PerCallMax != 0 && amt > p.PerCallMax:
		return nil, module.Errorf(module.ReasonInvalid, "spend of %s by agent %s exceeds the per-call max %s", amt, agent, p.PerCallMax)
	}
	start, spent := p.spentAt(x.h)
	period, err := spent.Add(amt)
	if err != nil || period > p.Allowance {
		return nil, module.Errorf(module.ReasonRateLimited, "spend of %s by agent %s exceeds what is left of this period's allowance: %s of %s per %d blocks spent; the next period starts at height %d",
			amt, agent, spent, p.Allowance, p.PeriodBlocks, start+p.PeriodBlocks)
	}
	total, err := p.TotalSpent.Add(amt)
	if err != nil || total > p.TotalCap {
		return nil, module.Errorf(module.ReasonInsufficientFunds, "spend of %s by agent %s exceeds what is left of its total cap: %s of %s spent",
			amt, agent, p.TotalSpent, p.TotalCap)
	}
	p.PeriodStart, p.PeriodSpent, p.TotalSpent = start, period, total
	x.w.setPermission(p)
	x.emit(EventSpend, "owner", owner.String(), "agent", agent.String(), "to", to.String(), "amount", amt.String(),
		"purpose", purpose, "period_start", u64s(start), "period_spent", period.String(), "total_spent", total.String())
	return p, nil
}
