package agents

import (
	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

// liveService returns name's record if it is live and owned by owner.
func (x *exec) liveService(name string, owner tx.Address) (*Service, error) {
	s, err := x.w.service(name)
	switch {
	case err != nil:
		return nil, err
	case s == nil:
		return nil, module.Errorf(module.ReasonNotFound, "service %s is not registered", name)
	case !s.Live(x.h):
		return nil, module.Errorf(module.ReasonNotFound, "service %s expired at height %d", name, s.Expiry)
	case s.Owner != owner:
		return nil, module.Errorf(module.ReasonUnauthorized, "service %s belongs to %s, not %s", name, s.Owner, owner)
	}
	return s, nil
}

// checkExpiry checks a new expiry: after the current height, within
// MaxRegistrationBlocks of it.
func (x *exec) checkExpiry(name string, expiry uint64) error {
	if expiry <= x.h {
		return module.Errorf(module.ReasonInvalid, "service %s: expiry %d is not after the current height %d", name, expiry, x.h)
	}
	if expiry-x.h > x.p.MaxRegistrationBlocks {
		return module.Errorf(module.ReasonInvalid, "service %s: expiry %d is %d blocks away, want at most %d", name, expiry, expiry-x.h, x.p.MaxRegistrationBlocks)
	}
	return nil
}

// chargeFee burns FeePerBlock × blocks from owner and returns the fee.
func (x *exec) chargeFee(owner tx.Address, blocks uint64) (tx.Amount, error) {
	fee, err := x.p.FeePerBlock.Mul(blocks)
	if err != nil {
		return 0, module.Wrap(module.ReasonOverflow, err) // unreachable: Params.Validate bounds it
	}
	if err := bank.Burn(x.ctx, owner, fee); err != nil {
		return 0, err
	}
	return fee, nil
}

func (x *exec) register(m *MsgRegisterService) error {
	old, err := x.w.service(m.Name)
	if err != nil {
		return err
	}
	if old != nil && old.Live(x.h) {
		if old.Owner == m.Owner {
			return module.Errorf(module.ReasonInvalid, "service %s is already yours until height %d: renew or update it", m.Name, old.Expiry)
		}
		return module.Errorf(module.ReasonInvalid, "service name %s is taken by %s until height %d", m.Name, old.Owner, old.Expiry)
	}
	if err := x.checkExpiry(m.Name, m.Expiry); err != nil {
		return err
	}
	if old != nil { // expired, not yet swept by EndBlock
		x.expire(old)
	}
	fee, err := x.chargeFee(m.Owner, m.Expiry-x.h)
	if err != nil {
		return err
	}
	s := &Service{Name: m.Name, Owner: m.Owner, ServiceSpec: m.ServiceSpec, Expiry: m.Expiry, RegisteredAt: x.h, UpdatedAt: x.h}
	if s.timer, err = x.w.schedule(s.Expiry, []byte(s.Name)); err != nil {
		return err
	}
	x.w.putService(nil, s)
	x.emit(EventServiceRegistered, "name", s.Name, "owner", s.Owner.String(), "endpoint", s.Endpoint,
		"price", s.Price.String(), "expiry", u64s(s.Expiry), "fee", fee.String())
	return nil
}

func (x *exec) update(m *MsgUpdateService) error {
	old, err := x.liveService(m.Name, m.Owner)
	if err != nil {
		return err
	}
	s := *old
	s.ServiceSpec = m.ServiceSpec
	s.UpdatedAt = x.h
	x.w.putService(old, &s)
	x.emit(EventServiceUpdated, "name", s.Name, "owner", s.Owner.String(), "endpoint", s.Endpoint, "price", s.Price.String())
	return nil
}

func (x *exec) renew(m *MsgRenewService) error {
	s, err := x.liveService(m.Name, m.Owner)
	if err != nil {
		return err
	}
	if m.Expiry <= s.Expiry {
		return module.Errorf(module.ReasonInvalid, "service %s: new expiry %d is not after the current expiry %d", m.Name, m.Expiry, s.Expiry)
	}
	if err := x.checkExpiry(m.Name, m.Expiry); err != nil {
		return err
	}
	fee, err := x.chargeFee(m.Owner, m.Expiry-s.Expiry)
	if err != nil {
		return err
	}
	x.w.cancel(s.timer)
	s.Expiry = m.Expiry
	if s.timer, err = x.w.schedule(s.Expiry, []byte(s.Name)); err != nil {
		return err
	}
	x.w.putService(nil, s) // the indexes are unchanged
	x.emit(EventServiceRenewed, "name", s.Name, "owner", s.Owner.String(), "expiry", u64s(s.Expiry), "fee", fee.String())
	return nil
}

func (x *exec) deregister(m *MsgDeregisterService) error {
	s, err := x.liveService(m.Name, m.Owner)
	if err != nil {
		return err
	}
	x.w.deleteService(s)
	x.emit(EventServiceDeregistered, "name", s.Name, "owner", s.Owner.String())
	return nil
}

// expire removes a record whose expiry has come.
func (x *exec) expire(s *Service) {
	x.w.deleteService(s)
	x.emit(EventServiceExpired, "name", s.Name, "owner", s.Owner.String(), "expiry", u64s(s.Expiry))
}

// EndBlock implements module.EndBlocker: it removes the services whose
// expiry is this height (and any left over from earlier blocks), at most
// Params.EndBlockLimit per block in (expiry, registration) order. A record
// is live through its expiry height and gone from the state of the next
// one, unless more than EndBlockLimit fall due at once (then queries can
// filter with ?height=).
func (Module) EndBlock(ctx *module.Context) error {
	x, err := newExec(ctx)
	if err != nil {
		return err
	}
	return x.w.run(x.h, x.p.EndBlockLimit, func(payload []byte) error {
		name := string(payload)
		s, err := x.w.service(name)
		if err != nil {
			return err
		}
		if s == nil || s.Expiry > x.h {
			return module.Errorf(module.ReasonInternal, "expiry timer of service %q at height %d finds record %+v", name, x.h, s)
		}
		s.timer = timer{} // the wheel already removed the entry
		x.expire(s)
		return nil
	})
}
