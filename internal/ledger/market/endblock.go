package market

import (
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

// EndBlock implements module.EndBlocker. It runs two bounded sweeps, each
// visiting at most Params.EndBlockLimit entries per block in a fixed
// order (due height, then scheduling order): open bids older than
// BidTimeoutBlocks are closed and refunded; escrow accounts due for
// settlement (SettleEveryBlocks after their last one, or the block they
// run dry) are settled, and an overdrawn one closes its deployment with
// reason insufficient_funds. Entries left over wait for the next block.
func (Module) EndBlock(ctx *module.Context) error {
	x, err := newExec(ctx)
	if err != nil {
		return err
	}
	if err := x.w.run(wheelBidExpiry, x.h, x.p.EndBlockLimit, x.expireBid); err != nil {
		return err
	}
	return x.w.run(wheelSettle, x.h, x.p.EndBlockLimit, x.sweepAccount)
}

func (x *exec) expireBid(payload []byte) error {
	r := tx.NewReader(payload)
	id := readBidID(r)
	if err := decodeDone(r, "bid timer"); err != nil {
		return err
	}
	b, err := x.w.findBid(id)
	if err != nil || b == nil || b.State != BidOpen {
		return err
	}
	b.timer = timer{} // the wheel already removed the entry
	return x.finishBid(b, BidClosed, "timeout")
}

func (x *exec) sweepAccount(payload []byte) error {
	r := tx.NewReader(payload)
	id := readDeploymentID(r)
	if err := decodeDone(r, "settle timer"); err != nil {
		return err
	}
	a, err := x.w.account(id)
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	if a.State != AccountOpen {
		return module.Errorf(module.ReasonInternal, "settle timer of escrow %s, which is %s (closing cancels it)", id, a.State)
	}
	a.timer = timer{} // the wheel already removed the entry
	over, _, err := x.settle(a)
	if err != nil {
		return err
	}
	if !over {
		return x.saveAccount(a)
	}
	d, err := x.w.deployment(id)
	if err != nil {
		return module.Wrap(module.ReasonInternal, err)
	}
	return x.closeDeployment(d, a, true, "")
}
