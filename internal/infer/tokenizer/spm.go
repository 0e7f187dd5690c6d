package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// spmSpace is SentencePiece's visible space, U+2581.
const spmSpace = "▁"

// spmModel is SentencePiece BPE as llama.cpp's llm_tokenizer_spm runs it:
// merge the adjacent pair whose concatenation is the vocabulary piece with
// the highest score (ties to the leftmost pair) until none merges, then map
// pieces to ids, falling back to <0xNN> byte tokens.
type spmModel struct {
	t      *Tokenizer
	scores []float32
	byteID [256]int // id of "<0xNN>", or -1
}

func newSPM(t *Tokenizer) (*spmModel, error) {
	m := &spmModel{t: t, scores: t.v.Scores}
	if len(m.scores) == 0 {
		m.scores = make([]float32, len(t.v.Tokens))
	}
	for b := range 256 {
		m.byteID[b] = -1
		if id, ok := t.ids[fmt.Sprintf("<0x%02X>", b)]; ok {
			m.byteID[b] = id
		}
	}
	return m, nil
}

type spmSymbol struct {
	start, end int // byte range in the escaped text; start == end once merged away
	prev, next int // neighbours, -1 at the ends
}

type spmBigram struct {
	left, right int
	score       float32
	size        int // bytes of the pair when queued; a mismatch marks it stale
}

// spmBefore orders the queue: highest score first, then leftmost.
func spmBefore(a, b spmBigram) bool {
	if a.score != b.score {
		return a.score > b.score
	}
	return a.left < b.left
}

func (m *spmModel) encode(out []int, text string, dummyPrefix bool) []int {
	if dummyPrefix {
		text = " " + text
	}
	text = strings.ReplaceAll(text, " ", spmSpace)

	syms := make([]spmSymbol, 0, len(text))
	for off := 0; off < len(text); {
		// An invalid byte is a symbol of its own. (llama.cpp trusts the lead
		// byte's length, which can swallow the next character; this keeps
		// any byte string round-tripping and agrees on valid UTF-8.)
		_, n := utf8.DecodeRuneInString(text[off:])
		syms = append(syms, spmSymbol{start: off, end: off + n, prev: len(syms) - 1, next: len(syms) + 1})
		off += n
	}
	syms[len(syms)-1].next = -1

	q := heap[spmBigram]{before: spmBefore}
	tryAdd := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		id, ok := m.t.ids[text[syms[l].start:syms[r].end]]
		if !ok {
			return
		}
		q.push(spmBigram{left: l, right: r, score: m.scores[id], size: syms[r].end - syms[l].start})
	}
	for i := 1; i < len(syms); i++ {
		tryAdd(i-1, i)
	}
	for q.len() > 0 {
		bg := q.pop()
		l, r := &syms[bg.left], &syms[bg.right]
		if l.start == l.end || r.start == r.end || l.next != bg.right || r.end-l.start != bg.size {
			continue // stale: one side was merged since this pair was queued
		}
		l.end = r.end
		r.start = r.end
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = bg.left
		}
		tryAdd(l.prev, bg.left)
		tryAdd(bg.left, l.next)
	}

	for i := 0; i != -1; i = syms[i].next {
		piece := text[syms[i].start:syms[i].end]
		if id, ok := m.t.ids[piece]; ok {
			out = append(out, id)
			continue
		}
		// Only unmerged single characters can be missing: merges always
		// produce vocabulary pieces. Fall back to one token per byte.
		for j := 0; j < len(piece); j++ {
			if id := m.byteID[piece[j]]; id >= 0 {
				out = append(out, id)
			} else if m.t.v.UNK >= 0 {
				out = append(out, m.t.v.UNK)
			}
		}
	}
	return out
}
