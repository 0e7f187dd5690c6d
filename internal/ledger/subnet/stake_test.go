package subnet_test

import (
	"testing"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

// stakeSum adds up every stake record of the given hotkeys on netuid.
func (h *harness) stakeSum(netuid uint16, hotkeys ...int) tx.Amount {
	h.t.Helper()
	var sum tx.Amount
	for _, k := range hotkeys {
		var si subnet.StakeInfo
		h.query("/subnet/"+itoa(netuid)+"/stake/"+addr(k).String(), &si)
		var s tx.Amount
		for _, st := range si.Stakers {
			s += st.Amount
		}
		if s != si.Total {
			h.t.Fatalf("stake of %d: records sum to %s, total says %s", k, s, si.Total)
		}
		sum += s
	}
	return sum
}

func TestStake(t *testing.T) {
	h := newHarness(t, genesis(t, 4, nil))
	netuid := h.createSubnet(0)
	h.ok(1, register(1, netuid))
	b2, b3 := h.balance(addr(2)), h.balance(addr(3))
	h.ok(2, stake(2, 1, netuid, 7*tx.UnitsPerDEAI))
	h.ok(3, stake(3, 1, netuid, 3*tx.UnitsPerDEAI))
	h.ok(2, stake(2, 1, netuid, 1*tx.UnitsPerDEAI))
	if got := h.balance(addr(2)); got != b2-8*tx.UnitsPerDEAI-2*fee {
		t.Errorf("staker 2 balance %s", got)
	}
	if got := h.balance(addr(3)); got != b3-3*tx.UnitsPerDEAI-fee {
		t.Errorf("staker 3 balance %s", got)
	}
	if got := h.balance(subnet.StakeAccount); got != 11*tx.UnitsPerDEAI {
		t.Errorf("stake account holds %s, want 11 DEAI", got)
	}
	if got := h.stakeSum(netuid, 1); got != 11*tx.UnitsPerDEAI {
		t.Errorf("stake records sum to %s", got)
	}
	var n subnet.NeuronInfo
	h.query("/subnet/1/neuron/"+addr(1).String(), &n)
	if n.Stake != 11*tx.UnitsPerDEAI {
		t.Errorf("neuron stake %s", n.Stake)
	}
	h.supply()

	tests := []struct {
		name string
		from int
		msg  tx.Msg
		want module.Reason
	}{
		{"unregistered hotkey", 2, stake(2, 3, netuid, 1), module.ReasonNotFound},
		{"unknown subnet", 2, stake(2, 1, 5, 1), module.ReasonNotFound},
		{"zero", 2, stake(2, 1, netuid, 0), module.ReasonZeroAmount},
		{"more than the balance", 2, stake(2, 1, netuid, funds), module.ReasonInsufficientFunds},
		{"staker is not the signer", 2, stake(3, 1, netuid, 1), module.ReasonUnauthorized},
		{"remove more than staked", 3, &subnet.MsgRemoveStake{Staker: addr(3), Hotkey: addr(1), Netuid: netuid, Amount: 3*tx.UnitsPerDEAI + 1}, module.ReasonInsufficientFunds},
		{"remove someone else's", 0, &subnet.MsgRemoveStake{Staker: addr(0), Hotkey: addr(1), Netuid: netuid, Amount: 1}, module.ReasonInsufficientFunds},
		{"remove for someone else", 0, &subnet.MsgRemoveStake{Staker: addr(3), Hotkey: addr(1), Netuid: netuid, Amount: 1}, module.ReasonUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.t = t
			h.reject(tt.want, tt.from, tt.msg)
		})
	}
	h.t = t

	h.ok(3, &subnet.MsgRemoveStake{Staker: addr(3), Hotkey: addr(1), Netuid: netuid, Amount: 3 * tx.UnitsPerDEAI})
	h.ok(2, &subnet.MsgRemoveStake{Staker: addr(2), Hotkey: addr(1), Netuid: netuid, Amount: 5 * tx.UnitsPerDEAI})
	var si subnet.StakeInfo
	h.query("/subnet/1/stake/"+addr(1).String(), &si)
	if si.Total != 3*tx.UnitsPerDEAI || len(si.Stakers) != 1 || si.Stakers[0].Staker != addr(2) {
		t.Errorf("after removals %+v", si)
	}
	if got := h.balance(subnet.StakeAccount); got != 3*tx.UnitsPerDEAI {
		t.Errorf("stake account holds %s, want 3 DEAI", got)
	}
	// Staker 3 got all its stake back and paid only fees.
	if got := h.balance(addr(3)); got != b3-fee*tx.Amount(h.nonce(3)) {
		t.Errorf("staker 3 balance %s, want %s", got, b3-fee*tx.Amount(h.nonce(3)))
	}
	h.supply()
}

func (h *harness) nonce(i int) uint64 {
	a, _ := h.l.Account(addr(i))
	return a.Nonce
}
