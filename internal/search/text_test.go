package search

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestNormalizeFoldsCaseWidthAndLatinAccents(t *testing.T) {
	for in, want := range map[string]string{
		"Café":                 "cafe",
		"CAFÉ":                 "cafe",
		"cafe\u0301":           "cafe", // decomposed accent
		"Ｍｅｅｔｉｎｇ":              "meeting",
		"Straße":               "strasse",
		"ﬁnance":               "finance",
		"회의록":                  "회의록",
		norm.NFD.String("회의록"): "회의록", // NFD Hangul from macOS file names
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestNormalizeKeepsMarksOutsideLatin(t *testing.T) {
	if got := norm.NFD.String(Normalize("Ἀθῆναι")); !strings.ContainsRune(got, '\u0342') {
		t.Errorf("Normalize dropped the Greek perispomeni: %q", got)
	}
}

func TestTermsCutHangulIntoBigramsAndWordsWhole(t *testing.T) {
	for in, want := range map[string][]string{
		"주간회의 회의록을 보냈다":    {"주간", "간회", "회의", "회의", "의록", "록을", "보냈", "냈다"},
		"Q3 budget, café!": {"q3", "budget", "cafe"},
		"AI회의":             {"ai회의"}, // no: split below
		"책":                {"책"},
		"㈜한국":              {"주", "한국"},
	} {
		if in == "AI회의" {
			want = []string{"ai", "회의"}
		}
		if got := Terms(in); !slices.Equal(got, want) {
			t.Errorf("Terms(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQueryBigramsAreFoundInsideLongerKoreanWords(t *testing.T) {
	has := func(text, query string) bool {
		doc := Terms(text)
		for _, q := range QueryTerms(query) {
			if !slices.Contains(doc, q) {
				return false
			}
		}
		return true
	}
	for _, c := range []struct {
		text, query string
		want        bool
	}{
		{"회의록을 정리했습니다", "회의록", true}, // a particle after the noun
		{"주간회의 시작합니다", "회의", true},   // the end of a compound
		{"회의록을 정리했습니다", "예산", false},
		{"The Budget Review", "budget", true},
		{"The Budget Review", "budg", false}, // whole words, not prefixes
	} {
		if got := has(c.text, c.query); got != c.want {
			t.Errorf("%q finds %q: %v, want %v", c.query, c.text, got, c.want)
		}
	}
}

func TestNameTextDropsTheExtension(t *testing.T) {
	for in, want := range map[string]string{"회의록.m4a": "회의록", "notes.v2.flac": "notes.v2", "README": "README", ".hidden": ".hidden"} {
		if got := NameText(in); got != want {
			t.Errorf("NameText(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzTokens(f *testing.F) {
	for _, s := range []string{"회의록을", "Café CAFÉ", "㈜한국", "ﬁ", "a\u0301\u0301", "\xff\xfe", "Ａ１", "ＡＩ회의", strings.Repeat("x", 100)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		toks := Tokens(s)
		for _, tok := range toks {
			if tok.Term == "" || !utf8.ValidString(tok.Term) {
				t.Fatalf("term %q from %q", tok.Term, s)
			}
			if utf8.RuneCountInString(tok.Term) > MaxTermRunes {
				t.Fatalf("term %q is longer than %d runes", tok.Term, MaxTermRunes)
			}
			if tok.Start < 0 || tok.End > len(s) || tok.Start >= tok.End {
				t.Fatalf("token %+v outside %q", tok, s)
			}
			if strings.ContainsAny(tok.Term, "#\x00") || Normalize(tok.Term) != tok.Term {
				t.Fatalf("term %q is not in normal form or holds a key separator", tok.Term)
			}
		}
		// A query typed as the text was stored finds it: every query term
		// is a term of the text.
		doc := Terms(s)
		for _, q := range QueryTerms(s) {
			if !slices.Contains(doc, q) {
				t.Fatalf("query term %q not among %q", q, doc)
			}
		}
		n := Normalize(s)
		if Normalize(n) != n {
			t.Fatalf("Normalize is not idempotent on %q: %q then %q", s, n, Normalize(n))
		}
		_ = Snippet(s, QueryTerms(s), 10)
	})
}
