package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/deai-network/deai/internal/agent/runner"
	"github.com/deai-network/deai/internal/chain"
	lmarket "github.com/deai-network/deai/internal/ledger/market"
	"github.com/deai-network/deai/internal/market"
	"github.com/deai-network/deai/internal/market/manifest"
)

// AgentLeaser lets a declarative agent's lease steps rent compute with the
// market's tenant client, signing as key.
func AgentLeaser(c chain.Client, key market.Key) runner.Leaser {
	return &agentLeaser{t: market.NewTenant(c, key)}
}

type agentLeaser struct{ t *market.Tenant }

// Lease creates a deployment from the SDL, waits for bids, leases the
// cheapest one within the price, sends the manifest to its provider and
// answers the workload's addresses once it runs.
// A deployment no bid fits, or whose provider does not take the manifest,
// is closed again, refunding the deposit (less what blocks already paid).
func (l *agentLeaser) Lease(ctx context.Context, req runner.LeaseRequest) (runner.LeaseResult, error) {
	sdl, err := manifest.ParseSDL(req.SDL)
	if err != nil {
		return runner.LeaseResult{}, fmt.Errorf("parse SDL: %w", err)
	}
	groups := sdl.Groups()
	if len(groups) != 1 {
		return runner.LeaseResult{}, fmt.Errorf("an agent's lease step takes an SDL with one placement group, this one has %d", len(groups))
	}
	m := sdl.Manifest()
	id, err := l.t.CreateDeployment(ctx, 0, groups, m.Hash(), uint64(req.Deposit))
	if err != nil {
		return runner.LeaseResult{}, fmt.Errorf("create deployment: %w", err)
	}
	closeIt := func(cause error) (runner.LeaseResult, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		return runner.LeaseResult{}, errors.Join(cause, l.t.CloseDeployment(cctx, id))
	}
	wctx, cancel := context.WithTimeout(ctx, req.BidWait)
	bids, err := l.t.WaitBids(wctx, id, 0)
	cancel()
	var best *lmarket.Bid
	for i := range bids {
		b := &bids[i]
		if req.MaxPrice != 0 && b.Price > req.MaxPrice {
			continue
		}
		if best == nil || b.Price < best.Price {
			best = b
		}
	}
	if best == nil {
		if err == nil {
			err = fmt.Errorf("%d bids, none at most %s per block", len(bids), req.MaxPrice)
		}
		return closeIt(fmt.Errorf("no bid for deployment %s: %w", id, err))
	}
	if err := l.t.CreateLease(ctx, best.ID); err != nil {
		return closeIt(fmt.Errorf("create lease: %w", err))
	}
	res := runner.LeaseResult{Lease: best.ID.String(), Provider: best.ID.Provider, Price: best.Price}
	pc, err := l.t.ProviderClient(ctx, best.ID.Provider)
	if err == nil {
		// The provider answers the leases the manifest went to, not
		// where the workload listens: that comes from the lease status.
		_, err = pc.SendManifest(ctx, id.DSeq, m)
	}
	if err != nil {
		// A lease that runs nothing is not worth its escrow.
		return closeIt(fmt.Errorf("lease %s: send the manifest: %w", best.ID, err))
	}
	res.Endpoints = leaseEndpoints(ctx, pc, res.Lease)
	return res, nil
}

// leaseEndpointWait bounds how long a lease step waits for its workload
// to run before it answers the addresses known so far.
const leaseEndpointWait = 30 * time.Second

// leaseEndpoints waits until every service of the lease runs and returns
// the host:port addresses the provider reports. A workload slow to start
// leaves the lease (and its escrow) in place: the step still succeeds,
// with whatever addresses are known.
func leaseEndpoints(ctx context.Context, pc *market.ProviderClient, lease string) []string {
	ctx, cancel := context.WithTimeout(ctx, leaseEndpointWait)
	defer cancel()
	var out []string
	for {
		if st, err := pc.LeaseStatus(ctx, lease); err == nil {
			out = out[:0]
			ready := len(st.Services) > 0
			for _, s := range st.Services {
				ready = ready && s.Available >= max(s.Total, 1)
				for _, u := range s.URIs {
					out = append(out, strings.TrimSpace(u))
				}
			}
			if ready {
				return out
			}
		}
		select {
		case <-ctx.Done():
			return out
		case <-time.After(200 * time.Millisecond):
		}
	}
}
