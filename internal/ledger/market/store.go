package market

import (
	"crypto/sha256"
	"fmt"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// Name is the module name and key prefix.
const Name = "market"

// State keys. IDs in keys use the fixed-width encodings of ids.go, so key
// order is ID order.
//
//	market/params                      Params
//	market/p/<provider>                Provider
//	market/a/<provider><auditor>       AuditedAttributes
//	market/d/<owner dseq>              Deployment
//	market/g/<owner dseq gseq>         Group
//	market/o/<order id>                Order
//	market/q/<order id>                (empty) index of open orders
//	market/b/<bid id>                  Bid
//	market/l/<lease id>                Lease
//	market/r/<provider><order id>      (empty) index of a provider's leases
//	market/e/<owner dseq>              Account: the deployment's escrow
//	market/wn/<wheel><height>          u32: timer slots used at height
//	market/we/<wheel><height><slot>    timer entry: a deployment or bid id
//	market/wc/<wheel>                  timer cursor (height, slot), only while behind
var (
	paramsKey = []byte("market/params")
)

const (
	tagProvider   = 'p'
	tagAudit      = 'a'
	tagDeployment = 'd'
	tagGroup      = 'g'
	tagOrder      = 'o'
	tagOpenOrder  = 'q'
	tagBid        = 'b'
	tagLease      = 'l'
	tagProvLease  = 'r'
	tagAccount    = 'e'
)

func prefix(tag byte) []byte { return []byte{'m', 'a', 'r', 'k', 'e', 't', '/', tag, '/'} }

func providerKey(p tx.Address) []byte { return append(prefix(tagProvider), p[:]...) }
func auditKey(p, auditor tx.Address) []byte {
	return append(append(prefix(tagAudit), p[:]...), auditor[:]...)
}
func deploymentKey(d DeploymentID) []byte { return d.appendKey(prefix(tagDeployment)) }
func groupKey(g GroupID) []byte           { return g.appendKey(prefix(tagGroup)) }
func orderKey(o OrderID) []byte           { return o.appendKey(prefix(tagOrder)) }
func openOrderKey(o OrderID) []byte       { return o.appendKey(prefix(tagOpenOrder)) }
func bidKey(b BidID) []byte               { return b.appendKey(prefix(tagBid)) }
func leaseKey(l LeaseID) []byte           { return l.appendKey(prefix(tagLease)) }
func provLeaseKey(l LeaseID) []byte {
	return l.Order().appendKey(append(prefix(tagProvLease), l.Provider[:]...))
}
func accountKey(d DeploymentID) []byte { return d.appendKey(prefix(tagAccount)) }

// EscrowAccount is the bank account that holds every escrowed amount:
// deployment deposits not yet paid out, lease balances not yet withdrawn
// and the deposits of open and active bids. Nobody holds a key for it
// (finding a public key whose hash starts with these 20 bytes is a
// preimage attack); the module's records say whose the money is.
var EscrowAccount = func() tx.Address {
	sum := sha256.Sum256([]byte("deai/module/market/escrow"))
	var a tx.Address
	copy(a[:], sum[:tx.AddressLen])
	return a
}()

// Provider is a registered provider.
type Provider struct {
	Owner      tx.Address   `json:"owner"`
	HostURI    string       `json:"host_uri"`
	Region     string       `json:"region,omitempty"`
	Attributes []Attribute  `json:"attributes,omitempty"`
	Info       ProviderInfo `json:"info"`
	CreatedAt  uint64       `json:"created_at"`
	// OpenBids and ActiveLeases count the provider's bids in state open
	// and leases in state active; deletion needs both at zero.
	OpenBids     uint32 `json:"open_bids"`
	ActiveLeases uint32 `json:"active_leases"`
}

// attributes returns the attributes placement matches against: the
// provider's own plus region=<Region> when it has a region and does not
// list that attribute itself.
func (p *Provider) attributes() []Attribute {
	if p.Region == "" {
		return p.Attributes
	}
	for _, a := range p.Attributes {
		if a.Key == "region" {
			return p.Attributes
		}
	}
	return append(append(make([]Attribute, 0, len(p.Attributes)+1), p.Attributes...), Attribute{Key: "region", Value: p.Region})
}

func (p *Provider) encode() []byte {
	b := make([]byte, 0, 128+len(p.HostURI)+64*len(p.Attributes))
	b = append(b, p.Owner[:]...)
	b = tx.AppendStr8(b, p.HostURI)
	b = tx.AppendStr8(b, p.Region)
	b = appendAttrs(b, p.Attributes)
	b = tx.AppendStr8(b, p.Info.Email)
	b = tx.AppendStr8(b, p.Info.Website)
	b = tx.AppendU64(b, p.CreatedAt)
	b = tx.AppendU32(b, p.OpenBids)
	return tx.AppendU32(b, p.ActiveLeases)
}

func decodeProvider(b []byte) (*Provider, error) {
	r := tx.NewReader(b)
	p := &Provider{}
	copy(p.Owner[:], r.Fixed(tx.AddressLen))
	p.HostURI = r.Str8()
	p.Region = r.Str8()
	p.Attributes = readAttrs(r)
	p.Info.Email = r.Str8()
	p.Info.Website = r.Str8()
	p.CreatedAt = r.U64()
	p.OpenBids = r.U32()
	p.ActiveLeases = r.U32()
	return p, decodeDone(r, "provider")
}

// AuditedAttributes are the attributes of Provider that Auditor signed.
type AuditedAttributes struct {
	Provider   tx.Address  `json:"provider"`
	Auditor    tx.Address  `json:"auditor"`
	Attributes []Attribute `json:"attributes"` // sorted by key
}

func (a *AuditedAttributes) encode() []byte {
	b := append(append(make([]byte, 0, 64+64*len(a.Attributes)), a.Provider[:]...), a.Auditor[:]...)
	return appendAttrs(b, a.Attributes)
}

func decodeAudited(b []byte) (*AuditedAttributes, error) {
	r := tx.NewReader(b)
	a := &AuditedAttributes{}
	copy(a.Provider[:], r.Fixed(tx.AddressLen))
	copy(a.Auditor[:], r.Fixed(tx.AddressLen))
	a.Attributes = readAttrs(r)
	return a, decodeDone(r, "audited attributes")
}

// Deployment is a tenant's deployment.
type Deployment struct {
	ID        DeploymentID    `json:"id"`
	State     DeploymentState `json:"state"`
	Hash      ManifestHash    `json:"hash"`
	CreatedAt uint64          `json:"created_at"`
	ClosedAt  uint64          `json:"closed_at,omitempty"`
	Groups    uint32          `json:"groups"` // gseq 1..Groups
}

func (d *Deployment) encode() []byte {
	b := d.ID.appendKey(make([]byte, 0, 96))
	b = append(b, byte(d.State))
	b = append(b, d.Hash[:]...)
	b = tx.AppendU64(b, d.CreatedAt)
	b = tx.AppendU64(b, d.ClosedAt)
	return tx.AppendU32(b, d.Groups)
}

func decodeDeployment(b []byte) (*Deployment, error) {
	r := tx.NewReader(b)
	d := &Deployment{ID: readDeploymentID(r), State: DeploymentState(r.U8())}
	copy(d.Hash[:], r.Fixed(32))
	d.CreatedAt = r.U64()
	d.ClosedAt = r.U64()
	d.Groups = r.U32()
	return d, decodeDone(r, "deployment")
}

// Group is one placement group of a deployment.
type Group struct {
	ID        GroupID    `json:"id"`
	State     GroupState `json:"state"`
	Spec      GroupSpec  `json:"spec"`
	CreatedAt uint64     `json:"created_at"`
	// OSeq is the sequence of the group's latest order.
	OSeq uint32 `json:"oseq"`
}

func (g *Group) encode() []byte {
	b := g.ID.appendKey(make([]byte, 0, 256))
	b = append(b, byte(g.State))
	b = appendGroupSpec(b, &g.Spec)
	b = tx.AppendU64(b, g.CreatedAt)
	return tx.AppendU32(b, g.OSeq)
}

func decodeGroup(b []byte) (*Group, error) {
	r := tx.NewReader(b)
	g := &Group{ID: readGroupID(r), State: GroupState(r.U8())}
	g.Spec = readGroupSpec(r)
	g.CreatedAt = r.U64()
	g.OSeq = r.U32()
	return g, decodeDone(r, "group")
}

// Order is a group's request for bids.
type Order struct {
	ID        OrderID    `json:"id"`
	State     OrderState `json:"state"`
	MaxPrice  tx.Amount  `json:"max_price"` // per block, the group's GroupSpec.MaxPrice
	Billing   uint8      `json:"billing"`
	CreatedAt uint64     `json:"created_at"`
	ClosedAt  uint64     `json:"closed_at,omitempty"`
	// Bidders lists every provider that bid on the order, in bid order.
	Bidders []tx.Address `json:"bidders,omitempty"`
}

func (o *Order) encode() []byte {
	b := o.ID.appendKey(make([]byte, 0, 64+20*len(o.Bidders)))
	b = append(b, byte(o.State))
	b = tx.AppendU64(b, uint64(o.MaxPrice))
	b = append(b, o.Billing)
	b = tx.AppendU64(b, o.CreatedAt)
	b = tx.AppendU64(b, o.ClosedAt)
	b = tx.AppendU16(b, uint16(len(o.Bidders)))
	for _, p := range o.Bidders {
		b = append(b, p[:]...)
	}
	return b
}

func decodeOrder(b []byte) (*Order, error) {
	r := tx.NewReader(b)
	o := &Order{ID: readOrderID(r), State: OrderState(r.U8())}
	o.MaxPrice = tx.Amount(r.U64())
	o.Billing = r.U8()
	o.CreatedAt = r.U64()
	o.ClosedAt = r.U64()
	n := int(r.U16())
	if r.Err() == nil && n*tx.AddressLen != r.Len() {
		r.Fail(fmt.Errorf("%d bidders in %d bytes", n, r.Len()))
	}
	if r.Err() == nil && n > 0 {
		o.Bidders = make([]tx.Address, n)
		for i := range o.Bidders {
			copy(o.Bidders[i][:], r.Fixed(tx.AddressLen))
		}
	}
	return o, decodeDone(r, "order")
}

// timer is a scheduled EndBlock entry (see wheel.go); Height 0 means none.
type timer struct {
	Height uint64
	Slot   uint32
}

func appendTimer(dst []byte, t timer) []byte {
	return tx.AppendU32(tx.AppendU64(dst, t.Height), t.Slot)
}

func readTimer(r *tx.Reader) timer { return timer{Height: r.U64(), Slot: r.U32()} }

// Bid is a provider's offer on an order.
type Bid struct {
	ID         BidID       `json:"id"`
	State      BidState    `json:"state"`
	Price      tx.Amount   `json:"price"` // per block, for the whole group
	Deposit    tx.Amount   `json:"deposit"`
	Offer      []UnitOffer `json:"resources_offer,omitempty"`
	UnitPrices UnitPrices  `json:"unit_prices"`
	CreatedAt  uint64      `json:"created_at"`
	ClosedAt   uint64      `json:"closed_at,omitempty"`
	timer      timer
}

func (b *Bid) encode() []byte {
	out := b.ID.appendKey(make([]byte, 0, 160))
	out = append(out, byte(b.State))
	out = tx.AppendU64(out, uint64(b.Price))
	out = tx.AppendU64(out, uint64(b.Deposit))
	out = append(out, byte(tx.Count8(len(b.Offer))))
	for _, o := range b.Offer[:tx.Count8(len(b.Offer))] {
		out = tx.AppendU32(out, o.Unit)
		out = tx.AppendStr8(out, o.GPU)
	}
	out = tx.AppendU64(out, uint64(b.UnitPrices.CPU))
	out = tx.AppendU64(out, uint64(b.UnitPrices.Memory))
	out = tx.AppendU64(out, uint64(b.UnitPrices.GPU))
	out = tx.AppendU64(out, b.CreatedAt)
	out = tx.AppendU64(out, b.ClosedAt)
	return appendTimer(out, b.timer)
}

func decodeBid(buf []byte) (*Bid, error) {
	r := tx.NewReader(buf)
	b := &Bid{ID: readBidID(r), State: BidState(r.U8())}
	b.Price = tx.Amount(r.U64())
	b.Deposit = tx.Amount(r.U64())
	if n := r.Count(5, "unit offers"); n > 0 {
		b.Offer = make([]UnitOffer, n)
		for i := range b.Offer {
			b.Offer[i].Unit = r.U32()
			b.Offer[i].GPU = r.Str8()
		}
	}
	b.UnitPrices = UnitPrices{CPU: tx.Amount(r.U64()), Memory: tx.Amount(r.U64()), GPU: tx.Amount(r.U64())}
	b.CreatedAt = r.U64()
	b.ClosedAt = r.U64()
	b.timer = readTimer(r)
	return b, decodeDone(r, "bid")
}

// Usage is the metering state of a usage-billed lease.
type Usage struct {
	// Seq and Height are the last report's sequence number and the last
	// block it covered (the lease's start before any report).
	Seq    uint64 `json:"seq"`
	Height uint64 `json:"height"`
	// AnchorHeight and AnchorTime are the latest block whose consensus
	// time is known at or before Height (the lease's start, or a report
	// that covered up to the block it was included in); the usage reported
	// since the anchor must fit the group's resources over the time since
	// AnchorTime.
	AnchorHeight uint64 `json:"anchor_height"`
	AnchorTime   int64  `json:"anchor_time"` // unix ns
	// Since the anchor, and in total, summed over reports.
	SinceCPU    uint64 `json:"since_anchor_cpu_milli_seconds"`
	SinceMemory uint64 `json:"since_anchor_memory_mib_seconds"`
	SinceGPU    uint64 `json:"since_anchor_gpu_seconds"`
	TotalCPU    uint64 `json:"total_cpu_milli_seconds"`
	TotalMemory uint64 `json:"total_memory_mib_seconds"`
	TotalGPU    uint64 `json:"total_gpu_seconds"`
}

// Lease is an accepted bid: the provider runs the group and the
// deployment's escrow pays it. Balance, Withdrawn and Unsettled are the
// lease's escrow payment: earned but not withdrawn, paid out, and owed but
// never covered (when the account ran dry).
type Lease struct {
	ID        LeaseID     `json:"id"`
	State     LeaseState  `json:"state"`
	Price     tx.Amount   `json:"price"` // per block; for usage billing, the cap per block
	Billing   uint8       `json:"billing"`
	CreatedAt uint64      `json:"created_at"`
	ClosedAt  uint64      `json:"closed_at,omitempty"`
	Reason    CloseReason `json:"reason,omitempty"`
	Balance   tx.Amount   `json:"balance"`
	Withdrawn tx.Amount   `json:"withdrawn"`
	Unsettled tx.Amount   `json:"unsettled"`
	Usage     *Usage      `json:"usage,omitempty"` // usage billing only
}

func (l *Lease) encode() []byte {
	b := l.ID.appendKey(make([]byte, 0, 224))
	b = append(b, byte(l.State))
	b = tx.AppendU64(b, uint64(l.Price))
	b = append(b, l.Billing)
	b = tx.AppendU64(b, l.CreatedAt)
	b = tx.AppendU64(b, l.ClosedAt)
	b = tx.AppendU32(b, uint32(l.Reason))
	b = tx.AppendU64(b, uint64(l.Balance))
	b = tx.AppendU64(b, uint64(l.Withdrawn))
	b = tx.AppendU64(b, uint64(l.Unsettled))
	if l.Usage == nil {
		return append(b, 0)
	}
	u := l.Usage
	b = append(b, 1)
	for _, v := range []uint64{u.Seq, u.Height, u.AnchorHeight, uint64(u.AnchorTime), u.SinceCPU, u.SinceMemory, u.SinceGPU, u.TotalCPU, u.TotalMemory, u.TotalGPU} {
		b = tx.AppendU64(b, v)
	}
	return b
}

func decodeLease(b []byte) (*Lease, error) {
	r := tx.NewReader(b)
	l := &Lease{ID: readBidID(r), State: LeaseState(r.U8())}
	l.Price = tx.Amount(r.U64())
	l.Billing = r.U8()
	l.CreatedAt = r.U64()
	l.ClosedAt = r.U64()
	l.Reason = CloseReason(r.U32())
	l.Balance = tx.Amount(r.U64())
	l.Withdrawn = tx.Amount(r.U64())
	l.Unsettled = tx.Amount(r.U64())
	if r.Bool() {
		u := &Usage{}
		var at uint64
		for _, p := range []*uint64{&u.Seq, &u.Height, &u.AnchorHeight, &at, &u.SinceCPU, &u.SinceMemory, &u.SinceGPU, &u.TotalCPU, &u.TotalMemory, &u.TotalGPU} {
			*p = r.U64()
		}
		u.AnchorTime = int64(at)
		l.Usage = u
	}
	return l, decodeDone(r, "lease")
}

// Deposit is one depositor's remaining money in an escrow account.
type Deposit struct {
	Depositor tx.Address `json:"depositor"`
	Height    uint64     `json:"height"` // of the first deposit in this entry
	Balance   tx.Amount  `json:"balance"`
}

// Payment is an open lease's entry in its deployment's account: what
// settlement needs without reading the lease.
type Payment struct {
	GSeq     uint32     `json:"gseq"`
	OSeq     uint32     `json:"oseq"`
	Provider tx.Address `json:"provider"`
	Rate     tx.Amount  `json:"rate"` // per block
	Usage    bool       `json:"usage"`
}

// Account is a deployment's escrow account. Funds are the sum of the
// deposits' balances; Deposited − Transferred − Refunded always equals
// them. Transferred went to leases (and from there to providers),
// Refunded back to depositors.
type Account struct {
	ID          DeploymentID `json:"id"`
	State       AccountState `json:"state"`
	Deposits    []Deposit    `json:"deposits"` // first in, first out
	Deposited   tx.Amount    `json:"deposited"`
	Transferred tx.Amount    `json:"transferred"`
	Refunded    tx.Amount    `json:"refunded"`
	SettledAt   uint64       `json:"settled_at"`
	Payments    []Payment    `json:"payments"` // the open leases, by gseq
	timer       timer
}

// Funds returns the money left: the sum of the deposits.
func (a *Account) Funds() tx.Amount {
	var f tx.Amount
	for _, d := range a.Deposits {
		f += d.Balance // cannot overflow: the sum is at most the supply
	}
	return f
}

func (a *Account) encode() []byte {
	b := a.ID.appendKey(make([]byte, 0, 96+40*len(a.Deposits)+48*len(a.Payments)))
	b = append(b, byte(a.State))
	b = append(b, byte(len(a.Deposits)))
	for _, d := range a.Deposits {
		b = append(b, d.Depositor[:]...)
		b = tx.AppendU64(b, d.Height)
		b = tx.AppendU64(b, uint64(d.Balance))
	}
	b = tx.AppendU64(b, uint64(a.Deposited))
	b = tx.AppendU64(b, uint64(a.Transferred))
	b = tx.AppendU64(b, uint64(a.Refunded))
	b = tx.AppendU64(b, a.SettledAt)
	b = append(b, byte(len(a.Payments)))
	for _, p := range a.Payments {
		b = tx.AppendU32(b, p.GSeq)
		b = tx.AppendU32(b, p.OSeq)
		b = append(b, p.Provider[:]...)
		b = tx.AppendU64(b, uint64(p.Rate))
		b = tx.AppendBool(b, p.Usage)
	}
	return appendTimer(b, a.timer)
}

func decodeAccount(b []byte) (*Account, error) {
	r := tx.NewReader(b)
	a := &Account{ID: readDeploymentID(r), State: AccountState(r.U8())}
	n := r.Count(tx.AddressLen+16, "deposits")
	a.Deposits = make([]Deposit, n)
	for i := range a.Deposits {
		d := &a.Deposits[i]
		copy(d.Depositor[:], r.Fixed(tx.AddressLen))
		d.Height = r.U64()
		d.Balance = tx.Amount(r.U64())
	}
	a.Deposited = tx.Amount(r.U64())
	a.Transferred = tx.Amount(r.U64())
	a.Refunded = tx.Amount(r.U64())
	a.SettledAt = r.U64()
	n = r.Count(8+tx.AddressLen+9, "payments")
	a.Payments = make([]Payment, n)
	for i := range a.Payments {
		p := &a.Payments[i]
		p.GSeq = r.U32()
		p.OSeq = r.U32()
		copy(p.Provider[:], r.Fixed(tx.AddressLen))
		p.Rate = tx.Amount(r.U64())
		p.Usage = r.Bool()
	}
	a.timer = readTimer(r)
	return a, decodeDone(r, "escrow account")
}

func decodeDone(r *tx.Reader, what string) error {
	if err := r.Done(); err != nil {
		return module.Errorf(module.ReasonInternal, "decode %s: %v", what, err)
	}
	return nil
}

// store wraps the module's reads with their encodings. Read errors are
// internal; a missing record is a ReasonNotFound error from the getters
// and a nil result from the find… functions.
type store struct{ kv state.KV }

func (s store) get(key []byte, what string) ([]byte, error) {
	b, err := s.kv.Get(key)
	if err != nil {
		return nil, module.Wrap(module.ReasonInternal, fmt.Errorf("read %s: %w", what, err))
	}
	return b, nil
}

func (s store) params() (Params, error) {
	b, err := s.get(paramsKey, "market params")
	if err != nil || b == nil {
		return DefaultParams(), err
	}
	r := tx.NewReader(b)
	p := readParams(r)
	return p, decodeDone(r, "market params")
}

// find reads key and decodes it with dec; nil when absent.
func find[T any](s store, key []byte, what string, dec func([]byte) (*T, error)) (*T, error) {
	b, err := s.get(key, what)
	if err != nil || b == nil {
		return nil, err
	}
	return dec(b)
}

// must is find for a record that must exist: absent is ReasonNotFound.
func must[T any](s store, key []byte, what string, id fmt.Stringer, dec func([]byte) (*T, error)) (*T, error) {
	v, err := find(s, key, what, dec)
	if err == nil && v == nil {
		err = module.Errorf(module.ReasonNotFound, "%s %s does not exist", what, id)
	}
	return v, err
}

func (s store) provider(p tx.Address) (*Provider, error) {
	return must(s, providerKey(p), "provider", p, decodeProvider)
}

func (s store) findProvider(p tx.Address) (*Provider, error) {
	return find(s, providerKey(p), "provider", decodeProvider)
}

func (s store) audited(p, auditor tx.Address) (*AuditedAttributes, error) {
	return find(s, auditKey(p, auditor), "audited attributes", decodeAudited)
}

func (s store) deployment(id DeploymentID) (*Deployment, error) {
	return must(s, deploymentKey(id), "deployment", id, decodeDeployment)
}

func (s store) group(id GroupID) (*Group, error) {
	return must(s, groupKey(id), "group", id, decodeGroup)
}

func (s store) order(id OrderID) (*Order, error) {
	return must(s, orderKey(id), "order", id, decodeOrder)
}

func (s store) bid(id BidID) (*Bid, error) { return must(s, bidKey(id), "bid", id, decodeBid) }

func (s store) findBid(id BidID) (*Bid, error) { return find(s, bidKey(id), "bid", decodeBid) }

func (s store) lease(id LeaseID) (*Lease, error) {
	return must(s, leaseKey(id), "lease", id, decodeLease)
}

func (s store) account(id DeploymentID) (*Account, error) {
	return must(s, accountKey(id), "escrow account", id, decodeAccount)
}

// writer adds the writes.
type writer struct {
	store
	st state.Store
}

func newWriter(st state.Store) writer { return writer{store{st}, st} }

func (w writer) setProvider(p *Provider) { w.st.Set(providerKey(p.Owner), p.encode()) }
func (w writer) setAudited(a *AuditedAttributes) {
	w.st.Set(auditKey(a.Provider, a.Auditor), a.encode())
}
func (w writer) setDeployment(d *Deployment)         { w.st.Set(deploymentKey(d.ID), d.encode()) }
func (w writer) setGroup(g *Group)                   { w.st.Set(groupKey(g.ID), g.encode()) }
func (w writer) setBid(b *Bid)                       { w.st.Set(bidKey(b.ID), b.encode()) }
func (w writer) setLease(l *Lease)                   { w.st.Set(leaseKey(l.ID), l.encode()) }
func (w writer) setAccount(a *Account)               { w.st.Set(accountKey(a.ID), a.encode()) }
func (w writer) indexProviderLease(id LeaseID)       { w.st.Set(provLeaseKey(id), []byte{}) }
func (w writer) deleteAudited(p, auditor tx.Address) { w.st.Delete(auditKey(p, auditor)) }

// setOrder stores o and keeps the open-order index in step.
func (w writer) setOrder(o *Order) {
	w.st.Set(orderKey(o.ID), o.encode())
	if o.State == OrderOpen {
		w.st.Set(openOrderKey(o.ID), []byte{})
	} else {
		w.st.Delete(openOrderKey(o.ID))
	}
}
