package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"testing"

	"github.com/deai-network/deai/internal/abciapp/abciapptest"
	"github.com/deai-network/deai/internal/chain/chaintest"
	"github.com/deai-network/deai/internal/ledger"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/subnet"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/wallet"
	"github.com/deai-network/deai/internal/wire"
)

const modelPath = "../../../shared/models/stories260K.gguf"

func testKey(t *testing.T, seed byte) *wallet.Key {
	t.Helper()
	k, err := wallet.FromSeed(bytes.Repeat([]byte{seed}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// e2eChain is a one-node chain: the real ABCI app with the subnet module
// behind the in-memory chain twin. In Immediate mode each tx is committed
// in its own block before BroadcastCommit returns; the test makes the empty
// blocks between them, so heights and epochs are exactly under its control.
type e2eChain struct {
	t *testing.T
	c *chaintest.Client
}

func newE2EChain(t *testing.T, funded []*wallet.Key) *e2eChain {
	t.Helper()
	return &e2eChain{t: t, c: abciapptest.Twin(t, []ledger.Module{lsubnet.New()}, abciapptest.Accounts(funded)...)}
}

// send commits msgs signed by k and returns the block height.
func (e *e2eChain) send(k *wallet.Key, msgs ...tx.Msg) int64 {
	e.t.Helper()
	var acct ledger.Account
	e.query("/account/"+k.Address().String(), &acct)
	x, err := tx.Builder{ChainID: chaintest.DefaultChainID, Nonce: acct.Nonce, Fee: ledger.DefaultParams().MinFee, Msgs: msgs}.Sign(k.PrivateKey())
	if err != nil {
		e.t.Fatal(err)
	}
	raw, err := x.Encode()
	if err != nil {
		e.t.Fatal(err)
	}
	r, err := e.c.BroadcastCommit(e.t.Context(), raw)
	if err != nil || r.Code != 0 {
		e.t.Fatalf("tx %T: code %d %s, err %v", msgs[0], r.Code, r.Log, err)
	}
	return r.Height
}

func (e *e2eChain) query(path string, v any) {
	e.t.Helper()
	r, err := e.c.Query(e.t.Context(), path, nil)
	if err != nil || r.Code != 0 {
		e.t.Fatalf("query %s: code %d %s, err %v", path, r.Code, r.Log, err)
	}
	if err := json.Unmarshal(r.Value, v); err != nil {
		e.t.Fatalf("query %s: %v", path, err)
	}
}

// untilEpoch makes empty blocks until subnet 1 has run n epochs.
func (e *e2eChain) untilEpoch(n uint64) lsubnet.SubnetInfo {
	e.t.Helper()
	for range 1000 {
		var info lsubnet.SubnetInfo
		e.query("/subnet/1", &info)
		if info.Epoch >= n {
			return info
		}
		if _, err := e.c.NextBlock(e.t.Context()); err != nil {
			e.t.Fatal(err)
		}
	}
	e.t.Fatalf("subnet 1 did not reach epoch %d in 1000 blocks", n)
	return lsubnet.SubnetInfo{}
}

// garbageBackend answers every completion with the right shape (an
// OpenAI text_completion with usage) but the wrong text; the miner in
// front of it still signs a valid receipt.
func garbageBackend() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body) //nolint:errcheck // the request does not matter
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{ //nolint:errcheck // written to the receipt writer's buffer
			"id": "cmpl-garbage", "object": "text_completion", "created": 0, "model": "stories260K",
			"choices": []map[string]any{{"index": 0, "text": " the the the the the the the the", "finish_reason": "length"}},
			"usage":   map[string]int{"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
		})
	})
}

// startMiner announces a miner (register and serve, committed before it
// returns) and serves it on 127.0.0.1:0 until the test ends.
func startMiner(t *testing.T, e *e2eChain, k *wallet.Key, backend http.Handler, digest string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	m, err := subnet.NewMiner(subnet.MinerOptions{Netuid: 1, Key: k, Chain: subnet.NewLedgerChain(e.c, k), Backend: backend,
		ModelDigest: digest, Region: "local", Listener: ln})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := m.Announce(ctx); err != nil {
		cancel()
		ln.Close()
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("miner %s: %v", k.Address(), err)
		}
	})
	return "http://" + ln.Addr().String()
}

// TestSubnetEndToEnd is issue 4's end-to-end test: a one-node chain, one
// text-generation subnet allowing stories260K, one validator with stake,
// three honest miners serving stories260K through the real engine and one
// miner answering garbage with valid receipts, each a real HTTP server.
// The validator grades every tempo and sets weights with commit-reveal
// (reveal period 1, weights rate limit 0, tempo 10). After three tempos of
// grading the garbage miner's incentive is 0, the honest miners each hold
// a third of the incentive (±0.01), and the minted supply is exactly the
// emission schedule.
func TestSubnetEndToEnd(t *testing.T) {
	ctx := t.Context()
	owner, val := testKey(t, 1), testKey(t, 2)
	honest := []*wallet.Key{testKey(t, 3), testKey(t, 4), testKey(t, 5)}
	garbage := testKey(t, 6)
	e := newE2EChain(t, append([]*wallet.Key{owner, val, garbage}, honest...))

	ref, err := node.OpenSubnetEngine(node.SubnetEngineOptions{Path: modelPath, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	digest, err := lsubnet.ParseDigest(ref.Digest)
	if err != nil {
		t.Fatal(err)
	}

	// The subnet: stories260K only; tempo 10, commit-reveal on (reveal one
	// epoch later), weights rate limit 0 so a validator commits each tempo.
	created := e.send(owner, &lsubnet.MsgCreateSubnet{Owner: owner.Address(), Name: "tiny stories", TaskType: subnet.TaskTextGeneration,
		Digests: []lsubnet.Digest{digest}})
	params := lsubnet.DefaultParams()
	params.Tempo, params.WeightsRateLimit, params.CommitReveal, params.RevealPeriod = 10, 0, true, 1
	e.send(owner, &lsubnet.MsgSetSubnetParams{Owner: owner.Address(), Netuid: 1, Params: params})

	// The validator registers and stakes before the first epoch, which
	// gives it its permit.
	vc := subnet.NewLedgerChain(e.c, val)
	if err := vc.Register(ctx, 1); err != nil {
		t.Fatal(err)
	}
	e.send(val, &lsubnet.MsgAddStake{Staker: val.Address(), Hotkey: val.Address(), Netuid: 1, Amount: 100 * tx.UnitsPerDEAI})

	for _, k := range honest {
		eng, err := node.OpenSubnetEngine(node.SubnetEngineOptions{Path: modelPath, Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { eng.Close() }) // after the miner stops (cleanups run last-in first-out)
		startMiner(t, e, k, eng.Handler, eng.Digest)
	}
	garbageURL := startMiner(t, e, garbage, garbageBackend(), ref.Digest)

	// The garbage miner's receipts are valid: it loses on its answers,
	// not on the protocol.
	body := []byte(`{"prompt":"Once upon a time","max_tokens":4,"temperature":0}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, garbageURL+"/v1/completions", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	wire.Sign(req, body, val, garbage.Address())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("garbage miner: %d %s %v", resp.StatusCode, respBody, err)
	}
	if _, err := wire.CheckResponse(resp, body, respBody, garbage.Address()); err != nil {
		t.Fatalf("garbage miner's receipt: %v", err)
	}

	v, err := subnet.NewValidator(subnet.ValidatorOptions{Netuid: 1, Key: val, Chain: vc, Reference: ref.Handler, ChallengesPerTempo: 2})
	if err != nil {
		t.Fatal(err)
	}
	uidOf := map[tx.Address]uint16{}
	mg, err := vc.Metagraph(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range mg.Neurons {
		uidOf[n.Hotkey] = n.UID
		if n.Hotkey != val.Address() && n.Serving.Endpoint == "" {
			t.Fatalf("miner uid %d published no endpoint", n.UID)
		}
	}
	if len(uidOf) != 5 {
		t.Fatalf("metagraph has %d neurons, want 5", len(uidOf))
	}

	// Three tempos: the validator grades at the start of each and commits;
	// the commit of tempo k is revealed at tempo k+1, and the epoch that
	// closes tempo k+1 uses it. So grading at epochs 1, 2 and 3 puts the
	// validator's weights into epochs 3 and 4.
	const first, tempos = 1, 3
	for i := range uint64(tempos + 1) {
		e.untilEpoch(first + i)
		if i == tempos {
			break // the epoch closing the third tempo
		}
		res, err := v.Step(ctx)
		if err != nil {
			t.Fatalf("validator step at epoch %d: %v", first+i, err)
		}
		if !res.Graded || res.Weights == nil || (i > 0) != (res.Revealed != nil) {
			t.Fatalf("step at epoch %d: graded %v, committed %v, revealed %v; want a grade and a commit each tempo and a reveal from the second",
				first+i, res.Graded, res.Weights, res.Revealed)
		}
		for _, k := range honest {
			if s := res.Scores[uidOf[k.Address()]]; s < 0.5 {
				t.Errorf("epoch %d: honest miner uid %d scored %v", first+i, uidOf[k.Address()], s)
			}
		}
		if s := res.Scores[uidOf[garbage.Address()]]; s != 0 {
			t.Errorf("epoch %d: garbage miner scored %v", first+i, s)
		}
	}

	// Incentive: nothing to the garbage miner (not one u16 step), a third
	// each to the honest ones, and miner emission only to them.
	var lmg lsubnet.Metagraph
	e.query("/subnet/1/metagraph", &lmg)
	var sum float64
	for _, n := range lmg.Neurons {
		inc := float64(n.Incentive) / 65535
		switch {
		case n.Hotkey == garbage.Address():
			if n.Incentive != 0 || n.Emission != 0 {
				t.Errorf("garbage miner uid %d: incentive %d/65535, emission %v; want 0", n.UID, n.Incentive, n.Emission)
			}
		case n.Hotkey == val.Address():
			if n.Incentive != 0 || n.Dividends == 0 || !n.ValidatorPermit {
				t.Errorf("validator uid %d: incentive %d, dividends %d, permit %v; want dividends only", n.UID, n.Incentive, n.Dividends, n.ValidatorPermit)
			}
		default:
			sum += inc
			if math.Abs(inc-1.0/3) > 0.01 || n.Emission == 0 {
				t.Errorf("honest miner uid %d: incentive %.5f, emission %v; want 1/3 ± 0.01 and some emission", n.UID, inc, n.Emission)
			}
		}
	}
	if sum < 1-3.0/65535 {
		t.Errorf("honest miners hold %.6f of the incentive, want all of it", sum)
	}

	// Supply: the schedule is block_emission for every block from the
	// subnet's creation up to its latest epoch; epochs ran every tempo
	// blocks after creation, and nothing else mints.
	var info lsubnet.SubnetInfo
	e.query("/subnet/1", &info)
	var mp lsubnet.ModuleParams
	e.query("/subnet/params", &mp)
	var sup ledger.Supply
	e.query("/supply", &sup)
	if info.LastEpoch != uint64(created)+params.Tempo*info.Epoch {
		t.Errorf("last epoch at block %d, want %d (created at %d, %d epochs of %d blocks)", info.LastEpoch,
			uint64(created)+params.Tempo*info.Epoch, created, info.Epoch, params.Tempo)
	}
	blocks := info.LastEpoch - uint64(created) + 1
	if want := mp.BlockEmission * tx.Amount(blocks); sup.Minted != want {
		t.Errorf("minted %v, want block_emission %v × %d blocks = %v", sup.Minted, mp.BlockEmission, blocks, want)
	}
	if want := mp.BlockEmission * tx.Amount(info.Block-info.LastEpoch); info.PendingEmission != want {
		t.Errorf("pending emission %v, want %v for the %d blocks since the last epoch", info.PendingEmission, want, info.Block-info.LastEpoch)
	}
	if !sup.Conserved() {
		t.Errorf("supply %+v is not conserved", sup)
	}
	t.Logf("%d epochs, blocks %d..%d, minted %v, incentive %s", info.Epoch, created, info.LastEpoch, sup.Minted, incentives(lmg))
}

func incentives(mg lsubnet.Metagraph) string {
	var b bytes.Buffer
	for _, n := range mg.Neurons {
		fmt.Fprintf(&b, "uid%d=%d ", n.UID, n.Incentive)
	}
	return b.String()
}
