package infer

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"sync"

	"github.com/deai-network/deai/internal/errs"
	"github.com/deai-network/deai/internal/infer/gguf"
	"github.com/deai-network/deai/internal/infer/tensor"
	"github.com/deai-network/deai/internal/infer/tokenizer"
)

// Options configure Load.
type Options struct {
	// Threads is the number of threads each session uses for matmuls; 0
	// means 1. Results do not depend on it.
	Threads int
	// ContextLength, when positive, sets the context length (the KV cache
	// size) instead of the model's, up to MaxContextLength. Zero means the
	// model's training context, capped at DefaultContextLength.
	ContextLength int
	// Logger receives load-time information; nil discards.
	Logger *slog.Logger
}

// DefaultContextLength caps the context of a model whose metadata declares a
// longer one (a KV cache for 128K positions is rarely wanted by default).
const DefaultContextLength = 4096

// MaxContextLength bounds Options.ContextLength.
const MaxContextLength = 1 << 20

// hparams are the model hyperparameters read from metadata.
type hparams struct {
	arch                    string
	dim, ffn, layers        int
	heads, kvHeads, headDim int
	nRot, vocab, ctx        int
	eps                     float32
	ropeBase, ropeFreqScale float64
	neox                    bool
	trainCtx                int
}

type layer struct {
	attnNorm, ffnNorm []float32
	wq, wk, wv, wo    *tensor.Matrix
	bq, bk, bv        []float32 // optional biases (qwen2)
	gate, up, down    *tensor.Matrix
}

// Model is a loaded model. It is safe for concurrent use; each Session (and
// each Generate or Embed call) has its own KV cache.
type Model struct {
	path    string
	file    *gguf.File
	hp      hparams
	opts    Options
	log     *slog.Logger
	tok     *tokenizer.Tokenizer
	embd    *tensor.Matrix
	output  *tensor.Matrix
	outNorm []float32
	layers  []layer
	cos     []float32 // [ctx][nRot/2]
	sin     []float32

	digestOnce sync.Once
	digest     string

	// spare holds closed sessions for NewSession to reuse: their caches,
	// scratch buffers and worker threads (at most maxSpare; guarded by
	// spareMu, closed set by Close).
	spareMu sync.Mutex
	spare   []*Session
	closed  bool
}

// maxSpare is the number of closed sessions a model keeps for reuse.
const maxSpare = 1

// ropeModes maps supported architectures to whether they use NEOX-style
// RoPE (pairs i and i+n_rot/2) instead of adjacent pairs.
var ropeModes = map[string]bool{"llama": false, "mistral": false, "smollm": false, "qwen2": true}

// Load opens and maps a GGUF model.
func Load(path string, opts Options) (*Model, error) {
	const op = "load model"
	f, err := gguf.Open(path)
	if err != nil {
		return nil, errs.Wrap(op, errs.Invalid, err)
	}
	m, err := newModel(f, opts)
	if err != nil {
		f.Close()
		return nil, errs.Wrap(op, errs.Invalid, fmt.Errorf("%s: %w", path, err))
	}
	m.path = path
	m.log.Info("model loaded", "path", path, "arch", m.hp.arch, "layers", m.hp.layers, "dim", m.hp.dim, "ctx", m.hp.ctx)
	return m, nil
}

// Close unmaps the file and stops the threads of the sessions kept for
// reuse. No session of the model may be used afterwards.
func (m *Model) Close() error {
	m.spareMu.Lock()
	m.closed = true
	for _, s := range m.spare {
		s.pool.Close()
	}
	m.spare = nil
	m.spareMu.Unlock()
	return m.file.Close()
}

func newModel(f *gguf.File, opts Options) (*Model, error) {
	if opts.Threads <= 0 {
		opts.Threads = 1
	}
	m := &Model{file: f, opts: opts, log: opts.Logger}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if err := m.readHparams(); err != nil {
		return nil, err
	}
	tok, err := newTokenizer(f)
	if err != nil {
		return nil, err
	}
	m.tok = tok
	if err := m.bindWeights(); err != nil {
		return nil, err
	}
	if tok.VocabSize() > m.hp.vocab {
		return nil, fmt.Errorf("tokenizer has %d tokens, embedding %d rows", tok.VocabSize(), m.hp.vocab)
	}
	m.buildRope()
	return m, nil
}

func (m *Model) readHparams() error {
	f := m.file
	arch, ok := f.GetString("general.architecture")
	if !ok {
		return fmt.Errorf("general.architecture missing")
	}
	neox, ok := ropeModes[arch]
	if !ok {
		return fmt.Errorf("architecture %q is not supported", arch)
	}
	h := hparams{arch: arch, neox: neox}
	get := func(key string, def int, required bool) (int, error) {
		v, ok := f.GetUint(arch + "." + key)
		if !ok {
			if required {
				return 0, fmt.Errorf("%s.%s missing", arch, key)
			}
			return def, nil
		}
		if v == 0 || v > 1<<24 {
			return 0, fmt.Errorf("%s.%s = %d is out of range", arch, key, v)
		}
		return int(v), nil
	}
	var err error
	fields := []struct {
		dst      *int
		key      string
		def      int
		required bool
	}{
		{&h.dim, "embedding_length", 0, true},
		{&h.ffn, "feed_forward_length", 0, true},
		{&h.layers, "block_count", 0, true},
		{&h.heads, "attention.head_count", 0, true},
		{&h.trainCtx, "context_length", 2048, false},
	}
	for _, fl := range fields {
		if *fl.dst, err = get(fl.key, fl.def, fl.required); err != nil {
			return err
		}
	}
	if h.kvHeads, err = get("attention.head_count_kv", h.heads, false); err != nil {
		return err
	}
	if h.dim%h.heads != 0 || h.heads%h.kvHeads != 0 {
		return fmt.Errorf("dim %d, heads %d, kv heads %d do not divide", h.dim, h.heads, h.kvHeads)
	}
	h.headDim = h.dim / h.heads
	if h.nRot, err = get("rope.dimension_count", h.headDim, false); err != nil {
		return err
	}
	if h.nRot > h.headDim || h.nRot%2 != 0 {
		return fmt.Errorf("rope dimension %d for head dim %d", h.nRot, h.headDim)
	}
	h.ropeBase = 10000
	if v, ok := f.GetFloat(arch + ".rope.freq_base"); ok {
		h.ropeBase = v
	}
	h.ropeFreqScale = 1
	scaling, _ := f.GetString(arch + ".rope.scaling.type")
	factor, hasFactor := f.GetFloat(arch + ".rope.scaling.factor")
	if !hasFactor {
		factor, hasFactor = f.GetFloat(arch + ".rope.scale_linear")
		if hasFactor {
			scaling = "linear"
		}
	}
	switch {
	case scaling == "linear" && hasFactor && factor > 0:
		h.ropeFreqScale = 1 / factor
	case scaling == "" || scaling == "none" || (scaling == "linear" && !hasFactor):
	default:
		return fmt.Errorf("rope scaling %q is not supported", scaling)
	}
	if !(h.ropeBase > 0) || math.IsInf(h.ropeBase, 0) {
		return fmt.Errorf("rope.freq_base %g", h.ropeBase)
	}
	h.eps = 1e-5
	if v, ok := f.GetFloat(arch + ".attention.layer_norm_rms_epsilon"); ok {
		h.eps = float32(v)
	}
	h.ctx = min(h.trainCtx, DefaultContextLength)
	if m.opts.ContextLength > 0 {
		if m.opts.ContextLength > MaxContextLength {
			return fmt.Errorf("context length %d exceeds %d", m.opts.ContextLength, MaxContextLength)
		}
		h.ctx = m.opts.ContextLength
	}
	// Every block needs 9 tensors: bound the layer count by the file before
	// allocating per-layer state.
	if h.layers > len(f.Tensors)/9 {
		return fmt.Errorf("%d blocks but only %d tensors", h.layers, len(f.Tensors))
	}
	m.hp = h
	return nil
}

func newTokenizer(f *gguf.File) (*tokenizer.Tokenizer, error) {
	v := tokenizer.Vocab{BOS: -1, EOS: -1, UNK: -1, PAD: -1}
	v.Model, _ = f.GetString("tokenizer.ggml.model")
	v.Pre, _ = f.GetString("tokenizer.ggml.pre")
	v.Tokens, _ = f.GetStrings("tokenizer.ggml.tokens")
	v.Scores, _ = f.GetFloat32s("tokenizer.ggml.scores")
	v.Types, _ = f.GetInt32s("tokenizer.ggml.token_type")
	v.Merges, _ = f.GetStrings("tokenizer.ggml.merges")
	spm := v.Model == "llama"
	id := func(key string, def int) int {
		x, ok := f.GetUint(key)
		if !ok {
			return def
		}
		if x >= uint64(len(v.Tokens)) {
			return -1 // 0xFFFFFFFF and other out-of-range ids mean none
		}
		return int(x)
	}
	flag := func(key string, def bool) bool {
		if b, ok := f.GetBool(key); ok {
			return b
		}
		return def
	}
	ifSPM := func(n int) int {
		if spm {
			return n
		}
		return -1
	}
	v.BOS = id("tokenizer.ggml.bos_token_id", ifSPM(1))
	v.EOS = id("tokenizer.ggml.eos_token_id", ifSPM(2))
	v.UNK = id("tokenizer.ggml.unknown_token_id", ifSPM(0))
	v.PAD = id("tokenizer.ggml.padding_token_id", -1)
	v.AddBOS = flag("tokenizer.ggml.add_bos_token", spm)
	v.AddEOS = flag("tokenizer.ggml.add_eos_token", false)
	v.AddSpacePrefix = flag("tokenizer.ggml.add_space_prefix", spm)
	for _, k := range []string{"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"} {
		if x := id(k, -1); x >= 0 {
			v.ExtraEOG = append(v.ExtraEOG, x)
		}
	}
	t, err := tokenizer.New(v)
	if err != nil {
		return nil, fmt.Errorf("tokenizer: %w", err)
	}
	return t, nil
}

// matrix binds a 2-D tensor with the given row length and row count.
func (m *Model) matrix(name string, cols, rows int) (*tensor.Matrix, error) {
	ti, ok := m.file.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("tensor %s missing", name)
	}
	if len(ti.Dims) != 2 || ti.Dims[0] != uint64(cols) || (rows > 0 && ti.Dims[1] != uint64(rows)) {
		return nil, fmt.Errorf("tensor %s has shape %v, want [%d %d]", name, ti.Dims, cols, rows)
	}
	mat, err := tensor.NewMatrix(ti.Type, int(ti.Dims[1]), cols, m.file.TensorData(ti))
	if err != nil {
		return nil, fmt.Errorf("tensor %s: %w", name, err)
	}
	return mat, nil
}

// vector reads a 1-D tensor of n elements as float32 (a view for F32).
func (m *Model) vector(name string, n int, optional bool) ([]float32, error) {
	ti, ok := m.file.Tensor(name)
	if !ok {
		if optional {
			return nil, nil
		}
		return nil, fmt.Errorf("tensor %s missing", name)
	}
	if len(ti.Dims) != 1 || ti.Dims[0] != uint64(n) {
		return nil, fmt.Errorf("tensor %s has shape %v, want [%d]", name, ti.Dims, n)
	}
	if ti.Type == tensor.F32 {
		return tensor.F32View(m.file.TensorData(ti)), nil
	}
	out := make([]float32, n)
	if err := tensor.Dequantize(ti.Type, m.file.TensorData(ti), out); err != nil {
		return nil, fmt.Errorf("tensor %s: %w", name, err)
	}
	return out, nil
}

func (m *Model) bindWeights() error {
	h := &m.hp
	var err error
	ti, ok := m.file.Tensor("token_embd.weight")
	if !ok || len(ti.Dims) != 2 || ti.Dims[1] > 1<<24 {
		return fmt.Errorf("token_embd.weight missing or malformed")
	}
	h.vocab = int(ti.Dims[1])
	if m.embd, err = m.matrix("token_embd.weight", h.dim, h.vocab); err != nil {
		return err
	}
	if _, ok := m.file.Tensor("output.weight"); ok {
		if m.output, err = m.matrix("output.weight", h.dim, h.vocab); err != nil {
			return err
		}
	} else {
		m.output = m.embd // tied
	}
	if m.outNorm, err = m.vector("output_norm.weight", h.dim, false); err != nil {
		return err
	}
	qDim, kvDim := h.heads*h.headDim, h.kvHeads*h.headDim
	m.layers = make([]layer, h.layers)
	for i := range m.layers {
		l := &m.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		steps := []func() error{
			func() (e error) { l.attnNorm, e = m.vector(p+"attn_norm.weight", h.dim, false); return },
			func() (e error) { l.ffnNorm, e = m.vector(p+"ffn_norm.weight", h.dim, false); return },
			func() (e error) { l.wq, e = m.matrix(p+"attn_q.weight", h.dim, qDim); return },
			func() (e error) { l.wk, e = m.matrix(p+"attn_k.weight", h.dim, kvDim); return },
			func() (e error) { l.wv, e = m.matrix(p+"attn_v.weight", h.dim, kvDim); return },
			func() (e error) { l.wo, e = m.matrix(p+"attn_output.weight", qDim, h.dim); return },
			func() (e error) { l.gate, e = m.matrix(p+"ffn_gate.weight", h.dim, h.ffn); return },
			func() (e error) { l.up, e = m.matrix(p+"ffn_up.weight", h.dim, h.ffn); return },
			func() (e error) { l.down, e = m.matrix(p+"ffn_down.weight", h.ffn, h.dim); return },
			func() (e error) { l.bq, e = m.vector(p+"attn_q.bias", qDim, true); return },
			func() (e error) { l.bk, e = m.vector(p+"attn_k.bias", kvDim, true); return },
			func() (e error) { l.bv, e = m.vector(p+"attn_v.bias", kvDim, true); return },
		}
		for _, s := range steps {
			if err := s(); err != nil {
				return err
			}
		}
	}
	return nil
}

// buildRope precomputes cos and sin for every position and rotated pair, in
// float32 as llama2.c does: freq = 1/base^(2i/n_rot), θ = pos·freq·scale.
func (m *Model) buildRope() {
	h := &m.hp
	half := h.nRot / 2
	m.cos = make([]float32, h.ctx*half)
	m.sin = make([]float32, h.ctx*half)
	freqs := make([]float32, half)
	for i := range freqs {
		freqs[i] = float32(1 / math.Pow(h.ropeBase, float64(2*i)/float64(h.nRot)))
	}
	scale := float32(h.ropeFreqScale)
	for pos := 0; pos < h.ctx; pos++ {
		for i, f := range freqs {
			theta := float32(float32(pos)*f) * scale
			m.cos[pos*half+i] = float32(math.Cos(float64(theta)))
			m.sin[pos*half+i] = float32(math.Sin(float64(theta)))
		}
	}
}

// Tokenizer returns the model's tokenizer.
func (m *Model) Tokenizer() *tokenizer.Tokenizer { return m.tok }

// ContextLength is the number of positions a session holds.
func (m *Model) ContextLength() int { return m.hp.ctx }

// VocabSize is the number of logits per position.
func (m *Model) VocabSize() int { return m.hp.vocab }

// EmbeddingLength is the size of the vectors Embed returns.
func (m *Model) EmbeddingLength() int { return m.hp.dim }

// Digest returns the sha256 of the model file in hex, computed once.
func (m *Model) Digest() string {
	m.digestOnce.Do(func() {
		sum := sha256.Sum256(m.file.Bytes())
		m.digest = hex.EncodeToString(sum[:])
	})
	return m.digest
}

// Info describes a model for `deai model inspect`.
type Info struct {
	Architecture      string
	Name              string
	Parameters        uint64
	ContextLength     int // training context from metadata
	EmbeddingLength   int
	FeedForwardLength int
	Layers            int
	Heads             int
	KVHeads           int
	VocabSize         int
	RopeBase          float64
	FileSize          int64
	TensorTypes       map[string]int // tensor type name -> number of tensors
	TensorBytes       map[string]uint64
	Tokenizer         string
	ChatTemplate      string
}

// Info returns the model description.
func (m *Model) Info() Info {
	f := m.file
	in := Info{Architecture: m.hp.arch, ContextLength: m.hp.trainCtx, EmbeddingLength: m.hp.dim,
		FeedForwardLength: m.hp.ffn, Layers: m.hp.layers, Heads: m.hp.heads, KVHeads: m.hp.kvHeads,
		VocabSize: m.hp.vocab, RopeBase: m.hp.ropeBase, FileSize: f.Size,
		TensorTypes: map[string]int{}, TensorBytes: map[string]uint64{}}
	in.Name, _ = f.GetString("general.name")
	in.Tokenizer, _ = f.GetString("tokenizer.ggml.model")
	in.ChatTemplate, _ = f.GetString("tokenizer.chat_template")
	for i := range f.Tensors {
		t := &f.Tensors[i]
		in.Parameters += t.Elements()
		in.TensorTypes[t.Type.String()]++
		in.TensorBytes[t.Type.String()] += t.Size
	}
	return in
}

// TensorTypeNames returns the tensor types of Info in a stable order.
func (in Info) TensorTypeNames() []string {
	names := make([]string, 0, len(in.TensorTypes))
	for n := range in.TensorTypes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
