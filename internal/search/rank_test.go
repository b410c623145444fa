package search

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestRankNeedsEveryTermAndWeighsNamesAndRareWords(t *testing.T) {
	var ps []Posting
	ps = append(ps, NamePostings("01A", "Budget plan.m4a")...)
	ps = append(ps, TranscriptPostings("01B", []Segment{{Text: "the budget, the budget"}, {Text: "plan the budget again"}})...)
	ps = append(ps, TranscriptPostings("01C", []Segment{{Text: "a budget"}, {Text: "no plan"}})...)
	ps = append(ps, TranscriptPostings("01D", []Segment{{Text: "budget only"}})...)
	var ids []string
	hits := Rank(QueryTerms("budget plan"), ps)
	for _, h := range hits {
		ids = append(ids, h.RecordingID)
	}
	if want := []string{"01A", "01B", "01C"}; !slices.Equal(ids, want) {
		t.Fatalf("ranked %q, want %q (01D lacks plan)", ids, want)
	}
	if !hits[0].InName || hits[0].Segments != nil {
		t.Errorf("a name hit: %+v", hits[0])
	}
	// The segment holding both words comes before those holding one.
	if got := hits[1].Segments; !slices.Equal(got, []int{1, 0}) {
		t.Errorf("01B's segments %v, want [1 0]", got)
	}
	if Rank(nil, ps) != nil || len(Rank([]string{"absent"}, ps)) != 0 {
		t.Error("no terms, or an absent one, finds nothing")
	}
}

func TestSnippetCutsAroundTheFirstTerm(t *testing.T) {
	short := "회의록을 공유하겠습니다"
	if got := Snippet(short, []string{"회의"}, 160); got != short {
		t.Errorf("a short segment is shown whole: %q", got)
	}
	long := strings.Repeat("lorem ipsum dolor ", 30) + "the budget moves to friday " + strings.Repeat("sit amet ", 30)
	got := Snippet(long, []string{"budget"}, 80)
	if !strings.HasPrefix(got, "…") || !strings.HasSuffix(got, "…") || !strings.Contains(got, "budget moves") ||
		utf8.RuneCountInString(got) > 82 || strings.Contains(got, "  ") {
		t.Errorf("snippet %q", got)
	}
}
