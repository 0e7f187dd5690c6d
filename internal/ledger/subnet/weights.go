package subnet

import (
	"slices"
	"strconv"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/yuma"
)

func (x *exec) setWeights(m *MsgSetWeights) error {
	s, err := x.w.subnet(m.Netuid)
	if err != nil {
		return err
	}
	n, err := x.w.registered(m.Netuid, m.Hotkey)
	if err != nil {
		return err
	}
	if s.Params.CommitReveal {
		return module.Errorf(module.ReasonInvalid, "subnet %d uses commit-reveal: commit the weights' hash with commit-weights, then reveal them", m.Netuid)
	}
	return x.applyWeights(s, n, m.UIDs, m.Weights, true)
}

// applyWeights checks a weight vector against the subnet and stores it
// max-upscaled, as a set or a reveal does; limited applies the weights
// rate limit (a reveal's commit was rate-limited instead).
func (x *exec) applyWeights(s *Subnet, n *Neuron, uids, weights []uint16, limited bool) error {
	if err := validVector(uids, weights); err != nil {
		return module.Wrap(module.ReasonInvalid, err)
	}
	for _, u := range uids {
		if u >= s.N {
			return module.Errorf(module.ReasonInvalid, "weights name uid %d, but subnet %d has uids 0..%d", u, s.Netuid, int(s.N)-1)
		}
	}
	selfOnly := len(uids) == 1 && uids[0] == n.UID
	if !n.ValidatorPermit && n.Hotkey != s.Owner && !selfOnly {
		return module.Errorf(module.ReasonUnauthorized, "uid %d on subnet %d has no validator permit (permits go to the top %d by stake at each epoch)",
			n.UID, s.Netuid, s.Params.MaxValidators)
	}
	if lim := s.Params.WeightsRateLimit; limited && n.WeightsAt != 0 && x.h-n.WeightsAt < lim {
		return module.Errorf(module.ReasonRateLimited, "set weights: uid %d set weights at block %d; the rate limit is %d blocks, next at %d",
			n.UID, n.WeightsAt, lim, n.WeightsAt+lim)
	}
	row := upscale(uids, weights)
	x.w.setRow('w', s.Netuid, n.UID, row)
	n.LastUpdate, n.WeightsAt = x.h, x.h
	x.w.setNeuron(s.Netuid, n)
	x.emit(EventWeightsSet, "netuid", u16s(s.Netuid), "uid", u16s(n.UID), "count", strconv.Itoa(len(row)))
	return nil
}

// upscale returns the row sorted by uid with each weight scaled so the
// largest is 65535: round(w·65535/max). Zero weights are kept, so their
// bonds decay (yuma.md §6c).
func upscale(uids, weights []uint16) []yuma.Entry {
	var hi uint64
	for _, w := range weights {
		hi = max(hi, uint64(w))
	}
	row := make([]yuma.Entry, len(uids))
	for k, u := range uids {
		row[k] = yuma.Entry{UID: u, Value: uint16((uint64(weights[k])*65535 + hi/2) / hi)}
	}
	slices.SortFunc(row, func(a, b yuma.Entry) int { return int(a.UID) - int(b.UID) })
	return row
}

func (x *exec) commitWeights(m *MsgCommitWeights) error {
	s, err := x.w.subnet(m.Netuid)
	if err != nil {
		return err
	}
	n, err := x.w.registered(m.Netuid, m.Hotkey)
	if err != nil {
		return err
	}
	if !s.Params.CommitReveal {
		return module.Errorf(module.ReasonInvalid, "subnet %d does not use commit-reveal: set weights directly", m.Netuid)
	}
	if lim := s.Params.WeightsRateLimit; n.CommitAt != 0 && x.h-n.CommitAt < lim {
		return module.Errorf(module.ReasonRateLimited, "commit weights: uid %d committed at block %d; the rate limit is %d blocks, next at %d",
			n.UID, n.CommitAt, lim, n.CommitAt+lim)
	}
	cs, err := x.w.commits(m.Netuid, n.UID)
	if err != nil {
		return err
	}
	if len(cs) >= MaxCommits {
		return module.Errorf(module.ReasonRateLimited, "uid %d has %d unrevealed commits, the most allowed: reveal them or let them expire", n.UID, len(cs))
	}
	for _, c := range cs {
		if c.Hash == m.Hash {
			return module.Errorf(module.ReasonInvalid, "commit %s is already pending", m.Hash)
		}
	}
	es, err := x.w.emission(m.Netuid)
	if err != nil {
		return err
	}
	x.w.setCommits(m.Netuid, n.UID, append(cs, Commit{Hash: m.Hash, Block: x.h, Epoch: es.Epochs}))
	n.CommitAt = x.h
	x.w.setNeuron(m.Netuid, n)
	x.emit(EventWeightsCommitted, "netuid", u16s(m.Netuid), "uid", u16s(n.UID), "hash", m.Hash.String())
	return nil
}

func (x *exec) revealWeights(m *MsgRevealWeights) error {
	s, err := x.w.subnet(m.Netuid)
	if err != nil {
		return err
	}
	n, err := x.w.registered(m.Netuid, m.Hotkey)
	if err != nil {
		return err
	}
	if !s.Params.CommitReveal {
		return module.Errorf(module.ReasonInvalid, "subnet %d does not use commit-reveal: set weights directly", m.Netuid)
	}
	cs, err := x.w.commits(m.Netuid, n.UID)
	if err != nil {
		return err
	}
	hash := CommitHash(m.Netuid, m.Hotkey, m.UIDs, m.Weights, m.Salt)
	k := slices.IndexFunc(cs, func(c Commit) bool { return c.Hash == hash })
	if k < 0 {
		return module.Errorf(module.ReasonInvalid, "reveal matches none of uid %d's %d unrevealed commits on subnet %d (hash %s): weights, salt, hotkey or netuid differ, or the commit expired",
			n.UID, len(cs), m.Netuid, hash)
	}
	es, err := x.w.emission(m.Netuid)
	if err != nil {
		return err
	}
	if at := cs[k].Epoch + uint64(s.Params.RevealPeriod); es.Epochs < at {
		return module.Errorf(module.ReasonRateLimited, "commit %s of epoch %d can be revealed in epoch %d; subnet %d is in epoch %d",
			hash, cs[k].Epoch, at, m.Netuid, es.Epochs)
	} else if es.Epochs > at {
		return module.Errorf(module.ReasonInvalid, "commit %s of epoch %d expired after epoch %d; subnet %d is in epoch %d",
			hash, cs[k].Epoch, at, m.Netuid, es.Epochs)
	}
	x.w.setCommits(m.Netuid, n.UID, slices.Delete(cs, k, k+1))
	if err := x.applyWeights(s, n, m.UIDs, m.Weights, false); err != nil {
		return err
	}
	x.emit(EventWeightsRevealed, "netuid", u16s(m.Netuid), "uid", u16s(n.UID), "hash", hash.String())
	return nil
}

// earliestCommit returns the block of the earliest commit that can still
// be revealed at or after epoch, or yuma.NoCommit.
func earliestCommit(cs []Commit, epoch uint64, period uint16) uint64 {
	b := yuma.NoCommit
	for _, c := range cs {
		if c.Epoch+uint64(period) >= epoch {
			b = min(b, c.Block)
		}
	}
	return b
}

// unexpired returns the commits whose reveal epoch is not before epoch.
func unexpired(cs []Commit, epoch uint64, period uint16) []Commit {
	return slices.DeleteFunc(slices.Clone(cs), func(c Commit) bool { return c.Epoch+uint64(period) < epoch })
}
