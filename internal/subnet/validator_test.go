package subnet_test

import (
	"context"
	"io"
	"math"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/subnet"
	"github.com/deai-network/deai/internal/wire"
)

// garbage answers every request with a well-formed but wrong completion.
var garbage = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	io.WriteString(w, `{"choices":[{"index":0,"text":" lorem ipsum dolor"}],"usage":{"prompt_tokens":1,"completion_tokens":3}}`)
})

func TestValidatorGradesAndCommitReveals(t *testing.T) {
	eng := loadEngine(t)
	net := newMemNet(subnet.TaskTextGeneration)
	vkey := key(t, 1)
	net.add(vkey.Address(), 1000) // uid 0
	for i := 0; i < 4; i++ {      // uids 1..3 honest, 4 garbage
		mk := key(t, byte(10+i))
		backend := eng.handler
		if i == 3 {
			backend = garbage
		}
		runMiner(t, subnet.MinerOptions{Netuid: 1, Key: mk, Chain: net.chain(mk.Address()), Backend: backend, ModelDigest: eng.digest})
	}
	// A registered neuron that never served: queried by nobody, scored 0.
	if err := net.chain(key(t, 20).Address()).Register(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	v, err := subnet.NewValidator(subnet.ValidatorOptions{Netuid: 1, Key: vkey, Chain: net.chain(vkey.Address()), Reference: eng.handler})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	res, err := v.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Graded || res.Weights == nil {
		t.Fatalf("first step: %+v", res)
	}
	for uid := uint16(1); uid <= 3; uid++ {
		if s := res.Scores[uid]; s < 0.8 || s > 1 {
			t.Errorf("honest uid %d scored %v, want in [0.8, 1]", uid, s)
		}
	}
	if s := res.Scores[4]; s != 0 {
		t.Errorf("garbage uid 4 scored %v, want 0", s)
	}
	if s, ok := res.Scores[5]; !ok || s != 0 {
		t.Errorf("silent uid 5 scored %v (present %v), want 0", s, ok)
	}
	if diff := cmp.Diff([]uint16{1, 2, 3}, res.Weights.UIDs); diff != "" {
		t.Errorf("weighted uids (-want +got)\n%s", diff)
	}
	for _, w := range res.Weights.Values {
		if w < 50000 {
			t.Errorf("honest weight %d, want near 65535 (%v)", w, res.Weights.Values)
		}
	}

	// Same epoch: nothing to do.
	if res, err := v.Step(ctx); err != nil || res.Graded || res.Revealed != nil {
		t.Fatalf("second step in the same epoch: %+v %v", res, err)
	}
	// Next epoch: reveal the commit, grade again, commit again.
	net.epoch()
	res, err = v.Step(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Revealed == nil || !res.Graded || res.Weights == nil {
		t.Fatalf("step after an epoch: %+v", res)
	}
	ema := v.EMA()
	if ema[4] != 0 || math.Abs(ema[1]-ema[2]) > 0.2 || ema[1] <= 0 {
		t.Errorf("moving averages %v", ema)
	}
	want := []string{"register 1", "serve 1", "register 2", "serve 2", "register 3", "serve 3", "register 4", "serve 4", "register 5",
		"commit 0 epoch 0", "reveal 0 epoch 1", "commit 0 epoch 1"}
	if diff := cmp.Diff(want, net.log()); diff != "" {
		t.Errorf("chain calls (-want +got)\n%s", diff)
	}
}

func TestValidatorPlainWeights(t *testing.T) {
	eng := loadEngine(t)
	net := newMemNet(subnet.TaskEmbedding)
	net.mg.CommitReveal = false
	vkey, mk := key(t, 1), key(t, 10)
	net.add(vkey.Address(), 1000)
	runMiner(t, subnet.MinerOptions{Netuid: 1, Key: mk, Chain: net.chain(mk.Address()), Backend: eng.handler, ModelDigest: eng.digest})
	v, err := subnet.NewValidator(subnet.ValidatorOptions{Netuid: 1, Key: vkey, Chain: net.chain(vkey.Address()), Reference: eng.handler})
	if err != nil {
		t.Fatal(err)
	}
	res, err := v.Step(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Scores[1]; s < 0.8 {
		t.Errorf("embedding miner scored %v", s)
	}
	if diff := cmp.Diff([]string{"register 1", "serve 1", "set 0"}, net.log()); diff != "" {
		t.Errorf("(-want +got)\n%s", diff)
	}
}

func TestValidatorUnknownTask(t *testing.T) {
	net := newMemNet("image-generation")
	vkey := key(t, 1)
	net.add(vkey.Address(), 1)
	v, _ := subnet.NewValidator(subnet.ValidatorOptions{Netuid: 1, Key: vkey, Chain: net.chain(vkey.Address()), Reference: http.NotFoundHandler()})
	if _, err := v.Step(context.Background()); err == nil {
		t.Error("graded a task type it has no Task for")
	}
}

func TestTasks(t *testing.T) {
	seed := subnet.ChallengeSeed([]byte("block"), []byte("validator"))
	a := subnet.TextGeneration{}.Challenges(seed, 3)
	b := subnet.TextGeneration{}.Challenges(seed, 3)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("challenges are not deterministic (-a +b)\n%s", diff)
	}
	other := subnet.TextGeneration{}.Challenges(subnet.ChallengeSeed([]byte("block2"), []byte("validator")), 3)
	if cmp.Equal(a, other) {
		t.Error("another block gave the same challenges")
	}
	ok := func(body string, digest string) subnet.Response {
		h := http.Header{}
		h.Set(subnet.HeaderTokensDigest, digest)
		return subnet.Response{Status: 200, Body: []byte(body), Header: h}
	}
	tg := subnet.TextGeneration{}
	tests := []struct {
		name     string
		task     subnet.Task
		ref, got subnet.Response
		want     float64
	}{
		{"same text", tg, ok(`{"choices":[{"text":"a b"}]}`, "d"), ok(`{"choices":[{"text":"a b"}]}`, ""), 1},
		{"same text, other tokens", tg, ok(`{"choices":[{"text":"a b"}]}`, "d"), withReceipt(ok(`{"choices":[{"text":"a b"}]}`, ""), "e"), 0},
		{"same text, same tokens", tg, ok(`{"choices":[{"text":"a b"}]}`, "d"), withReceipt(ok(`{"choices":[{"text":"a b"}]}`, ""), "d"), 1},
		{"other text", tg, ok(`{"choices":[{"text":"a b"}]}`, "d"), ok(`{"choices":[{"text":"a c"}]}`, ""), 0},
		{"chat", tg, ok(`{"choices":[{"message":{"content":"x"}}]}`, ""), ok(`{"choices":[{"message":{"content":"x"}}]}`, ""), 1},
		{"not json", tg, ok(`{"choices":[{"text":"a"}]}`, ""), ok(`nope`, ""), 0},
		{"embedding equal", subnet.Embedding{}, ok(`{"data":[{"embedding":[1,2,3]}]}`, ""), ok(`{"data":[{"embedding":[2,4,6]}]}`, ""), 1},
		{"embedding orthogonal", subnet.Embedding{}, ok(`{"data":[{"embedding":[1,0]}]}`, ""), ok(`{"data":[{"embedding":[0,1]}]}`, ""), 0},
		{"embedding opposite", subnet.Embedding{}, ok(`{"data":[{"embedding":[1,0]}]}`, ""), ok(`{"data":[{"embedding":[-1,0]}]}`, ""), 0},
		{"embedding length", subnet.Embedding{}, ok(`{"data":[{"embedding":[1,0]}]}`, ""), ok(`{"data":[{"embedding":[1,0,0]}]}`, ""), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.task.Quality(subnet.Challenge{}, tt.ref, tt.got); math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("quality %v, want %v", got, tt.want)
			}
		})
	}
}

func withReceipt(r subnet.Response, tokensDigest string) subnet.Response {
	r.Receipt = &wire.Receipt{TokensDigest: tokensDigest}
	return r
}
