package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// byteRunes is GPT-2's reversible byte-to-character table: printable bytes
// (33..126, 161..172, 174..255) stand for themselves, the others map in
// order to U+0100 and up, so that every byte has a visible character and
// no vocabulary text holds a raw space. A pure lookup table.
var byteRunes = func() (t [256]rune) {
	n := rune(0)
	for b := range 256 {
		if b >= 33 && b <= 126 || b >= 161 && b <= 172 || b >= 174 {
			t[b] = rune(b)
		} else {
			t[b] = 256 + n
			n++
		}
	}
	return t
}()

// bpeModel is GPT-2 byte-level BPE as llama.cpp's llm_tokenizer_bpe runs
// it: split text with the model's pre-tokenizer, map each word's bytes
// through byteRunes, then merge the adjacent pair with the lowest merge rank
// (ties to the leftmost pair) until none merges.
//
// Merging works on ids: a merge is kept only when its left part, right part
// and result are all vocabulary tokens, which holds for every published
// vocabulary. That avoids building strings while encoding.
type bpeModel struct {
	t            *Tokenizer
	pre          preTokenizer
	ignoreMerges bool             // a word that is itself a token is not merged (llama3)
	merges       map[uint64]merge // left id<<32 | right id
	byteID       [256]int         // id of each byte's mapped character, or -1
	runeByte     map[rune]byte    // byteRunes inverted
}

type merge struct{ rank, id int32 }

func newBPE(t *Tokenizer) (*bpeModel, error) {
	m := &bpeModel{t: t, merges: make(map[uint64]merge, len(t.v.Merges)), runeByte: make(map[rune]byte, 256)}
	pre, ignore, err := preTokenizerFor(t.v.Pre)
	if err != nil {
		return nil, err
	}
	m.pre, m.ignoreMerges = pre, ignore
	for b, r := range byteRunes {
		m.runeByte[r] = byte(b)
		m.byteID[b] = -1
		if id, ok := t.ids[string(r)]; ok {
			m.byteID[b] = id
		}
	}
	for rank, s := range t.v.Merges {
		// The separator is the first space after the first character, as
		// llama.cpp splits them.
		i := strings.IndexByte(s[min(1, len(s)):], ' ') + 1
		if i <= 0 {
			return nil, fmt.Errorf("merge %d %q has no space", rank, s)
		}
		l, lok := t.ids[s[:i]]
		r, rok := t.ids[s[i+1:]]
		res, resok := t.ids[s[:i]+s[i+1:]]
		if !lok || !rok || !resok {
			continue
		}
		key := uint64(l)<<32 | uint64(r)
		if _, dup := m.merges[key]; !dup {
			m.merges[key] = merge{rank: int32(rank), id: int32(res)}
		}
	}
	return m, nil
}

// unmap undoes the byte mapping of a normal token's text. Characters outside
// the table (not produced by GPT-2 vocabularies) are kept as UTF-8.
func (m *bpeModel) unmap(s string) []byte {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if b, ok := m.runeByte[r]; ok {
			out = append(out, b)
		} else {
			out = utf8.AppendRune(out, r)
		}
	}
	return out
}

type bpeSymbol struct {
	id         int // -1: a byte with no token
	prev, next int
	dead       bool
}

type bpeBigram struct {
	left, right int
	rank        int32
	lid, rid    int // ids when queued; a mismatch marks the pair stale
}

func bpeBefore(a, b bpeBigram) bool {
	if a.rank != b.rank {
		return a.rank < b.rank
	}
	return a.left < b.left
}

func (m *bpeModel) encode(out []int, text string) []int {
	var mapped []byte
	var syms []bpeSymbol
	q := heap[bpeBigram]{before: bpeBefore}
	m.pre.split(text, func(word string) {
		if m.ignoreMerges {
			mapped = mapped[:0]
			for i := 0; i < len(word); i++ {
				mapped = utf8.AppendRune(mapped, byteRunes[word[i]])
			}
			if id, ok := m.t.ids[string(mapped)]; ok {
				out = append(out, id)
				return
			}
		}
		syms = syms[:0]
		for i := 0; i < len(word); i++ {
			syms = append(syms, bpeSymbol{id: m.byteID[word[i]], prev: i - 1, next: i + 1})
		}
		syms[len(syms)-1].next = -1
		q.items = q.items[:0]
		tryAdd := func(l, r int) {
			if l < 0 || r < 0 || syms[l].id < 0 || syms[r].id < 0 {
				return
			}
			mg, ok := m.merges[uint64(syms[l].id)<<32|uint64(syms[r].id)]
			if !ok {
				return
			}
			q.push(bpeBigram{left: l, right: r, rank: mg.rank, lid: syms[l].id, rid: syms[r].id})
		}
		for i := 1; i < len(syms); i++ {
			tryAdd(i-1, i)
		}
		for q.len() > 0 {
			bg := q.pop()
			l, r := &syms[bg.left], &syms[bg.right]
			if l.dead || r.dead || l.next != bg.right || l.id != bg.lid || r.id != bg.rid {
				continue
			}
			l.id = int(m.merges[uint64(bg.lid)<<32|uint64(bg.rid)].id)
			r.dead = true
			l.next = r.next
			if r.next >= 0 {
				syms[r.next].prev = bg.left
			}
			tryAdd(l.prev, bg.left)
			tryAdd(bg.left, l.next)
		}
		for i := 0; i != -1; i = syms[i].next {
			switch {
			case syms[i].id >= 0:
				out = append(out, syms[i].id)
			case m.t.v.UNK >= 0:
				out = append(out, m.t.v.UNK)
			}
		}
	})
	return out
}
