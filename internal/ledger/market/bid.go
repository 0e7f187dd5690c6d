package market

import (
	"cmp"
	"slices"

	"github.com/deai-network/deai/internal/ledger/module"
)

// createBid checks in market spec §3's order: deposit, provider
// registered, order open, room for another bid, one bid per provider,
// price within the ceiling, unit prices fit the billing, placement, then
// capabilities (storage classes and the offered GPUs).
func (x *exec) createBid(m *MsgCreateBid) error {
	id := m.ID()
	if m.Deposit < x.p.BidMinDeposit {
		return module.Errorf(module.ReasonInvalid, "create bid %s: deposit %s is below the minimum %s", id, m.Deposit, x.p.BidMinDeposit)
	}
	p, err := x.w.findProvider(m.Provider)
	if err != nil {
		return err
	}
	if p == nil {
		return module.Errorf(module.ReasonNotFound, "create bid %s: %s is not a registered provider; send MsgCreateProvider first", id, m.Provider)
	}
	o, err := x.w.order(m.Order)
	if err != nil {
		return err
	}
	if o.State != OrderOpen {
		return module.Errorf(module.ReasonInvalid, "create bid %s: order %s is %s, want open", id, o.ID, o.State)
	}
	if len(o.Bidders) >= int(x.p.MaxBidsPerOrder) {
		return module.Errorf(module.ReasonInvalid, "create bid %s: order %s has %d bids, the most it takes", id, o.ID, len(o.Bidders))
	}
	if slices.Contains(o.Bidders, m.Provider) {
		return module.Errorf(module.ReasonInvalid, "create bid %s: provider %s already bid on order %s; one bid per provider per order", id, m.Provider, o.ID)
	}
	if m.Price > o.MaxPrice {
		return module.Errorf(module.ReasonInvalid, "create bid %s: price %s per block is above the order's max price %s", id, m.Price, o.MaxPrice)
	}
	if o.Billing != BillingUsage && !m.UnitPrices.IsZero() {
		return module.Errorf(module.ReasonInvalid, "create bid %s: the group bills per block; want no unit prices", id)
	}
	g, err := x.w.group(m.Order.Group())
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	if err := x.matchPlacement(&g.Spec.Requirements, p); err != nil {
		return err
	}
	if err := matchCapabilities(&g.Spec, p, m.Offer); err != nil {
		return err
	}
	if err := x.collect(m.Provider, m.Deposit); err != nil {
		return err
	}
	b := &Bid{ID: id, State: BidOpen, Price: m.Price, Deposit: m.Deposit, Offer: slices.Clone(m.Offer),
		UnitPrices: m.UnitPrices, CreatedAt: x.h}
	if x.p.BidTimeoutBlocks > 0 {
		if b.timer, err = x.w.schedule(wheelBidExpiry, x.h+x.p.BidTimeoutBlocks, id.appendKey(nil)); err != nil {
			return err
		}
	}
	x.w.setBid(b)
	o.Bidders = append(o.Bidders, m.Provider)
	x.w.setOrder(o)
	p.OpenBids++
	x.w.setProvider(p)
	x.emit(EventBidCreated, "id", id.String(), "order", o.ID.String(), "provider", m.Provider.String(),
		"price", m.Price.String(), "deposit", m.Deposit.String())
	return nil
}

func (x *exec) closeBidMsg(m *MsgCloseBid) error {
	b, err := x.w.bid(m.ID)
	if err != nil {
		return err
	}
	switch b.State {
	case BidOpen:
		return x.finishBid(b, BidClosed, "provider")
	case BidActive:
		reason := m.Reason
		if reason == ReasonNone {
			reason = ReasonUnspecified
		}
		return x.closeByProvider(m.ID, reason)
	}
	return module.Errorf(module.ReasonInvalid, "close bid %s: it is %s, want open or active", m.ID, b.State)
}

// closeByProvider closes an active lease at its provider's request and
// pauses the group: the owner decides whether to re-auction it.
func (x *exec) closeByProvider(id LeaseID, reason CloseReason) error {
	_, a, closed, err := x.touch(id.Deployment())
	if err != nil || closed {
		return err
	}
	if err := x.closeLease(a, id, LeaseClosed, reason); err != nil {
		return err
	}
	g, err := x.w.group(id.Group())
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	g.State = GroupPaused
	x.w.setGroup(g)
	x.emit(EventGroupPaused, "id", g.ID.String())
	return x.saveAccount(a)
}

func (x *exec) createLease(m *MsgCreateLease) error {
	id := m.Bid
	b, err := x.w.bid(id)
	if err != nil {
		return err
	}
	if b.State != BidOpen {
		return module.Errorf(module.ReasonInvalid, "create lease %s: the bid is %s, want open", id, b.State)
	}
	o, err := x.w.order(id.Order())
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	if o.State != OrderOpen {
		return module.Errorf(module.ReasonInvalid, "create lease %s: order %s is %s, want open", id, o.ID, o.State)
	}
	g, err := x.w.group(id.Group())
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	if g.State != GroupOpen {
		return module.Errorf(module.ReasonInvalid, "create lease %s: group %s is %s, want open", id, g.ID, g.State)
	}
	a, err := x.w.account(id.Deployment())
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	over, short, err := x.settle(a)
	if err != nil {
		return err
	}
	if over {
		return module.Errorf(module.ReasonInsufficientFunds, "create lease %s: the deployment's escrow is overdrawn by %s; deposit more first", id, short)
	}
	l := &Lease{ID: id, State: LeaseActive, Price: b.Price, Billing: g.Spec.Billing, CreatedAt: x.h}
	if l.Billing == BillingUsage {
		l.Usage = &Usage{Height: x.h, AnchorHeight: x.h, AnchorTime: x.ctx.TimeUnixNano}
	}
	x.w.setLease(l)
	x.w.indexProviderLease(id)
	pay := Payment{GSeq: id.GSeq, OSeq: id.OSeq, Provider: id.Provider, Rate: b.Price, Usage: l.Billing == BillingUsage}
	i, _ := slices.BinarySearchFunc(a.Payments, pay.GSeq, func(p Payment, gseq uint32) int { return cmp.Compare(p.GSeq, gseq) })
	a.Payments = slices.Insert(a.Payments, i, pay)

	x.w.cancel(wheelBidExpiry, b.timer)
	b.timer, b.State = timer{}, BidActive
	x.w.setBid(b)
	if err := x.updateProviderCounts(id.Provider, func(p *Provider) { p.OpenBids--; p.ActiveLeases++ }); err != nil {
		return err
	}
	if err := x.closeOpenBids(o, id.Provider, BidLost, "lost"); err != nil {
		return err
	}
	o.State = OrderActive
	x.w.setOrder(o)
	x.emit(EventLeaseCreated, "id", id.String(), "owner", id.Owner.String(), "provider", id.Provider.String(),
		"price", b.Price.String(), "billing", billingName(l.Billing))
	return x.saveAccount(a)
}

func (x *exec) closeLeaseMsg(m *MsgCloseLease) error {
	l, err := x.w.lease(m.ID)
	if err != nil {
		return err
	}
	reason := m.Reason
	switch m.Sender {
	case m.ID.Owner:
		if reason == ReasonNone {
			reason = ReasonOwner
		}
		if !reason.IsOwner() {
			return module.Errorf(module.ReasonInvalid, "close lease %s: reason %d is a provider's; the owner closes with %d", m.ID, reason, ReasonOwner)
		}
	case m.ID.Provider:
		if reason == ReasonNone {
			reason = ReasonUnspecified
		}
		if !reason.IsProvider() {
			return module.Errorf(module.ReasonInvalid, "close lease %s: reason %d is not a provider's; want %d to %d", m.ID, reason, ReasonUnstable, ReasonManifestTimeout)
		}
	default:
		return module.Errorf(module.ReasonUnauthorized, "close lease %s: only its owner %s or provider %s may close it, not %s", m.ID, m.ID.Owner, m.ID.Provider, m.Sender)
	}
	if l.State != LeaseActive {
		return module.Errorf(module.ReasonInvalid, "close lease %s: it is %s, want active", m.ID, l.State)
	}
	if reason.IsProvider() {
		return x.closeByProvider(m.ID, reason)
	}
	_, a, closed, err := x.touch(m.ID.Deployment())
	if err != nil || closed {
		return err
	}
	if err := x.closeLease(a, m.ID, LeaseClosed, reason); err != nil {
		return err
	}
	g, err := x.w.group(m.ID.Group())
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	if g.State == GroupOpen {
		if err := x.openOrder(g); err != nil {
			return err
		}
		x.w.setGroup(g)
	}
	return x.saveAccount(a)
}

// withdraw settles the account and pays the provider the lease's balance.
// If settling finds the account overdrawn the deployment closes, which
// pays the balance out as well.
func (x *exec) withdraw(m *MsgWithdrawLease) error {
	l, err := x.w.lease(m.ID)
	if err != nil {
		return err
	}
	if l.State != LeaseActive {
		return module.Errorf(module.ReasonInvalid, "withdraw lease %s: it is %s (closed leases were paid at close), want active", m.ID, l.State)
	}
	_, a, closed, err := x.touch(m.ID.Deployment())
	if err != nil || closed {
		return err
	}
	if l, err = x.w.lease(m.ID); err != nil { // settling credited it
		return err
	}
	amt := l.Balance
	if err := x.pay(m.ID.Provider, amt); err != nil {
		return err
	}
	if l.Withdrawn, err = l.Withdrawn.Add(amt); err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	l.Balance = 0
	x.w.setLease(l)
	x.emit(EventLeaseWithdrawn, "id", m.ID.String(), "provider", m.ID.Provider.String(), "amount", amt.String())
	return x.saveAccount(a)
}
