package market

import (
	"fmt"
	"math/bits"
	"slices"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

// satMul returns a·b, or the largest uint64 if that overflows: owed
// amounts saturate, and no account holds that much.
func satMul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return ^uint64(0)
	}
	return lo
}

func satAdd(a, b uint64) uint64 {
	s, c := bits.Add64(a, b, 0)
	if c != 0 {
		return ^uint64(0)
	}
	return s
}

// blockRate is what the per-block leases of the account cost per block.
func (a *Account) blockRate() uint64 {
	var r uint64
	for _, p := range a.Payments {
		if !p.Usage {
			r = satAdd(r, uint64(p.Rate))
		}
	}
	return r
}

// usageCap is the most the usage-billed leases of the account can cost
// per block.
func (a *Account) usageCap() uint64 {
	var r uint64
	for _, p := range a.Payments {
		if p.Usage {
			r = satAdd(r, uint64(p.Rate))
		}
	}
	return r
}

// draw takes amt from the deposits, oldest first.
func (a *Account) draw(amt tx.Amount) error {
	total := amt
	for amt > 0 && len(a.Deposits) > 0 {
		d := &a.Deposits[0]
		take := min(d.Balance, amt)
		d.Balance -= take
		amt -= take
		if d.Balance == 0 {
			a.Deposits = a.Deposits[1:]
		}
	}
	if amt > 0 {
		return module.Errorf(module.ReasonInternal, "escrow %s: drew %s more than its funds", a.ID, amt)
	}
	var err error
	if a.Transferred, err = a.Transferred.Add(total); err != nil {
		return module.Wrap(module.ReasonInternal, fmt.Errorf("escrow %s: transferred total: %w", a.ID, err))
	}
	return nil
}

// paymentIndex returns the index of the open payment of group gseq, or -1.
func (a *Account) paymentIndex(gseq uint32) int {
	return slices.IndexFunc(a.Payments, func(p Payment) bool { return p.GSeq == gseq })
}

func (a *Account) leaseID(p Payment) LeaseID {
	return a.ID.Group(p.GSeq).Order(p.OSeq).Bid(p.Provider)
}

// credit adds paid (and the shortfall, if any) to a lease's payment.
func (x *exec) credit(id LeaseID, paid, short tx.Amount) error {
	l, err := x.w.lease(id)
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	if l.Balance, err = l.Balance.Add(paid); err != nil {
		return module.Wrap(module.ReasonInternal, fmt.Errorf("lease %s: balance: %w", id, err))
	}
	l.Unsettled = tx.Amount(satAdd(uint64(l.Unsettled), uint64(short)))
	x.w.setLease(l)
	return nil
}

// settle brings the account up to the current height (market spec §4):
// every per-block lease is owed rate × blocks since the last settlement,
// drawn from the deposits first in, first out and credited to the lease.
// Usage-billed leases accrue nothing here; their reports charge the
// account. If the funds do not cover what is owed, everything left is
// paid out (whole blocks to every lease, then the remainder in gseq order,
// at most one block's rate each), the shortfall is recorded on the leases
// and settle reports overdrawn with the shortfall; the caller decides
// whether to close the deployment or fail. The account is not written.
func (x *exec) settle(a *Account) (overdrawn bool, short tx.Amount, err error) {
	if a.State != AccountOpen || x.h <= a.SettledAt {
		return false, 0, nil
	}
	delta := x.h - a.SettledAt
	a.SettledAt = x.h
	rate := a.blockRate()
	if rate == 0 {
		return false, 0, nil
	}
	owed, funds := satMul(rate, delta), uint64(a.Funds())
	full, rem := delta, uint64(0)
	if owed > funds {
		full, rem = funds/rate, funds%rate
		overdrawn = true
	}
	var paid uint64
	for _, p := range a.Payments {
		if p.Usage {
			continue
		}
		got := uint64(p.Rate)*full + min(rem, uint64(p.Rate)) // ≤ funds or ≤ owed: no overflow
		rem -= min(rem, uint64(p.Rate))
		paid += got
		miss := satMul(uint64(p.Rate), delta) - got
		if got == 0 && miss == 0 {
			continue
		}
		if err := x.credit(a.leaseID(p), tx.Amount(got), tx.Amount(miss)); err != nil {
			return false, 0, err
		}
	}
	if err := a.draw(tx.Amount(paid)); err != nil {
		return false, 0, err
	}
	if overdrawn {
		short = tx.Amount(owed - funds)
		x.emit(EventOverdrawn, "id", a.ID.String(), "owed", tx.Amount(owed).String(), "paid", tx.Amount(paid).String(),
			"shortfall", short.String())
	}
	return overdrawn, short, nil
}

// charge draws a usage report's cost for lease l from the account: all of
// it, or everything left and overdrawn. l is updated but not written.
func (x *exec) charge(a *Account, l *Lease, cost tx.Amount) (overdrawn bool, err error) {
	funds := a.Funds()
	paid := min(cost, funds)
	if err := a.draw(paid); err != nil {
		return false, err
	}
	if l.Balance, err = l.Balance.Add(paid); err != nil {
		return false, module.Wrap(module.ReasonInternal, fmt.Errorf("lease %s: balance: %w", l.ID, err))
	}
	if cost > funds {
		l.Unsettled = tx.Amount(satAdd(uint64(l.Unsettled), uint64(cost-funds)))
		x.emit(EventOverdrawn, "id", a.ID.String(), "owed", cost.String(), "paid", paid.String(),
			"shortfall", (cost - funds).String())
		return true, nil
	}
	return false, nil
}

// saveAccount reschedules the account's next sweep settlement and writes
// it. An open account with per-block leases is settled by EndBlock at the
// block it runs dry (the first block whose rate it cannot cover) or
// SettleEveryBlocks after this settlement, whichever is sooner; the
// account must be settled to the current height.
func (x *exec) saveAccount(a *Account) error {
	x.w.cancel(wheelSettle, a.timer)
	a.timer = timer{}
	if rate := a.blockRate(); a.State == AccountOpen && rate > 0 {
		next := min(satAdd(a.SettledAt, x.p.SettleEveryBlocks), satAdd(a.SettledAt, uint64(a.Funds())/rate+1))
		if next <= x.h {
			return module.Errorf(module.ReasonInternal, "escrow %s: next settlement %d is not after block %d (settled at %d)", a.ID, next, x.h, a.SettledAt)
		}
		t, err := x.w.schedule(wheelSettle, next, a.ID.appendKey(nil))
		if err != nil {
			return err
		}
		a.timer = t
	}
	x.w.setAccount(a)
	return nil
}

// addDeposit adds amt from depositor, merging with the newest entry when
// it is the same depositor's (which keeps first-in-first-out exact).
func (a *Account) addDeposit(depositor tx.Address, amt tx.Amount, h uint64) error {
	var err error
	if a.Deposited, err = a.Deposited.Add(amt); err != nil {
		return module.Wrap(module.ReasonOverflow, fmt.Errorf("escrow %s: deposited total: %w", a.ID, err))
	}
	if n := len(a.Deposits); n > 0 && a.Deposits[n-1].Depositor == depositor {
		if a.Deposits[n-1].Balance, err = a.Deposits[n-1].Balance.Add(amt); err != nil {
			return module.Wrap(module.ReasonOverflow, fmt.Errorf("escrow %s: deposit: %w", a.ID, err))
		}
		return nil
	}
	if len(a.Deposits) >= MaxDeposits {
		return module.Errorf(module.ReasonInvalid, "escrow %s holds %d separate deposits, the most it takes; wait until older ones are spent or deposit as the latest depositor", a.ID, MaxDeposits)
	}
	a.Deposits = append(a.Deposits, Deposit{Depositor: depositor, Height: h, Balance: amt})
	return nil
}

// refund returns every deposit's balance to its depositor.
func (x *exec) refund(a *Account) error {
	for _, d := range a.Deposits {
		if err := x.pay(d.Depositor, d.Balance); err != nil {
			return err
		}
		var err error
		if a.Refunded, err = a.Refunded.Add(d.Balance); err != nil {
			return module.Wrap(module.ReasonInternal, fmt.Errorf("escrow %s: refunded total: %w", a.ID, err))
		}
		x.emit(EventRefund, "id", a.ID.String(), "depositor", d.Depositor.String(), "amount", d.Balance.String())
	}
	a.Deposits = a.Deposits[:0]
	return nil
}

// updateProvider applies fn to provider p's record; it must exist while
// the provider has open bids or active leases.
func (x *exec) updateProviderCounts(p tx.Address, fn func(*Provider)) error {
	pr, err := x.w.findProvider(p)
	if err != nil {
		return err
	}
	if pr == nil {
		return module.Errorf(module.ReasonInternal, "provider %s is missing but has bids or leases", p)
	}
	fn(pr)
	x.w.setProvider(pr)
	return nil
}

// finishBid moves an open bid to closed or lost and refunds its deposit.
// reason says why, for the event.
func (x *exec) finishBid(b *Bid, to BidState, reason string) error {
	wasOpen := b.State == BidOpen
	x.w.cancel(wheelBidExpiry, b.timer)
	b.timer = timer{}
	if err := x.pay(b.ID.Provider, b.Deposit); err != nil {
		return err
	}
	b.State, b.ClosedAt = to, x.h
	x.w.setBid(b)
	if wasOpen {
		if err := x.updateProviderCounts(b.ID.Provider, func(p *Provider) { p.OpenBids-- }); err != nil {
			return err
		}
	}
	x.emit(EventBidClosed, "id", b.ID.String(), "provider", b.ID.Provider.String(), "state", b.State.String(), "reason", reason)
	return nil
}

// closeOpenBids closes every open bid on o except the winner's.
func (x *exec) closeOpenBids(o *Order, winner tx.Address, to BidState, reason string) error {
	for _, p := range o.Bidders {
		if p == winner {
			continue
		}
		b, err := x.w.bid(o.ID.Bid(p))
		if err != nil {
			return module.Wrap(module.ReasonInternal, err)
		}
		if b.State == BidOpen {
			if err := x.finishBid(b, to, reason); err != nil {
				return err
			}
		}
	}
	return nil
}

func (x *exec) closeOrder(o *Order) {
	o.State, o.ClosedAt = OrderClosed, x.h
	x.w.setOrder(o)
	x.emit(EventOrderClosed, "id", o.ID.String())
}

// closeLease ends an active lease: its payment leaves the account (which
// the caller writes), the provider is paid the lease's balance, and the
// lease's bid and order close. The account must be settled.
func (x *exec) closeLease(a *Account, id LeaseID, state LeaseState, reason CloseReason) error {
	l, err := x.w.lease(id)
	if err != nil {
		return err
	}
	i := a.paymentIndex(id.GSeq)
	if i < 0 || a.leaseID(a.Payments[i]) != id {
		return module.Errorf(module.ReasonInternal, "lease %s has no payment in escrow %s", id, a.ID)
	}
	a.Payments = slices.Delete(a.Payments, i, i+1)
	paid := l.Balance
	if err := x.pay(id.Provider, paid); err != nil {
		return err
	}
	if l.Withdrawn, err = l.Withdrawn.Add(paid); err != nil {
		return module.Wrap(module.ReasonInternal, fmt.Errorf("lease %s: withdrawn: %w", id, err))
	}
	l.Balance, l.State, l.Reason, l.ClosedAt = 0, state, reason, x.h
	x.w.setLease(l)
	if err := x.updateProviderCounts(id.Provider, func(p *Provider) { p.ActiveLeases-- }); err != nil {
		return err
	}
	b, err := x.w.bid(id)
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	if err := x.finishBid(b, BidClosed, "lease_closed"); err != nil {
		return err
	}
	o, err := x.w.order(id.Order())
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	x.closeOrder(o)
	x.emit(EventLeaseClosed, "id", id.String(), "owner", id.Owner.String(), "provider", id.Provider.String(),
		"state", state.String(), "reason", u32s(uint32(reason)), "reason_name", reason.String(), "paid", paid.String())
	return nil
}

// stopGroup ends what a group has running: its lease (closed with state
// and reason) or its open order and the bids on it. The caller sets the
// group's new state and writes the account.
func (x *exec) stopGroup(a *Account, g *Group, state LeaseState, reason CloseReason) error {
	if i := a.paymentIndex(g.ID.GSeq); i >= 0 {
		return x.closeLease(a, a.leaseID(a.Payments[i]), state, reason)
	}
	if g.OSeq == 0 {
		return nil
	}
	o, err := x.w.order(g.ID.Order(g.OSeq))
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	if o.State != OrderOpen {
		return nil
	}
	if err := x.closeOpenBids(o, tx.Address{}, BidClosed, "order_closed"); err != nil {
		return err
	}
	x.closeOrder(o)
	return nil
}

// closeDeployment closes a deployment and everything in it: leases are
// closed (insufficient_funds with reason 20000 when overdrawn, else by the
// owner), groups closed (or insufficient_funds), open orders and bids
// closed with their deposits refunded, the escrow's remaining deposits
// returned to their depositors. The account must be settled; it is
// written.
func (x *exec) closeDeployment(d *Deployment, a *Account, overdrawn bool, why string) error {
	ls, reason, gs := LeaseClosed, ReasonOwner, GroupClosed
	if overdrawn {
		ls, reason, gs, why = LeaseInsufficientFunds, ReasonInsufficientFunds, GroupInsufficientFunds, "insufficient_funds"
	}
	for gseq := uint32(1); gseq <= d.Groups; gseq++ {
		g, err := x.w.group(d.ID.Group(gseq))
		if err != nil {
			return module.Wrap(module.ReasonInternal, err)
		}
		if g.State != GroupOpen && g.State != GroupPaused {
			continue
		}
		if err := x.stopGroup(a, g, ls, reason); err != nil {
			return err
		}
		g.State = gs
		x.w.setGroup(g)
		x.emit(EventGroupClosed, "id", g.ID.String(), "state", gs.String())
	}
	if len(a.Payments) != 0 {
		return module.Errorf(module.ReasonInternal, "escrow %s: %d payments left after closing every group", a.ID, len(a.Payments))
	}
	if err := x.refund(a); err != nil {
		return err
	}
	a.State = AccountClosed
	if overdrawn {
		a.State = AccountOverdrawn
	}
	if err := x.saveAccount(a); err != nil {
		return err
	}
	d.State, d.ClosedAt = DeploymentClosed, x.h
	x.w.setDeployment(d)
	x.emit(EventDeploymentClosed, "id", d.ID.String(), "reason", why)
	return nil
}

// touch loads an active deployment and its settled account. If the
// account turns out overdrawn, the deployment is closed at once (reason
// insufficient_funds) and closed is true: the caller's action is moot.
func (x *exec) touch(id DeploymentID) (d *Deployment, a *Account, closed bool, err error) {
	if d, err = x.w.deployment(id); err != nil {
		return nil, nil, false, err
	}
	if d.State != DeploymentActive {
		return nil, nil, false, module.Errorf(module.ReasonInvalid, "deployment %s is %s, want active", id, d.State)
	}
	if a, err = x.w.account(id); err != nil {
		return nil, nil, false, module.Wrap(module.ReasonInternal, err)
	}
	over, _, err := x.settle(a)
	if err != nil {
		return nil, nil, false, err
	}
	if over {
		return d, a, true, x.closeDeployment(d, a, true, "")
	}
	return d, a, false, nil
}
