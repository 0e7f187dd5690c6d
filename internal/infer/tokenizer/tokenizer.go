// Package tokenizer turns text into token ids and back for GGUF models, as
// llama.cpp does: SentencePiece BPE ("llama": scores, dummy prefix, byte
// fallback) and GPT-2 byte-level BPE ("gpt2": ranked merges after a
// model-specific pre-tokenizer), with control and user-defined tokens.
//
// It depends only on the standard library and internal/errs; it reads no
// files. The caller fills a Vocab from GGUF metadata (tokenizer.ggml.*).
//
// Decoding rules. TokenBytes (and AppendTokenBytes) give the exact bytes a
// token stands for, as llama.cpp's token_to_piece with special=false: control
// and unknown tokens give nothing, byte tokens give their byte, "▁" becomes a
// space, the GPT-2 byte mapping is undone. Concatenating TokenBytes is what
// llama-cli prints, and is the right way to stream a continuation. Decode is
// llama.cpp's llama_detokenize(remove_special=false, unparse_special=false):
// when the vocabulary adds a dummy prefix, the leading space of the first
// token is stripped, unless the first token is a control token such as BOS.
// So Decode(Encode(s, false)) == s, Decode(Encode(s, true)) == " "+s for
// SentencePiece models, and Decode of a bare continuation would lose one
// space: use TokenBytes for continuations.
package tokenizer

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	"github.com/deai-network/deai/internal/errs"
)

// Token types as stored in tokenizer.ggml.token_type.
const (
	TypeUndefined   int32 = 0
	TypeNormal      int32 = 1
	TypeUnknown     int32 = 2
	TypeControl     int32 = 3
	TypeUserDefined int32 = 4
	TypeUnused      int32 = 5
	TypeByte        int32 = 6
)

// Vocab is the tokenizer part of a GGUF file's metadata.
//
// Ids BOS, EOS, UNK and PAD are -1 when the model has none. AddBOS and AddEOS
// record the model's preference (tokenizer.ggml.add_bos_token /
// add_eos_token; llama.cpp defaults add_bos to true for "llama"); Encode
// itself adds BOS only when asked and never appends EOS. AddSpacePrefix is
// tokenizer.ggml.add_space_prefix (llama.cpp defaults it to true for
// "llama", false for "gpt2").
type Vocab struct {
	Model  string // "llama" | "gpt2"
	Pre    string // tokenizer.ggml.pre, e.g. "llama3", "qwen2", "smollm", "default"
	Tokens []string
	Scores []float32 // "llama": one per token, or empty for all zero
	Types  []int32   // one per token, or empty: then inferred (see New)
	Merges []string  // "gpt2": "left right", ranked by position

	BOS, EOS, UNK, PAD int // -1 = none

	AddBOS, AddEOS bool
	AddSpacePrefix bool

	// ExtraEOG lists further end-of-generation ids, such as
	// tokenizer.ggml.eot_token_id and eom_token_id. Nil means none.
	ExtraEOG []int
}

// Tokenizer encodes and decodes text. It is immutable after New and safe for
// concurrent use.
type Tokenizer struct {
	v      Vocab
	types  []int32
	pieces [][]byte       // TokenBytes of each id
	ids    map[string]int // token text -> id (lowest id wins on duplicates)

	// specials are the tokens matched before tokenization, longest first:
	// control, unknown and user-defined ones. Encode matches only the
	// user-defined ones (as llama.cpp with parse_special=false).
	specials []int
	eog      []bool

	spm *spmModel
	bpe *bpeModel
}

// eogTexts are token texts that end generation in the model families
// llama.cpp knows, whatever the token's type.
var eogTexts = map[string]bool{
	"<|eot_id|>": true, "<|eom_id|>": true, "<|im_end|>": true, "<|end|>": true,
	"<end_of_turn>": true, "<|endoftext|>": true, "<|end_of_text|>": true,
	"<EOT>": true, "_<EOT>": true, "<｜end▁of▁sentence｜>": true,
}

// New validates v and builds a Tokenizer. v's slices are not copied and must
// not be modified afterwards.
//
// When Types is empty, types are inferred: BOS, EOS and PAD are control, UNK
// is unknown, "<0xNN>" pieces of a "llama" vocabulary are byte tokens, the
// rest are normal.
func New(v Vocab) (*Tokenizer, error) {
	const op = "new tokenizer"
	n := len(v.Tokens)
	if n == 0 {
		return nil, errs.E(op, errs.Invalid, "empty vocabulary")
	}
	if n > 1<<30 {
		return nil, errs.E(op, errs.Invalid, "vocabulary of %d tokens is too large", n)
	}
	if len(v.Scores) != 0 && len(v.Scores) != n {
		return nil, errs.E(op, errs.Invalid, "%d scores for %d tokens", len(v.Scores), n)
	}
	if len(v.Types) != 0 && len(v.Types) != n {
		return nil, errs.E(op, errs.Invalid, "%d token types for %d tokens", len(v.Types), n)
	}
	for _, f := range []struct {
		name string
		id   int
	}{{"BOS", v.BOS}, {"EOS", v.EOS}, {"UNK", v.UNK}, {"PAD", v.PAD}} {
		if f.id < -1 || f.id >= n {
			return nil, errs.E(op, errs.Invalid, "%s id %d out of range [-1, %d)", f.name, f.id, n)
		}
	}
	for _, id := range v.ExtraEOG {
		if id < 0 || id >= n {
			return nil, errs.E(op, errs.Invalid, "end-of-generation id %d out of range [0, %d)", id, n)
		}
	}
	t := &Tokenizer{v: v, ids: make(map[string]int, n)}
	for id, s := range v.Tokens {
		if _, dup := t.ids[s]; !dup {
			t.ids[s] = id
		}
	}
	t.types = v.Types
	if len(t.types) == 0 {
		t.types = inferTypes(v)
	}
	for id, ty := range t.types {
		if ty < TypeUndefined || ty > TypeByte {
			return nil, errs.E(op, errs.Invalid, "token %d has unknown type %d", id, ty)
		}
	}

	var err error
	switch v.Model {
	case "llama":
		t.spm, err = newSPM(t)
	case "gpt2":
		t.bpe, err = newBPE(t)
	default:
		return nil, errs.E(op, errs.Invalid, "unsupported tokenizer model %q (want \"llama\" or \"gpt2\")", v.Model)
	}
	if err != nil {
		return nil, errs.Wrap(op, errs.Invalid, err)
	}

	t.pieces = make([][]byte, n)
	for id := range n {
		t.pieces[id] = t.piece(id)
	}
	t.eog = make([]bool, n)
	for id, s := range v.Tokens {
		if eogTexts[s] {
			t.eog[id] = true
		}
	}
	if v.EOS >= 0 {
		t.eog[v.EOS] = true
	}
	for _, id := range v.ExtraEOG {
		t.eog[id] = true
	}
	for id, ty := range t.types {
		if (ty == TypeControl || ty == TypeUnknown || ty == TypeUserDefined) && v.Tokens[id] != "" {
			t.specials = append(t.specials, id)
		}
	}
	// Longest first, as llama.cpp; ties by id so the order is deterministic.
	slices.SortStableFunc(t.specials, func(a, b int) int {
		return cmp.Compare(len(v.Tokens[b]), len(v.Tokens[a]))
	})
	return t, nil
}

func inferTypes(v Vocab) []int32 {
	types := make([]int32, len(v.Tokens))
	for id, s := range v.Tokens {
		types[id] = TypeNormal
		if v.Model == "llama" {
			if _, ok := parseByteToken(s); ok {
				types[id] = TypeByte
			}
		}
	}
	for _, id := range []int{v.BOS, v.EOS, v.PAD} {
		if id >= 0 {
			types[id] = TypeControl
		}
	}
	if v.UNK >= 0 {
		types[v.UNK] = TypeUnknown
	}
	return types
}

// parseByteToken reads a "<0xNN>" piece.
func parseByteToken(s string) (byte, bool) {
	if len(s) != 6 || !strings.HasPrefix(s, "<0x") || s[5] != '>' {
		return 0, false
	}
	b, err := strconv.ParseUint(s[3:5], 16, 8)
	if err != nil {
		return 0, false
	}
	return byte(b), true
}

// piece computes the bytes of one token; see the package doc.
func (t *Tokenizer) piece(id int) []byte {
	s := t.v.Tokens[id]
	switch t.types[id] {
	case TypeControl, TypeUnknown, TypeUnused, TypeUndefined:
		return nil
	case TypeUserDefined:
		return []byte(s)
	case TypeByte:
		if b, ok := parseByteToken(s); ok {
			return []byte{b}
		}
		return nil
	}
	if t.spm != nil {
		return []byte(strings.ReplaceAll(s, spmSpace, " "))
	}
	return t.bpe.unmap(s)
}

// Encode tokenizes plain text, prepending BOS when addBOS is set and the
// vocabulary has one. Control-token strings in text are tokenized as plain
// text, so user input cannot inject them; user-defined tokens are still
// matched, as in llama.cpp and Hugging Face tokenizers.
func (t *Tokenizer) Encode(text string, addBOS bool) []int {
	return t.encode(text, addBOS, false)
}

// EncodeSpecial is Encode that also recognises the text of control and
// user-defined tokens, such as "<|im_start|>" or "<s>", and emits their ids.
// Use it for rendered chat templates, never for raw user input.
func (t *Tokenizer) EncodeSpecial(text string, addBOS bool) []int {
	return t.encode(text, addBOS, true)
}

// fragment is a piece of the input: raw text, or a special token (id >= 0).
type fragment struct {
	text string
	id   int
}

func (t *Tokenizer) encode(text string, addBOS, parseSpecial bool) []int {
	var out []int
	if addBOS && t.v.BOS >= 0 {
		out = append(out, t.v.BOS)
	}
	if text == "" {
		return out
	}
	frags := t.partition(text, parseSpecial)
	prevSpecial := true // the dummy prefix goes before the first text and after each special
	for _, f := range frags {
		if f.id >= 0 {
			out = append(out, f.id)
			prevSpecial = true
			continue
		}
		if t.spm != nil {
			out = t.spm.encode(out, f.text, t.v.AddSpacePrefix && prevSpecial)
		} else {
			out = t.bpe.encode(out, f.text)
		}
		prevSpecial = false
	}
	return out
}

// partition splits text at special-token occurrences, longest tokens first,
// as llama.cpp's tokenizer_st_partition.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	frags := []fragment{{text: text, id: -1}}
	for _, id := range t.specials {
		if !parseSpecial && t.types[id] != TypeUserDefined {
			continue
		}
		tok := t.v.Tokens[id]
		var next []fragment
		changed := false
		for _, f := range frags {
			if f.id >= 0 || !strings.Contains(f.text, tok) {
				next = append(next, f)
				continue
			}
			changed = true
			rest := f.text
			for {
				i := strings.Index(rest, tok)
				if i < 0 {
					break
				}
				if i > 0 {
					next = append(next, fragment{text: rest[:i], id: -1})
				}
				next = append(next, fragment{id: id})
				rest = rest[i+len(tok):]
			}
			if rest != "" {
				next = append(next, fragment{text: rest, id: -1})
			}
		}
		if changed {
			frags = next
		}
	}
	return frags
}

// Decode turns ids into text; see the package doc for the leading-space
// rule. Invalid ids decode to nothing. The result may hold invalid UTF-8 when
// ids split a character.
func (t *Tokenizer) Decode(ids []int) string {
	var b []byte
	for i, id := range ids {
		start := len(b)
		b = t.AppendTokenBytes(b, id)
		if i == 0 && t.v.AddSpacePrefix && len(b) > start && b[start] == ' ' {
			b = b[:copy(b[start:], b[start+1:])]
		}
	}
	return string(b)
}

// TokenBytes returns a copy of the raw bytes of one token: nil for control,
// unknown and out-of-range ids.
func (t *Tokenizer) TokenBytes(id int) []byte {
	if id < 0 || id >= len(t.pieces) || t.pieces[id] == nil {
		return nil
	}
	return slices.Clone(t.pieces[id])
}

// AppendTokenBytes appends the bytes of TokenBytes(id) to dst without
// allocating beyond dst's growth.
func (t *Tokenizer) AppendTokenBytes(dst []byte, id int) []byte {
	if id < 0 || id >= len(t.pieces) {
		return dst
	}
	return append(dst, t.pieces[id]...)
}

// IsEOG reports whether id ends generation: EOS, the ids in Vocab.ExtraEOG,
// and tokens such as <|eot_id|>, <|im_end|>, <|end_of_text|>, <|endoftext|>.
func (t *Tokenizer) IsEOG(id int) bool { return id >= 0 && id < len(t.eog) && t.eog[id] }

// BOS returns the beginning-of-sequence id, or -1.
func (t *Tokenizer) BOS() int { return t.v.BOS }

// EOS returns the end-of-sequence id, or -1.
func (t *Tokenizer) EOS() int { return t.v.EOS }

// AddBOS reports whether the model wants BOS before a prompt
// (Vocab.AddBOS); pass it to Encode.
func (t *Tokenizer) AddBOS() bool { return t.v.AddBOS && t.v.BOS >= 0 }

// VocabSize returns the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.v.Tokens) }

// Token returns the vocabulary text of id, such as "▁Once" or "<0x0A>", or
// "" for an out-of-range id.
func (t *Tokenizer) Token(id int) string {
	if id < 0 || id >= len(t.v.Tokens) {
		return ""
	}
	return t.v.Tokens[id]
}

// Type returns the token type of id (TypeNormal, TypeControl, ...), or
// TypeUndefined for an out-of-range id.
func (t *Tokenizer) Type(id int) int32 {
	if id < 0 || id >= len(t.types) {
		return TypeUndefined
	}
	return t.types[id]
}

// ID returns the id of a token's vocabulary text.
func (t *Tokenizer) ID(token string) (int, bool) {
	id, ok := t.ids[token]
	return id, ok
}
