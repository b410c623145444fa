// Package search is what finding a recording by its words means, apart
// from where the index is kept: how text becomes terms (normalization,
// tokenizing, Hangul bigrams), how matches are ranked, and how a snippet
// is cut from a segment. It holds no storage; internal/dynamo keeps the
// index.
package search

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// MaxTermRunes bounds one term, so a run of letters with no break (a pasted
// hash, a spoken number written out) cannot make a key past DynamoDB's
// sort-key limit. Longer runs are cut, at index and query time alike.
const MaxTermRunes = 32

var folder = cases.Fold()

// Normalize is the form text is compared in: NFKC (full-width letters,
// ligatures and compatibility jamo become their plain forms), case folded,
// and accents stripped from Latin letters, so "Café", "CAFE" and "café"
// are one word. Marks on other scripts are kept: they are letters there.
func Normalize(s string) string {
	s = norm.NFKC.String(strings.ToValidUTF8(s, " "))
	// Folding maps a few scripts' lower case to upper (Cherokee), and
	// folds the result back again: lowering after it makes one form.
	s = strings.ToLower(folder.String(s))
	if !hasLatinAccent(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	latin := false // the last letter was Latin: marks after it are its accents
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Mn, r):
			if !latin {
				b.WriteRune(r)
			}
		case r < utf8.RuneSelf || !unicode.Is(unicode.Latin, r):
			latin = r < utf8.RuneSelf && unicode.IsLetter(r)
			b.WriteRune(r)
		default:
			latin = true
			for _, d := range norm.NFD.String(string(r)) {
				if !unicode.Is(unicode.Mn, d) {
					b.WriteRune(d)
				}
			}
		}
	}
	// Folding after stripping can change a letter again (rare ligatures);
	// NFC recomposes what the strip left decomposed.
	return norm.NFC.String(b.String())
}

func hasLatinAccent(s string) bool {
	for _, r := range s {
		if r >= utf8.RuneSelf && (unicode.Is(unicode.Latin, r) || unicode.Is(unicode.Mn, r)) {
			return true
		}
	}
	return false
}

// class is how a run of word characters is cut into terms.
type class int

const (
	classNone   class = iota
	classWord         // space-delimited scripts: one term per run
	classBigram       // Hangul and CJK: overlapping character pairs
)

func classOf(r rune) class {
	switch {
	case unicode.Is(unicode.Hangul, r), unicode.Is(unicode.Han, r),
		unicode.Is(unicode.Hiragana, r), unicode.Is(unicode.Katakana, r):
		return classBigram
	case unicode.IsLetter(r), unicode.IsDigit(r), unicode.IsMark(r):
		return classWord
	}
	return classNone
}

// Token is one term and where, in the text it came from, the run of
// characters that made it starts and ends (byte offsets).
type Token struct {
	Term       string
	Start, End int
}

// Tokens cuts text into terms. A Latin (or any space-delimited) word is one
// term. Korean has no spaces worth trusting: particles attach to nouns
// ("회의록을") and nouns compound ("주간회의"), so a Hangul run becomes its
// overlapping syllable pairs ("회의", "의록", "록을"), and a query's pairs
// match inside longer words. A run of one syllable is itself a term.
func Tokens(text string) []Token {
	var out []Token
	for start := 0; start < len(text); {
		r, n := utf8.DecodeRuneInString(text[start:])
		if classOf(r) == classNone {
			start += n
			continue
		}
		end := start + n
		for end < len(text) {
			r, n := utf8.DecodeRuneInString(text[end:])
			if classOf(r) == classNone {
				break
			}
			end += n
		}
		out = appendRun(out, Normalize(text[start:end]), start, end)
		start = end
	}
	return out
}

// appendRun adds the terms of one normalized run. Normalizing can put
// characters of another class inside it ("㈜" is "(주)"), so it is cut
// again, by class.
func appendRun(out []Token, run string, start, end int) []Token {
	rs := []rune(run)
	for i := 0; i < len(rs); {
		c := classOf(rs[i])
		if c == classNone {
			i++
			continue
		}
		j := i + 1
		for j < len(rs) && classOf(rs[j]) == c {
			j++
		}
		seg := rs[i:j]
		if c == classWord || len(seg) == 1 {
			out = append(out, Token{Term: string(seg[:min(len(seg), MaxTermRunes)]), Start: start, End: end})
		} else {
			for k := 0; k+1 < len(seg); k++ {
				out = append(out, Token{Term: string(seg[k : k+2]), Start: start, End: end})
			}
		}
		i = j
	}
	return out
}

// Terms are the terms of text, in order, repeated as often as they occur.
func Terms(text string) []string {
	toks := Tokens(text)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.Term
	}
	return out
}

// MaxQueryTerms bounds the terms one query may have: each costs a read.
const MaxQueryTerms = 12

// QueryTerms are a query's distinct terms, in the order typed.
func QueryTerms(q string) []string {
	var out []string
	seen := map[string]bool{}
	for _, t := range Terms(q) {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// NameText is the part of a file name worth searching: without its
// extension ("회의록.m4a" is found by 회의록, not by m4a, which every
// recording of that type would share).
func NameText(name string) string {
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 6 {
		return name[:i]
	}
	return name
}
