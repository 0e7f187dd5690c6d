package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/abciapp/abciapptest"
	"github.com/deai-network/deai/internal/gateway"
	"github.com/deai-network/deai/internal/infer"
	"github.com/deai-network/deai/internal/ledger"
	lsubnet "github.com/deai-network/deai/internal/ledger/subnet"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/subnet"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/verify"
	"github.com/deai-network/deai/internal/wallet"
	"github.com/deai-network/deai/internal/wire"
)

// Cheats of the simulation's dishonest miners.
const (
	honestMiner = iota
	randomText  // answers garbage without running the model
	smallModel  // runs a smaller model and claims the pinned digest
	truncating  // runs the model but stops after one token
)

// truncated runs ref with max_tokens cut to 1: a cheap, shortened answer.
func truncated(ref http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var f map[string]any
		body, _ := io.ReadAll(r.Body)
		if json.Unmarshal(body, &f) == nil {
			f["max_tokens"] = 1
			body, _ = json.Marshal(f)
		}
		r2 := r.Clone(r.Context())
		r2.Body = io.NopCloser(bytes.NewReader(body))
		r2.ContentLength = int64(len(body))
		ref.ServeHTTP(w, r2)
	})
}

// simMiner is one miner of the simulation.
type simMiner struct {
	key        *wallet.Key
	cheat      int
	endpoint   string
	firstBlock atomic.Int64 // the height of its first answer
	answers    atomic.Int64
}

// TestProofOfUsefulWork is issue 8's simulation on a local network: a
// subnet of ten miners, three of them dishonest in three ways (random
// text, a smaller model, truncated answers), three validators grading
// them and sitting on dispute committees, and a gateway key sending
// traffic whose receipts an Auditor spot-checks at the subnet's audit
// rate of 1% with the beacon of a later block. Every dishonest miner is
// disputed, found guilty by the committee, slashed and jailed within two
// tempos of its first answer, and ends poorer than it started; then, at
// an audit rate of 100%, 10,000 answers of the honest miners are
// re-executed and none is disputed or slashed.
func TestProofOfUsefulWork(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 14 daemons and about 15,000 requests")
	}
	ctx := t.Context()
	owner, gw := seedKey(t, 0x90), seedKey(t, 0x91)
	var miners []*simMiner
	cheats := []int{honestMiner, randomText, honestMiner, smallModel, honestMiner, honestMiner, truncating, honestMiner, honestMiner, honestMiner}
	keys := []*wallet.Key{owner, gw}
	for i, c := range cheats {
		m := &simMiner{key: seedKey(t, byte(0xa0+i)), cheat: c}
		miners = append(miners, m)
		keys = append(keys, m.key)
	}
	var vals []*wallet.Key
	for i := range 3 {
		vals = append(vals, seedKey(t, byte(0xc0+i)))
	}
	keys = append(keys, vals...)
	c := abciapptest.New(t, abciapptest.Options{Modules: []ledger.Module{lsubnet.New()}, Funded: abciapptest.Accounts(keys), Now: time.Now})
	e := &tbChain{t: t, c: c}

	ref, err := node.OpenSubnetEngine(node.SubnetEngineOptions{Path: modelPath, Threads: 1, MaxConcurrent: 16})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ref.Close() })
	// The auditor's own reference engine, as a gateway's would be.
	auditRef, err := node.OpenSubnetEngine(node.SubnetEngineOptions{Path: modelPath, Threads: 1, MaxConcurrent: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { auditRef.Close() })
	small := filepath.Join(t.TempDir(), "small.gguf")
	f, err := os.Create(small)
	if err != nil {
		t.Fatal(err)
	}
	if err := infer.Synth(f, infer.SynthOptions{Shape: "tiny", Type: "q8_0", Seed: 3}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	smallEng, err := node.OpenSubnetEngine(node.SubnetEngineOptions{Path: small, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { smallEng.Close() })

	d, err := lsubnet.ParseDigest(ref.Digest)
	if err != nil {
		t.Fatal(err)
	}
	e.send(owner, &lsubnet.MsgCreateSubnet{Owner: owner.Address(), Name: "stories260K", TaskType: subnet.TaskTextGeneration, Digests: []lsubnet.Digest{d}})
	const tempo = 100
	params := lsubnet.DefaultParams()
	params.Tempo, params.ActivityCutoff = tempo, 10*tempo
	params.CommitReveal, params.WeightsRateLimit = false, 0
	params.MaxValidators = 3 // the three validators hold the permits: the committees are theirs
	params.ImmunityPeriod = 0
	params.AuditRatePPM = 10_000 // p = 1%
	params.DisputeBlocks = tempo / 2
	e.send(owner, &lsubnet.MsgSetSubnetParams{Owner: owner.Address(), Netuid: 1, Params: params})

	// The gateway key sends the traffic (miners answer staked callers
	// only) and is the challenger.
	if err := subnet.NewLedgerChain(c, gw).Register(ctx, 1); err != nil {
		t.Fatal(err)
	}
	e.send(gw, &lsubnet.MsgAddStake{Staker: gw.Address(), Hotkey: gw.Address(), Netuid: 1, Amount: 10 * tx.UnitsPerDEAI})
	for _, v := range vals {
		if err := subnet.NewLedgerChain(c, v).Register(ctx, 1); err != nil {
			t.Fatal(err)
		}
		e.send(v, &lsubnet.MsgAddStake{Staker: v.Address(), Hotkey: v.Address(), Netuid: 1, Amount: 300 * tx.UnitsPerDEAI})
	}
	for _, m := range miners {
		backend := ref.Handler
		switch m.cheat {
		case randomText:
			backend = garbageBackend()
		case smallModel:
			backend = smallEng.Handler
		case truncating:
			backend = truncated(ref.Handler)
		}
		startStoppableMiner(t, c, m.key, backend, ref.Digest)
		e.send(m.key, &lsubnet.MsgAddStake{Staker: m.key.Address(), Hotkey: m.key.Address(), Netuid: 1, Amount: 100 * tx.UnitsPerDEAI})
	}
	var mg lsubnet.Metagraph
	e.query("/subnet/1/metagraph", &mg)
	for _, n := range mg.Neurons {
		for _, m := range miners {
			if n.Hotkey == m.key.Address() {
				m.endpoint = n.Endpoint
			}
		}
	}

	// Blocks as fast as they go until the first epoch hands out the
	// validator permits.
	permits := func() int {
		e.query("/subnet/1/metagraph", &mg)
		n := 0
		for _, nn := range mg.Neurons {
			for _, v := range vals {
				if nn.Hotkey == v.Address() && nn.ValidatorPermit {
					n++
				}
			}
		}
		return n
	}
	for permits() < len(vals) {
		if _, err := c.NextBlock(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Blocks during phase 1 come with the traffic: one per five rounds
	// of requests (fifty answers), so that "two tempos" means the same
	// number of answers on a fast machine and a slow one; transactions
	// (disputes, votes, weights) add their own blocks. Phase 2 and the
	// waits use a clock instead.
	startBlockClock := func() (stop func()) {
		bctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			tk := time.NewTicker(20 * time.Millisecond)
			defer tk.Stop()
			for {
				select {
				case <-bctx.Done():
					return
				case <-tk.C:
					c.NextBlock(bctx) //nolint:errcheck // the next tick tries again
				}
			}
		}()
		return func() { cancel(); <-done }
	}

	// Validators grade the miners (weights) and vote on disputes.
	dctx, stopDaemons := context.WithCancel(ctx)
	var daemons sync.WaitGroup
	defer func() { stopDaemons(); daemons.Wait() }()
	var voters []*verify.Voter
	var challengeReceipts atomic.Int64 // what the validators could spot-check too
	for _, v := range vals {
		vd, err := subnet.NewValidator(subnet.ValidatorOptions{Netuid: 1, Key: v, Chain: subnet.NewLedgerChain(c, v), Reference: ref.Handler,
			ChallengesPerTempo: 1, PollInterval: 100 * time.Millisecond,
			OnReceipt: func(wire.Receipt, []byte) { challengeReceipts.Add(1) }})
		if err != nil {
			t.Fatal(err)
		}
		vo, err := verify.NewVoter(verify.VoterOptions{Chain: c, Key: v, Netuid: 1, Reference: ref.Handler, PollInterval: 50 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		voters = append(voters, vo)
		daemons.Go(func() { vd.Run(dctx) }) //nolint:errcheck // stopped by dctx
		daemons.Go(func() { vo.Run(dctx) }) //nolint:errcheck // stopped by dctx
	}
	aud, err := verify.NewAuditor(verify.AuditorOptions{Chain: c, Reference: auditRef.Handler, Pinned: ref.Digest,
		Rate: verify.RateFromChain(c, 1, 200*time.Millisecond), Disputer: verify.NewLedgerDisputer(c, gw, 1, nil),
		PollInterval: 20 * time.Millisecond, Workers: 2,
		OnAudit: func(a verify.Audit) {
			if a.Dispute != nil || a.Err != nil {
				t.Logf("audit of %s: dispute error %v, re-execution error %v", a.Receipt.Miner, a.Dispute, a.Err)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	daemons.Go(func() { aud.Run(dctx) }) //nolint:errcheck // stopped by dctx

	before := map[tx.Address]tx.Amount{}
	worth := func(a tx.Address) tx.Amount {
		var acct ledger.Account
		e.query("/account/"+a.String(), &acct)
		var st lsubnet.StakeInfo
		e.query("/subnet/1/stake/"+a.String(), &st)
		return acct.Balance + st.Total
	}
	for _, m := range miners {
		before[m.key.Address()] = worth(m.key.Address())
	}
	height := func() int64 {
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.LatestHeight
	}
	jailed := func() map[tx.Address]bool {
		e.query("/subnet/1/metagraph", &mg)
		out := map[tx.Address]bool{}
		for _, n := range mg.Neurons {
			if n.JailedUntil > mg.Block {
				out[n.Hotkey] = true
			}
		}
		return out
	}
	client := &http.Client{Timeout: 10 * time.Second}
	send := func(m *simMiner, i int) error {
		body := []byte(fmt.Sprintf(`{"max_tokens":4,"messages":[{"content":"Once upon a time %d","role":"user"}],"seed":%d,"temperature":0.8}`, i%97, i))
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.endpoint+"/v1/chat/completions", bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		wire.Sign(req, body, gw, m.key.Address())
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		rb, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		rc, err := wire.CheckResponse(resp, body, rb, m.key.Address())
		if err != nil {
			return fmt.Errorf("miner %s (status %d): %w", m.key.Address(), resp.StatusCode, err)
		}
		m.firstBlock.CompareAndSwap(0, height())
		m.answers.Add(1)
		aud.Observe(rc, body)
		return nil
	}

	// Phase 1: traffic to every miner not jailed, at p = 1%, until every
	// dishonest miner is slashed (bounded).
	guiltyOf := func() map[tx.Address]lsubnet.Dispute {
		var ds []lsubnet.Dispute
		e.query("/subnet/1/disputes?state=guilty&limit=1000", &ds)
		out := map[tx.Address]lsubnet.Dispute{}
		for _, d := range ds {
			if _, ok := out[d.Miner]; !ok {
				out[d.Miner] = d
			}
		}
		return out
	}
	deadline := time.Now().Add(90 * time.Second)
	for i := 0; ; i++ {
		if i%200 == 0 {
			if g := guiltyOf(); len(g) == 3 || time.Now().After(deadline) {
				break
			}
		}
		jl := jailed()
		var live []*simMiner
		for _, m := range miners {
			if !jl[m.key.Address()] {
				live = append(live, m)
			}
		}
		var wg sync.WaitGroup
		for j, m := range live {
			wg.Go(func() {
				if err := send(m, i*len(miners)+j); err != nil && m.cheat == honestMiner {
					t.Errorf("honest miner: %v", err)
				}
			})
		}
		wg.Wait()
		if i%5 == 4 {
			if _, err := c.NextBlock(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	stopBlocks := startBlockClock()
	defer stopBlocks()
	guilty := guiltyOf()
	for _, m := range miners {
		d, found := guilty[m.key.Address()]
		switch {
		case m.cheat == honestMiner && found:
			t.Errorf("honest miner %s was found guilty: %+v", m.key.Address(), d)
		case m.cheat != honestMiner && !found:
			t.Errorf("dishonest miner %s (cheat %d, %d answers) was never found guilty", m.key.Address(), m.cheat, m.answers.Load())
		case m.cheat != honestMiner:
			if took := int64(d.ResolvedAt) - m.firstBlock.Load(); took > 2*tempo {
				t.Errorf("dishonest miner %s slashed %d blocks after its first answer, more than two tempos", m.key.Address(), took)
			}
			t.Logf("cheat %d: first answer at block %d, dispute %d opened at %d, slashed %s at %d (%d blocks later)", m.cheat, m.firstBlock.Load(),
				d.ID, d.OpenedAt, d.Slashed, d.ResolvedAt, d.ResolvedAt-d.OpenedAt)
		}
	}
	// The gateway no longer routes to the jailed cheaters.
	models, err := (&gateway.LedgerNetwork{Client: c, Netuids: []uint16{1}}).Models(ctx)
	if err != nil || len(models) != 1 {
		t.Fatalf("models %+v, %v", models, err)
	}
	for _, gm := range models[0].Miners {
		for _, m := range miners {
			if gm.Hotkey == m.key.Address() && m.cheat != honestMiner {
				t.Errorf("the gateway still routes to jailed miner %s", gm.Hotkey)
			}
		}
	}
	if len(models[0].Miners) != 7 {
		t.Errorf("the gateway routes to %d miners, want the 7 honest ones", len(models[0].Miners))
	}
	rich, err := (&gateway.LedgerNetwork{Client: c, Netuids: []uint16{1}, MinStake: 10_000 * tx.UnitsPerDEAI}).Models(ctx)
	if err != nil || len(rich) != 1 || len(rich[0].Miners) != 0 {
		t.Errorf("with a minimum stake above every miner's: %+v, %v", rich, err)
	}
	st1 := aud.Stats()
	t.Logf("phase 1 (p = 1%%): %+v", st1)

	// Phase 2: every answer of the honest miners re-executed.
	params.AuditRatePPM = 1_000_000
	e.send(owner, &lsubnet.MsgSetSubnetParams{Owner: owner.Address(), Netuid: 1, Params: params})
	time.Sleep(300 * time.Millisecond) // RateFromChain reads it again
	var honest []*simMiner
	for _, m := range miners {
		if m.cheat == honestMiner {
			honest = append(honest, m)
		}
	}
	const verified = 10_000
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range verified {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := send(honest[i%len(honest)], 1_000_000+i); err != nil {
				t.Errorf("honest miner: %v", err)
			}
		})
	}
	wg.Wait()
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		st := aud.Stats()
		if st.Honest-st1.Honest >= verified || time.Now().After(deadline) {
			break
		}
	}
	stopDaemons()
	daemons.Wait()
	st2 := aud.Stats()
	t.Logf("phase 2 (p = 100%%): %+v", st2)
	if st2.Honest-st1.Honest < verified || st2.Mismatched != st1.Mismatched || st2.Failed != 0 || st2.Invalid != 0 {
		t.Fatalf("honest answers re-executed: %d (want %d), new mismatches %d, failed %d, invalid %d",
			st2.Honest-st1.Honest, verified, st2.Mismatched-st1.Mismatched, st2.Failed, st2.Invalid)
	}
	var all []lsubnet.Dispute
	e.query("/subnet/1/disputes?limit=1000", &all)
	for _, d := range all {
		for _, m := range honest {
			if d.Miner == m.key.Address() {
				t.Errorf("a dispute against honest miner %s: %+v", d.Miner, d)
			}
		}
	}
	for _, m := range miners {
		a := m.key.Address()
		now := worth(a)
		switch {
		case m.cheat == honestMiner && now < before[a]:
			t.Errorf("honest miner %s lost %s", a, before[a]-now)
		case m.cheat != honestMiner && now >= before[a]:
			t.Errorf("dishonest miner %s ended with %s, not below its %s before cheating", a, now, before[a])
		case m.cheat != honestMiner:
			t.Logf("dishonest miner %s (cheat %d): %s before, %s after", a, m.cheat, before[a], now)
		}
	}
	if challengeReceipts.Load() == 0 {
		t.Error("the validators handed no challenge receipt to OnReceipt")
	}
	for _, vo := range voters {
		for _, v := range vo.Votes() {
			if v.Err != nil {
				t.Errorf("vote on dispute %d: %v", v.Dispute, v.Err)
			}
		}
	}
}
