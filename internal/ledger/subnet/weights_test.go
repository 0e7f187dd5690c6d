package subnet_test

import (
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/ledger/module"
	"github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/tx"
)

// validatorNet is a subnet with tempo 10 owned by account 0 (not a
// neuron): account 1 is uid 0, a validator with 100 DEAI of stake, and
// accounts 2, 3 and 4 are miners at uids 1, 2 and 3. edit adjusts the
// params. It returns after the first epoch handed out the permits.
func validatorNet(t *testing.T, edit func(*subnet.Params)) (*harness, uint16) {
	h := newHarness(t, genesis(t, 6, nil))
	netuid := h.createSubnet(0)
	h.setParams(0, netuid, func(p *subnet.Params) {
		fastParams(p)
		if edit != nil {
			edit(p)
		}
	})
	for i := 1; i <= 4; i++ {
		h.ok(i, register(i, netuid))
	}
	h.ok(1, stake(1, 1, netuid, 100*tx.UnitsPerDEAI))
	next := int64(h.info(netuid).NextEpoch)
	h.advanceTo(next)
	var n subnet.NeuronInfo
	h.query("/subnet/1/neuron/"+addr(1).String(), &n)
	if !n.ValidatorPermit {
		t.Fatalf("validator has no permit after the epoch at %d: %+v", next, n)
	}
	return h, netuid
}

func TestSetWeights(t *testing.T) {
	h, netuid := validatorNet(t, func(p *subnet.Params) { p.WeightsRateLimit = 5 })
	// A miner without a permit may only weight itself.
	h.reject(module.ReasonUnauthorized, 2, weights(2, netuid, []uint16{2}, []uint16{1}))
	h.ok(2, weights(2, netuid, []uint16{1}, []uint16{1}))

	h.ok(1, weights(1, netuid, []uint16{3, 1, 2}, []uint16{10, 40, 20}))
	var n subnet.NeuronInfo
	h.query("/subnet/1/neuron/"+addr(1).String(), &n)
	want := []subnet.Cell{{UID: 1, Value: 65535}, {UID: 2, Value: 32768}, {UID: 3, Value: 16384}}
	if len(n.Weights) != 3 || n.Weights[0] != want[0] || n.Weights[1] != want[1] || n.Weights[2] != want[2] || n.LastUpdate != uint64(h.height) {
		t.Errorf("stored weights %+v (last update %d), want %+v at %d", n.Weights, n.LastUpdate, want, h.height)
	}
	set := h.height

	tests := []struct {
		name string
		from int
		msg  *subnet.MsgSetWeights
		want module.Reason
		log  string
	}{
		{"rate limit", 1, weights(1, netuid, []uint16{1}, []uint16{1}), module.ReasonRateLimited, "rate limit"},
		{"unknown uid", 1, weights(1, netuid, []uint16{1, 9}, []uint16{1, 1}), module.ReasonInvalid, "uid 9"},
		{"length mismatch", 1, weights(1, netuid, []uint16{1, 2}, []uint16{1}), module.ReasonInvalid, "lengths"},
		{"all zero", 1, weights(1, netuid, []uint16{1, 2}, []uint16{0, 0}), module.ReasonInvalid, "zero"},
		{"duplicate uid", 1, weights(1, netuid, []uint16{1, 1}, []uint16{1, 2}), module.ReasonInvalid, "twice"},
		{"empty", 1, weights(1, netuid, nil, nil), module.ReasonInvalid, "want 1"},
		{"unregistered hotkey", 5, weights(5, netuid, []uint16{1}, []uint16{1}), module.ReasonNotFound, "not registered"},
		{"unknown subnet", 1, weights(1, 9, []uint16{1}, []uint16{1}), module.ReasonNotFound, "subnet 9"},
		{"hotkey is not the signer", 2, weights(1, netuid, []uint16{1}, []uint16{1}), module.ReasonUnauthorized, "signed by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.t = t
			r := h.reject(tt.want, tt.from, tt.msg)
			if !strings.Contains(r.Log, tt.log) {
				t.Errorf("log %q does not mention %q", r.Log, tt.log)
			}
		})
	}
	h.t = t
	h.advanceTo(set + 4)
	h.ok(1, weights(1, netuid, []uint16{1}, []uint16{7})) // 5 blocks after the last set

	// The owner needs no permit once registered; with commit-reveal on,
	// plain sets are refused.
	h.reject(module.ReasonNotFound, 0, weights(0, netuid, []uint16{1}, []uint16{1}))
	h.ok(0, register(0, netuid))
	h.ok(0, weights(0, netuid, []uint16{1, 4}, []uint16{1, 1}))
	h.setParams(0, netuid, func(p *subnet.Params) { p.CommitReveal = true })
	r := h.reject(module.ReasonInvalid, 1, weights(1, netuid, []uint16{1}, []uint16{1}))
	if !strings.Contains(r.Log, "commit-reveal") {
		t.Errorf("log %q", r.Log)
	}
}

func TestCommitReveal(t *testing.T) {
	h, netuid := validatorNet(t, func(p *subnet.Params) { p.CommitReveal = true })
	uids, ws, salt := []uint16{1, 2}, []uint16{3, 1}, []byte("pepper-salt-0001")
	hash := subnet.CommitHash(netuid, addr(1), uids, ws, salt)
	reveal := func(uids, ws []uint16, salt []byte) *subnet.MsgRevealWeights {
		return &subnet.MsgRevealWeights{Hotkey: addr(1), Netuid: netuid, UIDs: uids, Weights: ws, Salt: salt}
	}
	commit := func(h2 subnet.Digest) *subnet.MsgCommitWeights {
		return &subnet.MsgCommitWeights{Hotkey: addr(1), Netuid: netuid, Hash: h2}
	}
	h.ok(1, commit(hash))
	committed := uint64(h.height)
	h.reject(module.ReasonInvalid, 1, commit(hash)) // already pending
	var cs []subnet.CommitInfo
	h.query("/subnet/1/commits/"+addr(1).String(), &cs)
	if len(cs) != 1 || cs[0].Hash != hash || cs[0].Block != committed || cs[0].RevealEpoch != cs[0].Epoch+1 {
		t.Fatalf("commits %+v", cs)
	}
	// Too early: the reveal window is the next epoch.
	h.reject(module.ReasonRateLimited, 1, reveal(uids, ws, salt))
	h.advanceTo(int64(h.info(netuid).NextEpoch))
	if e := h.info(netuid).Epoch; e != cs[0].RevealEpoch {
		t.Fatalf("epoch %d, want %d", e, cs[0].RevealEpoch)
	}
	for name, m := range map[string]*subnet.MsgRevealWeights{
		"wrong salt":    reveal(uids, ws, []byte("pepper-salt-0002")),
		"wrong weights": reveal(uids, []uint16{3, 2}, salt),
		"wrong uids":    reveal([]uint16{1, 3}, ws, salt),
	} {
		r := h.reject(module.ReasonInvalid, 1, m)
		if !strings.Contains(r.Log, "matches none") {
			t.Errorf("%s: log %q", name, r.Log)
		}
	}
	// Another hotkey cannot reveal it either: the hash binds the hotkey.
	h.reject(module.ReasonInvalid, 2, &subnet.MsgRevealWeights{Hotkey: addr(2), Netuid: netuid, UIDs: uids, Weights: ws, Salt: salt})
	h.ok(1, reveal(uids, ws, salt))
	var n subnet.NeuronInfo
	h.query("/subnet/1/neuron/"+addr(1).String(), &n)
	if len(n.Weights) != 2 || n.Weights[0] != (subnet.Cell{UID: 1, Value: 65535}) || n.LastUpdate != uint64(h.height) {
		t.Errorf("weights after the reveal %+v, last update %d (block %d)", n.Weights, n.LastUpdate, h.height)
	}
	h.reject(module.ReasonInvalid, 1, reveal(uids, ws, salt)) // revealed once only

	// An unrevealed commit is dropped when its window passes.
	h.ok(1, commit(subnet.CommitHash(netuid, addr(1), uids, ws, []byte("never-revealed"))))
	h.advanceTo(int64(h.info(netuid).NextEpoch))
	h.query("/subnet/1/commits/"+addr(1).String(), &cs)
	if len(cs) != 1 {
		t.Fatalf("commit dropped too early: %+v", cs)
	}
	next := int64(h.info(netuid).NextEpoch)
	h.advanceTo(next - 1)
	res := h.block()
	dropped := false
	for _, e := range res.Events {
		dropped = dropped || (e.Type == subnet.EventCommitsDropped && attr(e, "count") == "1")
	}
	h.query("/subnet/1/commits/"+addr(1).String(), &cs)
	if !dropped || len(cs) != 0 {
		t.Errorf("after the window: dropped event %v, commits %+v", dropped, cs)
	}
	h.reject(module.ReasonInvalid, 1, reveal(uids, ws, []byte("never-revealed")))

	// At most MaxCommits unrevealed commits.
	for k := range subnet.MaxCommits {
		h.ok(1, commit(subnet.Digest{byte(k + 1)}))
	}
	h.reject(module.ReasonRateLimited, 1, commit(subnet.Digest{0xff}))

	// Commit and reveal need commit-reveal on.
	h.setParams(0, netuid, func(p *subnet.Params) { p.CommitReveal = false })
	h.reject(module.ReasonInvalid, 1, commit(subnet.Digest{0xfe}))
	h.reject(module.ReasonInvalid, 1, reveal(uids, ws, salt))
}

func TestCommitRateLimit(t *testing.T) {
	h, netuid := validatorNet(t, func(p *subnet.Params) { p.CommitReveal, p.WeightsRateLimit = true, 3 })
	commit := func(b byte) *subnet.MsgCommitWeights {
		return &subnet.MsgCommitWeights{Hotkey: addr(1), Netuid: netuid, Hash: subnet.Digest{b}}
	}
	h.ok(1, commit(1))
	at := h.height
	h.reject(module.ReasonRateLimited, 1, commit(2))
	h.advanceTo(at + 2)
	h.ok(1, commit(3))
}
