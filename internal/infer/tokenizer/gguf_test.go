package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// storiesPath is the shared test model, reached from this package's
// directory: internal/infer/tokenizer -> repository root -> ../shared.
var storiesPath = filepath.Join("..", "..", "..", "..", "shared", "models", "stories260K.gguf")

// readGGUFMeta is a minimal, test-only GGUF v3 metadata reader: enough to
// take a vocabulary out of a trusted file. The real reader, with hostile-file
// checks, is internal/infer/gguf.
func readGGUFMeta(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &metaReader{b: b}
	if string(r.next(4)) != "GGUF" {
		return nil, fmt.Errorf("not a GGUF file")
	}
	if v := r.u32(); v != 3 {
		return nil, fmt.Errorf("GGUF version %d", v)
	}
	r.u64() // tensor count
	n := r.u64()
	meta := make(map[string]any, n)
	for range n {
		k := r.str()
		meta[k] = r.value(r.u32())
	}
	return meta, r.err
}

type metaReader struct {
	b   []byte
	off int
	err error
}

func (r *metaReader) next(n int) []byte {
	if r.err != nil || n < 0 || r.off+n > len(r.b) {
		if r.err == nil {
			r.err = fmt.Errorf("truncated at %d", r.off)
		}
		return make([]byte, max(n, 0))
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *metaReader) u32() uint32 { return binary.LittleEndian.Uint32(r.next(4)) }
func (r *metaReader) u64() uint64 { return binary.LittleEndian.Uint64(r.next(8)) }
func (r *metaReader) str() string { return string(r.next(int(r.u64()))) }

func (r *metaReader) value(typ uint32) any {
	switch typ {
	case 0:
		return int64(r.next(1)[0])
	case 1:
		return int64(int8(r.next(1)[0]))
	case 2:
		return int64(binary.LittleEndian.Uint16(r.next(2)))
	case 3:
		return int64(int16(binary.LittleEndian.Uint16(r.next(2))))
	case 4:
		return int64(r.u32())
	case 5:
		return int64(int32(r.u32()))
	case 6:
		return float64(math.Float32frombits(r.u32()))
	case 7:
		return r.next(1)[0] != 0
	case 8:
		return r.str()
	case 9:
		et, n := r.u32(), r.u64()
		if n > uint64(len(r.b)) {
			r.err = fmt.Errorf("array of %d elements", n)
			return nil
		}
		out := make([]any, 0, n)
		for range n {
			out = append(out, r.value(et))
		}
		return out
	case 10:
		return int64(r.u64())
	case 11:
		return int64(r.u64())
	case 12:
		return math.Float64frombits(r.u64())
	}
	r.err = fmt.Errorf("unknown value type %d", typ)
	return nil
}

// vocabFromGGUF fills a Vocab with llama.cpp's defaults for absent keys.
func vocabFromGGUF(t testing.TB, path string) Vocab {
	t.Helper()
	meta, err := readGGUFMeta(path)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	v := Vocab{BOS: -1, EOS: -1, UNK: -1, PAD: -1}
	v.Model, _ = meta["tokenizer.ggml.model"].(string)
	v.Pre, _ = meta["tokenizer.ggml.pre"].(string)
	arr, _ := meta["tokenizer.ggml.tokens"].([]any)
	for _, x := range arr {
		v.Tokens = append(v.Tokens, x.(string))
	}
	arr, _ = meta["tokenizer.ggml.scores"].([]any)
	for _, x := range arr {
		v.Scores = append(v.Scores, float32(x.(float64)))
	}
	arr, _ = meta["tokenizer.ggml.token_type"].([]any)
	for _, x := range arr {
		v.Types = append(v.Types, int32(x.(int64)))
	}
	arr, _ = meta["tokenizer.ggml.merges"].([]any)
	for _, x := range arr {
		v.Merges = append(v.Merges, x.(string))
	}
	id := func(key string, def int) int {
		x, ok := meta[key].(int64)
		if !ok {
			return def
		}
		if x == 0xFFFFFFFF || x < 0 {
			return -1
		}
		return int(x)
	}
	flag := func(key string, def bool) bool {
		if x, ok := meta[key].(bool); ok {
			return x
		}
		return def
	}
	spm := v.Model == "llama"
	v.BOS = id("tokenizer.ggml.bos_token_id", map[bool]int{true: 1, false: -1}[spm])
	v.EOS = id("tokenizer.ggml.eos_token_id", map[bool]int{true: 2, false: -1}[spm])
	v.UNK = id("tokenizer.ggml.unknown_token_id", map[bool]int{true: 0, false: -1}[spm])
	v.PAD = id("tokenizer.ggml.padding_token_id", -1)
	v.AddBOS = flag("tokenizer.ggml.add_bos_token", spm)
	v.AddEOS = flag("tokenizer.ggml.add_eos_token", false)
	v.AddSpacePrefix = flag("tokenizer.ggml.add_space_prefix", spm)
	return v
}
