package subnet

import (
	"encoding/json"
	"slices"
	"strconv"

	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

// Event types emitted by the module (bank adds its own burn, transfer and
// mint events).
const (
	EventSubnetCreated    = "subnet_created"       // netuid, owner, name, task_type, burn
	EventParamsSet        = "subnet_params_set"    // netuid
	EventDigestsSet       = "subnet_digests_set"   // netuid, count
	EventRegistered       = "neuron_registered"    // netuid, uid, hotkey, burn, replaced (hotkey or "")
	EventServed           = "neuron_served"        // netuid, uid, endpoint, model_digest
	EventStakeAdded       = "stake_added"          // netuid, hotkey, staker, amount, total
	EventStakeRemoved     = "stake_removed"        // netuid, hotkey, staker, amount, total
	EventWeightsSet       = "weights_set"          // netuid, uid, count
	EventWeightsCommitted = "weights_committed"    // netuid, uid, hash
	EventWeightsRevealed  = "weights_revealed"     // netuid, uid, hash
	EventEpoch            = "subnet_epoch"         // netuid, block, epoch, emission, owner_cut, recycled
	EventEpochSkipped     = "subnet_epoch_skipped" // netuid, block, reason
	EventCommitsDropped   = "commits_dropped"      // netuid, uid, count
)

// Module is the subnet ledger module.
type Module struct{}

var (
	_ module.Module     = Module{}
	_ module.Genesis    = Module{}
	_ module.EndBlocker = Module{}
	_ module.Querier    = Module{}
)

// New returns the module.
func New() Module { return Module{} }

// Name implements module.Module.
func (Module) Name() string { return Name }

// RegisterMsgs implements module.Module.
func (Module) RegisterMsgs(r *tx.Registry) error { return registerMsgs(r) }

// ValidateGenesis implements module.Genesis.
func (Module) ValidateGenesis(raw json.RawMessage) error {
	_, err := parseGenesis(raw)
	return err
}

// InitGenesis implements module.Genesis: it stores the module params.
func (Module) InitGenesis(ctx *module.Context, raw json.RawMessage) error {
	g, err := parseGenesis(raw)
	if err != nil {
		return module.Wrap(module.ReasonInvalid, err)
	}
	ctx.Store.Set(paramsKey, appendModuleParams(nil, &g.Params))
	return nil
}

// signer is implemented by every message of the module: the account that
// must have signed the tx.
type signer interface{ signer() tx.Address }

func (m *MsgCreateSubnet) signer() tx.Address      { return m.Owner }
func (m *MsgSetSubnetParams) signer() tx.Address   { return m.Owner }
func (m *MsgSetAllowedDigests) signer() tx.Address { return m.Owner }
func (m *MsgRegister) signer() tx.Address          { return m.Hotkey }
func (m *MsgServe) signer() tx.Address             { return m.Hotkey }
func (m *MsgAddStake) signer() tx.Address          { return m.Staker }
func (m *MsgRemoveStake) signer() tx.Address       { return m.Staker }
func (m *MsgSetWeights) signer() tx.Address        { return m.Hotkey }
func (m *MsgCommitWeights) signer() tx.Address     { return m.Hotkey }
func (m *MsgRevealWeights) signer() tx.Address     { return m.Hotkey }
func (m *MsgOpenDispute) signer() tx.Address       { return m.Challenger }
func (m *MsgDisputeVote) signer() tx.Address       { return m.Voter }
func (m *MsgEquivocation) signer() tx.Address      { return m.Reporter }

// Deliver implements module.Module.
func (Module) Deliver(ctx *module.Context, sender tx.Address, msg tx.Msg) error {
	s, ok := msg.(signer)
	if !ok {
		return module.Errorf(module.ReasonUnknownMsg, "subnet cannot execute message type %#04x", uint16(msg.Type()))
	}
	if s.signer() != sender {
		return module.Errorf(module.ReasonUnauthorized, "message acts for %s but is signed by %s", s.signer(), sender)
	}
	x := &exec{ctx: ctx, w: newWriter(ctx.Store), h: uint64(ctx.Height)}
	switch m := msg.(type) {
	case *MsgCreateSubnet:
		return x.createSubnet(m)
	case *MsgSetSubnetParams:
		return x.setParams(m)
	case *MsgSetAllowedDigests:
		return x.setDigests(m)
	case *MsgRegister:
		return x.register(m)
	case *MsgServe:
		return x.serve(m)
	case *MsgAddStake:
		return x.addStake(m)
	case *MsgRemoveStake:
		return x.removeStake(m)
	case *MsgSetWeights:
		return x.setWeights(m)
	case *MsgCommitWeights:
		return x.commitWeights(m)
	case *MsgRevealWeights:
		return x.revealWeights(m)
	case *MsgOpenDispute:
		return x.openDispute(m)
	case *MsgDisputeVote:
		return x.disputeVote(m)
	case *MsgEquivocation:
		return x.equivocation(m)
	}
	return module.Errorf(module.ReasonUnknownMsg, "subnet cannot execute message type %#04x", uint16(msg.Type()))
}

// exec is one message's execution: the context, the store and the height.
type exec struct {
	ctx *module.Context
	w   writer
	h   uint64
}

func u16s(v uint16) string { return strconv.FormatUint(uint64(v), 10) }
func u64s(v uint64) string { return strconv.FormatUint(v, 10) }

func (x *exec) emit(typ string, attrs ...string) {
	if !x.ctx.Check {
		x.ctx.Emit(typ, attrs...)
	}
}

func (x *exec) createSubnet(m *MsgCreateSubnet) error {
	mp, err := x.w.moduleParams()
	if err != nil {
		return err
	}
	count, err := x.w.count()
	if err != nil {
		return err
	}
	if count >= mp.SubnetLimit {
		return module.Errorf(module.ReasonInvalid, "create subnet: the limit of %d subnets is reached", mp.SubnetLimit)
	}
	if err := bank.Burn(x.ctx, m.Owner, mp.CreateBurn); err != nil {
		return err
	}
	p := DefaultParams()
	s := &Subnet{
		Netuid: count + 1, Name: m.Name, Owner: m.Owner, TaskType: m.TaskType,
		Digests: slices.Clone(m.Digests), CreatedAt: x.h, Params: p,
		Burn: clampAmount(mp.InitialBurn, p.MinBurn, p.MaxBurn), BurnBlock: x.h,
	}
	x.w.setSubnet(s)
	x.w.setEmission(s.Netuid, &emission{LastEpoch: x.h})
	x.w.st.Set(countKey, tx.AppendU16(nil, s.Netuid))
	x.emit(EventSubnetCreated, "netuid", u16s(s.Netuid), "owner", m.Owner.String(), "name", m.Name,
		"task_type", m.TaskType, "burn", mp.CreateBurn.String())
	return nil
}

// ownedSubnet returns the subnet if owner owns it.
func (x *exec) ownedSubnet(netuid uint16, owner tx.Address) (*Subnet, error) {
	s, err := x.w.subnet(netuid)
	if err != nil {
		return nil, err
	}
	if s.Owner != owner {
		return nil, module.Errorf(module.ReasonUnauthorized, "only the owner %s of subnet %d may change it, not %s", s.Owner, netuid, owner)
	}
	return s, nil
}

func (x *exec) setParams(m *MsgSetSubnetParams) error {
	s, err := x.ownedSubnet(m.Netuid, m.Owner)
	if err != nil {
		return err
	}
	if err := m.Params.Validate(); err != nil {
		return module.Wrap(module.ReasonInvalid, err)
	}
	if err := m.Params.checkChange(s.Params, s.N); err != nil {
		return module.Wrap(module.ReasonInvalid, err)
	}
	s.rebase(x.h) // the price so far follows the old decay and clamps
	s.Params = m.Params
	x.w.setSubnet(s)
	x.emit(EventParamsSet, "netuid", u16s(m.Netuid))
	return nil
}

func (x *exec) setDigests(m *MsgSetAllowedDigests) error {
	s, err := x.ownedSubnet(m.Netuid, m.Owner)
	if err != nil {
		return err
	}
	s.Digests = slices.Clone(m.Digests)
	x.w.setSubnet(s)
	x.emit(EventDigestsSet, "netuid", u16s(m.Netuid), "count", strconv.Itoa(len(m.Digests)))
	return nil
}

func (x *exec) serve(m *MsgServe) error {
	s, err := x.w.subnet(m.Netuid)
	if err != nil {
		return err
	}
	n, err := x.w.registered(m.Netuid, m.Hotkey)
	if err != nil {
		return err
	}
	if _, ok := slices.BinarySearchFunc(s.Digests, m.ModelDigest, func(a, b Digest) int { return slices.Compare(a[:], b[:]) }); !ok {
		return module.Errorf(module.ReasonInvalid, "model digest %s is not allowed on subnet %d (allowed: %v)", m.ModelDigest, m.Netuid, s.Digests)
	}
	mp, err := x.w.moduleParams()
	if err != nil {
		return err
	}
	if n.ServedAt != 0 && x.h-n.ServedAt < mp.ServingRateLimit {
		return module.Errorf(module.ReasonRateLimited, "serve: served at block %d; the serving rate limit is %d blocks, next at %d",
			n.ServedAt, mp.ServingRateLimit, n.ServedAt+mp.ServingRateLimit)
	}
	n.Endpoint, n.ProtocolVersion, n.ModelDigest, n.Region, n.ServedAt = m.Endpoint, m.ProtocolVersion, m.ModelDigest, m.Region, x.h
	x.w.setNeuron(m.Netuid, n)
	x.emit(EventServed, "netuid", u16s(m.Netuid), "uid", u16s(n.UID), "endpoint", m.Endpoint, "model_digest", m.ModelDigest.String())
	return nil
}
