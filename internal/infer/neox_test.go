package infer

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/infer/gguf"
	"github.com/deai-network/deai/internal/infer/tensor"
)

// TestNEOXMatchesNormalRope rewrites stories260K as a qwen2 model: the rows
// of each head of attn_q and attn_k are permuted from adjacent pairs
// (2i, 2i+1) to (i, i+hd/2), the layout NEOX-mode RoPE expects, and zero
// q/k/v biases are added. Attention scores are then the same sums in a
// different order, so the logits must agree with the llama model to float
// rounding (max |Δ| ≤ 1e-3, on logits of magnitude ~10).
func TestNEOXMatchesNormalRope(t *testing.T) {
	src, err := gguf.Open(storiesPath())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var buf bytes.Buffer
	w := gguf.NewWriter(&buf)
	for _, kv := range src.KVs {
		key := kv.Key
		if key == "general.architecture" {
			kv.Value = "qwen2"
		}
		key = strings.Replace(key, "llama.", "qwen2.", 1)
		if err := w.AddKV(key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	const hd = 8
	type out struct {
		name string
		data []byte
	}
	var outs []out
	for i := range src.Tensors {
		ti := &src.Tensors[i]
		data := append([]byte(nil), src.TensorData(ti)...)
		if strings.HasSuffix(ti.Name, "attn_q.weight") || strings.HasSuffix(ti.Name, "attn_k.weight") {
			rowBytes := int(ti.Dims[0]) * 4
			perm := make([]byte, len(data))
			for head := 0; head < int(ti.Dims[1])/hd; head++ {
				for j := 0; j < hd/2; j++ {
					for k, dst := range []int{j, j + hd/2} {
						from := (head*hd + 2*j + k) * rowBytes
						to := (head*hd + dst) * rowBytes
						copy(perm[to:to+rowBytes], data[from:from+rowBytes])
					}
				}
			}
			data = perm
		}
		if err := w.AddTensor(ti.Name, ti.Type, ti.Dims...); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, out{ti.Name, data})
		for _, b := range []struct{ suffix, bias string }{{"attn_q.weight", "attn_q.bias"}, {"attn_k.weight", "attn_k.bias"}, {"attn_v.weight", "attn_v.bias"}} {
			if strings.HasSuffix(ti.Name, b.suffix) {
				name := strings.TrimSuffix(ti.Name, b.suffix) + b.bias
				if err := w.AddTensor(name, tensor.F32, ti.Dims[1]); err != nil {
					t.Fatal(err)
				}
				outs = append(outs, out{name, make([]byte, ti.Dims[1]*4)})
			}
		}
	}
	if err := w.WriteHeader(); err != nil {
		t.Fatal(err)
	}
	for _, o := range outs {
		if err := w.WriteTensorData(o.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "qwen2.gguf")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	qm, err := Load(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer qm.Close()
	if !qm.hp.neox || qm.layers[0].bq == nil {
		t.Fatalf("qwen2 model: neox %v, biases %v", qm.hp.neox, qm.layers[0].bq != nil)
	}
	lm := loadStories(t)
	a, b := lm.NewSession(), qm.NewSession()
	defer a.Close()
	defer b.Close()
	ids := []int{1, 403, 407, 261, 378, 432, 383, 286}
	for pos, id := range ids {
		la, _ := a.Forward(id, pos)
		lb, _ := b.Forward(id, pos)
		var maxd float32
		for i := range la {
			maxd = max(maxd, abs32(la[i]-lb[i]))
		}
		if maxd > 1e-3 {
			t.Fatalf("pos %d: max |Δlogit| %g", pos, maxd)
		}
	}
	// Applying NEOX to the unpermuted weights must change the output: the
	// modes are really different.
	a2 := lm.NewSession()
	defer a2.Close()
	lm.hp.neox = true
	defer func() { lm.hp.neox = false }()
	var la, lb []float32
	for pos, id := range ids {
		la, _ = a2.Forward(id, pos)
	}
	lb, _ = b.Forward(ids[len(ids)-1], len(ids)-1)
	var maxd float32
	for i := range la {
		maxd = max(maxd, abs32(la[i]-lb[i]))
	}
	if maxd < 1e-2 {
		t.Errorf("NEOX on llama weights changed nothing (max |Δ| %g)", maxd)
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
