package market

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/chain/account"
	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/tx"
)

// Tenant is the tenant's client: deployments, bids, leases and escrow on
// the ledger, and the chosen providers' APIs.
type Tenant struct {
	acct *account.Account
	key  Key // signs provider API calls
	// HTTP is used for provider calls; nil = defaults.
	HTTP *http.Client
}

// NewTenant returns a tenant client over c signing with key.
func NewTenant(c chain.Client, key Key) *Tenant { return &Tenant{acct: account.New(c, key), key: key} }

// Address is the tenant's account.
func (t *Tenant) Address() tx.Address { return t.acct.Address() }

// CreateDeployment puts groups on chain under dseq (0 = the current
// height, Akash's convention) with the manifest hash and deposit. The
// chain opens one order per group.
func (t *Tenant) CreateDeployment(ctx context.Context, dseq uint64, groups []lmarket.GroupSpec, hash [32]byte, deposit uint64) (lmarket.DeploymentID, error) {
	if dseq == 0 {
		st, err := t.acct.Client().Status(ctx)
		if err != nil {
			return lmarket.DeploymentID{}, fmt.Errorf("chain status: %w", err)
		}
		dseq = uint64(st.LatestHeight)
	}
	id := lmarket.DeploymentID{Owner: t.Address(), DSeq: dseq}
	_, err := t.acct.Send(ctx, &lmarket.MsgCreateDeployment{ID: id, Groups: groups, Hash: hash, Deposit: tx.Amount(deposit)})
	return id, err
}

// Deployment returns a deployment with its groups, orders and escrow.
func (t *Tenant) Deployment(ctx context.Context, id lmarket.DeploymentID) (lmarket.DeploymentResult, error) {
	var r lmarket.DeploymentResult
	err := t.acct.Query(ctx, "/market/deployment/"+id.String(), &r)
	return r, err
}

// Bids returns the bids on the latest order of every group of the
// deployment, cheapest first.
func (t *Tenant) Bids(ctx context.Context, id lmarket.DeploymentID) ([]lmarket.Bid, error) {
	d, err := t.Deployment(ctx, id)
	if err != nil {
		return nil, err
	}
	var out []lmarket.Bid
	for _, g := range d.Groups {
		if g.Order == nil {
			continue
		}
		var bids []lmarket.Bid
		if err := t.acct.Query(ctx, "/market/bids/"+g.Order.ID.String(), &bids); err != nil {
			return nil, err
		}
		out = append(out, bids...)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Price < out[j].Price })
	return out, nil
}

// WaitBids polls until every open order of the deployment has at least
// one open bid, or ctx ends; it returns the open bids, cheapest first.
func (t *Tenant) WaitBids(ctx context.Context, id lmarket.DeploymentID, poll time.Duration) ([]lmarket.Bid, error) {
	if poll <= 0 {
		poll = 250 * time.Millisecond
	}
	for {
		d, err := t.Deployment(ctx, id)
		if err != nil {
			return nil, err
		}
		bids, err := t.Bids(ctx, id)
		if err != nil {
			return nil, err
		}
		var open []lmarket.Bid
		covered := map[string]bool{}
		for _, b := range bids {
			if b.State == lmarket.BidOpen {
				open = append(open, b)
				covered[b.ID.Order().String()] = true
			}
		}
		waiting := 0
		for _, g := range d.Groups {
			if g.Order != nil && g.Order.State == lmarket.OrderOpen && !covered[g.Order.ID.String()] {
				waiting++
			}
		}
		if waiting == 0 && len(open) > 0 {
			return open, nil
		}
		select {
		case <-ctx.Done():
			return open, fmt.Errorf("waiting for bids on %s: %d orders without a bid: %w", id, waiting, ctx.Err())
		case <-time.After(poll):
		}
	}
}

// Bid returns one bid.
func (t *Tenant) Bid(ctx context.Context, id lmarket.BidID) (lmarket.Bid, error) {
	var b lmarket.Bid
	err := t.acct.Query(ctx, "/market/bid/"+id.String(), &b)
	return b, err
}

// CreateLease accepts a bid.
func (t *Tenant) CreateLease(ctx context.Context, bid lmarket.BidID) error {
	_, err := t.acct.Send(ctx, &lmarket.MsgCreateLease{Bid: bid})
	return err
}

// Lease returns a lease.
func (t *Tenant) Lease(ctx context.Context, id lmarket.LeaseID) (lmarket.Lease, error) {
	var l lmarket.Lease
	err := t.acct.Query(ctx, "/market/lease/"+id.String(), &l)
	return l, err
}

// Leases returns the tenant's leases (state "" = all).
func (t *Tenant) Leases(ctx context.Context, state string) ([]lmarket.Lease, error) {
	var out []lmarket.Lease
	after := ""
	for {
		path := "/market/leases/owner/" + t.Address().String() + "?limit=1000"
		if state != "" {
			path += "&state=" + state
		}
		if after != "" {
			path += "&after=" + after
		}
		var page []lmarket.Lease
		if err := t.acct.Query(ctx, path, &page); err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < 1000 {
			return out, nil
		}
		after = page[len(page)-1].ID.String()
	}
}

// CloseLease closes a lease as its owner; the group re-opens an order.
func (t *Tenant) CloseLease(ctx context.Context, id lmarket.LeaseID) error {
	_, err := t.acct.Send(ctx, &lmarket.MsgCloseLease{ID: id, Sender: t.Address(), Reason: lmarket.ReasonOwner})
	return err
}

// CloseDeployment closes everything of the deployment and refunds the
// escrow's rest.
func (t *Tenant) CloseDeployment(ctx context.Context, id lmarket.DeploymentID) error {
	_, err := t.acct.Send(ctx, &lmarket.MsgCloseDeployment{ID: id})
	return err
}

// Deposit tops up a deployment's escrow.
func (t *Tenant) Deposit(ctx context.Context, id lmarket.DeploymentID, amount uint64) error {
	_, err := t.acct.Send(ctx, &lmarket.MsgDepositDeployment{ID: id, Depositor: t.Address(), Amount: tx.Amount(amount)})
	return err
}

// UpdateDeployment replaces the manifest hash (same resources).
func (t *Tenant) UpdateDeployment(ctx context.Context, id lmarket.DeploymentID, hash [32]byte) error {
	_, err := t.acct.Send(ctx, &lmarket.MsgUpdateDeployment{ID: id, Hash: hash})
	return err
}

// Escrow returns the deployment's escrow account with its runway as of
// the latest block.
func (t *Tenant) Escrow(ctx context.Context, id lmarket.DeploymentID) (lmarket.EscrowResult, error) {
	var r lmarket.EscrowResult
	st, err := t.acct.Client().Status(ctx)
	if err != nil {
		return r, fmt.Errorf("chain status: %w", err)
	}
	err = t.acct.Query(ctx, fmt.Sprintf("/market/escrow/%s?height=%d", id, st.LatestHeight), &r)
	return r, err
}

// Provider returns a provider's on-chain record.
func (t *Tenant) Provider(ctx context.Context, addr tx.Address) (lmarket.ProviderResult, error) {
	var r lmarket.ProviderResult
	err := t.acct.Query(ctx, "/market/provider/"+addr.String(), &r)
	return r, err
}

// ProviderClient returns a client of the lease's provider API, at the host
// URI the provider published on chain.
func (t *Tenant) ProviderClient(ctx context.Context, provider tx.Address) (*ProviderClient, error) {
	p, err := t.Provider(ctx, provider)
	if err != nil {
		return nil, err
	}
	return &ProviderClient{BaseURL: p.HostURI, Provider: provider, Key: t.key, HTTP: t.HTTP}, nil
}

// PreflightRow is one provider's answer for one group.
type PreflightRow struct {
	Group    string `json:"group"`
	Provider string `json:"provider"`
	HostURI  string `json:"host_uri"`
	Bid      bool   `json:"bid"`
	Price    uint64 `json:"price,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Preflight asks every registered provider whether it would bid on each
// group and at what price, without creating anything (market spec §10,
// pain point 1: say why nobody bids).
func (t *Tenant) Preflight(ctx context.Context, groups []lmarket.GroupSpec) ([]PreflightRow, error) {
	var provs []lmarket.Provider
	if err := t.acct.Query(ctx, "/market/providers?limit=1000", &provs); err != nil {
		return nil, err
	}
	var rows []PreflightRow
	for _, g := range groups {
		for _, p := range provs {
			row := PreflightRow{Group: g.Name, Provider: p.Owner.String(), HostURI: p.HostURI}
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			r, err := Preflight(cctx, t.HTTP, p.HostURI, t.Address().String(), g)
			cancel()
			if err != nil {
				row.Reason = "unreachable: " + err.Error()
			} else {
				row.Bid, row.Price, row.Reason = r.Bid, r.Price, r.Reason
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}
