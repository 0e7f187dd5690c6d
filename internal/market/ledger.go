package market

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/chain/account"
	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/tx"
)

// Key is an account key that signs txs and provider API requests;
// *wallet.Key implements it.
type Key interface {
	Sign(msg []byte) []byte
	PubKey() ed25519.PublicKey
	PrivateKey() ed25519.PrivateKey
	Address() tx.Address
}

// The errors of txs and queries are chain/account's.
type (
	// TxError is a tx the ledger refused, with its stable reason code.
	TxError = account.TxError
	// QueryError is a query the ledger refused (code 13 = not found).
	QueryError = account.QueryError
)

// ErrTxRejected is wrapped by every TxError.
var ErrTxRejected = account.ErrTxRejected

// NotFound reports whether err is a ledger "not found" answer.
func NotFound(err error) bool { return account.NotFound(err) }

// LedgerChain implements the provider's Chain over a chain.Client and the
// ledger's market module, signing with the provider's account key.
type LedgerChain struct {
	acct *account.Account
	// UnitPrices are offered on usage-billed orders.
	UnitPrices lmarket.UnitPrices

	mu    sync.Mutex                   // guards specs
	specs map[string]lmarket.GroupSpec // group ID -> spec (immutable on chain)
}

var _ Chain = (*LedgerChain)(nil)

// NewLedgerChain returns a provider Chain over c signing with key.
func NewLedgerChain(c chain.Client, key Key) *LedgerChain {
	return &LedgerChain{acct: account.New(c, key), specs: map[string]lmarket.GroupSpec{},
		UnitPrices: DefaultUnitPrices}
}

// DefaultUnitPrices are a provider's usage prices: udeai per core-second,
// per GiB-second and per GPU-second.
var DefaultUnitPrices = lmarket.UnitPrices{CPU: 1, Memory: 1, GPU: 50}

// Address implements Chain.
func (l *LedgerChain) Address() tx.Address { return l.acct.Address() }

// Height implements Chain.
func (l *LedgerChain) Height(ctx context.Context) (int64, error) {
	st, err := l.acct.Client().Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("chain status: %w", err)
	}
	return st.LatestHeight, nil
}

// EnsureProvider implements Chain: create the record, or update it when
// the host URI, region, attributes or info changed.
func (l *LedgerChain) EnsureProvider(ctx context.Context, p ProviderInfo) error {
	want := lmarket.MsgCreateProvider{Owner: l.Address(), HostURI: p.HostURI, Region: p.Region,
		Attributes: p.Attributes, Info: lmarket.ProviderInfo{Email: p.Email, Website: p.Website}}
	var have lmarket.ProviderResult
	err := l.acct.Query(ctx, "/market/provider/"+l.Address().String(), &have)
	switch {
	case NotFound(err):
		_, err = l.acct.Send(ctx, &want)
		return err
	case err != nil:
		return err
	}
	hb, _ := json.Marshal([]any{have.HostURI, have.Region, have.Attributes, have.Info})
	wb, _ := json.Marshal([]any{want.HostURI, want.Region, want.Attributes, want.Info})
	if string(hb) == string(wb) {
		return nil
	}
	up := lmarket.MsgUpdateProvider(want)
	_, err = l.acct.Send(ctx, &up)
	return err
}

// groupSpec returns (and caches) the spec of a group.
func (l *LedgerChain) groupSpec(ctx context.Context, g lmarket.GroupID) (lmarket.GroupSpec, error) {
	key := g.String()
	l.mu.Lock()
	s, ok := l.specs[key]
	l.mu.Unlock()
	if ok {
		return s, nil
	}
	d, err := l.deployment(ctx, g.Deployment())
	if err != nil {
		return s, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, gr := range d.Groups {
		l.specs[gr.ID.String()] = gr.Spec
	}
	s, ok = l.specs[key]
	if !ok {
		return s, fmt.Errorf("group %s: not in its deployment", key)
	}
	return s, nil
}

func (l *LedgerChain) deployment(ctx context.Context, d lmarket.DeploymentID) (lmarket.DeploymentResult, error) {
	var r lmarket.DeploymentResult
	err := l.acct.Query(ctx, "/market/deployment/"+d.String(), &r)
	return r, err
}

// OpenOrders implements Chain.
func (l *LedgerChain) OpenOrders(ctx context.Context) ([]Order, error) {
	var out []Order
	after := ""
	for {
		path := "/market/orders?state=open&limit=1000"
		if after != "" {
			path += "&after=" + after
		}
		var page []lmarket.Order
		if err := l.acct.Query(ctx, path, &page); err != nil {
			return nil, err
		}
		for _, o := range page {
			spec, err := l.groupSpec(ctx, o.ID.Group())
			if err != nil {
				return nil, err
			}
			out = append(out, Order{ID: o.ID.String(), Owner: o.ID.Owner.String(), Group: spec, MaxPrice: uint64(o.MaxPrice), Height: int64(o.CreatedAt)})
		}
		if len(page) < 1000 {
			return out, nil
		}
		after = page[len(page)-1].ID.String()
	}
}

// AuditedAttributes implements Chain.
func (l *LedgerChain) AuditedAttributes(ctx context.Context, provider, auditor string) ([]lmarket.Attribute, error) {
	var r lmarket.ProviderResult
	if err := l.acct.Query(ctx, "/market/provider/"+provider, &r); err != nil {
		return nil, err
	}
	for _, a := range r.Audited {
		if a.Auditor.String() == auditor {
			return a.Attributes, nil
		}
	}
	return nil, nil
}

// Bid implements Chain.
func (l *LedgerChain) Bid(ctx context.Context, id string) (Bid, error) {
	var b lmarket.Bid
	if err := l.acct.Query(ctx, "/market/bid/"+id, &b); err != nil {
		return Bid{}, err
	}
	return Bid{ID: b.ID.String(), OrderID: b.ID.Order().String(), State: b.State.String(), Price: uint64(b.Price)}, nil
}

func (l *LedgerChain) lease(ctx context.Context, b lmarket.Lease) (Lease, error) {
	spec, err := l.groupSpec(ctx, b.ID.Group())
	if err != nil {
		return Lease{}, err
	}
	return Lease{ID: b.ID.String(), OrderID: b.ID.Order().String(), Owner: b.ID.Owner.String(), DSeq: b.ID.DSeq,
		State: b.State.String(), Price: uint64(b.Price), Group: spec}, nil
}

// Leases implements Chain: the provider's active leases.
func (l *LedgerChain) Leases(ctx context.Context) ([]Lease, error) {
	var out []Lease
	after := ""
	for {
		path := "/market/leases/provider/" + l.Address().String() + "?state=active&limit=1000"
		if after != "" {
			path += "&after=" + after
		}
		var page []lmarket.Lease
		if err := l.acct.Query(ctx, path, &page); err != nil {
			return nil, err
		}
		for _, b := range page {
			ls, err := l.lease(ctx, b)
			if err != nil {
				return nil, err
			}
			out = append(out, ls)
		}
		if len(page) < 1000 {
			return out, nil
		}
		after = page[len(page)-1].ID.String()
	}
}

// Lease implements Chain.
func (l *LedgerChain) Lease(ctx context.Context, id string) (Lease, error) {
	var b lmarket.Lease
	if err := l.acct.Query(ctx, "/market/lease/"+id, &b); err != nil {
		return Lease{}, err
	}
	return l.lease(ctx, b)
}

// ManifestHash implements Chain.
func (l *LedgerChain) ManifestHash(ctx context.Context, deployment string) ([32]byte, error) {
	id, err := lmarket.ParseDeploymentID(deployment)
	if err != nil {
		return [32]byte{}, err
	}
	d, err := l.deployment(ctx, id)
	return d.Hash, err
}

// CreateBid implements Chain.
func (l *LedgerChain) CreateBid(ctx context.Context, o Order, price, deposit uint64, offer []UnitGPU) (string, error) {
	oid, err := lmarket.ParseOrderID(o.ID)
	if err != nil {
		return "", err
	}
	m := &lmarket.MsgCreateBid{Order: oid, Provider: l.Address(), Price: tx.Amount(price), Deposit: tx.Amount(deposit)}
	for _, g := range offer {
		m.Offer = append(m.Offer, lmarket.UnitOffer{Unit: g.Unit, GPU: g.GPU.String()})
	}
	if o.Group.Billing == lmarket.BillingUsage {
		m.UnitPrices = l.UnitPrices
	}
	if _, err := l.acct.Send(ctx, m); err != nil {
		return "", err
	}
	return oid.Bid(l.Address()).String(), nil
}

// CloseBid implements Chain.
func (l *LedgerChain) CloseBid(ctx context.Context, id string) error {
	bid, err := lmarket.ParseBidID(id)
	if err != nil {
		return err
	}
	_, err = l.acct.Send(ctx, &lmarket.MsgCloseBid{ID: bid})
	return err
}

// CloseLease implements Chain.
func (l *LedgerChain) CloseLease(ctx context.Context, id string, reason uint32) error {
	lid, err := lmarket.ParseBidID(id)
	if err != nil {
		return err
	}
	_, err = l.acct.Send(ctx, &lmarket.MsgCloseLease{ID: lid, Sender: l.Address(), Reason: lmarket.CloseReason(reason)})
	return err
}

// Withdraw implements Chain.
func (l *LedgerChain) Withdraw(ctx context.Context, id string) error {
	lid, err := lmarket.ParseBidID(id)
	if err != nil {
		return err
	}
	_, err = l.acct.Send(ctx, &lmarket.MsgWithdrawLease{ID: lid})
	return err
}

// ReportUsage implements Chain: u is the lease's cumulative use as the
// runtime measured it; the report carries what exceeds the totals already
// reported on chain, so a restarted provider (whose meter starts again
// from zero) never bills twice. Nothing new: no tx.
func (l *LedgerChain) ReportUsage(ctx context.Context, id string, u Usage) error {
	var cur lmarket.Lease
	if err := l.acct.Query(ctx, "/market/lease/"+id, &cur); err != nil {
		return err
	}
	m := &lmarket.MsgReportUsage{ID: cur.ID, Seq: 1,
		CPUMilliSeconds: u.CPUMilliSeconds, MemoryMiBSeconds: u.MemoryMiBSeconds, GPUSeconds: u.GPUSeconds}
	if t := cur.Usage; t != nil {
		m.Seq = t.Seq + 1
		m.CPUMilliSeconds = sub0(u.CPUMilliSeconds, t.TotalCPU)
		m.MemoryMiBSeconds = sub0(u.MemoryMiBSeconds, t.TotalMemory)
		m.GPUSeconds = sub0(u.GPUSeconds, t.TotalGPU)
	}
	if m.CPUMilliSeconds == 0 && m.MemoryMiBSeconds == 0 && m.GPUSeconds == 0 {
		return nil
	}
	_, err := l.acct.Send(ctx, m)
	return err
}

func sub0(a, b uint64) uint64 {
	if a < b {
		return 0
	}
	return a - b
}
