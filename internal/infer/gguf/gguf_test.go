package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/deai-network/deai/internal/infer/tensor"
)

var genCorpus = flag.Bool("gen-corpus", false, "rewrite testdata/fuzz/FuzzRead seeds")

func storiesPath() string {
	return filepath.Join("..", "..", "..", "..", "shared", "models", "stories260K.gguf")
}

func TestOpenStories260K(t *testing.T) {
	f, err := Open(storiesPath())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type summary struct {
		Version               uint32
		KVs, Tensors          int
		DataOffset, Alignment uint64
		Arch                  string
		Dim, Heads, KVHeads   uint64
		Eps                   float64
		Tokens                int
		Embd                  []uint64
		EmbdType              tensor.Type
		FFNDown               []uint64
	}
	got := summary{Version: f.Version, KVs: len(f.KVs), Tensors: len(f.Tensors), DataOffset: f.DataOffset, Alignment: f.Alignment}
	got.Arch, _ = f.GetString("general.architecture")
	got.Dim, _ = f.GetUint("llama.embedding_length")
	got.Heads, _ = f.GetUint("llama.attention.head_count")
	got.KVHeads, _ = f.GetUint("llama.attention.head_count_kv")
	got.Eps, _ = f.GetFloat("llama.attention.layer_norm_rms_epsilon")
	toks, _ := f.GetStrings("tokenizer.ggml.tokens")
	got.Tokens = len(toks)
	if ti, ok := f.Tensor("token_embd.weight"); ok {
		got.Embd, got.EmbdType = ti.Dims, ti.Type
	}
	if ti, ok := f.Tensor("blk.4.ffn_down.weight"); ok {
		got.FFNDown = ti.Dims
	}
	want := summary{Version: 3, KVs: 19, Tensors: 48, DataOffset: 14176, Alignment: 32, Arch: "llama",
		Dim: 64, Heads: 8, KVHeads: 4, Eps: float64(float32(1e-5)), Tokens: 512,
		Embd: []uint64{64, 512}, EmbdType: tensor.F32, FFNDown: []uint64{172, 64}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stories260K (-want +got):\n%s", diff)
	}
	ti, _ := f.Tensor("output_norm.weight")
	if d := f.TensorData(ti); len(d) != 64*4 {
		t.Errorf("output_norm data %d bytes", len(d))
	}
}

// sample writes a small file with every value type.
func sample(t testing.TB) ([]byte, []KV) {
	t.Helper()
	kvs := []KV{
		{"general.architecture", "llama"},
		{"u8", uint8(7)}, {"i8", int8(-7)}, {"u16", uint16(700)}, {"i16", int16(-700)},
		{"u32", uint32(70000)}, {"i32", int32(-70000)}, {"f32", float32(1.5)}, {"b", true},
		{"u64", uint64(1 << 40)}, {"i64", int64(-1 << 40)}, {"f64", 2.25},
		{"strs", Array{TypeString, []string{"a", "", "ccc"}}},
		{"f32s", Array{TypeFloat32, []float32{1, -2, 3.5}}},
		{"i32s", Array{TypeInt32, []int32{1, -2}}},
		{"bools", Array{TypeBool, []bool{true, false}}},
		{"nested", Array{TypeArray, []Array{{TypeUint8, []uint8{1, 2}}, {TypeString, []string{"x"}}}}},
		{"empty", Array{TypeUint64, []uint64{}}},
	}
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, kv := range kvs {
		if err := w.AddKV(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.AddTensor("a", tensor.F32, 3, 2))
	must(w.AddTensor("b", tensor.Q8_0, 32))
	must(w.WriteHeader())
	for i := 0; i < 6; i++ {
		must(w.WriteTensorData(binary.LittleEndian.AppendUint32(nil, math.Float32bits(float32(i)))))
	}
	must(w.WriteTensorData(make([]byte, 34)))
	must(w.Close())
	return buf.Bytes(), kvs
}

func TestWriterRoundTrip(t *testing.T) {
	b, kvs := sample(t)
	f, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(kvs, f.KVs); diff != "" {
		t.Errorf("metadata (-want +got):\n%s", diff)
	}
	want := []TensorInfo{
		{Name: "a", Dims: []uint64{3, 2}, Type: tensor.F32, Offset: 0, Size: 24},
		{Name: "b", Dims: []uint64{32}, Type: tensor.Q8_0, Offset: 32, Size: 34},
	}
	if diff := cmp.Diff(want, f.Tensors); diff != "" {
		t.Errorf("tensors (-want +got):\n%s", diff)
	}
	a, _ := f.Tensor("a")
	if got := math.Float32frombits(binary.LittleEndian.Uint32(f.TensorData(a)[20:])); got != 5 {
		t.Errorf("a[5] = %g", got)
	}
	if n, ok := f.GetUint("i32"); ok {
		t.Errorf("GetUint of a negative value = %d, ok", n)
	}
	if n, _ := f.GetUint("u16"); n != 700 {
		t.Errorf("GetUint(u16) = %d", n)
	}
	if s, _ := f.GetInt32s("i32s"); !cmp.Equal(s, []int32{1, -2}) {
		t.Errorf("GetInt32s = %v", s)
	}
}

func TestWriterErrors(t *testing.T) {
	w := NewWriter(&bytes.Buffer{})
	if err := w.AddKV("x", struct{}{}); err == nil {
		t.Error("unsupported value: want error")
	}
	if err := w.AddTensor("t", tensor.Q8_0, 33); err == nil {
		t.Error("row not a block multiple: want error")
	}
	if err := w.AddTensor("t", tensor.F32, 2); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("t", tensor.F32, 2); err == nil {
		t.Error("duplicate: want error")
	}
	if err := w.WriteHeader(); err != nil {
		t.Fatal(err)
	}
	if err := w.WriteTensorData(make([]byte, 9)); err == nil {
		t.Error("overflow: want error")
	}
	if err := w.Close(); err == nil {
		t.Error("incomplete: want error")
	}
}

// raw builds a header by hand for hostile inputs.
type raw struct{ bytes.Buffer }

func (r *raw) u32(v uint32) *raw { _ = binary.Write(r, binary.LittleEndian, v); return r }
func (r *raw) u64(v uint64) *raw { _ = binary.Write(r, binary.LittleEndian, v); return r }
func (r *raw) str(s string) *raw { r.u64(uint64(len(s))); r.WriteString(s); return r }
func hdr(nt, nkv uint64) *raw    { r := &raw{}; return r.u32(Magic).u32(3).u64(nt).u64(nkv) }

func tinfo(r *raw, name string, typ uint32, off uint64, dims ...uint64) *raw {
	r.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		r.u64(d)
	}
	return r.u32(typ).u64(off)
}

func padTo(r *raw, n int) []byte {
	b := r.Bytes()
	return append(b, make([]byte, n-len(b))...)
}

func TestParseHostile(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"bad magic", (&raw{}).u32(0x12345678).u32(3).u64(0).u64(0).Bytes()},
		{"version 1", (&raw{}).u32(Magic).u32(1).u64(0).u64(0).Bytes()},
		{"huge tensor count", hdr(1<<62, 0).Bytes()},
		{"huge kv count", hdr(0, 1<<62).Bytes()},
		{"huge string", hdr(0, 1).u64(1 << 60).Bytes()},
		{"huge array", hdr(0, 1).str("k").u32(uint32(TypeArray)).u32(uint32(TypeUint64)).u64(1 << 59).Bytes()},
		{"unknown value type", hdr(0, 1).str("k").u32(99).u32(0).Bytes()},
		{"unknown array type", hdr(0, 1).str("k").u32(uint32(TypeArray)).u32(99).u64(0).Bytes()},
		{"bool 2", append(hdr(0, 1).str("k").u32(uint32(TypeBool)).Bytes(), 2)},
		{"duplicate key", append(append(hdr(0, 2).str("k").u32(uint32(TypeUint8)).Bytes(), 1), append((&raw{}).str("k").u32(uint32(TypeUint8)).Bytes(), 1)...)},
		{"bad alignment", hdr(0, 1).str("general.alignment").u32(uint32(TypeUint32)).u32(3).Bytes()},
		{"too many dims", padTo(tinfo(hdr(1, 0), "t", 0, 0, 1, 1, 1, 1, 1), 256)},
		{"zero dim", padTo(tinfo(hdr(1, 0), "t", 0, 0, 0), 256)},
		{"dims overflow", padTo(tinfo(hdr(1, 0), "t", 0, 0, 1<<32, 1<<32), 256)},
		{"bytes overflow", padTo(tinfo(hdr(1, 0), "t", 0, 0, 1<<40, 1<<22), 256)},
		{"unknown tensor type", padTo(tinfo(hdr(1, 0), "t", 77, 0, 4), 256)},
		{"row not block multiple", padTo(tinfo(hdr(1, 0), "t", uint32(tensor.Q8_0), 0, 33), 256)},
		{"offset past EOF", padTo(tinfo(hdr(1, 0), "t", 0, 1<<40, 4), 256)},
		{"data past EOF", padTo(tinfo(hdr(1, 0), "t", 0, 0, 1000), 256)},
		{"misaligned offset", padTo(tinfo(hdr(1, 0), "t", 0, 4, 4), 256)},
		{"overlap", padTo(tinfo(tinfo(hdr(2, 0), "a", 0, 0, 16), "b", 0, 32, 16), 256)},
		{"duplicate tensor", padTo(tinfo(tinfo(hdr(2, 0), "a", 0, 0, 4), "a", 0, 32, 4), 256)},
		{"long name", padTo(tinfo(hdr(1, 0), string(make([]byte, 65)), 0, 0, 4), 512)},
		{"truncated", hdr(1, 0).str("t").Bytes()},
	}
	nested := hdr(0, 1).str("k").u32(uint32(TypeArray))
	for i := 0; i < 20; i++ {
		nested.u32(uint32(TypeArray)).u64(1)
	}
	tests = append(tests, struct {
		name string
		b    []byte
	}{"deep nesting", nested.Bytes()})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.b)
			if err == nil {
				t.Fatal("want error")
			}
			if !errors.Is(err, ErrFormat) {
				t.Errorf("error %v does not wrap ErrFormat", err)
			}
		})
	}
	// The well-formed neighbour of the hostile cases parses.
	if _, err := Parse(padTo(tinfo(tinfo(hdr(2, 0), "a", 0, 0, 16), "b", 0, 64, 16), 256)); err != nil {
		t.Errorf("valid two-tensor file: %v", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "missing.gguf")); err == nil {
		t.Error("missing file: want error")
	}
	p := filepath.Join(t.TempDir(), "short.gguf")
	if err := os.WriteFile(p, []byte("GGUF"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(p); !errors.Is(err, ErrFormat) {
		t.Errorf("short file: %v", err)
	}
}

// FuzzRead: Parse never panics, and what it accepts re-encodes to a file
// that parses to the same metadata and tensor descriptions.
func FuzzRead(f *testing.F) {
	b, _ := sample(f)
	f.Add(b)
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data)
		if err != nil {
			return
		}
		for i := range g.Tensors {
			_ = g.TensorData(&g.Tensors[i])
		}
		var buf bytes.Buffer
		w := NewWriter(&buf)
		for _, kv := range g.KVs {
			if err := w.AddKV(kv.Key, kv.Value); err != nil {
				t.Fatalf("re-encode %q: %v", kv.Key, err)
			}
		}
		for _, ti := range g.Tensors {
			if err := w.AddTensor(ti.Name, ti.Type, ti.Dims...); err != nil {
				t.Fatalf("re-encode tensor: %v", err)
			}
		}
		if err := w.WriteHeader(); err != nil {
			t.Fatal(err)
		}
		for i := range g.Tensors {
			if err := w.WriteTensorData(g.TensorData(&g.Tensors[i])); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		h, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if diff := cmp.Diff(g.KVs, h.KVs, cmpopts.EquateNaNs(), cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("metadata changed:\n%s", diff)
		}
		if len(g.Tensors) != len(h.Tensors) {
			t.Fatalf("tensor count changed")
		}
		for i := range g.Tensors {
			a, b := g.Tensors[i], h.Tensors[i]
			if a.Name != b.Name || a.Type != b.Type || a.Size != b.Size || !cmp.Equal(a.Dims, b.Dims) {
				t.Fatalf("tensor %d changed: %+v vs %+v", i, a, b)
			}
			if !bytes.Equal(g.TensorData(&a), h.TensorData(&b)) {
				t.Fatalf("tensor %q data changed", a.Name)
			}
		}
	})
}

// TestGenCorpus rewrites the committed seed corpus when run with -gen-corpus.
func TestGenCorpus(t *testing.T) {
	if !*genCorpus {
		t.Skip("run with -gen-corpus to rewrite testdata/fuzz/FuzzRead")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzRead")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	stories, err := os.ReadFile(storiesPath())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := sample(t)
	seeds := map[string][]byte{
		"stories260K-header": stories[:14176],
		"stories260K-tensor": append(append([]byte(nil), stories[:14176]...), stories[14176:14176+1024]...),
		"sample":             b,
		"sample-truncated":   b[:len(b)/2],
		"two-tensors":        padTo(tinfo(tinfo(hdr(2, 0), "a", 0, 0, 16), "b", 0, 64, 16), 256),
		"overlap":            padTo(tinfo(tinfo(hdr(2, 0), "a", 0, 0, 16), "b", 0, 32, 16), 256),
	}
	for name, data := range seeds {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
