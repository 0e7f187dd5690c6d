package paych_test

import (
	"math/rand/v2"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/bank"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

// mChannel is the model's view of a channel.
type mChannel struct {
	id                paych.ChannelID
	from, to          int
	balance, redeemed tx.Amount
	state             paych.ChannelState
	settlingAt, delay uint64
	lanes             map[uint32]paych.Lane
	issued            map[uint32][]paych.SignedVoucher // the payer's vouchers per lane, in order
}

// pModel is a naive reimplementation of the channel rules that predicts
// whether each message succeeds.
type pModel struct {
	p     paych.Params
	h     uint64
	seq   map[int]uint64
	chans []*mChannel
	byID  map[paych.ChannelID]*mChannel
}

func (m *pModel) apply(from int, msg tx.Msg, forged map[string]bool) bool {
	switch x := msg.(type) {
	case *paych.MsgOpenChannel:
		if x.SettleDelay < m.p.MinSettleDelay || x.SettleDelay > m.p.MaxSettleDelay || x.Deposit < m.p.MinDeposit {
			return false
		}
		to := indexOf(x.To)
		c := &mChannel{id: paych.ChannelIDFor(x.From, x.To, m.seq[from]), from: from, to: to, balance: x.Deposit,
			state: paych.ChannelOpen, delay: x.SettleDelay, lanes: map[uint32]paych.Lane{}, issued: map[uint32][]paych.SignedVoucher{}}
		m.seq[from]++
		m.chans = append(m.chans, c)
		m.byID[c.id] = c
	case *paych.MsgTopUp:
		c := m.byID[x.Channel]
		if c == nil || c.from != from || c.state != paych.ChannelOpen {
			return false
		}
		c.balance += x.Amount
	case *paych.MsgSettle:
		c := m.byID[x.Channel]
		if c == nil || (from != c.from && from != c.to) || c.state != paych.ChannelOpen {
			return false
		}
		c.state, c.settlingAt = paych.ChannelSettling, m.h+c.delay
	case *paych.MsgCollect:
		c := m.byID[x.Channel]
		if c == nil || (from != c.from && from != c.to) || c.state != paych.ChannelSettling || m.h < c.settlingAt {
			return false
		}
		c.state, c.lanes = paych.ChannelClosed, map[uint32]paych.Lane{}
	case *paych.MsgRedeem:
		tmp := map[*mChannel]struct {
			redeemed tx.Amount
			lanes    map[uint32]paych.Lane
		}{}
		for i := range x.Vouchers {
			v := &x.Vouchers[i]
			c := m.byID[v.Channel]
			if c == nil || c.to != from || c.state == paych.ChannelClosed || (c.state == paych.ChannelSettling && m.h >= c.settlingAt) || forged[string(v.Signature)] {
				return false
			}
			st, ok := tmp[c]
			if !ok {
				st.redeemed, st.lanes = c.redeemed, map[uint32]paych.Lane{}
				for k, l := range c.lanes {
					st.lanes[k] = l
				}
			}
			l, had := st.lanes[v.Lane]
			if v.Signer() != addr(c.from) || (v.Expiry != 0 && m.h > v.Expiry) || v.Nonce <= l.Nonce || v.Amount <= l.Redeemed {
				return false
			}
			if !had && uint32(len(st.lanes)) >= m.p.MaxLanes {
				return false
			}
			delta := v.Amount - l.Redeemed
			if st.redeemed+delta > c.balance {
				return false
			}
			st.redeemed += delta
			st.lanes[v.Lane] = paych.Lane{Lane: v.Lane, Nonce: v.Nonce, Redeemed: v.Amount}
			tmp[c] = st
		}
		for c, st := range tmp {
			c.redeemed, c.lanes = st.redeemed, st.lanes
		}
	}
	return true
}

func indexOf(a tx.Address) int {
	for i := range 16 {
		if addr(i) == a {
			return i
		}
	}
	return -1
}

// TestRandomized drives blocks of random channel messages (vouchers
// fresh, stale, replayed, forged, expired and over the balance) and
// checks every result against the model, the supply and the escrow
// after every block, and at the end every balance against the bank's
// events and every channel and lane against the model.
func TestRandomized(t *testing.T) {
	for seed := range uint64(3) {
		t.Run("", func(t *testing.T) { randomRun(t, seed, 150) })
	}
}

// TestDeterministic replays a randomized run on a fresh ledger: every
// block's app hash is the same.
func TestDeterministic(t *testing.T) {
	a, b := randomRun(t, 7, 60), randomRun(t, 7, 60)
	if len(a.Hashes) != 60 || len(b.Hashes) != 60 {
		t.Fatalf("%d and %d blocks", len(a.Hashes), len(b.Hashes))
	}
	for i := range a.Hashes {
		if string(a.Hashes[i]) != string(b.Hashes[i]) {
			t.Fatalf("block %d: app hashes %x and %x differ", i+1, a.Hashes[i], b.Hashes[i])
		}
	}
}

func randomRun(t *testing.T, seed uint64, blocks int) *harness {
	const accounts = 4
	p := testParams()
	p.MaxLanes = 3
	h := newHarness(t, genesis(t, accounts, &p))
	r := rand.New(rand.NewPCG(seed, seed^0x7061796368))
	m := &pModel{p: p, seq: map[int]uint64{}, byID: map[paych.ChannelID]*mChannel{}}
	pick := func() *mChannel {
		if len(m.chans) == 0 {
			return nil
		}
		return m.chans[len(m.chans)-1-r.IntN(min(len(m.chans), 5))]
	}
	// issue has c's payer sign the next voucher on a lane.
	issue := func(c *mChannel, lane uint32) paych.SignedVoucher {
		vs := c.issued[lane]
		var nonce uint64 = 1
		var amt tx.Amount
		if len(vs) > 0 {
			nonce, amt = vs[len(vs)-1].Nonce+1+uint64(r.IntN(2)), vs[len(vs)-1].Amount
		}
		amt += tx.Amount(1 + r.IntN(60))
		if r.IntN(15) == 0 {
			amt += 2000 // likely over the balance
		}
		v := paych.Voucher{ChainID: chainID, Channel: c.id, Lane: lane, Nonce: nonce, Amount: amt}
		if r.IntN(10) == 0 {
			v.Expiry = m.h + uint64(r.IntN(4))
		}
		s, err := v.Sign(key(c.from))
		if err != nil {
			t.Fatal(err)
		}
		c.issued[lane] = append(c.issued[lane], s)
		return s
	}
	gen := func(forged map[string]bool) (int, tx.Msg) {
		from := r.IntN(accounts)
		c := pick()
		switch k := r.IntN(100); {
		case k < 12 || c == nil:
			to := (from + 1 + r.IntN(accounts-1)) % accounts
			return from, &paych.MsgOpenChannel{From: addr(from), To: addr(to), Deposit: tx.Amount(90 + r.IntN(1500)), SettleDelay: uint64(4 + r.IntN(10))}
		case k < 18:
			if r.IntN(4) > 0 {
				from = c.from
			}
			return from, &paych.MsgTopUp{Sender: addr(from), Channel: c.id, Amount: tx.Amount(1 + r.IntN(500))}
		case k < 23:
			if r.IntN(3) > 0 {
				from = []int{c.from, c.to}[r.IntN(2)]
			}
			return from, &paych.MsgSettle{Sender: addr(from), Channel: c.id}
		case k < 30:
			var settling []*mChannel
			for _, c := range m.chans {
				if c.state == paych.ChannelSettling {
					settling = append(settling, c)
				}
			}
			if len(settling) > 0 && r.IntN(4) > 0 {
				c = settling[r.IntN(len(settling))]
			}
			if r.IntN(3) > 0 {
				from = []int{c.from, c.to}[r.IntN(2)]
			}
			return from, &paych.MsgCollect{Sender: addr(from), Channel: c.id}
		default:
			if r.IntN(6) > 0 {
				from = c.to
			}
			msg := &paych.MsgRedeem{Payee: addr(from)}
			for range 1 + r.IntN(3) {
				lane := uint32(r.IntN(4))
				var v paych.SignedVoucher
				switch j := r.IntN(10); {
				case j < 6 || len(c.issued[lane]) == 0:
					v = issue(c, lane)
				default: // an older one, maybe stale or replayed
					vs := c.issued[lane]
					v = vs[r.IntN(len(vs))]
				}
				if r.IntN(20) == 0 {
					s, _ := paych.Voucher{ChainID: chainID, Channel: c.id, Lane: lane, Nonce: v.Nonce + 1, Amount: v.Amount + 1}.Sign(key((c.from + 1) % accounts))
					v = s // signed by the wrong key
				}
				msg.Vouchers = append(msg.Vouchers, v)
				if r.IntN(25) == 0 {
					last := &msg.Vouchers[len(msg.Vouchers)-1]
					last.Signature = append([]byte(nil), last.Signature...)
					last.Signature[0] ^= 1
					forged[string(last.Signature)] = true
				}
			}
			return from, msg
		}
	}
	want := map[tx.Address]tx.Amount{paych.EscrowAccount: 0}
	for i := range accounts {
		want[addr(i)] = funds
	}
	okCount := map[tx.MsgType]int{}
	for range blocks {
		m.h = uint64(h.Height + 1)
		var txs [][]byte
		var msgs []tx.Msg
		var froms []int
		forged := map[string]bool{} // signatures tampered with
		for range r.IntN(5) {
			from, msg := gen(forged)
			if msg.ValidateBasic() != nil {
				continue
			}
			txs = append(txs, h.Sign(from, msg))
			msgs, froms = append(msgs, msg), append(froms, from)
		}
		res := h.Block(txs...)
		for i, tr := range res.TxResults {
			if got, pred := tr.OK(), m.apply(froms[i], msgs[i], forged); got != pred {
				t.Fatalf("block %d tx %d %T: ok=%v (%v %s), the model says %v", h.Height, i, msgs[i], got, tr.Code, tr.Log, pred)
			}
			if tr.OK() {
				okCount[msgs[i].Type()]++
			}
			applyBank(want, tr.Events)
		}
	}
	for a, w := range want {
		if got := h.Balance(a); got != w {
			t.Errorf("balance of %s is %s, the bank's events say %s", a, got, w)
		}
	}
	for _, c := range m.chans {
		got := h.channel(c.id)
		if got.Balance != c.balance || got.Redeemed != c.redeemed || got.State != c.state || got.Lanes != uint32(len(c.lanes)) {
			t.Errorf("channel %s: %+v, the model: balance %s redeemed %s %s, %d lanes", c.id, got.Channel, c.balance, c.redeemed, c.state, len(c.lanes))
		}
		for lane, l := range c.lanes {
			if got := h.lane(c.id, lane); got != l {
				t.Errorf("channel %s lane %d: %+v, the model %+v", c.id, lane, got, l)
			}
		}
	}
	for _, typ := range []tx.MsgType{paych.TypeMsgOpenChannel, paych.TypeMsgTopUp, paych.TypeMsgRedeem, paych.TypeMsgSettle, paych.TypeMsgCollect} {
		if okCount[typ] == 0 {
			t.Errorf("no message of type %#04x succeeded: the generator misses it", typ)
		}
	}
	t.Logf("successes by type: %v", okCount)
	return h
}

// applyBank replays the bank's events on balances.
func applyBank(bal map[tx.Address]tx.Amount, evs []ledger.Event) {
	for _, e := range evs {
		amt, _ := tx.ParseAmount(attr(e, "amount"))
		at := func(k string) tx.Address {
			a, _ := tx.ParseAddress(attr(e, k))
			return a
		}
		switch e.Type {
		case bank.EventTransfer:
			bal[at("sender")] -= amt
			bal[at("recipient")] += amt
		case bank.EventFeeBurn:
			bal[at("payer")] -= amt
		case bank.EventBurn:
			bal[at("address")] -= amt
		}
	}
}
