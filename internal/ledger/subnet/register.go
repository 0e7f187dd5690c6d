package subnet

import (
	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

func (x *exec) register(m *MsgRegister) error {
	s, err := x.w.subnet(m.Netuid)
	if err != nil {
		return err
	}
	if uid, ok, err := x.w.uidOf(m.Netuid, m.Hotkey); err != nil {
		return err
	} else if ok {
		return module.Errorf(module.ReasonInvalid, "hotkey %s is already registered on subnet %d as uid %d", m.Hotkey, m.Netuid, uid)
	}
	price := s.Price(x.h)
	if m.MaxBurn != 0 && price > m.MaxBurn {
		return module.Errorf(module.ReasonInvalid, "registration price on subnet %d is %s, above the max burn %s", m.Netuid, price, m.MaxBurn)
	}
	if err := bank.Burn(x.ctx, m.Hotkey, price); err != nil {
		return err
	}
	var uid uint16
	var replaced string
	if s.N < s.Params.MaxUIDs {
		uid = s.N
		s.N++
	} else {
		mp, err := x.w.moduleParams()
		if err != nil {
			return err
		}
		if uid, err = x.pruneChoice(s, mp); err != nil {
			return err
		}
		old, err := x.w.neuron(s.Netuid, uid)
		if err != nil {
			return err
		}
		// The previous holder's key, outgoing weights, bonds and commits go;
		// its stake stays its stakers' (and counts again if it comes back).
		x.w.st.Delete(hotkeyKey('h', s.Netuid, old.Hotkey))
		x.w.setRow('w', s.Netuid, uid, nil)
		x.w.setRow('b', s.Netuid, uid, nil)
		x.w.setCommits(s.Netuid, uid, nil)
		replaced = old.Hotkey.String()
	}
	x.w.setNeuron(s.Netuid, &Neuron{UID: uid, Hotkey: m.Hotkey, RegisteredAt: x.h, LastUpdate: x.h})
	x.w.st.Set(hotkeyKey('h', s.Netuid, m.Hotkey), tx.AppendU16(nil, uid))
	s.bump(price, x.h)
	s.Registrations++
	x.w.setSubnet(s)
	x.emit(EventRegistered, "netuid", u16s(s.Netuid), "uid", u16s(uid), "hotkey", m.Hotkey.String(),
		"burn", price.String(), "replaced", replaced)
	return nil
}

// pruneChoice picks the uid a registration on the full subnet s replaces
// (subnet-protocol.md §6): never the owner's; the lowest emission, then the
// earliest registration, then the lowest uid; among the non-immune uids
// while more than mp.MinNonImmuneUIDs of them exist, else among the immune
// ones (or the non-immune ones when none is immune).
func (x *exec) pruneChoice(s *Subnet, mp ModuleParams) (uint16, error) {
	type pick struct {
		uid      uint16
		emission tx.Amount
		reg      uint64
		ok       bool
	}
	better := func(p pick, n *Neuron) bool {
		if !p.ok {
			return true
		}
		if n.Emission != p.emission {
			return n.Emission < p.emission
		}
		return n.RegisteredAt < p.reg // uids come in ascending order
	}
	var immune, open pick
	var openCount int
	for uid := range s.N {
		n, err := x.w.neuron(s.Netuid, uid)
		if err != nil {
			return 0, err
		}
		if n.Hotkey == s.Owner {
			continue
		}
		if x.h-n.RegisteredAt < s.Params.ImmunityPeriod {
			if better(immune, n) {
				immune = pick{uid, n.Emission, n.RegisteredAt, true}
			}
			continue
		}
		openCount++
		if better(open, n) {
			open = pick{uid, n.Emission, n.RegisteredAt, true}
		}
	}
	switch {
	case open.ok && openCount > int(mp.MinNonImmuneUIDs):
		return open.uid, nil
	case immune.ok:
		return immune.uid, nil
	case open.ok:
		return open.uid, nil
	}
	return 0, module.Errorf(module.ReasonInvalid, "subnet %d is full and its only uid is the owner's", s.Netuid)
}
