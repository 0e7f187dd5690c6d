package subnet_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/ledger"
	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

// Accounts of a dispute net: 0 owns the subnet; 1 is the cheating miner
// (uid 0) and 2 an honest one (uid 1); 3..6 are validators (uids 2..5)
// with 300..600 DEAI of self-stake; 7 challenges; 8 and 9 stake on miner
// 1 beside its own stake; 10 and 11 are bystanders.
const (
	cheat, honest, challenger = 1, 2, 7
	cheatSelf, cheat8, cheat9 = tx.Amount(10_000_001), tx.Amount(20_000_003), tx.Amount(5)
)

var validators = []int{3, 4, 5, 6}

type disputeNet struct {
	*harness
	netuid uint16
}

func heightHash(salt string) func(int64) []byte {
	return func(height int64) []byte {
		s := sha256.Sum256(binary.BigEndian.AppendUint64([]byte(salt), uint64(height)))
		return s[:]
	}
}

// newDisputeNet builds the net up to the second epoch: permits handed out
// at the first, validators' weights on both miners set, and both miners
// paid at the second. edit, when not nil, changes the params further.
func newDisputeNet(t *testing.T, salt string, edit func(*subnet.Params)) *disputeNet {
	t.Helper()
	h := newHarness(t, genesis(t, 12, nil))
	h.hashOf = heightHash(salt)
	netuid := h.createSubnet(0)
	h.setParams(0, netuid, func(p *subnet.Params) {
		fastParams(p)
		if edit != nil {
			edit(p)
		}
	})
	var txs [][]byte
	for i := 1; i <= 6; i++ {
		txs = append(txs, h.sign(i, register(i, netuid)))
	}
	h.blockOK(txs...)
	txs = [][]byte{h.sign(1, stake(1, 1, netuid, cheatSelf)), h.sign(8, stake(8, 1, netuid, cheat8)), h.sign(9, stake(9, 1, netuid, cheat9))}
	for _, v := range validators {
		txs = append(txs, h.sign(v, stake(v, v, netuid, tx.Amount(v)*100*tx.UnitsPerDEAI)))
	}
	h.blockOK(txs...)
	h.advanceTo(int64(h.info(netuid).NextEpoch)) // hands out the permits
	txs = nil
	for _, v := range validators {
		txs = append(txs, h.sign(v, weights(v, netuid, []uint16{0, 1}, []uint16{65535, 65535})))
	}
	h.blockOK(txs...)
	h.advanceTo(int64(h.info(netuid).NextEpoch))
	return &disputeNet{h, netuid}
}

// nowMs is the block time of the next block in ms (the harness's block h
// is at h seconds).
func (d *disputeNet) nowMs() int64 { return (d.height + 1) * 1000 }

// receipt is a fresh receipt of miner on the net for request.
func (d *disputeNet) receipt(miner int, request, tokens string) []byte {
	return receiptAt(miner, d.netuid, []byte(request), tokens, d.nowMs())
}

func (d *disputeNet) openMsg(from int, receipt []byte, request string, bond tx.Amount) *subnet.MsgOpenDispute {
	return &subnet.MsgOpenDispute{Challenger: addr(from), Netuid: d.netuid, Receipt: receipt, Request: []byte(request), Bond: bond}
}

// open opens a dispute and returns it as stored.
func (d *disputeNet) open(from int, receipt []byte, request string, bond tx.Amount) subnet.Dispute {
	d.t.Helper()
	r := d.ok(from, d.openMsg(from, receipt, request, bond))
	e := event(d.t, r.Events, subnet.EventDisputeOpened)
	return d.dispute(attr(e, "id"))
}

func (d *disputeNet) dispute(id string) subnet.Dispute {
	d.t.Helper()
	var out subnet.Dispute
	d.query("/subnet/dispute/"+id, &out)
	return out
}

func vote(voter int, id uint64, guilty bool) *subnet.MsgDisputeVote {
	return &subnet.MsgDisputeVote{Voter: addr(voter), ID: id, Guilty: guilty, TokensDigest: "recomputed"}
}

// account returns the test account index of a committee address.
func account(t testing.TB, a tx.Address) int {
	t.Helper()
	for i := range 12 {
		if addr(i) == a {
			return i
		}
	}
	t.Fatalf("%s is no test account", a)
	return -1
}

func event(t testing.TB, evs []ledger.Event, typ string) ledger.Event {
	t.Helper()
	for _, e := range evs {
		if e.Type == typ {
			return e
		}
	}
	t.Fatalf("no %s event in %v", typ, evs)
	return ledger.Event{}
}

func (d *disputeNet) neuron(i int) subnet.NeuronInfo {
	d.t.Helper()
	var n subnet.NeuronInfo
	d.query("/subnet/"+itoa(d.netuid)+"/neuron/"+addr(i).String(), &n)
	return n
}

func (d *disputeNet) stakeOf(hotkey, staker int) tx.Amount {
	d.t.Helper()
	var si subnet.StakeInfo
	d.query("/subnet/"+itoa(d.netuid)+"/stake/"+addr(hotkey).String(), &si)
	for _, s := range si.Stakers {
		if s.Staker == addr(staker) {
			return s.Amount
		}
	}
	return 0
}

// rejectWith is reject that also wants substr in the log.
func (h *harness) rejectWith(want module.Reason, substr string, i int, msgs ...tx.Msg) {
	h.t.Helper()
	if r := h.reject(want, i, msgs...); !strings.Contains(r.Log, substr) {
		h.t.Fatalf("log %q does not say %q", r.Log, substr)
	}
}

func TestDisputeGuilty(t *testing.T) {
	d := newDisputeNet(t, "guilty", nil)
	if n := d.neuron(cheat); n.Incentive == 0 || n.JailedUntil != 0 {
		t.Fatalf("before the dispute the cheat has incentive %d, jailed until %d", n.Incentive, n.JailedUntil)
	}
	before := d.supply()
	c0 := d.balance(addr(challenger))
	disp := d.open(challenger, d.receipt(cheat, "prompt", "garbage"), "prompt", subnet.DefaultParams().DisputeBond)
	if disp.State != subnet.DisputeOpen || len(disp.Committee) != 3 || disp.Bond != tx.UnitsPerDEAI || disp.Miner != addr(cheat) ||
		disp.Challenger != addr(challenger) || string(disp.Request) != "prompt" || disp.TokensDigest != "garbage" ||
		disp.RequestHash != sha256.Sum256([]byte("prompt")) || disp.Deadline != disp.OpenedAt+10 {
		t.Fatalf("opened %+v", disp)
	}
	if got := d.balance(subnet.DisputeAccount); got != disp.Bond {
		t.Errorf("escrow holds %s, want the bond", got)
	}
	var open []subnet.Dispute
	d.query("/subnet/"+itoa(d.netuid)+"/disputes?state=open", &open)
	if len(open) != 1 || open[0].ID != disp.ID {
		t.Errorf("open disputes %+v", open)
	}

	d.ok(account(t, disp.Committee[0]), vote(account(t, disp.Committee[0]), disp.ID, true))
	r := d.ok(account(t, disp.Committee[1]), vote(account(t, disp.Committee[1]), disp.ID, true))
	resolvedAt := uint64(d.height)
	sl := event(t, r.Events, subnet.EventSlashed)
	if attr(sl, "amount") != "3000000udeai" || attr(sl, "reward") != "1500000udeai" || attr(sl, "burned") != "1500000udeai" {
		t.Errorf("slash event %v", sl)
	}
	if e := event(t, r.Events, subnet.EventDisputeResolved); attr(e, "state") != "guilty" {
		t.Errorf("resolved event %v", e)
	}
	got := d.dispute(strconv.FormatUint(disp.ID, 10))
	if got.State != subnet.DisputeGuilty || got.ResolvedAt != resolvedAt || got.Slashed != 3_000_000 || got.Reward != 1_500_000 ||
		got.Burned != 1_500_000 || len(got.Votes) != 2 {
		t.Errorf("resolved %+v", got)
	}

	// T = 30,000,009 and 10 % of it is 3,000,000; the floor shares are
	// 999,999, 1,999,999 and 0; the 2 left over come one each from the
	// first two stakers in address order.
	stakers := []struct {
		i     int
		stake tx.Amount
		floor tx.Amount
	}{{1, cheatSelf, 999_999}, {8, cheat8, 1_999_999}, {9, cheat9, 0}}
	slices.SortFunc(stakers, func(a, b struct {
		i     int
		stake tx.Amount
		floor tx.Amount
	}) int {
		return cmpAddr(addr(a.i), addr(b.i))
	})
	for k, s := range stakers {
		want := s.stake - s.floor
		if k < 2 {
			want--
		}
		if got := d.stakeOf(cheat, s.i); got != want {
			t.Errorf("staker %d keeps %s, want %s", s.i, got, want)
		}
	}
	if got := d.neuron(cheat).Stake; got != cheatSelf+cheat8+cheat9-3_000_000 {
		t.Errorf("total stake %s", got)
	}
	if got := d.balance(addr(challenger)); got != c0-fee+1_500_000 {
		t.Errorf("challenger has %s, want %s", got, c0-fee+1_500_000)
	}
	if got := d.balance(subnet.DisputeAccount); got != 0 {
		t.Errorf("escrow holds %s", got)
	}
	after := d.supply()
	if after.Burned-before.Burned != 3*fee+1_500_000 || after.Minted != before.Minted {
		t.Errorf("burned %s, minted %s more", after.Burned-before.Burned, after.Minted-before.Minted)
	}
	if n := d.neuron(cheat); n.JailedUntil != resolvedAt+720 {
		t.Errorf("jailed until %d, want %d", n.JailedUntil, resolvedAt+720)
	}
	d.rejectWith(module.ReasonInvalid, "resolved", account(t, disp.Committee[2]), vote(account(t, disp.Committee[2]), disp.ID, false))

	// The next epoch pays the jailed miner nothing; the honest one earns.
	d.advanceTo(int64(d.info(d.netuid).NextEpoch))
	mg := d.metagraph(d.netuid)
	if m := mg.Neurons[0]; m.Incentive != 0 || m.JailedUntil != resolvedAt+720 {
		t.Errorf("jailed miner: incentive %d, jailed until %d", m.Incentive, m.JailedUntil)
	}
	if m := mg.Neurons[1]; m.Incentive == 0 || m.Emission == 0 {
		t.Errorf("honest miner: incentive %d, emission %s", m.Incentive, m.Emission)
	}
	var guilty []subnet.Dispute
	d.query("/subnet/"+itoa(d.netuid)+"/disputes?state=guilty", &guilty)
	if len(guilty) != 1 {
		t.Errorf("%d guilty disputes", len(guilty))
	}
	d.query("/subnet/"+itoa(d.netuid)+"/disputes?state=open", &open)
	if len(open) != 0 {
		t.Errorf("%d open disputes", len(open))
	}
}

func TestDisputeInnocent(t *testing.T) {
	d := newDisputeNet(t, "innocent", nil)
	before := d.supply()
	c0 := d.balance(addr(challenger))
	const bond = tx.Amount(tx.UnitsPerDEAI + 1)
	disp := d.open(challenger, d.receipt(honest, "prompt", "right"), "prompt", bond)
	v0, v1 := account(t, disp.Committee[0]), account(t, disp.Committee[1])
	b0, b1 := d.balance(addr(v0)), d.balance(addr(v1))
	d.ok(v0, vote(v0, disp.ID, false))
	r := d.ok(v1, vote(v1, disp.ID, false))
	if e := event(t, r.Events, subnet.EventDisputeResolved); attr(e, "state") != "innocent" {
		t.Errorf("resolved event %v", e)
	}
	if got := d.dispute(strconv.FormatUint(disp.ID, 10)); got.State != subnet.DisputeInnocent || got.Slashed != 0 {
		t.Errorf("resolved %+v", got)
	}
	if g0, g1 := d.balance(addr(v0)), d.balance(addr(v1)); g0 != b0-fee+bond/2 || g1 != b1-fee+bond/2 {
		t.Errorf("innocent voters got %s and %s, want %s each", g0-b0+fee, g1-b1+fee, bond/2)
	}
	if got := d.balance(addr(challenger)); got != c0-fee-bond {
		t.Errorf("challenger has %s, want %s", got, c0-fee-bond)
	}
	if after := d.supply(); after.Burned-before.Burned != 3*fee+1 {
		t.Errorf("burned %s, want the fees and the 1udeai remainder", after.Burned-before.Burned)
	}
	if n := d.neuron(honest); n.JailedUntil != 0 {
		t.Errorf("innocent miner jailed until %d", n.JailedUntil)
	}
}

func TestDisputeInconclusive(t *testing.T) {
	d := newDisputeNet(t, "inconclusive", nil)
	c0 := d.balance(addr(challenger))
	disp := d.open(challenger, d.receipt(cheat, "prompt", "maybe"), "prompt", tx.UnitsPerDEAI)
	c := []int{account(t, disp.Committee[0]), account(t, disp.Committee[1]), account(t, disp.Committee[2])}
	d.ok(c[0], vote(c[0], disp.ID, true))
	d.ok(c[1], vote(c[1], disp.ID, false))
	d.rejectWith(module.ReasonInvalid, "already voted", c[1], vote(c[1], disp.ID, true))
	d.advanceTo(int64(disp.Deadline))
	if got := d.dispute("1"); got.State != subnet.DisputeOpen {
		t.Fatalf("state %s at the deadline", got.State)
	}
	d.rejectWith(module.ReasonInvalid, "closed", c[2], vote(c[2], disp.ID, true))
	got := d.dispute("1")
	if got.State != subnet.DisputeInconclusive || got.ResolvedAt != disp.Deadline+1 {
		t.Errorf("after the deadline: %+v", got)
	}
	if b := d.balance(addr(challenger)); b != c0-fee {
		t.Errorf("challenger has %s, want the bond back (%s)", b, c0-fee)
	}
	if b := d.balance(subnet.DisputeAccount); b != 0 {
		t.Errorf("escrow holds %s", b)
	}
	d.rejectWith(module.ReasonInvalid, "resolved", c[2], vote(c[2], disp.ID, true))
	if n := d.neuron(cheat); n.JailedUntil != 0 {
		t.Errorf("jailed until %d", n.JailedUntil)
	}
}

func TestDisputeRejections(t *testing.T) {
	d := newDisputeNet(t, "rejections", func(p *subnet.Params) { p.ReceiptTTL = 10 })
	bond := subnet.DefaultParams().DisputeBond
	good := func() []byte { return d.receipt(cheat, "prompt", "x") }
	forged := func() []byte {
		r := good()
		r[len(r)-1] ^= 1
		return r
	}
	tampered := func() []byte {
		r := d.receipt(cheat, "prompt", "xyz")
		r[bytes.Index(r, []byte("xyz"))] = 'X'
		return r
	}
	at := func(miner int, netuid uint16, dt int64) []byte {
		return receiptAt(miner, netuid, []byte("prompt"), "x", d.nowMs()+dt)
	}
	open := func(from int, receipt func() []byte, request string, bond tx.Amount) func() tx.Msg {
		return func() tx.Msg { return d.openMsg(from, receipt(), request, bond) }
	}
	tests := []struct {
		name   string
		from   int
		msg    func() tx.Msg
		want   module.Reason
		substr string
	}{
		{"malformed receipt", challenger, open(challenger, func() []byte { return []byte{1, 2, 3} }, "prompt", bond), module.ReasonInvalid, "decode receipt"},
		{"forged signature", challenger, open(challenger, forged, "prompt", bond), module.ReasonBadSignature, "signature"},
		{"tampered receipt", challenger, open(challenger, tampered, "prompt", bond), module.ReasonBadSignature, "signature"},
		{"request does not match", challenger, open(challenger, good, "other prompt", bond), module.ReasonInvalid, "request hash"},
		{"expired", challenger, open(challenger, func() []byte { return at(cheat, d.netuid, -10_001) }, "prompt", bond), module.ReasonInvalid, "expired"},
		{"future", challenger, open(challenger, func() []byte { return at(cheat, d.netuid, 300_001) }, "prompt", bond), module.ReasonInvalid, "after the block time"},
		{"miner not a neuron", challenger, open(challenger, func() []byte { return at(10, d.netuid, 0) }, "prompt", bond), module.ReasonNotFound, "not a neuron"},
		{"wrong netuid", challenger, open(challenger, func() []byte { return at(cheat, d.netuid+1, 0) }, "prompt", bond), module.ReasonInvalid, "is for subnet"},
		{"unknown subnet", challenger, func() tx.Msg {
			return &subnet.MsgOpenDispute{Challenger: addr(challenger), Netuid: 9, Receipt: good(), Request: []byte("prompt"), Bond: bond}
		}, module.ReasonNotFound, "subnet 9"},
		{"bond too small", challenger, open(challenger, good, "prompt", bond-1), module.ReasonInvalid, "dispute_bond"},
		{"bond unaffordable", challenger, open(challenger, good, "prompt", funds), module.ReasonInsufficientFunds, ""},
		{"own receipt", cheat, open(cheat, good, "prompt", bond), module.ReasonInvalid, "own receipt"},
		{"challenger is not the signer", 10, open(challenger, good, "prompt", bond), module.ReasonUnauthorized, ""},
		{"unknown dispute", 3, func() tx.Msg { return vote(3, 99, true) }, module.ReasonNotFound, "dispute 99"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.t = t
			d.rejectWith(tt.want, tt.substr, tt.from, tt.msg())
		})
	}
	d.t = t

	t.Run("too few eligible voters", func(t *testing.T) {
		d.t = t
		defer func() { d.t = t }()
		// Validator 3 challenging leaves 4, 5 and 6: enough for 3, not 4.
		d.setParams(0, d.netuid, func(p *subnet.Params) { p.CommitteeSize = 4 })
		d.rejectWith(module.ReasonInvalid, "eligible", 3, d.openMsg(3, d.receipt(cheat, "prompt", "x"), "prompt", bond))
		d.setParams(0, d.netuid, func(p *subnet.Params) { p.CommitteeSize = 3 })
	})
	d.t = t

	disp := d.open(challenger, d.receipt(cheat, "prompt", "x"), "prompt", bond)
	t.Run("duplicate", func(t *testing.T) {
		d.t = t
		// The same receipt, even with its signature re-sent, is disputed once.
		r := receiptAt(cheat, d.netuid, []byte("prompt"), "x", int64(disp.OpenedAt)*1000)
		d.rejectWith(module.ReasonInvalid, "already disputed", 10, d.openMsg(10, r, "prompt", bond))
	})
	d.t = t
	outsider := slices.IndexFunc(validators, func(v int) bool { return !slices.Contains(disp.Committee, addr(v)) })
	t.Run("voter not in committee", func(t *testing.T) {
		d.t = t
		d.rejectWith(module.ReasonUnauthorized, "not on the committee", validators[outsider], vote(validators[outsider], disp.ID, true))
		d.rejectWith(module.ReasonUnauthorized, "not on the committee", challenger, vote(challenger, disp.ID, true))
	})
	d.t = t
}

// TestCommitteeDraw: the committee excludes the miner and the challenger,
// is the same on a replay and changes with the block hash.
func TestCommitteeDraw(t *testing.T) {
	draw := func(salt string, from int) ([]tx.Address, [][]byte) {
		d := newDisputeNet(t, salt, nil)
		disp := d.open(from, d.receipt(cheat, "prompt", "x"), "prompt", tx.UnitsPerDEAI)
		return disp.Committee, d.hashes
	}
	// Validator 3 challenging miner 1 leaves exactly 4, 5 and 6.
	c, _ := draw("a", 3)
	slices.SortFunc(c, cmpAddr)
	want := []tx.Address{addr(4), addr(5), addr(6)}
	slices.SortFunc(want, cmpAddr)
	if !slices.Equal(c, want) {
		t.Errorf("committee %v, want 4, 5 and 6", c)
	}

	a, ha := draw("a", challenger)
	b, hb := draw("a", challenger)
	if !slices.Equal(a, b) {
		t.Errorf("same blocks, committees %v and %v", a, b)
	}
	if len(ha) != len(hb) {
		t.Fatalf("%d and %d blocks", len(ha), len(hb))
	}
	for i := range ha {
		if !bytes.Equal(ha[i], hb[i]) {
			t.Fatalf("block %d: app hashes differ", i+1)
		}
	}
	seen := map[string]bool{}
	for _, salt := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		c, _ := draw(salt, challenger)
		if slices.Contains(c, addr(cheat)) || slices.Contains(c, addr(challenger)) || len(c) != 3 {
			t.Errorf("committee %v", c)
		}
		seen[join(c)] = true
	}
	if len(seen) < 2 {
		t.Errorf("eight block hashes drew one committee: %v", seen)
	}
}

func cmpAddr(a, b tx.Address) int { return bytes.Compare(a[:], b[:]) }

func join(as []tx.Address) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, ",")
}

func TestEquivocation(t *testing.T) {
	d := newDisputeNet(t, "equivocation", nil)
	before := d.supply()
	r0 := d.balance(addr(10))
	a, b := d.receipt(cheat, "prompt", "one"), d.receipt(cheat, "prompt", "two")
	eq := func(a, b []byte) *subnet.MsgEquivocation {
		return &subnet.MsgEquivocation{Reporter: addr(10), ReceiptA: a, ReceiptB: b}
	}
	tests := []struct {
		name   string
		msg    *subnet.MsgEquivocation
		want   module.Reason
		substr string
	}{
		{"equal digests", eq(a, d.receipt(cheat, "prompt", "one")), module.ReasonInvalid, "agree"},
		{"two miners", eq(a, d.receipt(honest, "prompt", "two")), module.ReasonInvalid, "two miners"},
		{"two requests", eq(a, d.receipt(cheat, "other", "two")), module.ReasonInvalid, "two requests"},
		{"two subnets", eq(a, receiptAt(cheat, d.netuid+1, []byte("prompt"), "two", d.nowMs())), module.ReasonInvalid, "subnets"},
		{"forged", eq(a, append(bytes.Clone(b[:len(b)-1]), b[len(b)-1]^1)), module.ReasonBadSignature, "signature"},
		{"malformed", eq(a, []byte{9}), module.ReasonInvalid, "decode"},
		{"miner not a neuron", eq(d.receipt(11, "prompt", "one"), d.receipt(11, "prompt", "two")), module.ReasonNotFound, "not registered"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d.t = t
			d.rejectWith(tt.want, tt.substr, 10, tt.msg)
		})
	}
	d.t = t
	d.rejectWith(module.ReasonInvalid, "report itself", cheat, &subnet.MsgEquivocation{Reporter: addr(cheat), ReceiptA: a, ReceiptB: b})

	r := d.ok(10, eq(a, b))
	sl := event(t, r.Events, subnet.EventSlashed)
	if attr(sl, "amount") != "3000000udeai" || attr(sl, "reward") != "1500000udeai" || attr(sl, "cause") != "equivocation" {
		t.Errorf("slash event %v", sl)
	}
	if n := d.neuron(cheat); n.JailedUntil != uint64(d.height)+720 || n.Stake != cheatSelf+cheat8+cheat9-3_000_000 {
		t.Errorf("after equivocation: jailed until %d, stake %s", n.JailedUntil, n.Stake)
	}
	if got := d.balance(addr(10)); got != r0-8*fee+1_500_000 { // 7 rejected reports and this one
		t.Errorf("reporter has %s", got)
	}
	if after := d.supply(); after.Burned-before.Burned != 9*fee+1_500_000 {
		t.Errorf("burned %s", after.Burned-before.Burned)
	}
	// Once per (miner, request): other receipts of the same pair too.
	d.rejectWith(module.ReasonInvalid, "already slashed", 11, &subnet.MsgEquivocation{Reporter: addr(11), ReceiptA: b, ReceiptB: d.receipt(cheat, "prompt", "three")})
}

// TestDisputeDeterminism replays a dispute's blocks, committee draw and
// slash on two fresh ledgers and compares every app hash.
func TestDisputeDeterminism(t *testing.T) {
	run := func() [][]byte {
		d := newDisputeNet(t, "replay", nil)
		disp := d.open(challenger, d.receipt(cheat, "prompt", "x"), "prompt", tx.UnitsPerDEAI)
		for _, c := range disp.Committee[:2] {
			d.ok(account(t, c), vote(account(t, c), disp.ID, true))
		}
		d.open(challenger, d.receipt(honest, "prompt", "y"), "prompt", tx.UnitsPerDEAI)
		d.advanceTo(d.height + 25)
		return d.hashes
	}
	a, b := run(), run()
	if len(a) != len(b) {
		t.Fatalf("%d and %d blocks", len(a), len(b))
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Fatalf("block %d: app hashes differ", i+1)
		}
	}
}

func TestDisputeQueries(t *testing.T) {
	d := newDisputeNet(t, "queries", nil)
	d.open(challenger, d.receipt(cheat, "p1", "x"), "p1", tx.UnitsPerDEAI)
	d.open(challenger, d.receipt(honest, "p2", "y"), "p2", tx.UnitsPerDEAI)
	var all []subnet.Dispute
	d.query("/subnet/"+itoa(d.netuid)+"/disputes", &all)
	if len(all) != 2 || all[0].ID != 1 || all[1].ID != 2 {
		t.Fatalf("disputes %+v", all)
	}
	d.query("/subnet/"+itoa(d.netuid)+"/disputes?after=1&limit=5", &all)
	if len(all) != 1 || all[0].ID != 2 {
		t.Errorf("after 1: %+v", all)
	}
	d.query("/subnet/"+itoa(d.netuid)+"/disputes?state=innocent", &all)
	if len(all) != 0 {
		t.Errorf("innocent: %+v", all)
	}
	for _, p := range []string{"/subnet/" + itoa(d.netuid) + "/disputes?state=lost", "/subnet/dispute/x", "/subnet/9/disputes"} {
		if _, err := d.l.Query(p); err == nil {
			t.Errorf("%s: no error", p)
		}
	}
	if _, err := d.l.Query("/subnet/dispute/3"); module.ReasonOf(err) != module.ReasonNotFound {
		t.Errorf("dispute 3: %v", err)
	}
}
