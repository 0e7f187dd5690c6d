package cli_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/chain"
	"github.com/deai-network/deai/internal/cli"
	"github.com/deai-network/deai/internal/node"
	"github.com/deai-network/deai/internal/tx"
	"github.com/deai-network/deai/internal/verify"
	"github.com/deai-network/deai/internal/wallet"
	"github.com/deai-network/deai/internal/wire"
)

// disputeJSON is the JSON shape of a dispute (ledger/subnet.Dispute) as
// deai subnet disputes and deai subnet dispute print it.
type disputeJSON struct {
	ID           uint64
	Netuid       uint16
	Miner        string
	Challenger   string
	TokensDigest string `json:"tokens_digest"`
	Bond         string
	Committee    []string
	Votes        []json.RawMessage
	State        string
	OpenedAt     uint64 `json:"opened_at"`
	Deadline     uint64
	ResolvedAt   uint64 `json:"resolved_at"`
	Slashed      string
	Reward       string
}

// disputeTxJSON is what deai verify dispute|equivocation print with -o json.
type disputeTxJSON struct {
	Code      uint32
	Reason    string
	Log       string
	Height    uint64
	Signer    string
	Dispute   string
	Committee string
	Deadline  string
	Slashed   string
	Owner     string
}

// neuronStake returns the stake and jailed_until of hotkey's neuron on
// subnet 1, and the metagraph's block.
func (h *upHarness) neuronStake(hotkey string) (stake, jailedUntil, block uint64) {
	h.t.Helper()
	var mg struct {
		Block   uint64
		Neurons []struct {
			Hotkey      string
			Stake       string
			JailedUntil uint64 `json:"jailed_until"`
		}
	}
	h.jsonOK(&mg, "subnet", "metagraph", "1")
	for _, n := range mg.Neurons {
		if n.Hotkey == hotkey {
			st, err := strconv.ParseUint(n.Stake, 10, 64)
			if err != nil {
				h.t.Fatalf("stake of %s = %q: %v", hotkey, n.Stake, err)
			}
			return st, n.JailedUntil, mg.Block
		}
	}
	h.t.Fatalf("no neuron with hotkey %s in %+v", hotkey, mg)
	return 0, 0, 0
}

// TestVerifyDisputeEquivocationCLI opens a dispute against a miner's
// receipt on a real node, lists and shows it, has the ledger refuse bad
// disputes with its reason, slashes the miner for two conflicting
// receipts, and checks the disputes commands' bad input.
func TestVerifyDisputeEquivocationCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a CometBFT node through a subnet epoch")
	}
	t.Setenv(cli.PassphraseEnv, "")
	addrs := freeAddrs(t, 2)
	h := &upHarness{t: t, home: t.TempDir(), rpc: addrs[0], p2p: addrs[1]}
	_, stop := h.startUp()
	defer stop()

	model, err := os.ReadFile("../../../shared/models/stories260K.gguf")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(model)
	modelDigest := hex.EncodeToString(sum[:])

	// Subnet 1 with a one-member committee, a 2deai bond and a short tempo
	// until the validator holds its permit.
	h.jsonOK(&struct{}{}, "subnet", "create", "--name", "stories", "--task", "text-generation", "--digest", "sha256:"+modelDigest)
	h.jsonOK(&struct{}{}, "subnet", "params", "set", "1", "--tempo", "10", "--weights-rate-limit", "0", "--commit-reveal=false",
		"--committee-size", "1", "--dispute-bond", "2deai", "--receipt-ttl", "600")

	miner, minerPass := h.newKey("miner")
	val, valPass := h.newKey("val")
	challenger, challengerPass := h.newKey("challenger")
	for _, a := range []string{miner, val, challenger} {
		h.jsonOK(&struct{}{}, "tx", "send", "--to", a, "--amount", "50deai")
	}
	asMiner := []string{"--from", "miner", "--passphrase-file", minerPass}
	asChallenger := []string{"--from", "challenger", "--passphrase-file", challengerPass}
	h.jsonOK(&struct{}{}, append([]string{"subnet", "register", "1"}, asMiner...)...)
	h.jsonOK(&struct{}{}, "subnet", "register", "1", "--from", "val", "--passphrase-file", valPass)
	h.jsonOK(&struct{}{}, append([]string{"subnet", "stake", "add", "1", "--amount", "10deai"}, asMiner...)...)
	h.jsonOK(&struct{}{}, "subnet", "stake", "add", "1", "--amount", "100deai", "--hotkey", val)
	var show struct{ Epoch uint64 }
	h.jsonOK(&show, "subnet", "show", "1")
	mg := h.waitEpoch("1", show.Epoch+1)
	for _, n := range mg.Neurons {
		if n.Hotkey == val && !n.ValidatorPermit {
			t.Fatalf("validator %s has no permit after an epoch: %+v", val, mg)
		}
	}
	// No more epochs: stakes stay put and disputes stay open.
	h.jsonOK(&struct{}{}, "subnet", "params", "set", "1", "--tempo", "1000", "--activity-cutoff", "1000", "--dispute-blocks", "1000")
	var params struct {
		DisputeBond         string `json:"dispute_bond"`
		CommitteeSize       uint16 `json:"committee_size"`
		SlashBPS            uint64 `json:"slash_bps"`
		ChallengerRewardBPS uint64 `json:"challenger_reward_bps"`
		JailBlocks          uint64 `json:"jail_blocks"`
	}
	h.jsonOK(&params, "subnet", "params", "show", "1")
	if params.DisputeBond != "2000000" || params.CommitteeSize != 1 || params.SlashBPS == 0 || params.JailBlocks == 0 {
		t.Fatalf("params = %+v", params)
	}

	ks, err := wallet.Open(filepath.Join(h.home, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	minerKey, err := ks.Load("miner", []byte("miner passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	stranger, err := wallet.FromSeed(bytes.Repeat([]byte{9}, 32))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, content []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, content, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// receipt writes a receipt signed by k for request, changed by mut
	// before signing, and returns its file.
	receipt := func(name string, k *wallet.Key, request []byte, mut func(*wire.Receipt)) string {
		r := wire.Receipt{Netuid: 1, RequestHash: sha256.Sum256(request), ResponseHash: sha256.Sum256([]byte("resp")), ModelDigest: modelDigest,
			PromptTokens: 5, CompletionTokens: 8, TokensDigest: "aa11", Miner: k.Address(), TimeUnixMs: time.Now().UnixMilli()}
		if mut != nil {
			mut(&r)
		}
		if err := r.Sign(k); err != nil {
			t.Fatal(err)
		}
		v, err := r.EncodeHeader()
		if err != nil {
			t.Fatal(err)
		}
		return write(name, []byte(v+"\n"))
	}
	request := []byte(`{"max_tokens":8,"messages":[{"content":"Once upon a time","role":"user"}],"seed":3,"temperature":0.7}`)
	reqPath := write("request.json", request)
	honest := receipt("receipt.txt", minerKey, request, nil)

	// A dispute: the validator is the whole committee, the bond leaves
	// the challenger's balance with the fee.
	before := h.balance(challenger)
	var opened disputeTxJSON
	h.jsonOK(&opened, append([]string{"verify", "dispute", honest, "--request", reqPath}, asChallenger...)...)
	if opened.Code != 0 || opened.Dispute != "1" || opened.Committee != val || opened.Signer != challenger {
		t.Fatalf("verify dispute = %+v, want dispute 1 judged by %s", opened, val)
	}
	if deadline, err := strconv.ParseUint(opened.Deadline, 10, 64); err != nil || deadline != opened.Height+1000 {
		t.Errorf("deadline %q, want opened at %d + min(dispute_blocks, tempo) 1000", opened.Deadline, opened.Height)
	}
	if got := before - h.balance(challenger); got != 2_000_000+minFee {
		t.Errorf("challenger paid %d, want the bond 2000000 + fee %d", got, minFee)
	}
	var ds []disputeJSON
	h.jsonOK(&ds, "subnet", "disputes", "1")
	if len(ds) != 1 {
		t.Fatalf("disputes = %+v, want one", ds)
	}
	if d := ds[0]; d.ID != 1 || d.Netuid != 1 || d.Miner != miner || d.Challenger != challenger || d.Bond != params.DisputeBond ||
		d.State != "open" || len(d.Committee) != 1 || d.Committee[0] != val || len(d.Votes) != 0 || d.TokensDigest != "aa11" ||
		d.OpenedAt != opened.Height || d.ResolvedAt != 0 || d.Slashed != "0" {
		t.Errorf("dispute = %+v", d)
	}
	h.jsonOK(&ds, "subnet", "disputes", "1", "--state", "open")
	if len(ds) != 1 {
		t.Errorf("open disputes = %+v, want dispute 1", ds)
	}
	h.jsonOK(&ds, "subnet", "disputes", "1", "--state", "guilty")
	if len(ds) != 0 {
		t.Errorf("guilty disputes = %+v, want none", ds)
	}
	var one disputeJSON
	h.jsonOK(&one, "subnet", "dispute", "1")
	if one.ID != 1 || one.Miner != miner || one.State != "open" {
		t.Errorf("dispute 1 = %+v", one)
	}
	if out := h.textOK("subnet", "dispute", "1"); !strings.Contains(out, "committee: "+val) || !strings.Contains(out, "dispute 1 on subnet 1: open") {
		t.Errorf("dispute text:\n%s", out)
	}
	if out := h.textOK("subnet", "disputes", "1"); !strings.Contains(out, miner) || !strings.Contains(out, "0 guilty / 0 of 1") {
		t.Errorf("disputes text:\n%s", out)
	}

	// The ledger refuses, with its reason: exit 2.
	dispute := func(want, file string, extra ...string) {
		t.Helper()
		h.rejected(want, append(append([]string{"verify", "dispute", file, "--request", reqPath}, asChallenger...), extra...)...)
	}
	dispute("already disputed (dispute 1)", honest)
	dispute("is not the receipt's request hash", receipt("other-request.txt", minerKey, []byte(`{"prompt":"x"}`), nil))
	forged, err := wire.DecodeHeader(strings.TrimSpace(string(must(os.ReadFile(honest)))))
	if err != nil {
		t.Fatal(err)
	}
	forged.TokensDigest = "bb22" // after signing
	forgedValue, err := forged.EncodeHeader()
	if err != nil {
		t.Fatal(err)
	}
	dispute("signature does not verify", write("forged.txt", []byte(forgedValue)))
	dispute("is not a neuron of subnet 1", receipt("stranger.txt", stranger, request, nil))
	dispute("expired", receipt("old.txt", minerKey, request, func(r *wire.Receipt) { r.TimeUnixMs -= 3_600_000 }))
	dispute("below the subnet's dispute_bond 2000000udeai", receipt("second.txt", minerKey, request, func(r *wire.Receipt) { r.TokensDigest = "cc33" }),
		"--bond", "1udeai")
	h.rejected("cannot dispute its own receipt", append([]string{"verify", "dispute", receipt("own.txt", minerKey, request, func(r *wire.Receipt) { r.TokensDigest = "dd44" }),
		"--request", reqPath}, asMiner...)...)
	// Malformed input is refused before anything is signed or sent.
	before = h.balance(challenger)
	h.fails("decode", append([]string{"verify", "dispute", write("garbage.txt", []byte("not a receipt")), "--request", reqPath}, asChallenger...)...)
	h.fails("the request body is needed", append([]string{"verify", "dispute", honest}, asChallenger...)...)
	h.fails("--bond", append([]string{"verify", "dispute", honest, "--request", reqPath, "--bond", "2"}, asChallenger...)...)
	if after := h.balance(challenger); after != before {
		t.Errorf("challenger balance %d after bad input, want %d unchanged", after, before)
	}
	h.jsonOK(&ds, "subnet", "disputes", "1")
	if len(ds) != 1 {
		t.Errorf("disputes after the refusals = %+v, want only dispute 1", ds)
	}

	// Two receipts for one request with different tokens: slashed at once.
	eqRequest := []byte(`{"max_tokens":4,"messages":[{"content":"Lily","role":"user"}],"seed":7}`)
	a := receipt("eq-a.txt", minerKey, eqRequest, func(r *wire.Receipt) { r.TokensDigest = "0a0a" })
	b := receipt("eq-b.txt", minerKey, eqRequest, func(r *wire.Receipt) { r.TokensDigest = "0b0b" })
	same := receipt("eq-same.txt", minerKey, eqRequest, func(r *wire.Receipt) { r.TokensDigest = "0a0a"; r.TimeUnixMs++ })
	h.rejected("agree on the tokens digest", append([]string{"verify", "equivocation", a, same}, asChallenger...)...)
	stake, jailed, _ := h.neuronStake(miner)
	if stake != 10_000_000 || jailed != 0 {
		t.Fatalf("miner before the slash: stake %d, jailed until %d; want 10000000, 0", stake, jailed)
	}
	wantSlash := stake * params.SlashBPS / 10_000
	var eq disputeTxJSON
	h.jsonOK(&eq, append([]string{"verify", "equivocation", a, b}, asChallenger...)...)
	if eq.Code != 0 || eq.Slashed != strconv.FormatUint(wantSlash, 10)+"udeai" || eq.Owner != miner {
		t.Fatalf("verify equivocation = %+v, want %dudeai slashed from %s", eq, wantSlash, miner)
	}
	after, jailed, block := h.neuronStake(miner)
	if after != stake-wantSlash {
		t.Errorf("miner stake %d after the slash, want %d - %d", after, stake, wantSlash)
	}
	if jailed != eq.Height+params.JailBlocks || jailed <= block {
		t.Errorf("miner jailed until %d at block %d, want %d + jail_blocks %d", jailed, block, eq.Height, params.JailBlocks)
	}
	h.rejected("already slashed", append([]string{"verify", "equivocation", a, b}, asChallenger...)...)
	if code, out, _ := h.run(append([]string{"verify", "equivocation", a, b}, asChallenger...)...); code != 2 || !strings.Contains(out, "rejected") {
		t.Errorf("the same pair again, text: exit %d\n%s", code, out)
	}

	// The validator re-executes dispute 1's request on the reference
	// engine, finds other tokens than "aa11" and votes guilty through the
	// ledger: the miner is slashed again (slash_bps of its 9deai), the
	// challenger gets its bond back and its share of the slash.
	eng, err := node.OpenSubnetEngine(node.SubnetEngineOptions{Path: "../../../shared/models/stories260K.gguf", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	c, err := chain.Dial(t.Context(), h.rpc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	valKey, err := ks.Load("val", []byte("val passphrase"))
	if err != nil {
		t.Fatal(err)
	}
	voter, err := verify.NewVoter(verify.VoterOptions{Chain: c, Key: valKey, Netuid: 1, Reference: eng.Handler})
	if err != nil {
		t.Fatal(err)
	}
	before = h.balance(challenger)
	if err := voter.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	if votes := voter.Votes(); len(votes) != 1 || votes[0].Dispute != 1 || !votes[0].Guilty || votes[0].Late {
		t.Fatalf("votes = %+v, want one guilty vote on dispute 1", votes)
	}
	slash2 := after * params.SlashBPS / 10_000
	reward := slash2 * params.ChallengerRewardBPS / 10_000
	h.jsonOK(&one, "subnet", "dispute", "1")
	if one.State != "guilty" || len(one.Votes) != 1 || one.ResolvedAt == 0 || one.Slashed != strconv.FormatUint(slash2, 10) || one.Reward != strconv.FormatUint(reward, 10) {
		t.Errorf("dispute 1 after the vote = %+v, want guilty, %d slashed, %d to the challenger", one, slash2, reward)
	}
	if got := h.balance(challenger) - before; got != 2_000_000+reward {
		t.Errorf("challenger got %d, want the bond 2000000 + reward %d", got, reward)
	}
	if st, _, _ := h.neuronStake(miner); st != after-slash2 {
		t.Errorf("miner stake %d after the guilty verdict, want %d - %d", st, after, slash2)
	}
	h.jsonOK(&ds, "subnet", "disputes", "1", "--state", "guilty")
	if len(ds) != 1 || ds[0].ID != 1 {
		t.Errorf("guilty disputes = %+v, want dispute 1", ds)
	}
	if out := h.textOK("subnet", "dispute", "1"); !strings.Contains(out, "by "+val+": guilty") || !strings.Contains(out, "slashed "+tx.Amount(slash2).String()) {
		t.Errorf("dispute text after the vote:\n%s", out)
	}

	// Bad arguments of the listing commands.
	h.fails("--state", "subnet", "disputes", "1", "--state", "bogus")
	h.fails("want a number", "subnet", "dispute", "x")
	if code, _, errOut := h.run("subnet", "dispute", "999"); code == 0 || !strings.Contains(errOut, "dispute 999 does not exist") {
		t.Errorf("subnet dispute 999: exit %d, stderr %q: want not found", code, errOut)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
