package paych

import (
	"fmt"

	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// CheckInvariants scans the whole module state and checks what must always
// hold: EscrowAccount's balance is exactly the open and settling
// channels' Balance − Redeemed; a channel's Redeemed is at most its
// Balance and the sum of its lanes', its lane count their number; a
// closed channel has no lanes and Balance = Redeemed + Refunded; only a
// settling or closed channel has a SettlingAt; every channel is in its
// three indexes. It returns the escrow's balance.
func CheckInvariants(kv state.KV) (tx.Amount, error) {
	var escrowed tx.Amount
	lanes := map[ChannelID]tx.Amount{}
	count := map[ChannelID]uint32{}
	err := kv.Iterate(prefix(tagLane), func(k, v []byte) error {
		var id ChannelID
		copy(id[:], k[len(prefix(tagLane)):])
		l, err := decodeLane(0, v)
		if err != nil {
			return err
		}
		if l.Nonce == 0 || l.Redeemed == 0 {
			return fmt.Errorf("channel %s has an empty lane %+v", id, l)
		}
		lanes[id] += l.Redeemed
		count[id]++
		return nil
	})
	if err != nil {
		return 0, err
	}
	err = kv.Iterate(prefix(tagChannel), func(_, v []byte) error {
		c, err := decodeChannel(v)
		if err != nil {
			return err
		}
		switch {
		case c.Redeemed > c.Balance:
			return fmt.Errorf("channel %s redeemed %s of a balance of %s", c.ID, c.Redeemed, c.Balance)
		case c.State == ChannelClosed && (count[c.ID] != 0 || c.Lanes != 0 || c.Redeemed+c.Refunded != c.Balance):
			return fmt.Errorf("closed channel %s: %d lanes (%d counted), redeemed %s + refunded %s, balance %s", c.ID, count[c.ID], c.Lanes, c.Redeemed, c.Refunded, c.Balance)
		case c.State != ChannelClosed && (lanes[c.ID] != c.Redeemed || count[c.ID] != c.Lanes || c.Refunded != 0):
			return fmt.Errorf("channel %s: redeemed %s over %d lanes, the lanes hold %s over %d; refunded %s", c.ID, c.Redeemed, c.Lanes, lanes[c.ID], count[c.ID], c.Refunded)
		case (c.State == ChannelOpen) != (c.SettlingAt == 0):
			return fmt.Errorf("channel %s is %s with settling_at %d", c.ID, c.State, c.SettlingAt)
		case c.State < ChannelOpen || c.State > ChannelClosed:
			return fmt.Errorf("channel %s in state %d", c.ID, c.State)
		}
		for _, r := range []struct {
			role byte
			a    tx.Address
		}{{roleFrom, c.From}, {roleTo, c.To}, {roleFunder, c.Funder}} {
			if b, err := kv.Get(indexKey(r.role, r.a, c.ID)); err != nil || b == nil {
				return fmt.Errorf("channel %s missing from index %c", c.ID, r.role)
			}
		}
		delete(count, c.ID)
		escrowed += c.Escrowed()
		return nil
	})
	if err != nil {
		return 0, err
	}
	for id := range count {
		return 0, fmt.Errorf("lanes of unknown channel %s", id)
	}
	esc, _, err := bank.GetAccount(kv, EscrowAccount)
	if err != nil {
		return 0, err
	}
	if esc.Balance != escrowed {
		return 0, fmt.Errorf("escrow account holds %s, the channels %s", esc.Balance, escrowed)
	}
	return escrowed, nil
}
