package infer

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/deai-network/deai/internal/errs"
)

// synthFile writes a synthetic model into dir and returns its path.
func synthFile(t testing.TB, dir, shape, typ string) string {
	t.Helper()
	p := filepath.Join(dir, fmt.Sprintf("%s-%s.gguf", shape, typ))
	if _, err := os.Stat(p); err == nil {
		return p
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := Synth(f, SynthOptions{Shape: shape, Type: typ, Seed: 42}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

var testPrompt = []int{1, 300, 301, 302, 500, 700, 900, 13}

// logitsAfter returns the logits after the prompt and after two more tokens.
func logitsAfter(t testing.TB, path string, threads int) [][]float32 {
	t.Helper()
	m, err := Load(path, Options{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	s := m.NewSession()
	defer s.Close()
	var out [][]float32
	l, err := s.Prefill(testPrompt, 0)
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, append([]float32(nil), l...))
	for i, id := range []int{400, 401} {
		l, err := s.Forward(id, len(testPrompt)+i)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]float32(nil), l...))
	}
	return out
}

// TestQuantizedLogitsTolerance compares each weight type with F32 on the
// same random weights. Tolerances: cosine similarity of the logit vectors and
// max |Δlogit| relative to the F32 logits' standard deviation.
func TestQuantizedLogitsTolerance(t *testing.T) {
	dir := t.TempDir()
	ref := logitsAfter(t, synthFile(t, dir, "tiny", "f32"), 1)
	tests := []struct {
		typ       string
		minCosine float64
		maxRel    float64
	}{
		{"f16", 0.99999, 0.01},
		{"bf16", 0.9999, 0.05},
		{"q8_0", 0.9995, 0.1},
		// 4- and 6-bit weights on random Gaussian matrices: the error is the
		// weights' quantization noise (about 2 and 8 % per weight), not the kernels'.
		{"q6_k", 0.997, 0.35},
		{"q4_0", 0.97, 1.0},
		{"q4_k", 0.97, 1.0},
	}
	for _, tc := range tests {
		t.Run(tc.typ, func(t *testing.T) {
			got := logitsAfter(t, synthFile(t, dir, "tiny", tc.typ), 1)
			for step := range ref {
				cos := cosine(ref[step], got[step])
				var mean, sq, maxd float64
				for _, v := range ref[step] {
					mean += float64(v)
				}
				mean /= float64(len(ref[step]))
				for i, v := range ref[step] {
					sq += (float64(v) - mean) * (float64(v) - mean)
					maxd = max(maxd, math.Abs(float64(v-got[step][i])))
				}
				rel := maxd / math.Sqrt(sq/float64(len(ref[step])))
				t.Logf("step %d: cosine %.6f, max|Δ|/σ %.4f", step, cos, rel)
				if cos < tc.minCosine || rel > tc.maxRel {
					t.Errorf("step %d: cosine %.6f (min %g), max|Δ|/σ %.4f (max %g)", step, cos, tc.minCosine, rel, tc.maxRel)
				}
			}
		})
	}
}

// TestThreadsBitIdentical: 1, 2 and 3 threads give bit-identical logits,
// and two runs agree.
func TestThreadsBitIdentical(t *testing.T) {
	dir := t.TempDir()
	for _, typ := range []string{"f32", "q8_0", "q4_0", "q4_k"} {
		t.Run(typ, func(t *testing.T) {
			p := synthFile(t, dir, "tiny", typ)
			one := logitsAfter(t, p, 1)
			for _, threads := range []int{1, 2, 3} {
				if diff := cmp.Diff(one, logitsAfter(t, p, threads)); diff != "" {
					t.Errorf("threads=%d differ from threads=1:\n%.500s", threads, diff)
				}
			}
		})
	}
}

func TestSynthDeterministic(t *testing.T) {
	var a, b bytes.Buffer
	if err := Synth(&a, SynthOptions{Shape: "tiny", Type: "q4_0", Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if err := Synth(&b, SynthOptions{Shape: "tiny", Type: "q4_0", Seed: 7}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("same options, different files")
	}
	for _, o := range []SynthOptions{{Shape: "2B", Type: "f32"}, {Shape: "tiny", Type: "q5_1"}, {Shape: "15M", Type: "q4_k"}} {
		if err := Synth(&a, o); errs.KindOf(err) != errs.Invalid {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func TestSynthModelGenerates(t *testing.T) {
	p := synthFile(t, t.TempDir(), "tiny", "q8_0")
	m, err := Load(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	in := m.Info()
	if in.TensorTypes["Q8_0"] != 2+7*2 || in.TensorTypes["F32"] != 1+2*2 {
		t.Errorf("tensor types %v", in.TensorTypes)
	}
	ids := m.Tokenizer().Encode("hello world", true)
	res, err := m.Generate(context.Background(), GenerateRequest{Prompt: ids, MaxTokens: 10, IgnoreEOS: true}, nil)
	if err != nil || len(res.Tokens) != 10 {
		t.Fatalf("generate: %v %+v", err, res)
	}
}

// TestSynthPrefillEqualsForward: on the synthetic model (heads of 32, the
// tiled quantized GEMM and the head-parallel batched attention), prefill of
// a prompt spanning two batches with a token count that is not a multiple
// of the GEMM's vector group gives the bits of token-by-token Forward, on 1
// and 2 threads.
func TestSynthPrefillEqualsForward(t *testing.T) {
	dir := t.TempDir()
	ids := make([]int, maxBatch+7)
	for i := range ids {
		ids[i] = 3 + (i*37)%500
	}
	for _, typ := range []string{"f32", "q8_0", "q4_0"} {
		p := synthFile(t, dir, "tiny", typ)
		for _, threads := range []int{1, 2} {
			m, err := Load(p, Options{Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			a, b := m.NewSession(), m.NewSession()
			var seq []float32
			for pos, id := range ids {
				l, err := a.Forward(id, pos)
				if err != nil {
					t.Fatal(err)
				}
				seq = append(seq[:0], l...)
			}
			batch, err := b.Prefill(ids, 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(seq, batch); diff != "" {
				t.Errorf("%s threads=%d: prefill != forward:\n%.500s", typ, threads, diff)
			}
			l1, _ := a.Forward(5, len(ids))
			l1 = append([]float32(nil), l1...)
			l2, _ := b.Forward(5, len(ids))
			if diff := cmp.Diff(l1, l2); diff != "" {
				t.Errorf("%s threads=%d: caches differ:\n%.500s", typ, threads, diff)
			}
			a.Close()
			b.Close()
			m.Close()
		}
	}
}
