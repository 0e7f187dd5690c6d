package paych_test

import (
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/ledger/agents"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/paych"
	"github.com/deai-network/deai/internal/tx"
)

const (
	payer = 0
	payee = 1
	third = 2
)

// TestChannelLifecycle opens a channel, tops it up, redeems vouchers on
// two lanes, settles, redeems within the window, is refused an early
// collect and collects, with every balance exact. The harness checks the
// supply and the escrow after every block.
func TestChannelLifecycle(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 3, &p))
	id := h.open(payer, payee, 10_000, 10) // block 1
	if id != paych.ChannelIDFor(addr(payer), addr(payee), 0) {
		t.Errorf("channel id %s, want ChannelIDFor(payer, payee, 0)", id)
	}
	if got := h.Balance(paych.EscrowAccount); got != 10_000 {
		t.Fatalf("escrow holds %s after the deposit", got)
	}
	r := h.OK(payer, &paych.MsgTopUp{Sender: addr(payer), Channel: id, Amount: 5000}) // block 2
	if ev := events(paych.EventToppedUp, r.Events); len(ev) != 1 || attr(ev[0], "balance") != "15000udeai" {
		t.Fatalf("top-up events %+v", ev)
	}

	// Two lanes in one message.
	r = h.OK(payee, redeem(payee, voucher(t, payer, id, 0, 3, 300), voucher(t, payer, id, 7, 1, 1000))) // block 3
	ev := events(paych.EventRedeemed, r.Events)
	if len(ev) != 2 || attr(ev[0], "paid") != "300udeai" || attr(ev[1], "paid") != "1000udeai" || attr(ev[1], "redeemed") != "1300udeai" || attr(ev[1], "lane") != "7" {
		t.Fatalf("redeemed events %+v", ev)
	}
	r = h.OK(payee, redeem(payee, voucher(t, payer, id, 0, 9, 750))) // block 4: only the difference is paid
	if ev := events(paych.EventRedeemed, r.Events); len(ev) != 1 || attr(ev[0], "paid") != "450udeai" || attr(ev[0], "amount") != "750udeai" {
		t.Fatalf("redeemed events %+v", ev)
	}
	if l := h.lane(id, 0); l.Nonce != 9 || l.Redeemed != 750 {
		t.Errorf("lane 0 %+v", l)
	}
	var lanes []paych.Lane
	h.Query("/paych/lanes/"+id.String(), &lanes)
	if len(lanes) != 2 || lanes[0].Lane != 0 || lanes[1].Lane != 7 || lanes[1].Redeemed != 1000 {
		t.Errorf("lanes %+v", lanes)
	}

	h.Reject(module.ReasonUnauthorized, third, &paych.MsgSettle{Sender: addr(third), Channel: id}) // block 5: not a party
	r = h.OK(payer, &paych.MsgSettle{Sender: addr(payer), Channel: id})                            // block 6: settles at 16
	if ev := events(paych.EventSettling, r.Events); len(ev) != 1 || attr(ev[0], "settling_at") != "16" {
		t.Fatalf("settling events %+v", ev)
	}
	h.Reject(module.ReasonInvalid, payer, &paych.MsgTopUp{Sender: addr(payer), Channel: id, Amount: 1})
	h.Reject(module.ReasonInvalid, payee, &paych.MsgSettle{Sender: addr(payee), Channel: id})
	if log := h.Reject(module.ReasonRateLimited, payer, &paych.MsgCollect{Sender: addr(payer), Channel: id}); !strings.Contains(log, "settles at height 16") {
		t.Errorf("early collect: %s", log)
	}
	h.AdvanceTo(14)
	h.OK(payee, redeem(payee, voucher(t, payer, id, 1, 1, 2000))) // block 15: still in the window
	h.AdvanceTo(15)
	if log := h.Reject(module.ReasonInvalid, payee, redeem(payee, voucher(t, payer, id, 2, 1, 10))); !strings.Contains(log, "settled at height 16") {
		t.Errorf("redeem at the settle height: %s", log)
	}
	if c := h.channel(id); !c.Settled || c.State != paych.ChannelSettling || c.Escrowed != 15_000-3750 {
		t.Errorf("channel at 16 %+v", c)
	}

	payerBefore := h.Balance(addr(payer))
	r = h.OK(payee, &paych.MsgCollect{Sender: addr(payee), Channel: id}) // block 17, by the payee
	if ev := events(paych.EventCollected, r.Events); len(ev) != 1 || attr(ev[0], "refund") != "11250udeai" || attr(ev[0], "redeemed") != "3750udeai" {
		t.Fatalf("collected events %+v", ev)
	}
	if got := h.Balance(addr(payer)) - payerBefore; got != 11_250 {
		t.Errorf("refund to the payer %s", got)
	}
	want := map[int]tx.Amount{
		payer: funds - 5*fee - 15_000 + 11_250, // open, top-up, settle; the refused top-up and collect pay their fees too
		payee: funds - 6*fee + 3750,            // 3 redeems, the refused settle and redeem, the collect
	}
	for i, w := range want {
		if got := h.Balance(addr(i)); got != w {
			t.Errorf("account %d: balance %s, want %s", i, got, w)
		}
	}
	if got := h.Balance(paych.EscrowAccount); got != 0 {
		t.Errorf("escrow holds %s after the collect", got)
	}
	c := h.channel(id)
	if c.State != paych.ChannelClosed || c.Refunded != 11_250 || c.Lanes != 0 || c.ClosedAt != 17 {
		t.Errorf("closed channel %+v", c)
	}
	h.Query("/paych/lanes/"+id.String(), &lanes)
	if len(lanes) != 0 {
		t.Errorf("lanes of a closed channel %+v", lanes)
	}
	h.Reject(module.ReasonInvalid, payee, redeem(payee, voucher(t, payer, id, 0, 10, 800)))
	h.Reject(module.ReasonInvalid, payer, &paych.MsgCollect{Sender: addr(payer), Channel: id})
}

// TestVoucherRejects: every kind of bad voucher is refused with its own
// reason and message, and nothing but the redeemer's fee moves.
func TestVoucherRejects(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 4, &p))
	id := h.open(payer, payee, 1000, 10)
	other := h.open(payer, third, 1000, 10) // the payer's channel to someone else
	h.OK(payee, redeem(payee, voucher(t, payer, id, 0, 5, 100)))

	tampered := voucher(t, payer, id, 0, 6, 200)
	tampered.Amount = 900
	movedChannel := voucher(t, payer, other, 0, 6, 200)
	movedChannel.Channel = id
	badSig := voucher(t, payer, id, 0, 6, 200)
	badSig.Signature[5] ^= 1
	expiring := paych.Voucher{ChainID: chainID, Channel: id, Nonce: 6, Amount: 200, Expiry: 2}
	expired, _ := expiring.Sign(key(payer))
	otherChain, _ := paych.Voucher{ChainID: "deai-other", Channel: id, Nonce: 6, Amount: 200}.Sign(key(payer))
	unknown, _ := paych.Voucher{ChainID: chainID, Channel: paych.ChannelID{9}, Nonce: 1, Amount: 1}.Sign(key(payer))

	tests := []struct {
		name string
		by   int
		v    paych.SignedVoucher
		want module.Reason
		log  string
	}{
		{"replayed", payee, voucher(t, payer, id, 0, 5, 100), module.ReasonBadNonce, "replayed voucher"},
		{"lower nonce", payee, voucher(t, payer, id, 0, 4, 300), module.ReasonBadNonce, "stale voucher: nonce 4 is below lane 0's nonce 5"},
		{"same nonce more money", payee, voucher(t, payer, id, 0, 5, 300), module.ReasonBadNonce, "replayed voucher"},
		{"higher nonce, no more money", payee, voucher(t, payer, id, 0, 6, 100), module.ReasonInvalid, "does not exceed the lane's 100udeai"},
		{"for the payer's other channel", payee, voucher(t, payer, other, 0, 1, 10), module.ReasonUnauthorized, "only it may redeem"},
		{"channel field moved to ours", payee, movedChannel, module.ReasonBadSignature, "signature does not verify"},
		{"signed by the payee", payee, voucher(t, payee, id, 0, 6, 200), module.ReasonBadSignature, "takes vouchers signed by " + addr(payer).String()},
		{"signed by a stranger", payee, voucher(t, third, id, 0, 6, 200), module.ReasonBadSignature, "signed by " + addr(third).String()},
		{"tampered amount", payee, tampered, module.ReasonBadSignature, "signature does not verify"},
		{"tampered signature", payee, badSig, module.ReasonBadSignature, "signature does not verify"},
		{"expired", payee, expired, module.ReasonInvalid, "expired at height 2"},
		{"over the balance", payee, voucher(t, payer, id, 1, 1, 901), module.ReasonInsufficientFunds, "over its balance 1000udeai"},
		{"other chain", payee, otherChain, module.ReasonWrongChainID, `voucher is for chain "deai-other"`},
		{"unknown channel", payee, unknown, module.ReasonNotFound, "does not exist"},
		{"redeemed by the payer", payer, voucher(t, payer, id, 0, 6, 200), module.ReasonUnauthorized, "only it may redeem"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.T = t
			before := map[tx.Address]tx.Amount{}
			for _, a := range []tx.Address{addr(payer), addr(payee), addr(third), paych.EscrowAccount} {
				before[a] = h.Balance(a)
			}
			log := h.Reject(tt.want, tt.by, redeem(tt.by, tt.v))
			if !strings.Contains(log, tt.log) {
				t.Errorf("log %q, want it to mention %q", log, tt.log)
			}
			for a, b := range before {
				want := b
				if a == addr(tt.by) {
					want -= fee
				}
				if got := h.Balance(a); got != want {
					t.Errorf("%s: balance %s → %s, want %s", a, b, got, want)
				}
			}
			if l := h.lane(id, 0); l.Nonce != 5 || l.Redeemed != 100 {
				t.Errorf("lane 0 moved to %+v", l)
			}
		})
	}
	// A message fails as a whole: a good voucher before a bad one is not
	// redeemed either, and the error names the bad one.
	h.T = t
	log := h.Reject(module.ReasonBadNonce, payee, redeem(payee, voucher(t, payer, id, 0, 7, 300), voucher(t, payer, id, 0, 7, 400)))
	if !strings.HasPrefix(log, "voucher 1: replayed") {
		t.Errorf("second of two: %s", log)
	}
	if l := h.lane(id, 0); l.Nonce != 5 {
		t.Errorf("lane 0 after a failed message %+v", l)
	}
}

// TestStaleVoucherLosesToLatest: the payer settles right after the payee
// redeemed an old voucher, hoping the channel closes on it; within the
// window the payee redeems an older-but-newer-than-redeemed voucher and
// then its latest, and the latest wins: the payee gets its full amount,
// the payer only the rest back. Replaying the older one after the latest
// is refused.
func TestStaleVoucherLosesToLatest(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 3, &p))
	id := h.open(payer, payee, 5000, 20) // block 1
	var vs []paych.SignedVoucher
	for n := uint64(1); n <= 5; n++ { // the payer pays 100 per call on lane 0
		vs = append(vs, voucher(t, payer, id, 0, n, tx.Amount(100*n)))
	}
	h.OK(payee, redeem(payee, vs[0]))                               // block 2: 100
	h.OK(payer, &paych.MsgSettle{Sender: addr(payer), Channel: id}) // block 3: settles at 23
	h.OK(payee, redeem(payee, vs[2]))                               // block 4: a stale one, 300
	h.OK(payee, redeem(payee, vs[4]))                               // block 5: the latest, 500
	h.Reject(module.ReasonBadNonce, payee, redeem(payee, vs[3]))    // block 6: 400 after 500
	h.AdvanceTo(22)
	h.OK(payer, &paych.MsgCollect{Sender: addr(payer), Channel: id}) // block 23
	if got := h.Balance(addr(payee)); got != funds-4*fee+500 {
		t.Errorf("payee balance %s, want the latest voucher's 500 less four fees", got)
	}
	if got := h.Balance(addr(payer)); got != funds-3*fee-500 {
		t.Errorf("payer balance %s, want 500 paid", got)
	}
}

// TestRedeemAcrossChannels: one message redeems the payee's vouchers of
// two payers' channels.
func TestRedeemAcrossChannels(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 3, &p))
	a := h.open(payer, payee, 1000, 5)
	b := h.open(third, payee, 1000, 5)
	before := h.Balance(addr(payee))
	h.OK(payee, redeem(payee, voucher(t, payer, a, 0, 1, 10), voucher(t, third, b, 0, 1, 20), voucher(t, payer, a, 3, 1, 30)))
	if got := h.Balance(addr(payee)); got != before+60-fee {
		t.Errorf("payee balance %s, want %s + 60 − the fee", got, before)
	}
	var chans []paych.Channel
	h.Query("/paych/channels/to/"+addr(payee).String(), &chans)
	if len(chans) != 2 {
		t.Errorf("channels to the payee %+v", chans)
	}
	h.Query("/paych/channels/from/"+addr(payer).String()+"?state=open", &chans)
	if len(chans) != 1 || chans[0].ID != a || chans[0].Redeemed != 40 || chans[0].Lanes != 2 {
		t.Errorf("channels from the payer %+v", chans)
	}
}

// TestLaneLimit: a channel takes at most MaxLanes lanes.
func TestLaneLimit(t *testing.T) {
	p := testParams()
	p.MaxLanes = 2
	h := newHarness(t, genesis(t, 2, &p))
	id := h.open(payer, payee, 1000, 5)
	h.OK(payee, redeem(payee, voucher(t, payer, id, 10, 1, 1), voucher(t, payer, id, 20, 1, 1)))
	if log := h.Reject(module.ReasonInvalid, payee, redeem(payee, voucher(t, payer, id, 30, 1, 1))); !strings.Contains(log, "already has 2 lanes") {
		t.Errorf("third lane: %s", log)
	}
	h.OK(payee, redeem(payee, voucher(t, payer, id, 20, 2, 5))) // an existing lane is fine
}

// TestOpenRejects covers the open and top-up rules.
func TestOpenRejects(t *testing.T) {
	p := testParams()
	h := newHarness(t, genesis(t, 3, &p))
	id := h.open(payer, payee, 1000, 5)
	tests := []struct {
		name string
		from int
		msg  tx.Msg
		want module.Reason
	}{
		{"delay below the minimum", payer, &paych.MsgOpenChannel{From: addr(payer), To: addr(payee), Deposit: 1000, SettleDelay: 4}, module.ReasonInvalid},
		{"delay above the maximum", payer, &paych.MsgOpenChannel{From: addr(payer), To: addr(payee), Deposit: 1000, SettleDelay: 101}, module.ReasonInvalid},
		{"deposit below the minimum", payer, &paych.MsgOpenChannel{From: addr(payer), To: addr(payee), Deposit: 99, SettleDelay: 5}, module.ReasonInvalid},
		{"deposit above the balance", payer, &paych.MsgOpenChannel{From: addr(payer), To: addr(payee), Deposit: funds, SettleDelay: 5}, module.ReasonInsufficientFunds},
		{"to itself", payer, &paych.MsgOpenChannel{From: addr(payer), To: addr(payer), Deposit: 1000, SettleDelay: 5}, module.ReasonInvalid},
		{"top-up by the payee", payee, &paych.MsgTopUp{Sender: addr(payee), Channel: id, Amount: 1}, module.ReasonUnauthorized},
		{"top-up via an owner that is not the funder", payer, &paych.MsgTopUp{Sender: addr(payer), Channel: id, Amount: 1, Owner: addr(third)}, module.ReasonUnauthorized},
		{"top-up of no channel", payer, &paych.MsgTopUp{Sender: addr(payer), Channel: paych.ChannelID{1}, Amount: 1}, module.ReasonNotFound},
		{"open via an owner without a permission", payer, &paych.MsgOpenChannel{From: addr(payer), To: addr(payee), Deposit: 1000, SettleDelay: 5, Owner: addr(third)}, module.ReasonNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.T = t
			h.Reject(tt.want, tt.from, tt.msg)
		})
	}
	var next struct {
		Seq uint64          `json:"seq"`
		ID  paych.ChannelID `json:"id"`
	}
	h.Query("/paych/next/"+addr(payer).String()+"?to="+addr(payee).String(), &next)
	if next.Seq != 1 || next.ID != paych.ChannelIDFor(addr(payer), addr(payee), 1) {
		t.Errorf("next channel %+v", next)
	}
}

// TestChannelViaPermission: an agent key opens and tops up a channel with
// its owner's funds through a spend permission, signs the vouchers
// itself, and the rest goes back to the owner; the permission's caps,
// allowlist and revocation hold for channel funding as for transfers.
func TestChannelViaPermission(t *testing.T) {
	const owner, agent, seller, stranger = 3, 4, 1, 2
	p := testParams()
	h := newHarness(t, genesis(t, 5, &p))
	h.OK(owner, &agents.MsgGrantSpend{Owner: addr(owner), Agent: addr(agent), SpendLimits: agents.SpendLimits{
		Allowance: 3000, PeriodBlocks: 100, TotalCap: 10_000, PerCallMax: 2500, Allowlist: []tx.Address{addr(seller)}}})
	open := func(to int, dep tx.Amount) *paych.MsgOpenChannel {
		return &paych.MsgOpenChannel{From: addr(agent), To: addr(to), Deposit: dep, SettleDelay: 5, Owner: addr(owner)}
	}
	h.Reject(module.ReasonUnauthorized, agent, open(stranger, 1000)) // not allowlisted
	h.Reject(module.ReasonInvalid, agent, open(seller, 2600))        // over the per-call max
	ownerBefore, agentBefore := h.Balance(addr(owner)), h.Balance(addr(agent))
	r := h.OK(agent, open(seller, 2000))
	ev := events(paych.EventChannelOpened, r.Events)
	id, _ := paych.ParseChannelID(attr(ev[0], "id"))
	if attr(ev[0], "funder") != addr(owner).String() || attr(ev[0], "from") != addr(agent).String() {
		t.Errorf("opened %+v", ev)
	}
	if sp := events(agents.EventSpend, r.Events); len(sp) != 1 || attr(sp[0], "purpose") != agents.PurposeChannelOpen || attr(sp[0], "to") != addr(seller).String() {
		t.Errorf("spend events %+v", sp)
	}
	if h.Balance(addr(owner)) != ownerBefore-2000 || h.Balance(addr(agent)) != agentBefore-fee {
		t.Errorf("the deposit came from owner %s→%s, agent %s→%s", ownerBefore, h.Balance(addr(owner)), agentBefore, h.Balance(addr(agent)))
	}
	top := &paych.MsgTopUp{Sender: addr(agent), Channel: id, Amount: 1001, Owner: addr(owner)}
	h.Reject(module.ReasonRateLimited, agent, top) // 2000 + 1001 > 3000 this period
	top.Amount = 1000
	h.OK(agent, top)
	h.Reject(module.ReasonUnauthorized, agent, &paych.MsgTopUp{Sender: addr(agent), Channel: id, Amount: 1}) // the agent is not the funder
	h.OK(owner, &paych.MsgTopUp{Sender: addr(owner), Channel: id, Amount: 500})                              // the owner tops up directly

	h.OK(seller, redeem(seller, voucher(t, agent, id, 0, 1, 1200))) // the agent's key signs vouchers
	h.Reject(module.ReasonBadSignature, seller, redeem(seller, voucher(t, owner, id, 0, 2, 1300)))
	h.OK(owner, &agents.MsgRevokeSpend{Owner: addr(owner), Agent: addr(agent)})
	h.Reject(module.ReasonUnauthorized, agent, &paych.MsgTopUp{Sender: addr(agent), Channel: id, Amount: 1, Owner: addr(owner)})
	h.Reject(module.ReasonUnauthorized, agent, open(seller, 1000))

	h.OK(owner, &paych.MsgSettle{Sender: addr(owner), Channel: id})
	h.AdvanceTo(h.Height + 5)
	ownerBefore = h.Balance(addr(owner))
	h.OK(owner, &paych.MsgCollect{Sender: addr(owner), Channel: id})
	if got := h.Balance(addr(owner)) - ownerBefore; got != 3500-1200-fee {
		t.Errorf("refund to the owner %s, want 2300", got+fee)
	}
	var pr agents.PermissionResult
	h.Query("/agents/permission/"+addr(owner).String()+"/"+addr(agent).String(), &pr)
	if pr.TotalSpent != 3000 || pr.Active {
		t.Errorf("permission %+v", pr)
	}
}
