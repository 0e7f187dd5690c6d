package infer

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/infer/gguf"
	"github.com/deai-network/deai/internal/infer/tensor"
)

// writeModel writes a tiny llama-shaped GGUF (dim 8, 1 block, 2 heads,
// vocab 260) after applying edits to its metadata and tensor shapes.
func writeModel(t *testing.T, meta map[string]any, skip string, shapes map[string][]uint64) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.gguf")
	if err := os.WriteFile(p, modelBytes(t, meta, skip, shapes), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func modelBytes(t testing.TB, meta map[string]any, skip string, shapes map[string][]uint64) []byte {
	t.Helper()
	tokens, scores, types := synthVocab(260)
	kv := map[string]any{
		"general.architecture": "llama", "llama.context_length": uint32(64), "llama.embedding_length": uint32(8),
		"llama.feed_forward_length": uint32(16), "llama.block_count": uint32(1), "llama.attention.head_count": uint32(2),
		"tokenizer.ggml.model": "llama", "tokenizer.ggml.tokens": tokens, "tokenizer.ggml.scores": scores,
		"tokenizer.ggml.token_type": types,
	}
	for k, v := range meta {
		if v == nil {
			delete(kv, k)
		} else {
			kv[k] = v
		}
	}
	var buf bytes.Buffer
	w := gguf.NewWriter(&buf)
	for _, k := range []string{"general.architecture", "llama.context_length", "llama.embedding_length", "llama.feed_forward_length",
		"llama.block_count", "llama.attention.head_count", "llama.attention.head_count_kv", "llama.rope.freq_base",
		"llama.rope.scaling.type", "llama.rope.dimension_count",
		"tokenizer.ggml.model", "tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"} {
		if v, ok := kv[k]; ok {
			if err := w.AddKV(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	tensors := map[string][]uint64{
		"token_embd.weight": {8, 260}, "output_norm.weight": {8},
		"blk.0.attn_norm.weight": {8}, "blk.0.ffn_norm.weight": {8},
		"blk.0.attn_q.weight": {8, 8}, "blk.0.attn_k.weight": {8, 8}, "blk.0.attn_v.weight": {8, 8},
		"blk.0.attn_output.weight": {8, 8}, "blk.0.ffn_gate.weight": {8, 16}, "blk.0.ffn_up.weight": {8, 16},
		"blk.0.ffn_down.weight": {16, 8},
	}
	for k, v := range shapes {
		tensors[k] = v
	}
	names := []string{"token_embd.weight", "output_norm.weight", "blk.0.attn_norm.weight", "blk.0.ffn_norm.weight",
		"blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.0.attn_v.weight", "blk.0.attn_output.weight",
		"blk.0.ffn_gate.weight", "blk.0.ffn_up.weight", "blk.0.ffn_down.weight"}
	var sizes []int
	for _, n := range names {
		if n == skip {
			continue
		}
		if err := w.AddTensor(n, tensor.F32, tensors[n]...); err != nil {
			t.Fatal(err)
		}
		e := 1
		for _, d := range tensors[n] {
			e *= int(d)
		}
		sizes = append(sizes, e*4)
	}
	if err := w.WriteHeader(); err != nil {
		t.Fatal(err)
	}
	for _, sz := range sizes {
		if err := w.WriteTensorData(make([]byte, sz)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzLoad: whatever Parse accepts, building a model from it either fails
// with an error or gives a model that runs a token, never a panic.
func FuzzLoad(f *testing.F) {
	f.Add(modelBytes(f, nil, "", nil))
	f.Add(modelBytes(f, map[string]any{"llama.attention.head_count_kv": uint32(1)}, "", nil))
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := gguf.Parse(data)
		if err != nil {
			return
		}
		m, err := newModel(g, Options{ContextLength: 8})
		if err != nil {
			return
		}
		s := m.NewSession()
		defer s.Close()
		if _, err := s.Forward(0, 0); err != nil {
			t.Fatal(err)
		}
	})
}

func TestLoadHostileModels(t *testing.T) {
	if _, err := Load(writeModel(t, nil, "", nil), Options{}); err != nil {
		t.Fatalf("baseline model: %v", err)
	}
	tests := []struct {
		name   string
		meta   map[string]any
		skip   string
		shapes map[string][]uint64
		opts   Options
	}{
		{name: "no architecture", meta: map[string]any{"general.architecture": nil}},
		{name: "unsupported architecture", meta: map[string]any{"general.architecture": "gpt-j"}},
		{name: "missing dim", meta: map[string]any{"llama.embedding_length": nil}},
		{name: "zero heads", meta: map[string]any{"llama.attention.head_count": uint32(0)}},
		{name: "heads do not divide", meta: map[string]any{"llama.attention.head_count": uint32(3)}},
		{name: "kv heads do not divide", meta: map[string]any{"llama.attention.head_count_kv": uint32(3)}},
		{name: "huge block count", meta: map[string]any{"llama.block_count": uint32(1 << 24)}},
		{name: "string block count", meta: map[string]any{"llama.block_count": "1"}},
		{name: "rope dims too large", meta: map[string]any{"llama.rope.dimension_count": uint32(64)}},
		{name: "bad rope base", meta: map[string]any{"llama.rope.freq_base": float32(-1)}},
		{name: "unknown rope scaling", meta: map[string]any{"llama.rope.scaling.type": "yarn"}},
		{name: "missing tensor", skip: "blk.0.ffn_up.weight"},
		{name: "wrong shape", shapes: map[string][]uint64{"blk.0.attn_q.weight": {8, 16}}},
		{name: "3-d weight", shapes: map[string][]uint64{"blk.0.attn_k.weight": {8, 4, 2}}},
		{name: "vocab larger than embedding", shapes: map[string][]uint64{"token_embd.weight": {8, 100}}},
		{name: "no tokenizer", meta: map[string]any{"tokenizer.ggml.model": nil}},
		{name: "huge context option", opts: Options{ContextLength: 1 << 30}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Load(writeModel(t, tc.meta, tc.skip, tc.shapes), tc.opts)
			if err == nil {
				m.Close()
				t.Fatal("want error")
			}
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("kind %v, want invalid: %v", errs.KindOf(err), err)
			}
		})
	}
	// A declared context of 2^24 is capped, not allocated.
	m, err := Load(writeModel(t, map[string]any{"llama.context_length": uint32(1 << 24)}, "", nil), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.ContextLength() != DefaultContextLength || m.Info().ContextLength != 1<<24 {
		t.Errorf("context %d, info %d", m.ContextLength(), m.Info().ContextLength)
	}
}

var genCorpus = flag.Bool("gen-corpus", false, "rewrite testdata/fuzz/FuzzLoad seeds")

// TestGenLoadCorpus rewrites the committed FuzzLoad seeds with -gen-corpus.
func TestGenLoadCorpus(t *testing.T) {
	if !*genCorpus {
		t.Skip("run with -gen-corpus to rewrite testdata/fuzz/FuzzLoad")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzLoad")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	seeds := map[string][]byte{
		"tiny":          modelBytes(t, nil, "", nil),
		"tiny-gqa":      modelBytes(t, map[string]any{"llama.attention.head_count_kv": uint32(1)}, "", nil),
		"tiny-no-ffnup": modelBytes(t, nil, "blk.0.ffn_up.weight", nil),
	}
	for name, data := range seeds {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
