package subnet

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"strconv"

	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/yuma"
	"github.com/deai-network/deai/internal/tx"
)

// EndBlock implements module.EndBlocker: it accrues the block's emission
// to every subnet and runs the epochs that are due (see the package doc).
func (Module) EndBlock(ctx *module.Context) error {
	w := newWriter(ctx.Store)
	count, err := w.count()
	if err != nil || count == 0 {
		return err
	}
	mp, err := w.moduleParams()
	if err != nil {
		return err
	}
	h := uint64(ctx.Height)
	w.setU64(heightKey, h)
	x := &exec{ctx: ctx, w: w, h: h}
	if err := x.endDisputes(); err != nil {
		return err
	}
	share, rem := uint64(mp.BlockEmission)/uint64(count), uint64(mp.BlockEmission)%uint64(count)
	type due struct {
		s  *Subnet
		es emission
	}
	var dues []due
	for netuid := uint16(1); netuid <= count; netuid++ {
		es, err := w.emission(netuid)
		if err != nil {
			return err
		}
		add := share
		if uint64(netuid) <= rem {
			add++
		}
		if es.Pending, err = es.Pending.Add(tx.Amount(add)); err != nil {
			return module.Wrap(module.ReasonInternal, fmt.Errorf("pending emission of subnet %d: %w", netuid, err))
		}
		w.setEmission(netuid, &es)
		s, err := w.subnet(netuid)
		if err != nil {
			return module.Wrap(module.ReasonInternal, err)
		}
		if h-es.LastEpoch >= s.Params.Tempo {
			dues = append(dues, due{s, es})
		}
	}
	slices.SortStableFunc(dues, func(a, b due) int { return cmp.Compare(a.es.LastEpoch, b.es.LastEpoch) })
	for _, d := range dues[:min(len(dues), int(mp.MaxEpochsPerBlock))] {
		if err := x.epoch(d.s, d.es, mp); err != nil {
			return err
		}
	}
	return nil
}

// mulDiv returns floor(a·b/c) for b ≤ c.
func mulDiv(a, b, c uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// epochInput builds the yuma input of subnet s at block x.h from the store,
// without the emission.
func (x *exec) epochInput(s *Subnet, es emission) (yuma.Input, []*Neuron, error) {
	n := int(s.N)
	in := yuma.Input{
		Stake:           make([]uint64, n),
		ValidatorPermit: make([]bool, n),
		Weights:         make([][]yuma.Entry, n),
		Bonds:           make([][]yuma.Entry, n),
		Block:           x.h,
		LastUpdate:      make([]uint64, n),
		RegisteredAt:    make([]uint64, n),
		LastEpochBlock:  es.LastEpoch,
	}
	if s.Params.CommitReveal {
		in.CommitBlock = make([]uint64, n)
	}
	neurons := make([]*Neuron, n)
	for i := range n {
		uid := uint16(i)
		nr, err := x.w.neuron(s.Netuid, uid)
		if err != nil {
			return in, nil, err
		}
		neurons[i] = nr
		stake, err := x.w.totalStake(s.Netuid, nr.Hotkey)
		if err != nil {
			return in, nil, err
		}
		in.Stake[i] = uint64(stake)
		in.ValidatorPermit[i] = nr.ValidatorPermit
		in.LastUpdate[i] = nr.LastUpdate
		in.RegisteredAt[i] = nr.RegisteredAt
		if in.Weights[i], err = x.w.row('w', s.Netuid, uid); err != nil {
			return in, nil, err
		}
		if in.Bonds[i], err = x.w.row('b', s.Netuid, uid); err != nil {
			return in, nil, err
		}
		if in.CommitBlock != nil {
			cs, err := x.w.commits(s.Netuid, uid)
			if err != nil {
				return in, nil, err
			}
			in.CommitBlock[i] = earliestCommit(cs, es.Epochs, s.Params.RevealPeriod)
		}
		if nr.Hotkey == s.Owner {
			in.HasOwner, in.OwnerUID = true, uid
		}
	}
	// A jailed neuron earns no incentive: the weights on it are dropped.
	jailed, some, err := x.jailed(s, neurons)
	if err != nil {
		return in, nil, err
	}
	if some {
		for i, row := range in.Weights {
			in.Weights[i] = slices.DeleteFunc(slices.Clone(row), func(e yuma.Entry) bool { return int(e.UID) < n && jailed[e.UID] })
		}
	}
	return in, neurons, nil
}

// epoch runs one epoch of s at x.h and mints its pending emission.
func (x *exec) epoch(s *Subnet, es emission, mp ModuleParams) error {
	in, neurons, err := x.epochInput(s, es)
	if err != nil {
		return err
	}
	cut := tx.Amount(mulDiv(uint64(es.Pending), uint64(mp.OwnerCut), 65535))
	in.Emission = uint64(es.Pending - cut) // cut ≤ Pending
	out, err := yuma.Epoch(in, s.Params.yuma())
	if err != nil {
		es.LastEpoch = x.h
		x.w.setEmission(s.Netuid, &es)
		x.ctx.Emit(EventEpochSkipped, "netuid", u16s(s.Netuid), "block", u64s(x.h), "reason", err.Error())
		return nil
	}
	for i, nr := range neurons {
		nr.ValidatorPermit = out.ValidatorPermit[i]
		nr.Active = out.Active[i]
		nr.StakeWeight = out.StakeWeight[i]
		nr.Rank, nr.Trust, nr.Consensus = out.Rank[i], out.Trust[i], out.Consensus[i]
		nr.Incentive, nr.Dividends, nr.ValidatorTrust = out.Incentive[i], out.Dividends[i], out.ValidatorTrust[i]
		nr.Emission = tx.Amount(out.Emission[i])
		x.w.setNeuron(s.Netuid, nr)
		x.w.setRow('b', s.Netuid, nr.UID, out.Bonds[i])
	}
	if err := bank.Mint(x.ctx, s.Owner, cut); err != nil {
		return err
	}
	for i, nr := range neurons {
		if err := bank.Mint(x.ctx, nr.Hotkey, tx.Amount(out.Emission[i])); err != nil {
			return err
		}
	}
	if u := tx.Amount(out.Undistributed); u != 0 {
		if err := bank.Mint(x.ctx, RecycleAccount, u); err != nil {
			return err
		}
		if err := bank.Burn(x.ctx, RecycleAccount, u); err != nil {
			return err
		}
	}
	es.Epochs++
	es.LastEpoch = x.h
	paid := es.Pending
	es.Pending = 0
	x.w.setEmission(s.Netuid, &es)
	for _, nr := range neurons {
		cs, err := x.w.commits(s.Netuid, nr.UID)
		if err != nil {
			return err
		}
		if keep := unexpired(cs, es.Epochs, s.Params.RevealPeriod); len(keep) != len(cs) {
			x.w.setCommits(s.Netuid, nr.UID, keep)
			x.ctx.Emit(EventCommitsDropped, "netuid", u16s(s.Netuid), "uid", u16s(nr.UID), "count", strconv.Itoa(len(cs)-len(keep)))
		}
	}
	x.ctx.Emit(EventEpoch, "netuid", u16s(s.Netuid), "block", u64s(x.h), "epoch", u64s(es.Epochs),
		"emission", paid.String(), "owner_cut", cut.String(), "recycled", tx.Amount(out.Undistributed).String())
	return nil
}
