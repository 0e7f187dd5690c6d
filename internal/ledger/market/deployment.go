package market

import (
	"slices"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

func (x *exec) createDeployment(m *MsgCreateDeployment) error {
	if m.Deposit < x.p.MinDeposit {
		return module.Errorf(module.ReasonInvalid, "create deployment %s: deposit %s is below the minimum %s", m.ID, m.Deposit, x.p.MinDeposit)
	}
	old, err := find(x.w.store, deploymentKey(m.ID), "deployment", decodeDeployment)
	if err != nil {
		return err
	}
	if old != nil {
		return module.Errorf(module.ReasonInvalid, "deployment %s already exists; dseq must be unique per owner", m.ID)
	}
	if err := x.collect(m.ID.Owner, m.Deposit); err != nil {
		return err
	}
	d := &Deployment{ID: m.ID, State: DeploymentActive, Hash: m.Hash, CreatedAt: x.h, Groups: uint32(len(m.Groups))}
	x.w.setDeployment(d)
	x.emit(EventDeploymentCreated, "id", m.ID.String(), "owner", m.ID.Owner.String(), "dseq", u64s(m.ID.DSeq),
		"hash", m.Hash.String(), "groups", u32s(d.Groups), "deposit", m.Deposit.String())
	for i := range m.Groups {
		g := &Group{ID: m.ID.Group(uint32(i + 1)), State: GroupOpen, Spec: m.Groups[i], CreatedAt: x.h}
		if err := x.openOrder(g); err != nil {
			return err
		}
		x.w.setGroup(g)
	}
	a := &Account{ID: m.ID, State: AccountOpen, SettledAt: x.h}
	if err := a.addDeposit(m.ID.Owner, m.Deposit, x.h); err != nil {
		return err
	}
	x.emit(EventDeposit, "id", m.ID.String(), "depositor", m.ID.Owner.String(), "amount", m.Deposit.String(), "funds", a.Funds().String())
	return x.saveAccount(a)
}

// openOrder gives the group its next order (oseq+1); the caller writes
// the group.
func (x *exec) openOrder(g *Group) error {
	price, err := g.Spec.MaxPrice()
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	g.OSeq++
	o := &Order{ID: g.ID.Order(g.OSeq), State: OrderOpen, MaxPrice: tx.Amount(price), Billing: g.Spec.Billing, CreatedAt: x.h}
	x.w.setOrder(o)
	x.emit(EventOrderCreated, "id", o.ID.String(), "owner", o.ID.Owner.String(), "dseq", u64s(o.ID.DSeq),
		"gseq", u32s(o.ID.GSeq), "oseq", u32s(o.ID.OSeq), "max_price", o.MaxPrice.String(), "billing", billingName(o.Billing))
	return nil
}

func (x *exec) updateDeployment(m *MsgUpdateDeployment) error {
	d, err := x.w.deployment(m.ID)
	if err != nil {
		return err
	}
	if d.State != DeploymentActive {
		return module.Errorf(module.ReasonInvalid, "update deployment %s: it is %s, want active", m.ID, d.State)
	}
	if d.Hash == m.Hash {
		return module.Errorf(module.ReasonInvalid, "update deployment %s: the manifest hash %s is unchanged; want a new one", m.ID, m.Hash)
	}
	d.Hash = m.Hash
	x.w.setDeployment(d)
	x.emit(EventDeploymentUpdated, "id", m.ID.String(), "hash", m.Hash.String())
	return nil
}

// deposit adds the money first and then settles, so a deposit can rescue
// an account that ran dry since its last settlement; one that still does
// not cover what is owed fails, and the EndBlock sweep closes the
// deployment.
func (x *exec) deposit(m *MsgDepositDeployment) error {
	d, err := x.w.deployment(m.ID)
	if err != nil {
		return err
	}
	if d.State != DeploymentActive {
		return module.Errorf(module.ReasonInvalid, "deposit to deployment %s: it is %s, want active", m.ID, d.State)
	}
	a, err := x.w.account(m.ID)
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	if err := x.collect(m.Depositor, m.Amount); err != nil {
		return err
	}
	if err := a.addDeposit(m.Depositor, m.Amount, x.h); err != nil {
		return err
	}
	over, short, err := x.settle(a)
	if err != nil {
		return err
	}
	if over {
		return module.Errorf(module.ReasonInsufficientFunds, "deposit to deployment %s: its escrow owes %s more than it holds even with this deposit; deposit at least that much more",
			m.ID, short)
	}
	x.emit(EventDeposit, "id", m.ID.String(), "depositor", m.Depositor.String(), "amount", m.Amount.String(), "funds", a.Funds().String())
	return x.saveAccount(a)
}

func (x *exec) closeDeploymentMsg(m *MsgCloseDeployment) error {
	d, a, closed, err := x.touch(m.ID)
	if err != nil || closed {
		return err
	}
	return x.closeDeployment(d, a, false, "owner")
}

// liveGroup loads a group in one of the wanted states, with its settled
// deployment; closed reports that settling found the account overdrawn
// and closed the deployment.
func (x *exec) liveGroup(id GroupID, op string, want ...GroupState) (d *Deployment, a *Account, g *Group, closed bool, err error) {
	if g, err = x.w.group(id); err != nil {
		return
	}
	if !slices.Contains(want, g.State) {
		err = module.Errorf(module.ReasonInvalid, "%s %s: the group is %s, want %v", op, id, g.State, want)
		return
	}
	d, a, closed, err = x.touch(id.Deployment())
	return
}

func (x *exec) closeGroup(m *MsgCloseGroup) error {
	d, a, g, closed, err := x.liveGroup(m.ID, "close group", GroupOpen, GroupPaused)
	if err != nil || closed {
		return err
	}
	if err := x.stopGroup(a, g, LeaseClosed, ReasonOwner); err != nil {
		return err
	}
	g.State = GroupClosed
	x.w.setGroup(g)
	x.emit(EventGroupClosed, "id", g.ID.String(), "state", g.State.String())
	for gseq := uint32(1); gseq <= d.Groups; gseq++ {
		o, err := x.w.group(d.ID.Group(gseq))
		if err != nil {
			return module.Wrap(module.ReasonInternal, err)
		}
		if o.State == GroupOpen || o.State == GroupPaused {
			return x.saveAccount(a)
		}
	}
	return x.closeDeployment(d, a, false, "groups_closed")
}

func (x *exec) pauseGroup(m *MsgPauseGroup) error {
	_, a, g, closed, err := x.liveGroup(m.ID, "pause group", GroupOpen)
	if err != nil || closed {
		return err
	}
	if err := x.stopGroup(a, g, LeaseClosed, ReasonOwner); err != nil {
		return err
	}
	g.State = GroupPaused
	x.w.setGroup(g)
	x.emit(EventGroupPaused, "id", g.ID.String())
	return x.saveAccount(a)
}

func (x *exec) startGroup(m *MsgStartGroup) error {
	_, a, g, closed, err := x.liveGroup(m.ID, "start group", GroupPaused)
	if err != nil || closed {
		return err
	}
	if err := x.openOrder(g); err != nil {
		return err
	}
	g.State = GroupOpen
	x.w.setGroup(g)
	x.emit(EventGroupStarted, "id", g.ID.String())
	return x.saveAccount(a)
}
