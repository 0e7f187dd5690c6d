package market

import (
	"encoding/json"
	"strconv"

	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/tx"
)

// Event types emitted by the module (bank adds its own transfer events for
// the money moving in and out of EscrowAccount). Every event names the
// object by its string ID (see ids.go); amounts are udeai strings with the
// denom, e.g. "1500udeai".
const (
	EventProviderCreated   = "market.provider_created"   // provider, host_uri
	EventProviderUpdated   = "market.provider_updated"   // provider, host_uri
	EventProviderDeleted   = "market.provider_deleted"   // provider
	EventAttributesSigned  = "market.attributes_signed"  // provider, auditor, count (signed keys after the message)
	EventAttributesDeleted = "market.attributes_deleted" // provider, auditor, count (signed keys left)
	EventDeploymentCreated = "market.deployment_created" // id, owner, dseq, hash, groups, deposit
	EventDeploymentUpdated = "market.deployment_updated" // id, hash
	EventDeploymentClosed  = "market.deployment_closed"  // id, reason (owner | groups_closed | insufficient_funds)
	EventDeposit           = "market.escrow_deposit"     // id (deployment), depositor, amount, funds
	EventRefund            = "market.escrow_refund"      // id (deployment), depositor, amount
	EventOverdrawn         = "market.escrow_overdrawn"   // id (deployment), owed, paid, shortfall
	EventGroupClosed       = "market.group_closed"       // id, state (closed | insufficient_funds)
	EventGroupPaused       = "market.group_paused"       // id
	EventGroupStarted      = "market.group_started"      // id
	EventOrderCreated      = "market.order_created"      // id, owner, dseq, gseq, oseq, max_price, billing (per_block | usage)
	EventOrderClosed       = "market.order_closed"       // id
	EventBidCreated        = "market.bid_created"        // id, order, provider, price, deposit
	EventBidClosed         = "market.bid_closed"         // id, provider, state (closed | lost), reason (provider | timeout | order_closed | lease_closed | lost)
	EventLeaseCreated      = "market.lease_created"      // id, owner, provider, price, billing
	EventLeaseClosed       = "market.lease_closed"       // id, owner, provider, state, reason (number), reason_name, paid (the balance paid out at close)
	EventLeaseWithdrawn    = "market.lease_withdrawn"    // id, provider, amount
	EventUsageReported     = "market.usage_reported"     // id, seq, up_to_height, cpu_milli_seconds, memory_mib_seconds, gpu_seconds, cost, charged
)

// Module is the market ledger module.
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
	_, err := ParseGenesis(raw)
	return err
}

// InitGenesis implements module.Genesis: it stores the params.
func (Module) InitGenesis(ctx *module.Context, raw json.RawMessage) error {
	g, err := ParseGenesis(raw)
	if err != nil {
		return module.Wrap(module.ReasonInvalid, err)
	}
	ctx.Store.Set(paramsKey, appendParams(nil, &g.Params))
	return nil
}

// signer is implemented by every message of the module: the account that
// must have signed the tx.
type signer interface{ signer() tx.Address }

func (m *MsgCreateProvider) signer() tx.Address           { return m.Owner }
func (m *MsgUpdateProvider) signer() tx.Address           { return m.Owner }
func (m *MsgDeleteProvider) signer() tx.Address           { return m.Owner }
func (m *MsgSignProviderAttributes) signer() tx.Address   { return m.Auditor }
func (m *MsgDeleteProviderAttributes) signer() tx.Address { return m.Auditor }
func (m *MsgCreateDeployment) signer() tx.Address         { return m.ID.Owner }
func (m *MsgUpdateDeployment) signer() tx.Address         { return m.ID.Owner }
func (m *MsgDepositDeployment) signer() tx.Address        { return m.Depositor }
func (m *MsgCloseDeployment) signer() tx.Address          { return m.ID.Owner }
func (m *MsgCloseGroup) signer() tx.Address               { return m.ID.Owner }
func (m *MsgPauseGroup) signer() tx.Address               { return m.ID.Owner }
func (m *MsgStartGroup) signer() tx.Address               { return m.ID.Owner }
func (m *MsgCreateBid) signer() tx.Address                { return m.Provider }
func (m *MsgCloseBid) signer() tx.Address                 { return m.ID.Provider }
func (m *MsgCreateLease) signer() tx.Address              { return m.Bid.Owner }
func (m *MsgCloseLease) signer() tx.Address               { return m.Sender }
func (m *MsgWithdrawLease) signer() tx.Address            { return m.ID.Provider }
func (m *MsgReportUsage) signer() tx.Address              { return m.ID.Provider }

// Deliver implements module.Module.
func (Module) Deliver(ctx *module.Context, sender tx.Address, msg tx.Msg) error {
	s, ok := msg.(signer)
	if !ok {
		return module.Errorf(module.ReasonUnknownMsg, "market cannot execute message type %#04x", uint16(msg.Type()))
	}
	if s.signer() != sender {
		return module.Errorf(module.ReasonUnauthorized, "message acts for %s but is signed by %s", s.signer(), sender)
	}
	x, err := newExec(ctx)
	if err != nil {
		return err
	}
	switch m := msg.(type) {
	case *MsgCreateProvider:
		return x.createProvider(m)
	case *MsgUpdateProvider:
		return x.updateProvider(m)
	case *MsgDeleteProvider:
		return x.deleteProvider(m)
	case *MsgSignProviderAttributes:
		return x.signAttributes(m)
	case *MsgDeleteProviderAttributes:
		return x.deleteAttributes(m)
	case *MsgCreateDeployment:
		return x.createDeployment(m)
	case *MsgUpdateDeployment:
		return x.updateDeployment(m)
	case *MsgDepositDeployment:
		return x.deposit(m)
	case *MsgCloseDeployment:
		return x.closeDeploymentMsg(m)
	case *MsgCloseGroup:
		return x.closeGroup(m)
	case *MsgPauseGroup:
		return x.pauseGroup(m)
	case *MsgStartGroup:
		return x.startGroup(m)
	case *MsgCreateBid:
		return x.createBid(m)
	case *MsgCloseBid:
		return x.closeBidMsg(m)
	case *MsgCreateLease:
		return x.createLease(m)
	case *MsgCloseLease:
		return x.closeLeaseMsg(m)
	case *MsgWithdrawLease:
		return x.withdraw(m)
	case *MsgReportUsage:
		return x.reportUsage(m)
	}
	return module.Errorf(module.ReasonUnknownMsg, "market cannot execute message type %#04x", uint16(msg.Type()))
}

// exec is one message's (or one EndBlock's) execution: the context, the
// store, the height and the params.
type exec struct {
	ctx *module.Context
	w   writer
	h   uint64
	p   Params
}

func newExec(ctx *module.Context) (*exec, error) {
	w := newWriter(ctx.Store)
	p, err := w.params()
	if err != nil {
		return nil, err
	}
	return &exec{ctx: ctx, w: w, h: uint64(ctx.Height), p: p}, nil
}

func (x *exec) emit(typ string, attrs ...string) {
	if !x.ctx.Check {
		x.ctx.Emit(typ, attrs...)
	}
}

func u64s(v uint64) string { return strconv.FormatUint(v, 10) }
func u32s(v uint32) string { return strconv.FormatUint(uint64(v), 10) }

func billingName(b uint8) string {
	if b == BillingUsage {
		return "usage"
	}
	return "per_block"
}

// pay moves amt from the escrow to an account; zero does nothing.
func (x *exec) pay(to tx.Address, amt tx.Amount) error {
	if amt == 0 {
		return nil
	}
	return bank.Transfer(x.ctx, EscrowAccount, to, amt)
}

// collect moves amt from an account into the escrow.
func (x *exec) collect(from tx.Address, amt tx.Amount) error {
	return bank.Transfer(x.ctx, from, EscrowAccount, amt)
}
