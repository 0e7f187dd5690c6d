package infer

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/infer/gguf"
	"github.com/deai-network/deai/internal/infer/tensor"
)

// SynthOptions selects the model Synth writes.
type SynthOptions struct {
	// Shape is "15M" (stories15M: dim 288, 6 layers, 6 heads, FFN 768),
	// "110M" (dim 768, 12 layers, 12 heads, FFN 2048), "1B" (TinyLlama:
	// dim 2048, 22 layers, 32 heads, 4 KV heads, FFN 5632), all with a
	// 32000-token vocabulary and an untied output, or "tiny" (dim 256, 2
	// layers, for tests).
	Shape string
	// Type is the weight type of the 2-D tensors: "f32", "f16", "bf16",
	// "q8_0", "q4_0", "q4_k" or "q6_k". Norms stay F32. As llama.cpp does
	// when a row length does not suit the type, the output matrix of a
	// q4_0 model is Q8_0.
	Type string
	Seed uint64
}

type synthShape struct {
	dim, ffn, layers, heads, kvHeads, vocab, ctx int
}

// SynthShapes lists the shapes Synth knows.
var synthShapes = map[string]synthShape{
	"tiny": {256, 512, 2, 8, 4, 1024, 512},
	"15M":  {288, 768, 6, 6, 6, 32000, 256},
	"110M": {768, 2048, 12, 12, 12, 32000, 1024},
	"1B":   {2048, 5632, 22, 32, 4, 32000, 2048},
}

// Synth writes a random-weight llama GGUF of a realistic shape, for
// benchmarks at sizes that cannot be downloaded. Weights are N(0, 1/cols)
// from a seeded generator, so the same options give the same file. It
// streams: memory use does not grow with the model.
func Synth(w io.Writer, o SynthOptions) error {
	const op = "synth model"
	sh, ok := synthShapes[o.Shape]
	if !ok {
		return errs.E(op, errs.Invalid, "unknown shape %q (want 15M, 110M, 1B or tiny)", o.Shape)
	}
	typ, err := tensor.ParseType(o.Type)
	if err != nil || !typ.Computable() || typ == tensor.Q8_K {
		return errs.E(op, errs.Invalid, "unsupported type %q", o.Type)
	}
	for _, c := range []int{sh.dim, sh.ffn} {
		if c%typ.BlockSize() != 0 {
			return errs.E(op, errs.Invalid, "type %s needs rows that are a multiple of %d; shape %s has %d", typ, typ.BlockSize(), o.Shape, c)
		}
	}
	outType := typ
	if typ == tensor.Q4_0 {
		outType = tensor.Q8_0
	}
	gw := gguf.NewWriter(w)
	tokens, scores, types := synthVocab(sh.vocab)
	hd := sh.dim / sh.heads
	kvs := []gguf.KV{
		{Key: "general.architecture", Value: "llama"},
		{Key: "general.name", Value: "synthetic-" + o.Shape + "-" + o.Type},
		{Key: "general.quantization_version", Value: uint32(2)},
		{Key: "llama.context_length", Value: uint32(sh.ctx)},
		{Key: "llama.embedding_length", Value: uint32(sh.dim)},
		{Key: "llama.feed_forward_length", Value: uint32(sh.ffn)},
		{Key: "llama.block_count", Value: uint32(sh.layers)},
		{Key: "llama.attention.head_count", Value: uint32(sh.heads)},
		{Key: "llama.attention.head_count_kv", Value: uint32(sh.kvHeads)},
		{Key: "llama.rope.dimension_count", Value: uint32(hd)},
		{Key: "llama.rope.freq_base", Value: float32(10000)},
		{Key: "llama.attention.layer_norm_rms_epsilon", Value: float32(1e-5)},
		{Key: "tokenizer.ggml.model", Value: "llama"},
		{Key: "tokenizer.ggml.tokens", Value: tokens},
		{Key: "tokenizer.ggml.scores", Value: scores},
		{Key: "tokenizer.ggml.token_type", Value: types},
		{Key: "tokenizer.ggml.bos_token_id", Value: uint32(1)},
		{Key: "tokenizer.ggml.eos_token_id", Value: uint32(2)},
		{Key: "tokenizer.ggml.unknown_token_id", Value: uint32(0)},
	}
	for _, kv := range kvs {
		if err := gw.AddKV(kv.Key, kv.Value); err != nil {
			return errs.Wrap(op, errs.Internal, err)
		}
	}
	type spec struct {
		name       string
		typ        tensor.Type
		cols, rows int
		norm       bool
	}
	specs := []spec{{"token_embd.weight", typ, sh.dim, sh.vocab, false}, {"output_norm.weight", tensor.F32, sh.dim, 1, true},
		{"output.weight", outType, sh.dim, sh.vocab, false}}
	kvDim := sh.kvHeads * hd
	for l := 0; l < sh.layers; l++ {
		p := fmt.Sprintf("blk.%d.", l)
		specs = append(specs,
			spec{p + "attn_norm.weight", tensor.F32, sh.dim, 1, true},
			spec{p + "attn_q.weight", typ, sh.dim, sh.dim, false},
			spec{p + "attn_k.weight", typ, sh.dim, kvDim, false},
			spec{p + "attn_v.weight", typ, sh.dim, kvDim, false},
			spec{p + "attn_output.weight", typ, sh.dim, sh.dim, false},
			spec{p + "ffn_norm.weight", tensor.F32, sh.dim, 1, true},
			spec{p + "ffn_gate.weight", typ, sh.dim, sh.ffn, false},
			spec{p + "ffn_up.weight", typ, sh.dim, sh.ffn, false},
			spec{p + "ffn_down.weight", typ, sh.ffn, sh.dim, false})
	}
	for _, s := range specs {
		dims := []uint64{uint64(s.cols), uint64(s.rows)}
		if s.norm {
			dims = dims[:1]
		}
		if err := gw.AddTensor(s.name, s.typ, dims...); err != nil {
			return errs.Wrap(op, errs.Internal, err)
		}
	}
	if err := gw.WriteHeader(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x5eed))
	const chunkRows = 64
	var buf []byte
	for _, s := range specs {
		vals := make([]float32, s.cols*min(chunkRows, s.rows))
		scale := 1 / math.Sqrt(float64(s.cols))
		if s.name == "token_embd.weight" {
			scale = 1
		}
		for r := 0; r < s.rows; r += chunkRows {
			n := min(chunkRows, s.rows-r) * s.cols
			for i := range vals[:n] {
				if s.norm {
					vals[i] = 1
				} else {
					vals[i] = float32(rng.NormFloat64() * scale)
				}
			}
			if buf, err = tensor.Quantize(s.typ, buf[:0], vals[:n]); err != nil {
				return errs.Wrap(op, errs.Internal, err)
			}
			if err := gw.WriteTensorData(buf); err != nil {
				return fmt.Errorf("%s: %w", op, err)
			}
		}
	}
	if err := gw.Close(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// synthVocab builds a SentencePiece vocabulary of n tokens: <unk>, <s>,
// </s>, the 256 byte tokens, printable ASCII, then "▁"-prefixed and plain
// letter pairs and triples (unique dummy pieces). Scores decrease with id.
func synthVocab(n int) ([]string, []float32, []int32) {
	tokens := []string{"<unk>", "<s>", "</s>"}
	types := []int32{2, 3, 3}
	for b := 0; b < 256; b++ {
		tokens = append(tokens, fmt.Sprintf("<0x%02X>", b))
		types = append(types, 6)
	}
	seen := map[string]bool{}
	add := func(s string) {
		if len(tokens) < n && !seen[s] {
			seen[s] = true
			tokens = append(tokens, s)
			types = append(types, 1)
		}
	}
	add("▁")
	for c := '!'; c <= '~'; c++ {
		add(string(c))
	}
	letters := "etaoinshrdlucmfwypvbgkjqxz"
	for _, a := range letters {
		for _, b := range letters {
			add("▁" + string(a) + string(b))
			add(string(a) + string(b))
		}
	}
	for _, a := range letters {
		for _, b := range letters {
			for _, c := range letters {
				add("▁" + string(a) + string(b) + string(c))
				add(string(a) + string(b) + string(c))
			}
		}
	}
	for i := 0; len(tokens) < n; i++ {
		add(fmt.Sprintf("▁tok%d", i))
	}
	tokens = tokens[:n]
	types = types[:n]
	scores := make([]float32, n)
	for i := range scores {
		if types[i] == 1 {
			scores[i] = -float32(i)
		}
	}
	return tokens, scores, types
}
