package agent

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

// memRedeem is an in-memory RedeemChain that refuses while down.
type memRedeem struct {
	mu    sync.Mutex
	down  bool
	lanes map[uint32]uint64 // lane -> nonce redeemed
	calls int
}

func (m *memRedeem) Redeem(_ context.Context, vs []paych.SignedVoucher) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	if m.down {
		return errors.New("chain down")
	}
	for _, v := range vs {
		m.lanes[v.Lane] = v.Nonce
	}
	return nil
}

func TestRedeemerRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newWallOnly(t)
		for n := range uint64(2) {
			v, _ := paych.Voucher{ChainID: testChain, Channel: f.ch.ID, Nonce: n + 1, Amount: 5 * tx.Amount(n+1)}.Sign(f.payerKey)
			cl, perr := f.wall.Check(t.Context(), &v, 5, paych.RequestHash{})
			if perr != nil {
				t.Fatal(perr)
			}
			f.wall.Settle(cl, true)
		}
		chain := &memRedeem{lanes: map[uint32]uint64{}, down: true}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- (&Redeemer{Paywall: f.wall, Chain: chain, Interval: time.Minute}).Run(ctx) }()
		time.Sleep(time.Minute + time.Second) // fake time: one tick, refused
		synctest.Wait()
		if len(f.wall.Unredeemed()) != 1 {
			t.Fatalf("a refused redeem marked vouchers redeemed")
		}
		chain.mu.Lock()
		chain.down = false
		chain.mu.Unlock()
		time.Sleep(time.Minute)
		synctest.Wait()
		if len(f.wall.Unredeemed()) != 0 || chain.lanes[0] != 2 {
			t.Fatalf("after a tick with the chain up: %d unredeemed, lane 0 at %d", len(f.wall.Unredeemed()), chain.lanes[0])
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}
