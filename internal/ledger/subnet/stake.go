package subnet

import (
	"fmt"

	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

// Stake lives in StakeAccount's bank balance; these records say whose it
// is. Invariant: the sum of every subnet/k record equals StakeAccount's
// balance, and each subnet/t record is the sum of its hotkey's subnet/k
// records.

func (x *exec) addStake(m *MsgAddStake) error {
	if _, err := x.w.subnet(m.Netuid); err != nil {
		return err
	}
	if _, err := x.w.registered(m.Netuid, m.Hotkey); err != nil {
		return err
	}
	k, tk := stakeKey(m.Netuid, m.Hotkey, m.Staker), hotkeyKey('t', m.Netuid, m.Hotkey)
	mine, err := x.w.amount(k, "stake")
	if err != nil {
		return err
	}
	total, err := x.w.amount(tk, "total stake")
	if err != nil {
		return err
	}
	if mine, err = mine.Add(m.Amount); err != nil {
		return module.Wrap(module.ReasonOverflow, fmt.Errorf("stake of %s on %s: %w", m.Staker, m.Hotkey, err))
	}
	if total, err = total.Add(m.Amount); err != nil {
		return module.Wrap(module.ReasonOverflow, fmt.Errorf("total stake on %s: %w", m.Hotkey, err))
	}
	if err := bank.Transfer(x.ctx, m.Staker, StakeAccount, m.Amount); err != nil {
		return err
	}
	x.w.setAmount(k, mine)
	x.w.setAmount(tk, total)
	x.emit(EventStakeAdded, "netuid", u16s(m.Netuid), "hotkey", m.Hotkey.String(), "staker", m.Staker.String(),
		"amount", m.Amount.String(), "total", total.String())
	return nil
}

func (x *exec) removeStake(m *MsgRemoveStake) error {
	k, tk := stakeKey(m.Netuid, m.Hotkey, m.Staker), hotkeyKey('t', m.Netuid, m.Hotkey)
	mine, err := x.w.amount(k, "stake")
	if err != nil {
		return err
	}
	if mine < m.Amount {
		return module.Errorf(module.ReasonInsufficientFunds, "stake of %s on %s in subnet %d is %s, cannot remove %s",
			m.Staker, m.Hotkey, m.Netuid, mine, m.Amount)
	}
	total, err := x.w.amount(tk, "total stake")
	if err != nil {
		return err
	}
	if total < m.Amount {
		return module.Errorf(module.ReasonInternal, "total stake on %s in subnet %d is %s, below %s's %s", m.Hotkey, m.Netuid, total, m.Staker, mine)
	}
	if err := bank.Transfer(x.ctx, StakeAccount, m.Staker, m.Amount); err != nil {
		return err
	}
	mine -= m.Amount // checked above
	total -= m.Amount
	x.w.setAmount(k, mine)
	x.w.setAmount(tk, total)
	x.emit(EventStakeRemoved, "netuid", u16s(m.Netuid), "hotkey", m.Hotkey.String(), "staker", m.Staker.String(),
		"amount", m.Amount.String(), "total", total.String())
	return nil
}

// Staker is one staker's amount on a hotkey.
type Staker struct {
	Staker tx.Address `json:"staker"`
	Amount tx.Amount  `json:"amount"`
}
