package agents

import (
	"bytes"
	"fmt"

	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// CheckInvariants scans the whole module state and checks what must always
// hold: every service has its owner index entry, one capability index
// entry per capability and a live expiry timer at its expiry height whose
// entry names it, and no index entry points elsewhere; no service is past
// its expiry at height (the last committed height; 0 skips the check);
// every permission's counters fit its limits and its period starts on a
// period boundary.
func CheckInvariants(kv state.KV, height uint64) error {
	owners, caps := map[string]bool{}, map[string]bool{}
	err := kv.Iterate(prefix(tagService), func(k, v []byte) error {
		sv, err := decodeService(v)
		if err != nil {
			return err
		}
		if string(k[len(prefix(tagService)):]) != sv.Name {
			return fmt.Errorf("service %q stored under key %q", sv.Name, k)
		}
		if height != 0 && !sv.Live(height+1) {
			return fmt.Errorf("service %s expired at %d but is still stored after block %d", sv.Name, sv.Expiry, height)
		}
		if sv.timer.Height != sv.Expiry {
			return fmt.Errorf("service %s expires at %d but its timer is %+v", sv.Name, sv.Expiry, sv.timer)
		}
		p, err := kv.Get(wheelEntryKey(sv.timer.Height, sv.timer.Slot))
		if err != nil || string(p) != sv.Name {
			return fmt.Errorf("service %s: timer entry holds %q (%v)", sv.Name, p, err)
		}
		owners[string(ownerKey(sv.Owner, sv.Name))] = true
		for _, c := range sv.Capabilities {
			caps[string(capabilityKey(c, sv.Name))] = true
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, ix := range []struct {
		tag  byte
		want map[string]bool
	}{{tagOwner, owners}, {tagCapability, caps}} {
		n := 0
		err := kv.Iterate(prefix(ix.tag), func(k, _ []byte) error {
			if !ix.want[string(k)] {
				return fmt.Errorf("index entry %q without its service", k)
			}
			n++
			return nil
		})
		if err != nil {
			return err
		}
		if n != len(ix.want) {
			return fmt.Errorf("index %c has %d entries, the services want %d", ix.tag, n, len(ix.want))
		}
	}
	return kv.Iterate(prefix(tagPermission), func(k, v []byte) error {
		p, err := decodePermission(v)
		if err != nil {
			return err
		}
		if !bytes.Equal(k, permissionKey(p.Owner, p.Agent)) {
			return fmt.Errorf("permission %s→%s stored under key %x", p.Owner, p.Agent, k)
		}
		switch {
		case p.PeriodSpent > p.Allowance:
			return fmt.Errorf("permission %s→%s: period spent %s over the allowance %s", p.Owner, p.Agent, p.PeriodSpent, p.Allowance)
		case p.TotalSpent > p.TotalCap:
			return fmt.Errorf("permission %s→%s: total spent %s over the cap %s", p.Owner, p.Agent, p.TotalSpent, p.TotalCap)
		case p.PeriodSpent > p.TotalSpent:
			return fmt.Errorf("permission %s→%s: period spent %s over the total %s", p.Owner, p.Agent, p.PeriodSpent, p.TotalSpent)
		case p.PeriodStart < p.GrantedAt || (p.PeriodStart-p.GrantedAt)%p.PeriodBlocks != 0:
			return fmt.Errorf("permission %s→%s: period start %d is not a boundary of %d-block periods from %d", p.Owner, p.Agent, p.PeriodStart, p.PeriodBlocks, p.GrantedAt)
		}
		return nil
	})
}

// Spent returns a permission's counters for tests.
func Spent(kv state.KV, owner, agent tx.Address) (period, total tx.Amount, ok bool) {
	p, err := store{kv}.permission(owner, agent)
	if err != nil || p == nil {
		return 0, 0, false
	}
	return p.PeriodSpent, p.TotalSpent, true
}
