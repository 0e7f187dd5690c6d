package market

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/state"
	"github.com/deai-network/deai/internal/tx"
)

// ProviderResult is the answer of /market/provider/<addr>: the record and
// every auditor's signed attributes (by auditor address).
type ProviderResult struct {
	Provider
	Audited []AuditedAttributes `json:"audited"`
}

// GroupResult is a group with its latest order (nil before the first).
type GroupResult struct {
	Group
	Order *Order `json:"order"`
}

// EscrowResult is a deployment's escrow account with its burn rate and
// runway. The account is as of its last settlement (SettledAt); the
// figures below project it to AsOf (the query's ?height=, default
// SettledAt) assuming nothing else happens:
//
//   - BlockRate is what the per-block leases cost per block, UsageCap the
//     most the usage-billed leases can cost per block;
//   - FundsAt is what is left at AsOf after the per-block leases' accrual;
//   - DryHeight is the first block the per-block leases cannot be paid
//     for (0: no per-block lease), when EndBlock closes the deployment;
//   - RunwayBlocks is how many blocks after AsOf FundsAt lasts at
//     BlockRate + UsageCap (the worst case); nil when nothing burns.
type EscrowResult struct {
	Account
	Funds        tx.Amount `json:"funds"`
	BlockRate    tx.Amount `json:"block_rate"`
	UsageCap     tx.Amount `json:"usage_cap"`
	AsOf         uint64    `json:"as_of"`
	FundsAt      tx.Amount `json:"funds_at"`
	DryHeight    uint64    `json:"dry_height"`
	RunwayBlocks *uint64   `json:"runway_blocks"`
}

// DeploymentResult is the answer of /market/deployment/<owner>/<dseq>.
type DeploymentResult struct {
	Deployment
	Groups []GroupResult `json:"groups"`
	Escrow EscrowResult  `json:"escrow"`
}

// Query limits for lists.
const (
	DefaultQueryLimit = 100
	MaxQueryLimit     = 1000
)

// Query implements module.Querier. IDs in paths use their string forms
// (ids.go); lists take ?limit= (default 100, at most 1000) and ?after=
// (the ID of the last item of the previous page) and are in ID order.
//
//	/market/params                                    Params
//	/market/providers[?after=<addr>]                  []Provider
//	/market/provider/<addr>                           ProviderResult
//	/market/deployments/<owner>[?after=<dseq>]        []Deployment
//	/market/deployment/<owner>/<dseq>[?height=<h>]    DeploymentResult
//	/market/escrow/<owner>/<dseq>[?height=<h>]        EscrowResult (runway as of h)
//	/market/orders[?state=open|active|closed&after=<order id>]   []Order (state=open uses an index)
//	/market/order/<owner>/<dseq>/<gseq>/<oseq>        Order
//	/market/bids/<owner>/<dseq>/<gseq>/<oseq>         []Bid (in bid order)
//	/market/bid/<owner>/<dseq>/<gseq>/<oseq>/<provider>    Bid
//	/market/lease/<owner>/<dseq>/<gseq>/<oseq>/<provider>  Lease
//	/market/leases/owner/<addr>[?state=active&after=<lease id>]     []Lease
//	/market/leases/provider/<addr>[?state=active&after=<lease id>]  []Lease
func (Module) Query(kv state.KV, path []string) (any, error) {
	q, err := parseQuery(path)
	if err != nil {
		return nil, err
	}
	s := store{kv}
	args := q.path[min(1, len(q.path)):]
	joined := strings.Join(args, "/")
	bad := func() error {
		return module.Errorf(module.ReasonBadQuery, "unknown market query %q", strings.Join(path, "/"))
	}
	if len(q.path) == 0 {
		return nil, bad()
	}
	switch q.path[0] {
	case "params":
		if len(args) != 0 {
			return nil, bad()
		}
		return s.params()
	case "providers":
		if len(args) != 0 {
			return nil, bad()
		}
		after, err := afterKey(q, providerKey, tx.ParseAddress)
		if err != nil {
			return nil, err
		}
		return list(s, prefix(tagProvider), after, q.limit, decodeProvider, nil)
	case "provider":
		p, err := badQuery(tx.ParseAddress(joined))
		if err != nil {
			return nil, err
		}
		return s.providerResult(p)
	case "deployments":
		owner, err := badQuery(tx.ParseAddress(joined))
		if err != nil {
			return nil, err
		}
		after, err := afterKey(q, func(dseq uint64) []byte { return deploymentKey(DeploymentID{owner, dseq}) },
			func(v string) (uint64, error) { return strconv.ParseUint(v, 10, 64) })
		if err != nil {
			return nil, err
		}
		return list(s, append(prefix(tagDeployment), owner[:]...), after, q.limit, decodeDeployment, nil)
	case "deployment", "escrow":
		id, err := badQuery(ParseDeploymentID(joined))
		if err != nil {
			return nil, err
		}
		if q.path[0] == "escrow" {
			return s.escrowResult(id, q.height)
		}
		return s.deploymentResult(id, q.height)
	case "orders":
		if len(args) != 0 {
			return nil, bad()
		}
		return s.orders(q)
	case "order":
		id, err := badQuery(ParseOrderID(joined))
		if err != nil {
			return nil, err
		}
		return s.order(id)
	case "bids":
		id, err := badQuery(ParseOrderID(joined))
		if err != nil {
			return nil, err
		}
		o, err := s.order(id)
		if err != nil {
			return nil, err
		}
		bids := make([]Bid, 0, len(o.Bidders))
		for _, p := range o.Bidders {
			b, err := s.bid(id.Bid(p))
			if err != nil {
				return nil, module.Wrap(module.ReasonInternal, err)
			}
			bids = append(bids, *b)
		}
		return bids, nil
	case "bid", "lease":
		id, err := badQuery(ParseBidID(joined))
		if err != nil {
			return nil, err
		}
		if q.path[0] == "bid" {
			return s.bid(id)
		}
		return s.lease(id)
	case "leases":
		if len(args) != 2 || (args[0] != "owner" && args[0] != "provider") {
			return nil, bad()
		}
		who, err := badQuery(tx.ParseAddress(args[1]))
		if err != nil {
			return nil, err
		}
		return s.leases(args[0] == "provider", who, q)
	}
	return nil, bad()
}

func badQuery[T any](v T, err error) (T, error) {
	if err != nil {
		return v, module.Wrap(module.ReasonBadQuery, err)
	}
	return v, nil
}

// query is a parsed query path: segments, and the parameters after '?'.
type query struct {
	path   []string
	limit  int
	after  string
	state  string
	height uint64
}

// parseQuery parses a query path with module.ParseQuery and this
// module's own parameters.
func parseQuery(path []string) (query, error) {
	mq, err := module.ParseQuery(path, DefaultQueryLimit, MaxQueryLimit, "state")
	q := query{path: mq.Path, limit: mq.Limit, after: mq.After, height: mq.Height}
	if err != nil {
		return q, err
	}
	if v, ok := mq.Extra["state"]; ok {
		q.state = v
	}
	return q, nil
}

// afterKey turns ?after= into the key to start after (nil: from the start).
func afterKey[T any](q query, key func(T) []byte, parse func(string) (T, error)) ([]byte, error) {
	if q.after == "" {
		return nil, nil
	}
	v, err := parse(q.after)
	if err != nil {
		return nil, module.Errorf(module.ReasonBadQuery, "after %q: %v", q.after, err)
	}
	return key(v), nil
}

var errStop = errors.New("stop")

// list decodes the records under pre with keys after after, keeping those
// keep accepts (nil: all), up to limit.
func list[T any](s store, pre, after []byte, limit int, dec func([]byte) (*T, error), keep func(*T) bool) ([]T, error) {
	out := []T{}
	err := s.kv.Iterate(pre, func(k, v []byte) error {
		if after != nil && bytes.Compare(k, after) <= 0 {
			return nil
		}
		r, err := dec(v)
		if err != nil {
			return err
		}
		if keep == nil || keep(r) {
			out = append(out, *r)
		}
		if len(out) >= limit {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return out, nil
}

func (s store) providerResult(p tx.Address) (*ProviderResult, error) {
	pr, err := s.provider(p)
	if err != nil {
		return nil, err
	}
	res := &ProviderResult{Provider: *pr}
	res.Audited, err = list(s, append(prefix(tagAudit), p[:]...), nil, MaxQueryLimit, decodeAudited, nil)
	return res, err
}

func (s store) escrowResult(id DeploymentID, height uint64) (*EscrowResult, error) {
	a, err := s.account(id)
	if err != nil {
		return nil, err
	}
	r := &EscrowResult{Account: *a, Funds: a.Funds(), BlockRate: tx.Amount(a.blockRate()), UsageCap: tx.Amount(a.usageCap())}
	r.AsOf = max(height, a.SettledAt)
	r.FundsAt = r.Funds
	if a.State != AccountOpen {
		return r, nil
	}
	if br := uint64(r.BlockRate); br > 0 {
		r.DryHeight = a.SettledAt + uint64(r.Funds)/br + 1
		r.FundsAt = tx.Amount(uint64(r.Funds) - min(uint64(r.Funds), satMul(br, r.AsOf-a.SettledAt)))
	}
	if burn := satAdd(uint64(r.BlockRate), uint64(r.UsageCap)); burn > 0 {
		n := uint64(r.FundsAt) / burn
		r.RunwayBlocks = &n
	}
	return r, nil
}

func (s store) deploymentResult(id DeploymentID, height uint64) (*DeploymentResult, error) {
	d, err := s.deployment(id)
	if err != nil {
		return nil, err
	}
	res := &DeploymentResult{Deployment: *d, Groups: make([]GroupResult, 0, d.Groups)}
	for gseq := uint32(1); gseq <= d.Groups; gseq++ {
		g, err := s.group(id.Group(gseq))
		if err != nil {
			return nil, module.Wrap(module.ReasonInternal, err)
		}
		gr := GroupResult{Group: *g}
		if g.OSeq > 0 {
			if gr.Order, err = s.order(g.ID.Order(g.OSeq)); err != nil {
				return nil, module.Wrap(module.ReasonInternal, err)
			}
		}
		res.Groups = append(res.Groups, gr)
	}
	e, err := s.escrowResult(id, height)
	if err != nil {
		return nil, module.Wrap(module.ReasonInternal, err)
	}
	res.Escrow = *e
	return res, nil
}

func (s store) orders(q query) ([]Order, error) {
	after, err := afterKey(q, orderKey, ParseOrderID)
	if err != nil {
		return nil, err
	}
	var want OrderState
	if q.state != "" {
		if err := want.UnmarshalText([]byte(q.state)); err != nil {
			return nil, module.Wrap(module.ReasonBadQuery, err)
		}
	}
	if want != OrderOpen {
		return list(s, prefix(tagOrder), after, q.limit, decodeOrder, func(o *Order) bool { return want == 0 || o.State == want })
	}
	if after != nil {
		after = append(prefix(tagOpenOrder), after[len(prefix(tagOrder)):]...)
	}
	out := []Order{}
	err = s.kv.Iterate(prefix(tagOpenOrder), func(k, _ []byte) error {
		if after != nil && bytes.Compare(k, after) <= 0 {
			return nil
		}
		r := tx.NewReader(k[len(prefix(tagOpenOrder)):])
		id := readOrderID(r)
		if err := decodeDone(r, "open order index"); err != nil {
			return err
		}
		o, err := s.order(id)
		if err != nil {
			return module.Wrap(module.ReasonInternal, err)
		}
		out = append(out, *o)
		if len(out) >= q.limit {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return out, nil
}

func (s store) leases(byProvider bool, who tx.Address, q query) ([]Lease, error) {
	after, err := afterKey(q, func(id LeaseID) []byte {
		if byProvider {
			return provLeaseKey(id)
		}
		return leaseKey(id)
	}, ParseLeaseID)
	if err != nil {
		return nil, err
	}
	var want LeaseState
	if q.state != "" {
		if err := want.UnmarshalText([]byte(q.state)); err != nil {
			return nil, module.Wrap(module.ReasonBadQuery, err)
		}
	}
	keep := func(l *Lease) bool { return want == 0 || l.State == want }
	if !byProvider {
		return list(s, append(prefix(tagLease), who[:]...), after, q.limit, decodeLease, keep)
	}
	pre := append(prefix(tagProvLease), who[:]...)
	out := []Lease{}
	err = s.kv.Iterate(pre, func(k, _ []byte) error {
		if after != nil && bytes.Compare(k, after) <= 0 {
			return nil
		}
		r := tx.NewReader(k[len(pre):])
		id := readOrderID(r).Bid(who)
		if err := decodeDone(r, "provider lease index"); err != nil {
			return err
		}
		l, err := s.lease(id)
		if err != nil {
			return module.Wrap(module.ReasonInternal, err)
		}
		if keep(l) {
			out = append(out, *l)
		}
		if len(out) >= q.limit {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return out, nil
}
