package subnet_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/abciapp"
	"github.com/deai-network/deai/internal/abciapp/abciapptest"
	"github.com/deai-network/deai/internal/chain/chaintest"
	"github.com/deai-network/deai/internal/ledger"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/subnet"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
)

// ledgerTwin is the real ledger (abciapp with the subnet module) behind
// the in-memory chain twin in Immediate mode: every tx gets its own block
// at once, and the test makes empty blocks to reach epochs.
type ledgerTwin struct {
	t *testing.T
	c *chaintest.Client
}

func newLedgerTwin(t *testing.T, funded ...*wallet.Key) *ledgerTwin {
	t.Helper()
	return &ledgerTwin{t: t, c: abciapptest.Twin(t, []ledger.Module{lsubnet.New()}, abciapptest.Accounts(funded)...)}
}

// send signs msgs from k and requires the tx to be committed with code 0.
func (l *ledgerTwin) send(k *wallet.Key, msgs ...tx.Msg) {
	l.t.Helper()
	ctx := l.t.Context()
	var acct ledger.Account
	l.query("/account/"+k.Address().String(), &acct)
	x, err := tx.Builder{ChainID: chaintest.DefaultChainID, Nonce: acct.Nonce, Fee: ledger.DefaultParams().MinFee, Msgs: msgs}.Sign(k.PrivateKey())
	if err != nil {
		l.t.Fatal(err)
	}
	raw, err := x.Encode()
	if err != nil {
		l.t.Fatal(err)
	}
	r, err := l.c.BroadcastCommit(ctx, raw)
	if err != nil || r.Code != 0 {
		l.t.Fatalf("tx %T: code %d %s, err %v", msgs[0], r.Code, r.Log, err)
	}
}

func (l *ledgerTwin) query(path string, v any) {
	l.t.Helper()
	r, err := l.c.Query(l.t.Context(), path, nil)
	if err != nil || r.Code != 0 {
		l.t.Fatalf("query %s: code %d %s, err %v", path, r.Code, r.Log, err)
	}
	if err := json.Unmarshal(r.Value, v); err != nil {
		l.t.Fatalf("query %s: %v", path, err)
	}
}

// untilEpoch makes empty blocks until the subnet has run epoch n.
func (l *ledgerTwin) untilEpoch(netuid uint16, n uint64) {
	l.t.Helper()
	for range 1000 {
		var info lsubnet.SubnetInfo
		l.query(fmt.Sprintf("/subnet/%d", netuid), &info)
		if info.Epoch >= n {
			return
		}
		if _, err := l.c.NextBlock(l.t.Context()); err != nil {
			l.t.Fatal(err)
		}
	}
	l.t.Fatalf("subnet %d did not reach epoch %d in 1000 blocks", netuid, n)
}

// testParams are fast subnet params: tempo 10, no rate limit.
func testParams(commitReveal bool) lsubnet.Params {
	p := lsubnet.DefaultParams()
	p.Tempo, p.WeightsRateLimit, p.CommitReveal = 10, 0, commitReveal
	return p
}

const testDigestHex = "7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730"

// TestLedgerChain drives LedgerChain against the real ledger through the
// chain twin: register, serve, the metagraph, plain weights and their
// effect on an epoch, commit then reveal, and the ledger's refusals as
// ErrTxRejected.
func TestLedgerChain(t *testing.T) {
	ctx := t.Context()
	owner, miner, poor := key(t, 1), key(t, 2), key(t, 3)
	l := newLedgerTwin(t, owner, miner)
	digest, err := lsubnet.ParseDigest(testDigestHex)
	if err != nil {
		t.Fatal(err)
	}
	l.send(owner, &lsubnet.MsgCreateSubnet{Owner: owner.Address(), Name: "stories", TaskType: subnet.TaskTextGeneration, Digests: []lsubnet.Digest{digest}})
	l.send(owner, &lsubnet.MsgSetSubnetParams{Owner: owner.Address(), Netuid: 1, Params: testParams(false)})

	mc, oc := subnet.NewLedgerChain(l.c, miner), subnet.NewLedgerChain(l.c, owner)
	if err := mc.Register(ctx, 1); err != nil {
		t.Fatalf("register miner: %v", err)
	}
	serving := subnet.ServeInfo{Endpoint: "http://127.0.0.1:9000", ProtocolVersion: subnet.ProtocolVersion, ModelDigest: testDigestHex, Region: "eu-west"}
	if err := mc.Serve(ctx, 1, serving); err != nil {
		t.Fatalf("serve: %v", err)
	}
	if err := oc.Register(ctx, 1); err != nil {
		t.Fatalf("register owner: %v", err)
	}
	stake := tx.Amount(50 * tx.UnitsPerDEAI)
	l.send(owner, &lsubnet.MsgAddStake{Staker: owner.Address(), Hotkey: owner.Address(), Netuid: 1, Amount: stake})

	head, err := mc.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if head.Height != l.c.Height() || len(head.Hash) == 0 {
		t.Errorf("head = %+v, twin height %d", head, l.c.Height())
	}
	mg, err := mc.Metagraph(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := subnet.Metagraph{Netuid: 1, Block: head.Height, TaskType: subnet.TaskTextGeneration, Tempo: 10, RevealDelay: 1,
		Neurons: []subnet.Neuron{
			{UID: 0, Hotkey: miner.Address(), Serving: serving},
			{UID: 1, Hotkey: owner.Address(), Stake: stake},
		}}
	if diff := cmp.Diff(want, mg); diff != "" {
		t.Errorf("metagraph (-want +got):\n%s", diff)
	}

	// Refusals come back as ErrTxRejected with the ledger's reason.
	for name, err := range map[string]error{
		"register twice":       mc.Register(ctx, 1),
		"digest not allowed":   mc.Serve(ctx, 1, subnet.ServeInfo{Endpoint: "http://127.0.0.1:9001", ModelDigest: strings.Repeat("ab", 32)}),
		"no account":           subnet.NewLedgerChain(l.c, poor).Register(ctx, 1),
		"weights unknown uid":  oc.SetWeights(ctx, 1, subnet.Weights{UIDs: []uint16{7}, Values: []uint16{1}}),
		"miner without permit": mc.SetWeights(ctx, 1, subnet.Weights{UIDs: []uint16{1}, Values: []uint16{1}}),
	} {
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if name != "no account" && !errors.Is(err, subnet.ErrTxRejected) {
			t.Errorf("%s: %v, want ErrTxRejected", name, err)
		}
	}

	// The owner needs no permit: its weights give the miner the whole
	// incentive at the next epoch.
	if err := oc.SetWeights(ctx, 1, subnet.Weights{UIDs: []uint16{0}, Values: []uint16{65535}}); err != nil {
		t.Fatalf("set weights: %v", err)
	}
	l.untilEpoch(1, 1)
	if mg, err = mc.Metagraph(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if m, o := mg.Neurons[0], mg.Neurons[1]; mg.Epoch != 1 || m.Incentive != 1 || o.Incentive != 0 || o.Dividends != 1 || !o.ValidatorPermit {
		t.Errorf("after an epoch: epoch %d, miner %+v, owner %+v; want the miner's incentive and the owner's dividends at 1", mg.Epoch, m, o)
	}

	// Commit-reveal: plain weights are refused, a commit is revealed one
	// epoch later with the same weights and salt, and only then.
	l.send(owner, &lsubnet.MsgSetSubnetParams{Owner: owner.Address(), Netuid: 1, Params: testParams(true)})
	if mg, err = oc.Metagraph(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if !mg.CommitReveal || mg.RevealDelay != 1 {
		t.Errorf("metagraph commit-reveal %v delay %d, want on and 1", mg.CommitReveal, mg.RevealDelay)
	}
	w, salt := subnet.Weights{UIDs: []uint16{0, 1}, Values: []uint16{65535, 100}}, []byte("sixteen byte salt")
	if err := oc.SetWeights(ctx, 1, w); !errors.Is(err, subnet.ErrTxRejected) {
		t.Errorf("set weights under commit-reveal: %v, want ErrTxRejected", err)
	}
	if err := oc.CommitWeights(ctx, 1, w, salt); err != nil {
		t.Fatalf("commit: %v", err)
	}
	var commits []lsubnet.CommitInfo
	l.query("/subnet/1/commits/"+owner.Address().String(), &commits)
	if len(commits) != 1 || commits[0].RevealEpoch != 2 {
		t.Fatalf("commits = %+v, want one due at epoch 2", commits)
	}
	if err := oc.RevealWeights(ctx, 1, w, salt); !errors.Is(err, subnet.ErrTxRejected) ||
		!strings.Contains(err.Error(), fmt.Sprintf("(code %d)", abciapp.CodeRateLimited)) {
		t.Errorf("reveal before its epoch: %v, want a rate_limited rejection", err)
	}
	l.untilEpoch(1, 2)
	if err := oc.RevealWeights(ctx, 1, w, []byte("another salt")); !errors.Is(err, subnet.ErrTxRejected) {
		t.Errorf("reveal with the wrong salt: %v, want ErrTxRejected", err)
	}
	if err := oc.RevealWeights(ctx, 1, subnet.Weights{UIDs: w.UIDs, Values: []uint16{65535, 101}}, salt); !errors.Is(err, subnet.ErrTxRejected) {
		t.Errorf("reveal with other weights: %v, want ErrTxRejected", err)
	}
	if err := oc.RevealWeights(ctx, 1, w, salt); err != nil {
		t.Fatalf("reveal: %v", err)
	}
	l.query("/subnet/1/commits/"+owner.Address().String(), &commits)
	if len(commits) != 0 {
		t.Errorf("commits after the reveal = %+v, want none", commits)
	}
	var ni lsubnet.NeuronInfo
	l.query("/subnet/1/neuron/"+owner.Address().String(), &ni)
	if diff := cmp.Diff([]lsubnet.Cell{{UID: 0, Value: 65535}, {UID: 1, Value: 100}}, ni.Weights); diff != "" {
		t.Errorf("owner's weights after the reveal (-want +got):\n%s", diff)
	}
}
