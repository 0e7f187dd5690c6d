package infer

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/infer/sample"
)

func storiesPath() string {
	return filepath.Join("..", "..", "..", "shared", "models", "stories260K.gguf")
}

// referenceIDs are the 256 greedy ids of spec §9 (llama2.c from BOS; the
// first four are the prompt "Once upon a time").
const referenceIDs = `403 407 261 378 432 383 286 261 376 298 315 421 395 317 426 338 401 396 267 337
410 408 419 292 411 322 265 282 295 433 426 385 328 432 358 394 261 370 432 352
266 268 388 426 338 391 266 267 337 335 312 432 398 312 286 267 414 270 333 415
426 13 438 310 439 419 357 336 432 313 438 310 432 278 316 439 419 298 414 267
265 282 295 433 426 436 317 286 296 418 269 279 292 416 439 413 409 416 327 263
415 294 267 400 426 338 336 432 313 442 391 267 337 335 364 420 268 388 432 398
359 280 303 439 413 272 417 264 312 426 436 13 438 310 286 296 418 269 279 292
416 439 413 409 416 327 263 415 294 267 400 426 338 336 432 313 442 439 423 262
304 420 422 432 317 426 359 279 292 416 439 413 409 416 327 263 415 294 267 400
426 436 13 438 310 279 292 416 439 413 391 267 281 421 427 311 357 432 384 358
336 432 313 442 439 423 262 304 420 422 432 357 426 359 279 292 416 439 413 409
416 327 263 415 294 267 400 426 436 320 285 357 336 432 313 455 289 439 413 263
304 420 422 432 317 426 410 448 411 280 303 281 421 427 364 426`

func parseIDs(t testing.TB, s string) []int {
	var ids []int
	for _, f := range strings.Fields(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, n)
	}
	return ids
}

var (
	storiesOnce  sync.Once
	storiesModel *Model
	storiesErr   error
)

func loadStories(t testing.TB) *Model {
	t.Helper()
	storiesOnce.Do(func() { storiesModel, storiesErr = Load(storiesPath(), Options{}) })
	if storiesErr != nil {
		t.Fatal(storiesErr)
	}
	return storiesModel
}

func TestStoriesGreedyReference(t *testing.T) {
	m := loadStories(t)
	prompt := m.Tokenizer().Encode("Once upon a time", true)
	if diff := cmp.Diff([]int{1, 403, 407, 261, 378}, prompt); diff != "" {
		t.Fatalf("prompt tokens (-want +got):\n%s", diff)
	}
	ref := parseIDs(t, referenceIDs)
	if len(ref) != 256 {
		t.Fatalf("reference has %d ids", len(ref))
	}
	want := ref[4:]
	var streamed []byte
	res, err := m.Generate(context.Background(), GenerateRequest{Prompt: prompt, MaxTokens: len(want)},
		func(id int, piece []byte) error { streamed = append(streamed, piece...); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, res.Tokens); diff != "" {
		t.Fatalf("greedy ids (-want +got):\n%s", diff)
	}
	if res.FinishReason != FinishLength || res.CompletionTokens != len(want) || res.PromptTokens != 5 {
		t.Errorf("result %+v", res)
	}
	if res.TokensDigest != TokensDigest(want) {
		t.Errorf("digest %s", res.TokensDigest)
	}
	if !strings.HasPrefix(string(streamed), ", there was a little girl named Lily. She loved to play outside in the park.") {
		t.Errorf("text %q", streamed)
	}
	if string(streamed) != res.Text {
		t.Errorf("streamed text differs from Result.Text")
	}
}

func TestStoriesDigestAndInfo(t *testing.T) {
	m := loadStories(t)
	if got, want := m.Digest(), "270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d"; got != want {
		t.Errorf("digest %s, want %s", got, want)
	}
	in := m.Info()
	got := []any{in.Architecture, in.EmbeddingLength, in.Layers, in.Heads, in.KVHeads, in.VocabSize, in.ContextLength, in.FileSize, in.TensorTypes}
	want := []any{"llama", 64, 5, 8, 4, 512, 2048, int64(1185376), map[string]int{"F32": 48}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("info (-want +got):\n%s", diff)
	}
	// 3 globals + 5 blocks: 64*512*2 + 64 + 5*(64*64*2 + 64*32*2 + 64*172*3 + 64*2)
	if want := uint64(64*512*2 + 64 + 5*(64*64*2+64*32*2+64*172*3+64*2)); in.Parameters != want {
		t.Errorf("parameters %d, want %d", in.Parameters, want)
	}
}

// TestPrefillEqualsForward: batched prompt processing gives bit-identical
// logits to token-by-token forward passes, and Forward is repeatable.
func TestPrefillEqualsForward(t *testing.T) {
	m := loadStories(t)
	ids := append([]int{1}, parseIDs(t, referenceIDs)[:99]...) // 100 tokens: two batches
	a := m.NewSession()
	defer a.Close()
	var seq []float32
	for pos, id := range ids {
		l, err := a.Forward(id, pos)
		if err != nil {
			t.Fatal(err)
		}
		seq = append(seq[:0], l...)
	}
	b := m.NewSession()
	defer b.Close()
	batch, err := b.Prefill(ids, 0)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(seq, batch); diff != "" {
		t.Errorf("prefill != forward:\n%s", diff)
	}
	// Continue both sessions by one token: caches must agree too.
	l1, _ := a.Forward(5, len(ids))
	l1 = append([]float32(nil), l1...)
	l2, _ := b.Forward(5, len(ids))
	if diff := cmp.Diff(l1, l2); diff != "" {
		t.Errorf("caches differ:\n%s", diff)
	}
}

func TestGenerateErrors(t *testing.T) {
	m := loadStories(t)
	ctx := context.Background()
	long := make([]int, m.ContextLength())
	tests := []struct {
		name string
		req  GenerateRequest
	}{
		{"empty prompt", GenerateRequest{}},
		{"context overflow", GenerateRequest{Prompt: long}},
		{"bad token", GenerateRequest{Prompt: []int{1, 100000}}},
		{"bad sampling", GenerateRequest{Prompt: []int{1}, Sampling: sample.Params{Temperature: -1}}},
		{"empty stop", GenerateRequest{Prompt: []int{1}, Stop: []string{""}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := m.Generate(ctx, tc.req, nil)
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("error %v, want kind invalid", err)
			}
		})
	}
	s := m.NewSession()
	defer s.Close()
	if _, err := s.Forward(1, m.ContextLength()); errs.KindOf(err) != errs.Invalid {
		t.Errorf("forward past context: %v", err)
	}
}

func TestGenerateStopAndCancel(t *testing.T) {
	m := loadStories(t)
	prompt := []int{1, 403, 407, 261, 378}
	var out bytes.Buffer
	res, err := m.Generate(context.Background(), GenerateRequest{Prompt: prompt, MaxTokens: 100, Stop: []string{"Lily."}},
		func(id int, piece []byte) error { out.Write(piece); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if res.FinishReason != FinishStop || out.String() != ", there was a little girl named " || res.Text != out.String() {
		t.Errorf("stop: reason %q text %q", res.FinishReason, out.String())
	}

	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	res, err = m.Generate(ctx, GenerateRequest{Prompt: prompt, MaxTokens: 100}, func(int, []byte) error {
		n++
		if n == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || res.FinishReason != FinishCancelled || len(res.Tokens) != 3 {
		t.Errorf("cancel: err %v reason %q tokens %d", err, res.FinishReason, len(res.Tokens))
	}

	// The context fills up: finish "length" at the last position.
	small, err := Load(storiesPath(), Options{ContextLength: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	res, err = small.Generate(context.Background(), GenerateRequest{Prompt: prompt, IgnoreEOS: true}, nil)
	if err != nil || res.FinishReason != FinishLength || len(res.Tokens) != 4 {
		t.Errorf("full context: err %v reason %q tokens %v", err, res.FinishReason, res.Tokens)
	}
}

func TestStopper(t *testing.T) {
	tests := []struct {
		name   string
		stops  []string
		pieces []string
		want   []string
		match  bool
	}{
		{"none", nil, []string{"ab", "c"}, []string{"ab", "c"}, false},
		{"hold and release", []string{"xyz"}, []string{"ax", "yq"}, []string{"a", "xyq"}, false},
		{"match across", []string{"xyz"}, []string{"ax", "y", "zb"}, []string{"a", "", ""}, true},
		{"match inside", []string{"b"}, []string{"abc"}, []string{"a"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := stopper{stops: tc.stops}
			var got []string
			for _, p := range tc.pieces {
				got = append(got, string(st.add([]byte(p))))
				if st.matched {
					break
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" || st.matched != tc.match {
				t.Errorf("(-want +got):\n%s matched=%v", diff, st.matched)
			}
		})
	}
}

func TestEmbed(t *testing.T) {
	m := loadStories(t)
	ids := []int{1, 403, 407, 261, 378}
	a, err := m.Embed(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.Embed(context.Background(), ids)
	if len(a) != 64 || !cmp.Equal(a, b) {
		t.Fatalf("embedding not repeatable or wrong size %d", len(a))
	}
	c, _ := m.Embed(context.Background(), ids[:3])
	if cmp.Equal(a, c) {
		t.Error("different inputs gave the same embedding")
	}
	if _, err := m.Embed(context.Background(), nil); errs.KindOf(err) != errs.Invalid {
		t.Errorf("empty: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing.gguf"), Options{}); err == nil {
		t.Error("missing file: want error")
	}
	p := filepath.Join(dir, "junk.gguf")
	if err := os.WriteFile(p, bytes.Repeat([]byte{1}, 100), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p, Options{}); errs.KindOf(err) != errs.Invalid {
		t.Errorf("junk: %v", err)
	}
}

func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// TestConcurrentGenerate: sessions of one model run concurrently and give
// the same tokens as a lone run (each has its own KV cache).
func TestConcurrentGenerate(t *testing.T) {
	m := loadStories(t)
	req := GenerateRequest{Prompt: []int{1, 403, 407, 261, 378}, MaxTokens: 40}
	want, err := m.Generate(context.Background(), req, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]Result, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = m.Generate(context.Background(), req, nil)
		}()
	}
	wg.Wait()
	for i, r := range results {
		if diff := cmp.Diff(want.Tokens, r.Tokens); diff != "" || r.TokensDigest != want.TokensDigest {
			t.Errorf("run %d differs:\n%s", i, diff)
		}
	}
}
