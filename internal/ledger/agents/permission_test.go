package agents_test

import (
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

const (
	owner = 0
	agent = 1
	shop  = 2
	other = 3
	stray = 4 // never funded, on no allowlist
)

func grant(l agents.SpendLimits) *agents.MsgGrantSpend {
	return &agents.MsgGrantSpend{Owner: addr(owner), Agent: addr(agent), SpendLimits: l}
}

func spend(to int, amt tx.Amount) *agents.MsgSpend {
	return &agents.MsgSpend{Owner: addr(owner), Agent: addr(agent), To: addr(to), Amount: amt}
}

// TestSpendCaps walks one permission through each of its limits; every
// refused spend moves nothing (the agent pays the fee), every accepted one
// moves exactly its amount from the owner.
func TestSpendCaps(t *testing.T) {
	h := newHarness(t, genesis(t, 4, nil))
	// Granted at block 1: periods [1,11), [11,21), …
	h.OK(owner, grant(agents.SpendLimits{Allowance: 100, PeriodBlocks: 10, TotalCap: 250, PerCallMax: 60, Allowlist: sorted(addr(shop), addr(other)), Expiry: 40}))

	type step struct {
		at     int64 // the block to run in (0: the next)
		to     int
		amt    tx.Amount
		want   module.Reason
		log    string
		period tx.Amount // period_spent after an accepted spend
	}
	steps := []step{
		{to: shop, amt: 60, period: 60}, // block 2
		{to: shop, amt: 61, want: module.ReasonInvalid, log: "exceeds the per-call max 60udeai"}, // per call
		{to: other, amt: 40, period: 100}, // exactly the allowance
		{to: shop, amt: 1, want: module.ReasonRateLimited, log: "the next period starts at height 11"},
		{to: stray, amt: 1, want: module.ReasonUnauthorized, log: "not on the allowlist"},
		{at: 11, to: shop, amt: 60, period: 60}, // a new period
		{to: shop, amt: 40, period: 100},        // total 200
		{at: 21, to: shop, amt: 51, want: module.ReasonInsufficientFunds, log: "total cap: 200udeai of 250udeai spent"},
		{to: shop, amt: 50, period: 50}, // total 250: the cap
		{at: 31, to: shop, amt: 1, want: module.ReasonInsufficientFunds, log: "total cap"},
	}
	for i, s := range steps {
		if s.at != 0 {
			h.AdvanceTo(s.at - 1)
		}
		ob, ab, tb := h.Balance(addr(owner)), h.Balance(addr(agent)), h.Balance(addr(s.to))
		r := h.Run(agent, spend(s.to, s.amt))
		if r.Code != s.want {
			t.Fatalf("step %d (block %d): code %v (%s), want %v", i, h.Height, r.Code, r.Log, s.want)
		}
		if s.want != module.OK {
			if !strings.Contains(r.Log, s.log) {
				t.Errorf("step %d: log %q, want it to mention %q", i, r.Log, s.log)
			}
			if h.Balance(addr(owner)) != ob || h.Balance(addr(s.to)) != tb || h.Balance(addr(agent)) != ab-fee {
				t.Errorf("step %d: a refused spend moved money", i)
			}
			continue
		}
		ev := events(agents.EventSpend, r.Events)
		if len(ev) != 1 || attr(ev[0], "period_spent") != s.period.String() || attr(ev[0], "amount") != s.amt.String() || attr(ev[0], "purpose") != "transfer" {
			t.Errorf("step %d: spend events %+v", i, ev)
		}
		if h.Balance(addr(owner)) != ob-s.amt || h.Balance(addr(s.to)) != tb+s.amt || h.Balance(addr(agent)) != ab-fee {
			t.Errorf("step %d: balances owner %s→%s, to %s→%s, agent %s→%s", i, ob, h.Balance(addr(owner)), tb, h.Balance(addr(s.to)), ab, h.Balance(addr(agent)))
		}
	}
	var pr agents.PermissionResult
	h.Query("/agents/permission/"+addr(owner).String()+"/"+addr(agent).String()+"?height=35", &pr)
	if pr.TotalSpent != 250 || pr.TotalRemaining != 0 || pr.Spendable != 0 || !pr.Active || pr.PeriodStartAt != 31 || pr.PeriodRemaining != 100 || pr.NextPeriodAt != 41 {
		t.Errorf("permission at 35: %+v", pr)
	}
}

func sorted(as ...tx.Address) []tx.Address {
	for i := range as {
		for j := i + 1; j < len(as); j++ {
			if string(as[j][:]) < string(as[i][:]) {
				as[i], as[j] = as[j], as[i]
			}
		}
	}
	return as
}

// TestSpendExpiryRevocationRegrant: the permission stops at its expiry
// and at revocation (the kill switch); a new grant replaces it with fresh
// counters; a missing permission is not_found.
func TestSpendExpiryRevocationRegrant(t *testing.T) {
	h := newHarness(t, genesis(t, 4, nil))
	h.Reject(module.ReasonNotFound, agent, spend(shop, 1))
	h.OK(owner, grant(agents.SpendLimits{Allowance: 100, PeriodBlocks: 5, TotalCap: 1000, Expiry: 4})) // block 2
	h.OK(agent, spend(shop, 10))                                                                       // block 3
	h.OK(agent, spend(shop, 10))                                                                       // block 4: the last
	if log := h.Reject(module.ReasonUnauthorized, agent, spend(shop, 10)); !strings.Contains(log, "expired at height 4") {
		t.Errorf("expired: %s", log)
	}

	r := h.OK(owner, grant(agents.SpendLimits{Allowance: 100, PeriodBlocks: 5, TotalCap: 1000}))
	if ev := events(agents.EventSpendGranted, r.Events); len(ev) != 1 || attr(ev[0], "replaced") != "true" {
		t.Errorf("re-grant events %+v", ev)
	}
	if period, total, _ := agents.Spent(h.KV, addr(owner), addr(agent)); period != 0 || total != 0 {
		t.Errorf("re-grant kept counters %s %s", period, total)
	}
	h.OK(agent, spend(shop, 100))

	// Kill switch: a revocation and a spend in the same block; the
	// revocation comes first.
	res := h.Block(h.Sign(owner, &agents.MsgRevokeSpend{Owner: addr(owner), Agent: addr(agent)}), h.Sign(agent, spend(shop, 1)))
	if !res.TxResults[0].OK() || res.TxResults[1].Code != module.ReasonUnauthorized || !strings.Contains(res.TxResults[1].Log, "revoked at height") {
		t.Fatalf("revoke then spend: %+v", res.TxResults)
	}
	h.Reject(module.ReasonInvalid, owner, &agents.MsgRevokeSpend{Owner: addr(owner), Agent: addr(agent)})
	h.Reject(module.ReasonNotFound, owner, &agents.MsgRevokeSpend{Owner: addr(owner), Agent: addr(other)})
	var pr agents.PermissionResult
	h.Query("/agents/permission/"+addr(owner).String()+"/"+addr(agent).String(), &pr)
	if pr.Active || !pr.Revoked || pr.Spendable != 0 || pr.TotalSpent != 100 {
		t.Errorf("revoked permission %+v", pr)
	}
	var list []agents.Permission
	h.Query("/agents/permissions/"+addr(owner).String(), &list)
	if len(list) != 1 || list[0].Agent != addr(agent) {
		t.Errorf("permissions of the owner %+v", list)
	}
}

// TestSpendConcurrent: many spends in one block (a compromised host
// firing at once) never exceed the allowance: the chain orders them, the
// ones over it fail with rate_limited and move nothing.
func TestSpendConcurrent(t *testing.T) {
	h := newHarness(t, genesis(t, 4, nil))
	h.OK(owner, grant(agents.SpendLimits{Allowance: 1000, PeriodBlocks: 100, TotalCap: 5000}))
	before := h.Balance(addr(owner))
	var txs [][]byte
	for range 30 {
		txs = append(txs, h.Sign(agent, spend(shop, 70)))
	}
	res := h.Block(txs...)
	okN := 0
	for _, r := range res.TxResults {
		switch r.Code {
		case module.OK:
			okN++
		case module.ReasonRateLimited:
		default:
			t.Fatalf("unexpected result %v %s", r.Code, r.Log)
		}
	}
	if okN != 14 { // 14 × 70 = 980 ≤ 1000 < 15 × 70
		t.Errorf("%d spends went through, want 14", okN)
	}
	if got := before - h.Balance(addr(owner)); got != 980 {
		t.Errorf("owner paid %s, want 980", got)
	}
}

// TestSpendOwnerBalance: a spend the owner cannot cover fails with
// insufficient_funds and leaves the permission's counters as they were.
func TestSpendOwnerBalance(t *testing.T) {
	g := genesis(t, 4, nil)
	g.Accounts[owner].Balance = 1000 + 500 // the grant's fee and 500
	h := newHarness(t, g)
	h.OK(owner, grant(agents.SpendLimits{Allowance: 1000, PeriodBlocks: 100, TotalCap: 5000}))
	h.Reject(module.ReasonInsufficientFunds, agent, spend(shop, 600))
	if period, total, _ := agents.Spent(h.KV, addr(owner), addr(agent)); period != 0 || total != 0 {
		t.Errorf("a failed spend left counters %s %s", period, total)
	}
	h.OK(agent, spend(shop, 500))
}

func TestGrantRejects(t *testing.T) {
	h := newHarness(t, genesis(t, 4, nil))
	h.AdvanceTo(5)
	tests := []struct {
		name string
		msg  tx.Msg
		want module.Reason
	}{
		{"expiry in the past", grant(agents.SpendLimits{Allowance: 1, PeriodBlocks: 1, TotalCap: 1, Expiry: 3}), module.ReasonInvalid},
		{"zero allowance", grant(agents.SpendLimits{PeriodBlocks: 1, TotalCap: 1}), module.ReasonZeroAmount},
		{"zero period", grant(agents.SpendLimits{Allowance: 1, TotalCap: 1}), module.ReasonInvalid},
		{"unsorted allowlist", grant(agents.SpendLimits{Allowance: 1, PeriodBlocks: 1, TotalCap: 1, Allowlist: reversed(sorted(addr(2), addr(3)))}), module.ReasonInvalid},
		{"to itself", &agents.MsgGrantSpend{Owner: addr(owner), Agent: addr(owner), SpendLimits: agents.SpendLimits{Allowance: 1, PeriodBlocks: 1, TotalCap: 1}}, module.ReasonInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.T = t
			h.Reject(tt.want, owner, tt.msg)
		})
	}
}

func reversed(as []tx.Address) []tx.Address {
	for i, j := 0, len(as)-1; i < j; i, j = i+1, j-1 {
		as[i], as[j] = as[j], as[i]
	}
	return as
}
