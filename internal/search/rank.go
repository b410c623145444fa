package search

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Field is where in a recording a term was found.
type Field string

const (
	FieldName       Field = "name"
	FieldTranscript Field = "transcript"
)

// Segment is a stretch of a transcript with its times in the recording.
type Segment struct {
	StartMS int64
	EndMS   int64
	Text    string
	Speaker string
}

// Document is everything searchable about one recording.
type Document struct {
	RecordingID string
	Name        string
	Segments    []Segment
}

// MaxSegmentsPerPosting bounds the segments a posting remembers: enough to
// point at the best moments, not every "the" in a four-hour meeting.
const MaxSegmentsPerPosting = 8

// Posting is one term in one field of one recording: how often it occurs
// and, in a transcript, the first segments (by index) it occurs in.
type Posting struct {
	Term        string
	RecordingID string
	Field       Field
	Count       int
	Segments    []int
}

// NamePostings are the postings of a recording's name.
func NamePostings(recordingID, name string) []Posting {
	return postings(recordingID, FieldName, []string{NameText(name)})
}

// TranscriptPostings are the postings of a transcript's segments.
func TranscriptPostings(recordingID string, segs []Segment) []Posting {
	texts := make([]string, len(segs))
	for i, s := range segs {
		texts[i] = s.Text
	}
	return postings(recordingID, FieldTranscript, texts)
}

func postings(recordingID string, field Field, texts []string) []Posting {
	at := map[string]int{}
	var out []Posting
	for i, text := range texts {
		for _, term := range Terms(text) {
			j, ok := at[term]
			if !ok {
				j = len(out)
				at[term] = j
				out = append(out, Posting{Term: term, RecordingID: recordingID, Field: field})
			}
			p := &out[j]
			p.Count++
			if field == FieldTranscript && len(p.Segments) < MaxSegmentsPerPosting &&
				(len(p.Segments) == 0 || p.Segments[len(p.Segments)-1] != i) {
				p.Segments = append(p.Segments, i)
			}
		}
	}
	return out
}

// Hit is one recording that has every term of a query.
type Hit struct {
	RecordingID string
	Score       float64
	// InName: some term was found in the name.
	InName bool
	// Segments are the transcript segments to show, best first: those
	// holding the most distinct query terms, earlier ones first on a tie.
	Segments []int
}

// MaxMatchesPerHit bounds the moments shown per recording.
const MaxMatchesPerHit = 3

// nameBoost weighs a term in the name above one said once: a name is what
// the user chose to call the recording.
const nameBoost = 3.0

// saturation is BM25's k1: the tenth mention of a word adds little.
const saturation = 1.2

// Rank orders the recordings that contain every term (in the name or the
// transcript) best first. A term's weight falls with the number of the
// user's recordings holding it (a word in every meeting says little), a
// term's count saturates, and a name match counts more than one in speech.
// Ties go to the newer recording (ids sort by time).
func Rank(terms []string, ps []Posting) []Hit {
	if len(terms) == 0 {
		return nil
	}
	want := make(map[string]int, len(terms))
	for i, t := range terms {
		want[t] = i
	}
	type acc struct {
		has    []bool
		score  []float64 // per term, before idf
		inName bool
		segs   map[int]int // segment -> bitmask of terms
	}
	byRec := map[string]*acc{}
	df := make([]int, len(terms))
	for _, p := range ps {
		ti, ok := want[p.Term]
		if !ok || p.Count <= 0 {
			continue
		}
		a := byRec[p.RecordingID]
		if a == nil {
			a = &acc{has: make([]bool, len(terms)), score: make([]float64, len(terms))}
			byRec[p.RecordingID] = a
		}
		if !a.has[ti] {
			a.has[ti] = true
			df[ti]++
		}
		tf := float64(p.Count)
		w := tf * (saturation + 1) / (tf + saturation)
		if p.Field == FieldName {
			w *= nameBoost
			a.inName = true
		}
		a.score[ti] += w
		for _, s := range p.Segments {
			if a.segs == nil {
				a.segs = map[int]int{}
			}
			if ti < 62 {
				a.segs[s] |= 1 << ti
			}
		}
	}
	n := float64(len(byRec))
	idf := make([]float64, len(terms))
	for i, d := range df {
		idf[i] = math.Log(1 + (n+1)/float64(max(d, 1)))
	}
	var hits []Hit
next:
	for id, a := range byRec {
		h := Hit{RecordingID: id, InName: a.inName}
		for i := range terms {
			if !a.has[i] {
				continue next
			}
			h.Score += a.score[i] * idf[i]
		}
		h.Segments = bestSegments(a.segs)
		hits = append(hits, h)
	}
	slices.SortFunc(hits, func(x, y Hit) int {
		if c := cmp.Compare(y.Score, x.Score); c != 0 {
			return c
		}
		return strings.Compare(y.RecordingID, x.RecordingID)
	})
	return hits
}

func bestSegments(segs map[int]int) []int {
	if len(segs) == 0 {
		return nil
	}
	type seg struct{ idx, terms int }
	all := make([]seg, 0, len(segs))
	for i, mask := range segs {
		n := 0
		for ; mask != 0; mask &= mask - 1 {
			n++
		}
		all = append(all, seg{i, n})
	}
	slices.SortFunc(all, func(a, b seg) int {
		if c := cmp.Compare(b.terms, a.terms); c != 0 {
			return c
		}
		return cmp.Compare(a.idx, b.idx)
	})
	out := make([]int, 0, MaxMatchesPerHit)
	for _, s := range all[:min(len(all), MaxMatchesPerHit)] {
		out = append(out, s.idx)
	}
	return out
}

// Match is one place a recording matched: its name, or a moment of its
// transcript an app can seek to.
type Match struct {
	Field   Field  `json:"field"`
	StartMS *int64 `json:"start_ms,omitempty"`
	EndMS   *int64 `json:"end_ms,omitempty"`
	Speaker string `json:"speaker,omitempty"`
	Snippet string `json:"snippet"`
}

// SnippetRunes is the longest snippet, in characters.
const SnippetRunes = 160

// Snippet is text, or when longer than max characters a window of it that
// starts shortly before the first query term it holds, cut at spaces and
// marked with "…" where text was left out.
func Snippet(text string, terms []string, max int) string {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) <= max {
		return text
	}
	want := map[string]bool{}
	for _, t := range terms {
		want[t] = true
	}
	at := 0
	for _, tok := range Tokens(text) {
		if want[tok.Term] {
			at = tok.Start
			break
		}
	}
	// Lead in by a quarter of the window, so the term is not the first word.
	start := at
	for lead := max / 4; lead > 0 && start > 0; lead-- {
		_, n := utf8.DecodeLastRuneInString(text[:start])
		start -= n
	}
	if start > 0 {
		if sp := strings.IndexFunc(text[start:at], unicode.IsSpace); sp >= 0 {
			start += sp + 1
		}
	}
	end, count := start, 0
	for end < len(text) && count < max {
		_, n := utf8.DecodeRuneInString(text[end:])
		end += n
		count++
	}
	if end < len(text) {
		if sp := strings.LastIndexFunc(text[start:end], unicode.IsSpace); sp > 0 && start+sp > at {
			end = start + sp
		}
	}
	out := strings.TrimSpace(text[start:end])
	if start > 0 {
		out = "…" + out
	}
	if end < len(text) {
		out += "…"
	}
	return out
}
