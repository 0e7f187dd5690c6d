package verify_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/deai-network/deai/internal/abciapp/abciapptest"
	"github.com/deai-network/deai/internal/infer"
	"github.com/deai-network/deai/internal/serve"
	"github.com/deai-network/deai/internal/verify"
	"github.com/deai-network/deai/internal/wallet"
	"github.com/deai-network/deai/internal/wire"
)

const modelPath = "../../../shared/models/stories260K.gguf"

// engine is the built-in engine's OpenAI handler over one model file.
func engine(t testing.TB, path string) (http.Handler, string) {
	t.Helper()
	m, err := infer.Load(path, infer.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	b, err := serve.NewEngineBackend(m, path, serve.EngineOptions{ID: "stories260K"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := serve.New(serve.Options{Backends: []serve.Backend{b}})
	if err != nil {
		t.Fatal(err)
	}
	return s.Handler(), m.Digest()
}

// smaller writes a different, smaller-vocabulary model: what a miner
// might serve instead of the pinned one.
func smaller(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tiny.gguf")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := infer.Synth(f, infer.SynthOptions{Shape: "tiny", Type: "q8_0", Seed: 7}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return p
}

func minerKey(t testing.TB, b byte) *wallet.Key {
	t.Helper()
	k, err := wallet.FromSeed(bytes.Repeat([]byte{b}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// receipt signs what a miner claims for request: the result of running
// it on backend (honest when backend is the pinned model), with the
// pinned digest.
func receipt(t testing.TB, k *wallet.Key, backend http.Handler, pinned string, request []byte) wire.Receipt {
	t.Helper()
	res, err := verify.Reexecute(context.Background(), backend, request)
	if err != nil {
		t.Fatal(err)
	}
	r := wire.Receipt{Netuid: 1, RequestHash: sha256.Sum256(request), ResponseHash: sha256.Sum256([]byte("answer")), ModelDigest: pinned,
		PromptTokens: res.PromptTokens, CompletionTokens: res.CompletionTokens, TokensDigest: res.TokensDigest, Miner: k.Address(),
		TimeUnixMs: time.Now().UnixMilli()}
	if err := r.Sign(k); err != nil {
		t.Fatal(err)
	}
	return r
}

func chat(prompt string, seed, maxTokens int) []byte {
	b, _ := json.Marshal(map[string]any{"messages": []map[string]string{{"role": "user", "content": prompt}}, "max_tokens": maxTokens, "seed": seed, "temperature": 0.8})
	return b
}

// TestCheck: an honest receipt re-executes to the same tokens; random
// text, a smaller model, a truncated answer and a receipt naming another
// model do not; tampered receipts are invalid.
func TestCheck(t *testing.T) {
	ref, pinned := engine(t, modelPath)
	small, _ := engine(t, smaller(t))
	k := minerKey(t, 1)
	ctx := context.Background()
	req := chat("Once upon a time", 42, 12)
	honest := receipt(t, k, ref, pinned, req)

	v, err := verify.Check(ctx, &honest, verify.CheckOptions{Request: req, Pinned: pinned, Reference: ref})
	if err != nil || !v.Valid || !v.Reexecuted || !v.Honest {
		t.Fatalf("honest receipt: %+v, %v", v, err)
	}
	// A stream of the same request generates the same tokens.
	var f map[string]any
	json.Unmarshal(req, &f)
	f["stream"] = true
	streamed, _ := json.Marshal(f)
	sr := receipt(t, k, ref, pinned, req)
	sr.RequestHash = sha256.Sum256(streamed)
	sr.Sign(k)
	if v, err := verify.Check(ctx, &sr, verify.CheckOptions{Request: streamed, Pinned: pinned, Reference: ref}); err != nil || !v.Honest {
		t.Fatalf("streamed request: %+v, %v", v, err)
	}

	random := honest
	random.TokensDigest = fmt.Sprintf("%x", sha256.Sum256([]byte("lorem ipsum")))
	random.Sign(k)
	truncated := receipt(t, k, ref, pinned, chat("Once upon a time", 42, 5))
	truncated.RequestHash = honest.RequestHash // claims the full request
	truncated.Sign(k)
	swapped := receipt(t, k, small, pinned, req) // the smaller model, claiming the pinned digest
	renamed := honest
	renamed.ModelDigest = strings.Repeat("ab", 32)
	renamed.Sign(k)
	for name, r := range map[string]wire.Receipt{"random text": random, "truncated": truncated, "smaller model": swapped, "other model digest": renamed} {
		v, err := verify.Check(ctx, &r, verify.CheckOptions{Request: req, Pinned: pinned, Reference: ref})
		if err != nil || !v.Valid || !v.Reexecuted || v.Honest || v.Reason == "" {
			t.Errorf("%s: %+v, %v: want a valid receipt that re-execution refutes", name, v, err)
		}
	}

	tampered := honest
	tampered.CompletionTokens++
	if v, _ := verify.Check(ctx, &tampered, verify.CheckOptions{Request: req, Reference: ref}); v.Valid || !strings.Contains(v.Reason, "signature") {
		t.Errorf("tampered receipt: %+v", v)
	}
	if v, _ := verify.Check(ctx, &honest, verify.CheckOptions{Request: chat("Other", 1, 12), Reference: ref}); v.Valid {
		t.Errorf("receipt checked against another request: %+v", v)
	}
	if v, _ := verify.Check(ctx, &honest, verify.CheckOptions{Request: req, Response: []byte("other"), Reference: ref}); v.Valid {
		t.Errorf("receipt checked against another response: %+v", v)
	}
	if _, err := verify.Reexecute(ctx, ref, []byte(`{"input":"x"}`)); err == nil {
		t.Error("an embeddings request was re-executed")
	}
}

// TestSelected: the draw follows the rate, is the same for everyone, and
// changes with the beacon.
func TestSelected(t *testing.T) {
	const n = 100_000
	beacon := sha256.Sum256([]byte("block"))
	hits := 0
	for i := range n {
		sig := sha256.Sum256(fmt.Appendf(nil, "sig %d", i))
		if verify.Selected(beacon[:], sig[:], 10_000) {
			hits++
		}
	}
	if hits < 850 || hits > 1150 { // 1% of 100,000 = 1,000 ± 4.7σ
		t.Fatalf("%d of %d drawn at 1%%", hits, n)
	}
	sig := sha256.Sum256([]byte("one"))
	if !verify.Selected(beacon[:], sig[:], 1_000_000) || verify.Selected(beacon[:], sig[:], 0) {
		t.Fatal("rates 100% and 0% are not all and nothing")
	}
	differs := 0
	for i := range 1000 {
		b2 := sha256.Sum256(fmt.Appendf(nil, "block %d", i))
		if verify.Selected(b2[:], sig[:], 500_000) != verify.Selected(beacon[:], sig[:], 500_000) {
			differs++
		}
	}
	if differs < 400 || differs > 600 {
		t.Fatalf("the draw changed with the beacon %d times in 1000 at 50%%", differs)
	}
}

// disputes records what an Auditor disputes.
type disputes struct {
	mu sync.Mutex
	by map[string]int
}

func (d *disputes) Dispute(_ context.Context, r *wire.Receipt, _ []byte, _ verify.Verdict) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.by[r.Miner.String()]++
	return nil
}

// TestAuditor: receipts wait for their beacon block, the drawn share
// follows the rate, every drawn dishonest receipt is disputed and no
// honest one is.
func TestAuditor(t *testing.T) {
	ref, pinned := engine(t, modelPath)
	c := abciapptest.Twin(t, nil)
	honest, cheat := minerKey(t, 1), minerKey(t, 2)
	d := &disputes{by: map[string]int{}}
	var mu sync.Mutex
	var audits []verify.Audit
	a, err := verify.NewAuditor(verify.AuditorOptions{Chain: c, Reference: ref, Pinned: pinned, Rate: func() uint32 { return 500_000 },
		Disputer: d, PollInterval: 10 * time.Millisecond, Workers: 2,
		OnAudit: func(au verify.Audit) { mu.Lock(); audits = append(audits, au); mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	const n = 40
	for i := range n {
		req := chat("Once upon a time", i, 6)
		r := receipt(t, honest, ref, pinned, req)
		a.Observe(r, req)
		bad := r
		bad.Miner, bad.TokensDigest = cheat.Address(), "0123"
		bad.Sign(cheat)
		a.Observe(bad, req)
	}
	// Blocks come with txs; commit a few so that the beacons exist.
	for deadline := time.Now().Add(20 * time.Second); ; {
		if st := a.Stats(); st.Drawn == 2*n && st.Honest+st.Mismatched+st.Failed+st.Invalid == st.Selected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stats %+v", a.Stats())
		}
		c.NextBlock(t.Context())
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	st := a.Stats()
	if st.Selected < 20 || st.Selected > 60 || st.Failed != 0 || st.Invalid != 0 {
		t.Fatalf("stats %+v: want about half of 80 drawn, none failed", st)
	}
	if d.by[honest.Address().String()] != 0 || int64(d.by[cheat.Address().String()]) != st.Mismatched || st.Mismatched == 0 || st.Honest == 0 {
		t.Fatalf("disputes %v, stats %+v", d.by, st)
	}
	if int64(len(audits)) != st.Selected {
		t.Fatalf("%d audits seen, %d selected", len(audits), st.Selected)
	}
}

// BenchmarkAuditOverhead is the verification overhead of spot checks:
// every op serves one chat completion on the built-in engine (what a
// miner computes) and, when the receipt is drawn at the audit rate,
// re-executes it (what the auditor computes). It reports the re-execution
// time as a percentage of the serving time.
func BenchmarkAuditOverhead(b *testing.B) {
	ref, _ := engine(b, modelPath)
	for _, ppm := range []uint32{10_000, 20_000, 1_000_000} {
		b.Run(fmt.Sprintf("p=%gpct", float64(ppm)/10_000), func(b *testing.B) {
			var serve, check time.Duration
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				req := chat("Once upon a time", i, 64)
				start := time.Now()
				res, err := verify.Reexecute(ctx, ref, req) // serving: the same engine call a miner makes
				serve += time.Since(start)
				if err != nil {
					b.Fatal(err)
				}
				beacon := sha256.Sum256(fmt.Appendf(nil, "block %d", i))
				sig := sha256.Sum256([]byte(res.TokensDigest + fmt.Sprint(i)))
				if verify.Selected(beacon[:], sig[:], ppm) {
					start = time.Now()
					if _, err := verify.Reexecute(ctx, ref, req); err != nil {
						b.Fatal(err)
					}
					check += time.Since(start)
				}
			}
			b.ReportMetric(100*float64(check)/float64(serve), "overhead_%")
		})
	}
}
