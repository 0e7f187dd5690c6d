package tokenizer

import (
	"fmt"
	"strings"
	"testing"

	"github.com/deai-network/deai/internal/errs"
	"github.com/google/go-cmp/cmp"
)

// spmVocab builds a SentencePiece vocabulary: <unk>, <s>, </s>, then the
// given pieces with their scores, then the 256 byte tokens at 100+byte (so
// a test catches code that assumes id = 3 + byte).
func spmVocab(pieces []string, scores []float32, prefix bool) Vocab {
	v := Vocab{Model: "llama", BOS: 1, EOS: 2, UNK: 0, PAD: -1, AddBOS: true, AddSpacePrefix: prefix}
	add := func(s string, score float32, ty int32) {
		v.Tokens = append(v.Tokens, s)
		v.Scores = append(v.Scores, score)
		v.Types = append(v.Types, ty)
	}
	add("<unk>", 0, TypeUnknown)
	add("<s>", 0, TypeControl)
	add("</s>", 0, TypeControl)
	for i, p := range pieces {
		add(p, scores[i], TypeNormal)
	}
	for len(v.Tokens) < 100 {
		add(fmt.Sprintf("<unused%d>", len(v.Tokens)), -1000, TypeUnused)
	}
	for b := range 256 {
		add(fmt.Sprintf("<0x%02X>", b), 0, TypeByte)
	}
	return v
}

func TestSPMEncode(t *testing.T) {
	// ids: 3 ▁, 4 a, 5 b, 6 c, 7 ab, 8 bc, 9 ▁a, 10 [INST] (user-defined below)
	pieces := []string{"▁", "a", "b", "c", "ab", "bc", "▁a"}
	tests := []struct {
		name    string
		scores  []float32
		prefix  bool
		special bool
		text    string
		want    []int
	}{
		{"higher score merges first", []float32{0, 0, 0, 0, -2, -1, -3}, false, false, "abc", []int{4, 8}},
		{"tie goes to the leftmost pair", []float32{0, 0, 0, 0, -1, -1, -3}, false, false, "abc", []int{7, 6}},
		{"dummy prefix", []float32{0, 0, 0, 0, -1, -1, -3}, true, false, "a", []int{9}},
		{"no dummy prefix", []float32{0, 0, 0, 0, -1, -1, -3}, false, false, "a", []int{4}},
		{"spaces", []float32{0, 0, 0, 0, -1, -1, -3}, true, false, "a  b", []int{9, 3, 3, 5}},
		{"byte fallback looks the piece up", []float32{0, 0, 0, 0, -1, -1, -3}, false, false, "é", []int{100 + 0xC3, 100 + 0xA9}},
		{"invalid byte", []float32{0, 0, 0, 0, -1, -1, -3}, false, false, "a\xffb", []int{4, 100 + 0xFF, 5}},
		{"plain encode ignores control text", []float32{0, 0, 0, 0, -1, -1, -3}, false, false, "</s>",
			[]int{100 + '<', 100 + '/', 100 + 's', 100 + '>'}},
		{"special tokens", []float32{0, 0, 0, 0, -1, -1, -3}, true, true, "<s>a</s>b", []int{1, 9, 2, 3, 5}},
		{"user-defined token in plain text", []float32{0, 0, 0, 0, -1, -1, -3}, false, false, "a[INST]b", []int{4, 10, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := spmVocab(append(pieces, "[INST]"), append(tt.scores, 0), tt.prefix)
			v.Types[10] = TypeUserDefined
			tok, err := New(v)
			if err != nil {
				t.Fatal(err)
			}
			encode := tok.Encode
			if tt.special {
				encode = tok.EncodeSpecial
			}
			if diff := cmp.Diff(tt.want, encode(tt.text, false)); diff != "" {
				t.Errorf("encode(%q) (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

// gpt2Vocab is a byte-level vocabulary: ids 0..255 are the 256 byte
// characters (id = byte), then merged tokens and specials. Expected ids in
// the tests below are derived by hand from the merge ranks.
func gpt2Vocab(pre string) Vocab {
	v := Vocab{Model: "gpt2", Pre: pre, BOS: 264, EOS: 264, UNK: -1, PAD: -1}
	for b := range 256 {
		v.Tokens = append(v.Tokens, string(byteRunes[b]))
	}
	v.Tokens = append(v.Tokens,
		"he",            // 256
		"ll",            // 257
		"Ġt",            // 258
		"hell",          // 259
		"Ġthe",          // 260
		"hello",         // 261
		"or",            // 262
		"Ġw",            // 263
		"<|endoftext|>", // 264 control
		"<|im_start|>",  // 265 control
		"<tool>",        // 266 user-defined
		"Ġworld",        // 267 reachable by no merge
		"<|im_end|>",    // 268 control
	)
	v.Merges = []string{"h e", "l l", "Ġ t", "he ll", "Ġt he", "hell o", "o r", "Ġ w"}
	v.Types = make([]int32, len(v.Tokens))
	for i := range v.Types {
		v.Types[i] = TypeNormal
	}
	v.Types[264], v.Types[265], v.Types[268] = TypeControl, TypeControl, TypeControl
	v.Types[266] = TypeUserDefined
	return v
}

func TestBPEEncode(t *testing.T) {
	tests := []struct {
		name    string
		pre     string
		special bool
		text    string
		want    []int
	}{
		{"merges by rank", "gpt2", false, "hello the world", []int{261, 260, 263, 262, 'l', 'd'}},
		{"equal pairs merge leftmost first", "gpt2", false, "lll", []int{257, 'l'}},
		{"bytes map through the table", "gpt2", false, "\n", []int{'\n'}},
		{"multibyte", "gpt2", false, "é", []int{0xC3, 0xA9}},
		{"whole word skips merges (llama3)", "llama3", false, " world", []int{267}},
		{"no whole-word shortcut (gpt2)", "gpt2", false, " world", []int{263, 262, 'l', 'd'}},
		{"control text stays text", "gpt2", false, "<|im_start|>", []int{'<', '|', 'i', 'm', '_', 's', 't', 'a', 'r', 't', '|', '>'}},
		{"special tokens", "gpt2", true, "<|im_start|>hello<|im_end|>", []int{265, 261, 268}},
		{"user-defined token in plain text", "gpt2", false, "he<tool>", []int{256, 266}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := New(gpt2Vocab(tt.pre))
			if err != nil {
				t.Fatal(err)
			}
			encode := tok.Encode
			if tt.special {
				encode = tok.EncodeSpecial
			}
			got := encode(tt.text, false)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("encode(%q) (-want +got):\n%s", tt.text, diff)
			}
			if tt.special {
				return
			}
			if dec := tok.Decode(got); dec != tt.text {
				t.Errorf("Decode = %q, want %q", dec, tt.text)
			}
		})
	}
}

func TestBPEDecode(t *testing.T) {
	tok, err := New(gpt2Vocab("gpt2"))
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Decode([]int{265, 260, 264, 266, 0x0A}); got != " the<tool>\n" {
		t.Errorf("Decode = %q, want %q", got, " the<tool>\n")
	}
	if !tok.IsEOG(264) || !tok.IsEOG(268) || tok.IsEOG(265) {
		t.Errorf("IsEOG: want <|endoftext|> and <|im_end|> only")
	}
	if got := tok.TokenBytes(260); string(got) != " the" {
		t.Errorf("TokenBytes(Ġthe) = %q", got)
	}
}

func TestPreTokenizers(t *testing.T) {
	tests := []struct {
		pre, text string
		want      []string
	}{
		{"gpt2", "Hello world's  end 123!!\n\n x", []string{"Hello", " world", "'s", " ", " end", " 123", "!!", "\n\n", " x"}},
		{"gpt2", "I'LL", []string{"I", "'", "LL"}},
		{"gpt2", "naïve café 日本語", []string{"naïve", " café", " 日本語"}},
		{"gpt2", "a  ", []string{"a", "  "}},
		{"gpt2", "a\tb", []string{"a", "\t", "b"}},
		{"gpt2", "a\xffb", []string{"a", "\xff", "b"}},
		{"llama3", "Hello world's  end 12345!!\n\n x", []string{"Hello", " world", "'s", " ", " end", " ", "123", "45", "!!\n\n", " x"}},
		{"llama3", "I'LL", []string{"I", "'LL"}},
		{"llama3", "a\r\nb", []string{"a", "\r\n", "b"}},
		{"llama3", "  \n  x", []string{"  \n", " ", " x"}},
		{"llama3", "(hi)", []string{"(hi", ")"}},
		{"qwen2", " 12345", []string{" ", "1", "2", "3", "4", "5"}},
		{"smollm", "Hello world's  end 12345!!\n\n x", []string{"Hello", " world", "'s", " ", " end", " ", "1", "2", "3", "4", "5", "!!", "\n\n", " x"}},
	}
	for _, tt := range tests {
		t.Run(tt.pre+"/"+tt.text, func(t *testing.T) {
			p, _, err := preTokenizerFor(tt.pre)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			p.split(tt.text, func(w string) { got = append(got, w) })
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("split(%q) (-want +got):\n%s", tt.text, diff)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	good := func() Vocab { return spmVocab([]string{"a"}, []float32{0}, true) }
	tests := []struct {
		name string
		edit func(*Vocab)
		want string
	}{
		{"empty", func(v *Vocab) { v.Tokens = nil }, "empty vocabulary"},
		{"scores", func(v *Vocab) { v.Scores = v.Scores[:3] }, "3 scores"},
		{"types", func(v *Vocab) { v.Types = v.Types[:3] }, "3 token types"},
		{"BOS", func(v *Vocab) { v.BOS = len(v.Tokens) }, "BOS id"},
		{"EOS", func(v *Vocab) { v.EOS = -2 }, "EOS id"},
		{"extra EOG", func(v *Vocab) { v.ExtraEOG = []int{-1} }, "end-of-generation id"},
		{"type value", func(v *Vocab) { v.Types[5] = 9 }, "unknown type 9"},
		{"model", func(v *Vocab) { v.Model = "wordpiece" }, "unsupported tokenizer model"},
		{"pre", func(v *Vocab) { *v = gpt2Vocab("tekken") }, "unsupported pre-tokenizer"},
		{"merge", func(v *Vocab) { *v = gpt2Vocab("gpt2"); v.Merges = append(v.Merges, "ab") }, "has no space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := good()
			tt.edit(&v)
			_, err := New(v)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New error = %v, want it to mention %q", err, tt.want)
			}
			if errs.KindOf(err) != errs.Invalid {
				t.Errorf("kind = %v, want invalid", errs.KindOf(err))
			}
		})
	}
	if _, err := New(good()); err != nil {
		t.Fatalf("New(good) = %v", err)
	}
}

func TestInferredTypes(t *testing.T) {
	v := spmVocab([]string{"a"}, []float32{0}, false)
	v.Types = nil
	tok, err := New(v)
	if err != nil {
		t.Fatal(err)
	}
	got := []int32{tok.Type(0), tok.Type(1), tok.Type(3), tok.Type(100 + 'x')}
	if diff := cmp.Diff([]int32{TypeUnknown, TypeControl, TypeNormal, TypeByte}, got); diff != "" {
		t.Errorf("types (-want +got):\n%s", diff)
	}
	if got := tok.Decode(tok.Encode("ax", true)); got != "ax" {
		t.Errorf("round trip = %q", got)
	}
}

// FuzzBPERoundTrip checks that byte-level BPE keeps every byte, for each
// pre-tokenizer.
func FuzzBPERoundTrip(f *testing.F) {
	var toks []*Tokenizer
	for _, pre := range []string{"gpt2", "llama3", "qwen2", "smollm"} {
		tok, err := New(gpt2Vocab(pre))
		if err != nil {
			f.Fatal(err)
		}
		toks = append(toks, tok)
	}
	for _, s := range []string{"hello the world", "", "  \n\n  x", "I'LL 12345!!", "naïve 日本語", "\xff\xfe", "<tool><|endoftext|>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range toks {
			if got := tok.Decode(tok.Encode(s, false)); got != s {
				t.Fatalf("%s: Decode(Encode(%q)) = %q", tok.bpe.pre.name, s, got)
			}
		}
	})
}

func ExampleTokenizer_Encode() {
	tok, err := New(gpt2Vocab("gpt2"))
	if err != nil {
		panic(err)
	}
	ids := tok.Encode("hello the world", false)
	fmt.Println(ids, tok.Decode(ids))
	// Output: [261 260 263 262 108 100] hello the world
}
