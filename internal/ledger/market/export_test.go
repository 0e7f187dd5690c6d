package market

import (
	"fmt"

	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// Totals are what CheckInvariants found, for tests to compare.
type Totals struct {
	Escrow        tx.Amount // EscrowAccount's bank balance
	Funds         tx.Amount // deposits left in open accounts
	LeaseBalances tx.Amount // earned, not withdrawn
	BidDeposits   tx.Amount // held for open and active bids
}

// CheckInvariants scans the whole module state and checks what must always
// hold: EscrowAccount's balance is exactly the open accounts' funds plus
// the leases' unwithdrawn balances plus the open and active bids'
// deposits; every account's funds equal deposited − transferred −
// refunded, and closed accounts hold nothing; every active lease has one
// payment in its open account at the bid's price, and the account lists no
// other; providers' counters match their bids and leases; the open-order
// index lists exactly the open orders; no timer is left on a closed
// account or a non-open bid.
func CheckInvariants(kv state.KV) (Totals, error) {
	var t Totals
	s := store{kv}
	add := func(dst *tx.Amount, v tx.Amount, what string) error {
		var err error
		if *dst, err = dst.Add(v); err != nil {
			return fmt.Errorf("%s overflows: %w", what, err)
		}
		return nil
	}
	payments := map[LeaseID]Payment{}
	err := kv.Iterate(prefix(tagAccount), func(_, v []byte) error {
		a, err := decodeAccount(v)
		if err != nil {
			return err
		}
		f := a.Funds()
		out, err := a.Transferred.Add(a.Refunded)
		if err != nil || out > a.Deposited || a.Deposited-out != f {
			return fmt.Errorf("escrow %s: funds %s, want deposited %s − transferred %s − refunded %s", a.ID, f, a.Deposited, a.Transferred, a.Refunded)
		}
		if a.State != AccountOpen && (f != 0 || len(a.Payments) != 0 || a.timer != (timer{})) {
			return fmt.Errorf("escrow %s is %s but holds %s, %d payments, timer %+v", a.ID, a.State, f, len(a.Payments), a.timer)
		}
		if a.State == AccountOpen && a.blockRate() > 0 && a.timer == (timer{}) {
			return fmt.Errorf("escrow %s has per-block leases but no settlement scheduled", a.ID)
		}
		for _, d := range a.Deposits {
			if d.Balance == 0 {
				return fmt.Errorf("escrow %s keeps an empty deposit of %s", a.ID, d.Depositor)
			}
		}
		for _, p := range a.Payments {
			payments[a.leaseID(p)] = p
		}
		return add(&t.Funds, f, "funds")
	})
	if err != nil {
		return t, err
	}
	openBids, activeLeases := map[tx.Address]uint32{}, map[tx.Address]uint32{}
	err = kv.Iterate(prefix(tagLease), func(_, v []byte) error {
		l, err := decodeLease(v)
		if err != nil {
			return err
		}
		p, has := payments[l.ID]
		switch {
		case l.State == LeaseActive && (!has || p.Rate != l.Price || p.Usage != (l.Billing == BillingUsage)):
			return fmt.Errorf("active lease %s: payment %+v (present %v), want rate %s", l.ID, p, has, l.Price)
		case l.State != LeaseActive && (has || l.Balance != 0):
			return fmt.Errorf("lease %s is %s but has a payment (%v) or a balance %s", l.ID, l.State, has, l.Balance)
		case l.State == LeaseActive:
			activeLeases[l.ID.Provider]++
			delete(payments, l.ID)
		}
		return add(&t.LeaseBalances, l.Balance, "lease balances")
	})
	if err != nil {
		return t, err
	}
	for id := range payments {
		return t, fmt.Errorf("payment for lease %s without an active lease", id)
	}
	err = kv.Iterate(prefix(tagBid), func(_, v []byte) error {
		b, err := decodeBid(v)
		if err != nil {
			return err
		}
		if b.State != BidOpen && b.timer != (timer{}) {
			return fmt.Errorf("bid %s is %s but still has a timer", b.ID, b.State)
		}
		if b.State == BidActive {
			l, err := s.lease(b.ID)
			if err != nil || l.State != LeaseActive {
				return fmt.Errorf("active bid %s without an active lease (%v)", b.ID, err)
			}
		}
		if b.State == BidOpen {
			openBids[b.ID.Provider]++
		}
		if b.State == BidOpen || b.State == BidActive {
			return add(&t.BidDeposits, b.Deposit, "bid deposits")
		}
		return nil
	})
	if err != nil {
		return t, err
	}
	err = kv.Iterate(prefix(tagProvider), func(_, v []byte) error {
		p, err := decodeProvider(v)
		if err != nil {
			return err
		}
		if p.OpenBids != openBids[p.Owner] || p.ActiveLeases != activeLeases[p.Owner] {
			return fmt.Errorf("provider %s counts %d open bids and %d active leases, the records %d and %d",
				p.Owner, p.OpenBids, p.ActiveLeases, openBids[p.Owner], activeLeases[p.Owner])
		}
		delete(openBids, p.Owner)
		delete(activeLeases, p.Owner)
		return nil
	})
	if err != nil {
		return t, err
	}
	if len(openBids)+len(activeLeases) != 0 {
		return t, fmt.Errorf("bids or leases of unregistered providers: %v %v", openBids, activeLeases)
	}
	err = kv.Iterate(prefix(tagOrder), func(k, v []byte) error {
		o, err := decodeOrder(v)
		if err != nil {
			return err
		}
		idx, err := kv.Get(openOrderKey(o.ID))
		if err != nil {
			return err
		}
		if (idx != nil) != (o.State == OrderOpen) {
			return fmt.Errorf("order %s is %s but the open index says %v", o.ID, o.State, idx != nil)
		}
		return nil
	})
	if err != nil {
		return t, err
	}
	esc, _, err := bank.GetAccount(kv, EscrowAccount)
	if err != nil {
		return t, err
	}
	t.Escrow = esc.Balance
	var want tx.Amount
	for _, v := range []tx.Amount{t.Funds, t.LeaseBalances, t.BidDeposits} {
		if err := add(&want, v, "escrow total"); err != nil {
			return t, err
		}
	}
	if want != t.Escrow {
		return t, fmt.Errorf("escrow account holds %s, the records %s (funds %s + lease balances %s + bid deposits %s)",
			t.Escrow, want, t.Funds, t.LeaseBalances, t.BidDeposits)
	}
	return t, nil
}
