package tokenizer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func storiesTokenizer(t testing.TB) *Tokenizer {
	t.Helper()
	v := vocabFromGGUF(t, storiesPath)
	tok, err := New(v)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return tok
}

func TestStoriesVocab(t *testing.T) {
	tok := storiesTokenizer(t)
	if got := tok.VocabSize(); got != 512 {
		t.Errorf("VocabSize = %d, want 512", got)
	}
	if tok.BOS() != 1 || tok.EOS() != 2 || !tok.AddBOS() {
		t.Errorf("BOS, EOS, AddBOS = %d, %d, %v; want 1, 2, true", tok.BOS(), tok.EOS(), tok.AddBOS())
	}
	if !tok.IsEOG(2) || tok.IsEOG(1) || tok.IsEOG(403) {
		t.Errorf("IsEOG: want only EOS (2) of 1, 2, 403")
	}
	if got := tok.Token(403); got != "▁Once" {
		t.Errorf("Token(403) = %q, want ▁Once", got)
	}
}

func TestStoriesEncode(t *testing.T) {
	tok := storiesTokenizer(t)
	tests := []struct {
		name   string
		text   string
		addBOS bool
		want   []int
	}{
		{"oracle", "Once upon a time", true, []int{1, 403, 407, 261, 378}},
		{"no BOS", "Once upon a time", false, []int{403, 407, 261, 378}},
		{"empty", "", true, []int{1}},
		{"empty no BOS", "", false, nil},
		// Newline is not a piece: byte fallback to <0x0A> = 13.
		{"newline", "a\nb", false, []int{261, 13, tok.mustID(t, "b")}},
		// 日 (E6 97 A5) is not in the 512-piece vocabulary: three byte tokens.
		{"byte fallback", "日", false, []int{tok.mustID(t, "▁"), 3 + 0xE6, 3 + 0x97, 3 + 0xA5}},
		// Plain Encode does not parse "<s>" as BOS.
		{"no injection", "<s>", false, tok.Encode(" <s>", false)[1:]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tok.Encode(tt.text, tt.addBOS)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Encode(%q) (-want +got):\n%s", tt.text, diff)
			}
		})
	}
	if got := tok.EncodeSpecial("<s>Once", false); !cmp.Equal(got, []int{1, 403}) {
		t.Errorf("EncodeSpecial(<s>Once) = %v, want [1 403]", got)
	}
	for _, id := range tok.Encode("<s>", false) {
		if id == 1 {
			t.Errorf("Encode(<s>) = %v contains BOS", tok.Encode("<s>", false))
		}
	}
}

func (tok *Tokenizer) mustID(t *testing.T, s string) int {
	t.Helper()
	id, ok := tok.ID(s)
	if !ok {
		t.Fatalf("no token %q", s)
	}
	return id
}

func TestStoriesDecodeReference(t *testing.T) {
	tok := storiesTokenizer(t)
	raw, err := os.ReadFile(filepath.Join("testdata", "stories260K_greedy.ids"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, f := range strings.Fields(string(raw)) {
		id, err := strconv.Atoi(f)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if len(ids) != 256 {
		t.Fatalf("read %d reference ids, want 256", len(ids))
	}
	want, err := os.ReadFile(filepath.Join("testdata", "stories260K_greedy.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), tok.Decode(ids)); diff != "" {
		t.Errorf("Decode(reference ids) (-want +got):\n%s", diff)
	}
	// After BOS the dummy-prefix space stays (llama.cpp's detokenize).
	withBOS := append([]int{1}, ids...)
	if diff := cmp.Diff(" "+string(want), tok.Decode(withBOS)); diff != "" {
		t.Errorf("Decode(BOS + reference ids) (-want +got):\n%s", diff)
	}
	// Streaming TokenBytes gives what llama-cli prints.
	var stream []byte
	for _, id := range withBOS {
		stream = append(stream, tok.TokenBytes(id)...)
	}
	if diff := cmp.Diff(" "+string(want), string(stream)); diff != "" {
		t.Errorf("TokenBytes stream (-want +got):\n%s", diff)
	}
	// The sampled ids happen to be the canonical encoding of the text.
	if diff := cmp.Diff(ids, tok.Encode(string(want), false)); diff != "" {
		t.Errorf("Encode(reference text) (-want +got):\n%s", diff)
	}
}

func TestStoriesTokenBytes(t *testing.T) {
	tok := storiesTokenizer(t)
	tests := []struct {
		id   int
		want []byte
	}{
		{0, nil}, {1, nil}, {2, nil}, // <unk>, <s>, </s>
		{13, []byte{'\n'}},
		{3 + 0xFF, []byte{0xFF}},
		{403, []byte(" Once")},
		{-1, nil}, {512, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, tok.TokenBytes(tt.id)); diff != "" {
			t.Errorf("TokenBytes(%d) (-want +got):\n%s", tt.id, diff)
		}
	}
}

// FuzzRoundTrip checks Decode(Encode(s)) == s on the stories260K
// vocabulary for any input without U+2581, which SentencePiece reserves
// for the space.
func FuzzRoundTrip(f *testing.F) {
	tok := storiesTokenizer(f)
	for _, s := range []string{"Once upon a time", "", " ", "  two  spaces ", "a\nb\tc", "héllo wörld 日本", "\xff\xfe invalid", "Lily's mom said, \"hi\"."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if strings.Contains(s, spmSpace) {
			return
		}
		ids := tok.Encode(s, false)
		if got := tok.Decode(ids); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q (ids %v)", s, got, ids)
		}
		for _, id := range ids {
			if id < 0 || id >= tok.VocabSize() || id == tok.BOS() || id == tok.EOS() {
				t.Fatalf("Encode(%q) gave id %d", s, id)
			}
		}
		if s != "" && utf8.ValidString(s) && tok.Decode(tok.EncodeSpecial(s, true)) != " "+s && !strings.Contains(s, "<") {
			t.Fatalf("Decode(EncodeSpecial(%q, true)) lost text", s)
		}
	})
}
