package tokenizer

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Pre-tokenizers split text into words before byte-level BPE. The models
// define them as regular expressions with lookahead (`\s+(?!\S)`) and
// Unicode classes; Go's regexp has no lookahead, so each one is written out
// by hand, following llama.cpp's unicode_regex_split_custom_gpt2 and
// _llama3, which implement the same expressions. Classes: \p{L} is
// unicode.IsLetter, \p{N} unicode.IsNumber, \s unicode.IsSpace. A split
// never looks past the end of the chunk it works on.
//
// Invalid UTF-8 bytes are kept as they are (llama.cpp turns them into
// U+FFFD) and split like U+FFFD, a symbol: so text round-trips byte for byte.

// splitFunc splits one chunk of code points and returns the lengths of its
// pieces, in code points.
type splitFunc func(r []rune, lens []int) []int

// preTokenizer applies its steps in order; each step splits every chunk the
// previous one produced, like llama.cpp's list of regexes.
type preTokenizer struct {
	name  string
	steps []splitFunc
}

// preTokenizerFor maps tokenizer.ggml.pre to a pre-tokenizer and reports
// whether whole-word tokens skip merging (llama.cpp's ignore_merges).
func preTokenizerFor(pre string) (preTokenizer, bool, error) {
	switch pre {
	case "", "default", "gpt2", "gpt-2", "phi-2", "roberta-bpe":
		// llama.cpp's "default" uses an odd list of four expressions; deai
		// uses GPT-2's own, which is what such vocabularies were trained with.
		return preTokenizer{name: "gpt2", steps: []splitFunc{splitGPT2}}, false, nil
	case "llama3", "llama-v3", "llama-bpe", "falcon3":
		return preTokenizer{name: "llama3", steps: []splitFunc{splitLlama3}}, true, nil
	case "qwen2", "deepseek-r1-qwen":
		return preTokenizer{name: "qwen2", steps: []splitFunc{splitQwen2}}, false, nil
	case "smollm", "starcoder", "refact", "command-r", "codeshell":
		return preTokenizer{name: "smollm", steps: []splitFunc{splitDigits, splitGPT2}}, false, nil
	}
	return preTokenizer{}, false, fmt.Errorf("unsupported pre-tokenizer %q (supported: default, gpt2, llama3, llama-bpe, qwen2, smollm)", pre)
}

// split calls emit with each word of text, in order; the words concatenate
// to text.
func (p preTokenizer) split(text string, emit func(word string)) {
	runes := make([]rune, 0, len(text))
	offs := make([]int, 0, len(text)+1) // byte offset of each rune, then len(text)
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		runes = append(runes, r)
		offs = append(offs, i)
		i += n
	}
	offs = append(offs, len(text))

	chunks := []int{len(runes)} // lengths in runes
	var next, lens []int
	for _, step := range p.steps {
		next = next[:0]
		start := 0
		for _, n := range chunks {
			lens = step(runes[start:start+n], lens[:0])
			next = append(next, lens...)
			start += n
		}
		chunks, next = next, chunks
	}
	start := 0
	for _, n := range chunks {
		emit(text[offs[start]:offs[start+n]])
		start += n
	}
}

func isL(r rune) bool { return unicode.IsLetter(r) }
func isN(r rune) bool { return unicode.IsNumber(r) }
func isS(r rune) bool { return unicode.IsSpace(r) }

// isP is [^\s\p{L}\p{N}].
func isP(r rune) bool { return !isS(r) && !isL(r) && !isN(r) }

// splitter tracks the end of the last piece.
type splitter struct {
	lens []int
	prev int
}

func (s *splitter) add(end int) {
	if end > s.prev {
		s.lens = append(s.lens, end-s.prev)
	}
	s.prev = end
}

// splitGPT2 is 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
func splitGPT2(r []rune, lens []int) []int {
	s := splitter{lens: lens}
	n := len(r)
	for pos := 0; pos < n; {
		c := r[pos]
		if c == '\'' && pos+1 < n {
			c1 := r[pos+1]
			if c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd' {
				pos += 2
				s.add(pos)
				continue
			}
			if pos+2 < n {
				c2 := r[pos+2]
				if c1 == 'r' && c2 == 'e' || c1 == 'v' && c2 == 'e' || c1 == 'l' && c2 == 'l' {
					pos += 3
					s.add(pos)
					continue
				}
			}
		}
		k := pos // where the class starts after an optional ' '
		if c == ' ' {
			k++
		}
		if k < n {
			var class func(rune) bool
			switch {
			case isL(r[k]):
				class = isL
			case isN(r[k]):
				class = isN
			case isP(r[k]):
				class = isP
			}
			if class != nil {
				pos = k
				for pos < n && class(r[pos]) {
					pos++
				}
				s.add(pos)
				continue
			}
		}
		pos = spaces(r, pos, &s, false)
	}
	return s.lens
}

// spaces matches the whitespace alternatives at pos and returns the new
// position: with crlf, \s*[\r\n]+ first; then \s+(?!\S): a run of
// whitespace followed by a non-space gives up its last character to the
// next word; then \s+.
func spaces(r []rune, pos int, s *splitter, crlf bool) int {
	n := len(r)
	num, lastRN := 0, 0
	for pos+num < n && isS(r[pos+num]) {
		if c := r[pos+num]; crlf && (c == '\r' || c == '\n') {
			lastRN = pos + num + 1
		}
		num++
	}
	switch {
	case lastRN > 0:
		pos = lastRN
	case num > 1 && pos+num < n:
		pos += num - 1
	case num > 0:
		pos += num
	default:
		pos++ // no alternative matches: the character stands alone
	}
	s.add(pos)
	return pos
}

// splitLlama3 is (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
func splitLlama3(r []rune, lens []int) []int { return splitLlamaLike(r, lens, 3) }

// splitQwen2 is splitLlama3 with \p{N} instead of \p{N}{1,3}.
func splitQwen2(r []rune, lens []int) []int { return splitLlamaLike(r, lens, 1) }

func splitLlamaLike(r []rune, lens []int, maxDigits int) []int {
	s := splitter{lens: lens}
	n := len(r)
	for pos := 0; pos < n; {
		c := r[pos]
		if c == '\'' && pos+1 < n {
			c1 := unicode.ToLower(r[pos+1])
			if c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd' {
				pos += 2
				s.add(pos)
				continue
			}
			if pos+2 < n {
				c2 := unicode.ToLower(r[pos+2])
				if c1 == 'r' && c2 == 'e' || c1 == 'v' && c2 == 'e' || c1 == 'l' && c2 == 'l' {
					pos += 3
					s.add(pos)
					continue
				}
			}
		}
		if c != '\r' && c != '\n' && !isN(c) && (isL(c) || pos+1 < n && isL(r[pos+1])) {
			pos++
			for pos < n && isL(r[pos]) {
				pos++
			}
			s.add(pos)
			continue
		}
		if isN(c) {
			ini := pos
			for pos < n && isN(r[pos]) {
				pos++
				if pos-ini >= maxDigits {
					s.add(pos)
					ini = pos
				}
			}
			s.add(pos)
			continue
		}
		k := pos
		if c == ' ' {
			k++
		}
		if k < n && isP(r[k]) {
			pos = k
			for pos < n && isP(r[pos]) {
				pos++
			}
			for pos < n && (r[pos] == '\r' || r[pos] == '\n') {
				pos++
			}
			s.add(pos)
			continue
		}
		pos = spaces(r, pos, &s, true)
	}
	return s.lens
}

// splitDigits is \p{N}: every number character alone, the text between
// kept as pieces.
func splitDigits(r []rune, lens []int) []int {
	s := splitter{lens: lens}
	for pos, c := range r {
		if isN(c) {
			s.add(pos)
			s.add(pos + 1)
		}
	}
	s.add(len(r))
	return s.lens
}
