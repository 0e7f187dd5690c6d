package agent

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"sync"

	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

// ErrChannelExhausted is wrapped when a payment would take a channel's
// vouchers beyond its deposit: top it up or open another.
var ErrChannelExhausted = errors.New("payment channel exhausted")

// DefaultLanes is how many concurrent payments a Payer carries by default
// (one lane each).
const DefaultLanes = 8

// PayerOptions configure NewPayer.
type PayerOptions struct {
	Key     ed25519.PrivateKey // the channel's From key: signs vouchers
	ChainID string
	Channel paych.ChannelID
	Payee   tx.Address
	Deposit tx.Amount // the channel's balance
	// Lanes is the number of lanes used, 0..Lanes-1, each carrying one
	// payment at a time (default DefaultLanes).
	Lanes int
	// Start resumes lanes from the positions the payee accepted last
	// (from Payer.Lanes saved earlier, or the ledger's /paych/lanes).
	Start []paych.Lane
	// Budget is reserved from before any voucher is signed (required).
	Budget *Budget
}

// Payer issues cumulative vouchers on one open payment channel: each
// payment takes a free lane, reserves its price in the Budget, signs the
// lane's next voucher (nonce + 1, cumulative amount + price) and, once
// the payee has answered, is accepted (charged) or rejected (rolled back:
// the next voucher on the lane does not include it, so a failing service
// is never paid). The payee only keeps a voucher whose call succeeded,
// so both sides agree on each lane's position.
type Payer struct {
	o   PayerOptions
	pub tx.Address
	sem chan struct{} // one token per free lane

	mu       sync.Mutex // guards free, lanes, inflight and paid
	free     []uint32   // lanes not carrying a payment, lowest last: reused first
	lanes    []paych.Lane
	inflight tx.Amount // sum of the prices of unsettled payments
	paid     tx.Amount // sum of the lanes' accepted amounts
}

// NewPayer returns a Payer for the channel in o.
func NewPayer(o PayerOptions) (*Payer, error) {
	switch {
	case len(o.Key) != ed25519.PrivateKeySize:
		return nil, fmt.Errorf("new payer: key is %d bytes, want %d", len(o.Key), ed25519.PrivateKeySize)
	case o.ChainID == "":
		return nil, errors.New("new payer: missing chain id")
	case o.Channel.IsZero():
		return nil, errors.New("new payer: missing channel id")
	case o.Payee.IsZero():
		return nil, errors.New("new payer: missing payee")
	case o.Budget == nil:
		return nil, errors.New("new payer: missing budget")
	}
	if o.Lanes <= 0 {
		o.Lanes = DefaultLanes
	}
	p := &Payer{o: o, pub: tx.AddressFromPubKey(o.Key.Public().(ed25519.PublicKey)), sem: make(chan struct{}, o.Lanes), lanes: make([]paych.Lane, o.Lanes)}
	for i := range p.lanes {
		p.lanes[i].Lane = uint32(i)
		p.free = append(p.free, uint32(o.Lanes-1-i))
	}
	for _, l := range o.Start {
		if int(l.Lane) >= o.Lanes {
			return nil, fmt.Errorf("new payer: start lane %d, want below %d lanes", l.Lane, o.Lanes)
		}
		p.lanes[l.Lane] = l
		p.paid += l.Redeemed
	}
	return p, nil
}

// Address returns the payer's (the channel's From) address.
func (p *Payer) Address() tx.Address { return p.pub }

// Payee returns the channel's payee.
func (p *Payer) Payee() tx.Address { return p.o.Payee }

// ChainID returns the chain the vouchers are for.
func (p *Payer) ChainID() string { return p.o.ChainID }

// Paid returns the sum of accepted payments over all lanes.
func (p *Payer) Paid() tx.Amount {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paid
}

// Lanes returns every lane's accepted position, to save and pass back as
// PayerOptions.Start after a restart.
func (p *Payer) Lanes() []paych.Lane {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]paych.Lane(nil), p.lanes...)
}

// TopUp records that the channel's deposit grew to deposit.
func (p *Payer) TopUp(deposit tx.Amount) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.o.Deposit = max(p.o.Deposit, deposit)
}

// Payment is one voucher in flight: Accept it when the payee answered,
// Reject it when the call failed.
type Payment struct {
	Voucher paych.SignedVoucher
	p       *Payer
	res     *Reservation
	price   tx.Amount
	once    sync.Once
}

// Pay reserves price in the budget and signs the next voucher on a free
// lane, bound to request (zeros: not bound). It waits for a free lane
// until ctx ends.
func (p *Payer) Pay(ctx context.Context, price tx.Amount, request paych.RequestHash) (*Payment, error) {
	if price.IsZero() {
		return nil, fmt.Errorf("pay %s: %w", p.o.Payee, tx.ErrZeroAmount)
	}
	res, err := p.o.Budget.Reserve(ctx, p.o.Payee, price)
	if err != nil {
		return nil, err
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		res.Release()
		return nil, fmt.Errorf("pay %s: wait for a free lane: %w", p.o.Payee, ctx.Err())
	}
	p.mu.Lock()
	lane := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	if total := p.paid + p.inflight; total+price > p.o.Deposit || total+price < total {
		p.freeLocked(lane)
		p.mu.Unlock()
		res.Release()
		return nil, fmt.Errorf("pay %s on channel %s: %w: %s paid and %s in flight of a %s deposit", price, p.o.Channel, ErrChannelExhausted, p.paid, p.inflight, p.o.Deposit)
	}
	l := p.lanes[lane]
	p.inflight += price
	p.mu.Unlock()
	v, err := paych.Voucher{ChainID: p.o.ChainID, Channel: p.o.Channel, Lane: lane, Nonce: l.Nonce + 1,
		Amount: l.Redeemed + price, RequestHash: request}.Sign(p.o.Key)
	if err != nil {
		p.mu.Lock()
		p.inflight -= price
		p.freeLocked(lane)
		p.mu.Unlock()
		res.Release()
		return nil, fmt.Errorf("pay %s: %w", p.o.Payee, err)
	}
	return &Payment{Voucher: v, p: p, res: res, price: price}, nil
}

// Accept records that the payee kept the voucher: the lane moves to it
// and the budget is charged the price.
func (pm *Payment) Accept() error {
	var err error
	pm.once.Do(func() {
		p := pm.p
		p.mu.Lock()
		p.lanes[pm.Voucher.Lane] = paych.Lane{Lane: pm.Voucher.Lane, Nonce: pm.Voucher.Nonce, Redeemed: pm.Voucher.Amount}
		p.inflight -= pm.price
		p.paid += pm.price
		p.freeLocked(pm.Voucher.Lane)
		p.mu.Unlock()
		err = pm.res.Commit(pm.price)
	})
	return err
}

// Reject records that the call failed and the payee did not keep the
// voucher: the lane's amount stays where it was (the next voucher reuses
// it), its nonce moves past the rejected one, and the budget is charged
// nothing.
func (pm *Payment) Reject() {
	pm.once.Do(func() {
		p := pm.p
		p.mu.Lock()
		p.lanes[pm.Voucher.Lane].Nonce = pm.Voucher.Nonce
		p.inflight -= pm.price
		p.freeLocked(pm.Voucher.Lane)
		p.mu.Unlock()
		pm.res.Release()
	})
}

// freeLocked returns lane to the free stack and its token to the
// semaphore.
func (p *Payer) freeLocked(lane uint32) {
	p.free = append(p.free, lane)
	<-p.sem
}
