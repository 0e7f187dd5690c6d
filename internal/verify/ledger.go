package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/chain/account"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/wire"
)

// LedgerDisputer opens disputes on the ledger (MsgOpenDispute) with the
// subnet's bond, signed by an account that pays it.
type LedgerDisputer struct {
	acct   *account.Account
	netuid uint16
	log    *slog.Logger
}

var _ Disputer = (*LedgerDisputer)(nil)

// NewLedgerDisputer returns a Disputer for subnet netuid signing with key.
func NewLedgerDisputer(c chain.Client, key account.Key, netuid uint16, log *slog.Logger) *LedgerDisputer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &LedgerDisputer{acct: account.New(c, key), netuid: netuid, log: log.With("component", "disputer")}
}

// Dispute implements Disputer: it reads the subnet's bond and sends the
// receipt with the request as evidence.
func (d *LedgerDisputer) Dispute(ctx context.Context, r *wire.Receipt, request []byte, v Verdict) error {
	enc, err := r.Encode()
	if err != nil {
		return fmt.Errorf("dispute: %w", err)
	}
	p, err := SubnetParams(ctx, d.acct.Client(), d.netuid)
	if err != nil {
		return fmt.Errorf("dispute: %w", err)
	}
	res, err := d.acct.Send(ctx, &lsubnet.MsgOpenDispute{Challenger: d.acct.Address(), Netuid: d.netuid, Receipt: enc, Request: request, Bond: p.DisputeBond})
	if err != nil {
		return fmt.Errorf("dispute miner %s: %w", r.Miner, err)
	}
	d.log.Info("dispute opened", "miner", r.Miner.String(), "reason", v.Reason, "height", res.Height)
	return nil
}

// SubnetParams reads a subnet's hyperparameters.
func SubnetParams(ctx context.Context, c chain.Client, netuid uint16) (lsubnet.Params, error) {
	var info lsubnet.SubnetInfo
	if err := account.Query(ctx, c, fmt.Sprintf("/subnet/%d", netuid), &info); err != nil {
		return lsubnet.Params{}, err
	}
	return info.Params, nil
}

// RateFromChain returns an Auditor's Rate that reads the subnet's
// audit_rate_ppm, refreshed at most every ttl; a failed read keeps the
// last value.
func RateFromChain(c chain.Client, netuid uint16, ttl time.Duration) func() uint32 {
	var mu sync.Mutex
	var rate uint32
	var at time.Time
	return func() uint32 {
		mu.Lock()
		defer mu.Unlock()
		if !at.IsZero() && time.Since(at) < ttl {
			return rate
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if p, err := SubnetParams(ctx, c, netuid); err == nil {
			rate, at = p.AuditRatePPM, time.Now()
		}
		return rate
	}
}

// VoterOptions configure a Voter.
type VoterOptions struct {
	Chain     chain.Client
	Key       account.Key // a validator hotkey of the subnet
	Netuid    uint16
	Reference http.Handler // the reference engine
	// PollInterval is how often open disputes are read (default 1s).
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Voter sits on dispute committees: it reads the subnet's open disputes,
// re-executes the request of each one whose committee names its key, and
// votes guilty when the tokens differ from the receipt's claim.
type Voter struct {
	o    VoterOptions
	acct *account.Account
	log  *slog.Logger

	mu    sync.Mutex // guards voted and votes
	voted map[uint64]bool
	votes []Vote
}

// Vote is a vote a Voter sent.
type Vote struct {
	Dispute uint64
	Guilty  bool
	Result  Result
	// Late: the dispute was resolved before the vote landed (the rest of
	// the committee had already decided it).
	Late bool
	Err  error
}

// NewVoter checks o.
func NewVoter(o VoterOptions) (*Voter, error) {
	if o.Chain == nil || o.Key == nil || o.Reference == nil {
		return nil, errors.New("new voter: chain, key and reference engine are required")
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Voter{o: o, acct: account.New(o.Chain, o.Key), log: log.With("component", "voter"), voted: map[uint64]bool{}}, nil
}

// Votes returns the votes sent so far.
func (v *Voter) Votes() []Vote {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.votes)
}

// Run votes until ctx ends.
func (v *Voter) Run(ctx context.Context) error {
	t := time.NewTicker(v.o.PollInterval)
	defer t.Stop()
	for {
		if err := v.Once(ctx); err != nil && ctx.Err() == nil {
			v.log.Warn("dispute votes", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Once votes on every open dispute of its committees it has not voted on.
func (v *Voter) Once(ctx context.Context) error {
	var open []lsubnet.Dispute
	if err := account.Query(ctx, v.o.Chain, fmt.Sprintf("/subnet/%d/disputes?state=open", v.o.Netuid), &open); err != nil {
		return err
	}
	self := v.acct.Address()
	var errs []error
	for i := range open {
		d := &open[i]
		v.mu.Lock()
		done := v.voted[d.ID]
		v.mu.Unlock()
		if done || !slices.Contains(d.Committee, self) || slices.ContainsFunc(d.Votes, func(x lsubnet.Vote) bool { return x.Voter == self }) {
			continue
		}
		got, err := Reexecute(ctx, v.o.Reference, d.Request)
		for wait := 20 * time.Millisecond; errors.Is(err, ErrBusy) && wait < 3*time.Second; wait *= 2 {
			time.Sleep(wait)
			got, err = Reexecute(ctx, v.o.Reference, d.Request)
		}
		if err != nil {
			// Not the miner's fault that this verifier cannot run it: no
			// vote, and the deadline decides.
			errs = append(errs, fmt.Errorf("dispute %d: %w", d.ID, err))
			v.mu.Lock()
			v.voted[d.ID] = true
			v.votes = append(v.votes, Vote{Dispute: d.ID, Err: err})
			v.mu.Unlock()
			continue
		}
		guilty := got.TokensDigest != d.TokensDigest || got.CompletionTokens != d.CompletionTokens || got.PromptTokens != d.PromptTokens
		_, err = v.acct.Send(ctx, &lsubnet.MsgDisputeVote{Voter: self, ID: d.ID, Guilty: guilty, TokensDigest: got.TokensDigest})
		if err != nil {
			// The majority may have decided it meanwhile: not a failure.
			var now lsubnet.Dispute
			if qerr := account.Query(ctx, v.o.Chain, fmt.Sprintf("/subnet/dispute/%d", d.ID), &now); qerr == nil && now.State != lsubnet.DisputeOpen {
				v.mu.Lock()
				v.voted[d.ID] = true
				v.votes = append(v.votes, Vote{Dispute: d.ID, Guilty: guilty, Result: got, Late: true})
				v.mu.Unlock()
				continue
			}
		}
		v.mu.Lock()
		v.voted[d.ID] = err == nil
		v.votes = append(v.votes, Vote{Dispute: d.ID, Guilty: guilty, Result: got, Err: err})
		v.mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("vote on dispute %d: %w", d.ID, err))
			continue
		}
		v.log.Info("voted", "dispute", d.ID, "miner", d.Miner.String(), "guilty", guilty)
	}
	return errors.Join(errs...)
}
