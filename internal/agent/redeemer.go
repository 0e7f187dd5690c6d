package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/deai-network/deai/internal/ledger/paych"
)

// RedeemChain submits a payee's vouchers (MsgRedeem); LedgerChain
// implements it.
type RedeemChain interface {
	Redeem(ctx context.Context, vs []paych.SignedVoucher) error
}

// codeBadNonce is the ledger's reason code for a replayed or stale nonce.
const codeBadNonce = 5

// DefaultRedeemInterval is how often a Redeemer redeems by default.
const DefaultRedeemInterval = time.Minute

// Redeemer collects the latest accepted voucher of every lane from a
// Paywall and redeems them on chain, periodically (Run) or on demand
// (RedeemOnce). Cumulative vouchers make a late redeem lose nothing: the
// latest voucher of a lane carries every earlier payment.
type Redeemer struct {
	Paywall  *Paywall
	Chain    RedeemChain
	Interval time.Duration // 0: DefaultRedeemInterval
	Logger   *slog.Logger  // nil: discard
}

// RedeemOnce redeems every unredeemed latest voucher and returns how many
// the chain took. When a batch is refused, each voucher is tried alone so
// that one bad voucher does not hold back the others.
func (r *Redeemer) RedeemOnce(ctx context.Context) (int, error) {
	vs := r.Paywall.Unredeemed()
	if len(vs) == 0 {
		return 0, nil
	}
	if err := r.Chain.Redeem(ctx, vs); err == nil {
		r.Paywall.MarkRedeemed(vs)
		return len(vs), nil
	} else if ctx.Err() != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for i := range vs {
		one := vs[i : i+1]
		err := r.Chain.Redeem(ctx, one)
		if r.onChain(ctx, err, &vs[i]) {
			// The chain already holds this voucher or a later one (e.g.
			// restored after a restart): nothing more to redeem.
			r.Paywall.MarkRedeemed(one)
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("channel %s lane %d nonce %d: %w", vs[i].Channel, vs[i].Lane, vs[i].Nonce, err))
			continue
		}
		r.Paywall.MarkRedeemed(one)
		n++
	}
	return n, errors.Join(errs...)
}

// onChain reports whether a redeem refused for a bad nonce failed because
// the lane is already at v's nonce or beyond (the tx's own account nonce
// has the same code, so the lane is read to tell them apart).
func (r *Redeemer) onChain(ctx context.Context, err error, v *paych.SignedVoucher) bool {
	var te *TxError
	ls, ok := r.Chain.(LaneSource)
	if !errors.As(err, &te) || te.Code != codeBadNonce || !ok {
		return false
	}
	l, lerr := ls.Lane(ctx, v.Channel, v.Lane)
	return lerr == nil && l.Nonce >= v.Nonce
}

// Run redeems every Interval until ctx ends, and once more on the way
// out with a short grace period.
func (r *Redeemer) Run(ctx context.Context) error {
	iv := r.Interval
	if iv <= 0 {
		iv = DefaultRedeemInterval
	}
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if _, err := r.RedeemOnce(fctx); err != nil {
				log.Warn("final redeem failed", "err", err)
			}
			return nil
		case <-t.C:
			if n, err := r.RedeemOnce(ctx); err != nil {
				log.Warn("redeem failed", "redeemed", n, "err", err)
			} else if n > 0 {
				log.Debug("redeemed", "vouchers", n)
			}
		}
	}
}
