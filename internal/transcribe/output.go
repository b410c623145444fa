// Package transcribe speaks to Amazon Transcribe (or the local engine that
// answers the same API): it starts batch jobs that read a recording from
// the bucket and write their output under the transcripts prefix, reads a
// failed job's reason, and turns an output document into segments.
package transcribe

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/voicerec/backend/internal/recording"
)

// Output is the part of Amazon Transcribe's output document this backend
// reads: results.items (words with times and, when speaker labels were
// on, a label), results.speaker_labels (older outputs label speakers
// only there, by each word's start time) and results.language_code (the
// language identified, when identification was asked for).
type Output struct {
	JobName string `json:"jobName"`
	Status  string `json:"status"`
	Results struct {
		Transcripts []struct {
			Transcript string `json:"transcript"`
		} `json:"transcripts"`
		Items         []outputItem `json:"items"`
		SpeakerLabels *struct {
			Segments []struct {
				SpeakerLabel string `json:"speaker_label"`
				Items        []struct {
					StartTime    string `json:"start_time"`
					SpeakerLabel string `json:"speaker_label"`
				} `json:"items"`
			} `json:"segments"`
		} `json:"speaker_labels"`
		LanguageCode string `json:"language_code"`
	} `json:"results"`
}

type outputItem struct {
	Type         string `json:"type"` // pronunciation or punctuation
	StartTime    string `json:"start_time"`
	EndTime      string `json:"end_time"`
	SpeakerLabel string `json:"speaker_label"`
	Alternatives []struct {
		Content string `json:"content"`
	} `json:"alternatives"`
}

// How words are grouped into segments: a segment ends at a change of
// speaker, at a pause, at the end of a sentence once it is long enough to
// read, and before it grows too long to jump to usefully.
const (
	pauseMS       = 1500
	sentenceMinMS = 3000
	segmentMaxMS  = 20000
)

// ParseOutput reads an output document into segments, and the language
// it names (empty when the job was given one and did not identify it).
func ParseOutput(data []byte) (language string, segs []recording.Segment, err error) {
	var out Output
	if err := json.Unmarshal(data, &out); err != nil {
		return "", nil, fmt.Errorf("transcribe output: %w", err)
	}
	speakerAt := map[string]string{}
	if sl := out.Results.SpeakerLabels; sl != nil {
		for _, s := range sl.Segments {
			for _, it := range s.Items {
				label := it.SpeakerLabel
				if label == "" {
					label = s.SpeakerLabel
				}
				speakerAt[it.StartTime] = label
			}
		}
	}
	var cur *recording.Segment
	closeCur := func() {
		if cur != nil && cur.Text != "" {
			segs = append(segs, *cur)
		}
		cur = nil
	}
	for i, it := range out.Results.Items {
		if len(it.Alternatives) == 0 {
			continue
		}
		word := strings.TrimSpace(it.Alternatives[0].Content)
		if word == "" {
			continue
		}
		if it.Type == "punctuation" {
			if cur == nil {
				continue
			}
			cur.Text += word
			if strings.ContainsAny(word, ".?!。？！") && cur.EndMS-cur.StartMS >= sentenceMinMS {
				closeCur()
			}
			continue
		}
		start, err1 := seconds(it.StartTime)
		end, err2 := seconds(it.EndTime)
		if err1 != nil || err2 != nil || end < start {
			return "", nil, fmt.Errorf("transcribe output: item %d has times %q..%q", i, it.StartTime, it.EndTime)
		}
		speaker := it.SpeakerLabel
		if speaker == "" {
			speaker = speakerAt[it.StartTime]
		}
		if cur != nil && (speaker != cur.Speaker || start-cur.EndMS > pauseMS || end-cur.StartMS > segmentMaxMS) {
			closeCur()
		}
		if cur == nil {
			cur = &recording.Segment{StartMS: start, Speaker: speaker}
		} else {
			cur.Text += " "
		}
		cur.Text += word
		cur.EndMS = end
	}
	closeCur()
	if segs == nil {
		segs = []recording.Segment{}
	}
	return out.Results.LanguageCode, segs, nil
}

// seconds reads Transcribe's "12.34" (seconds, as a string) in ms.
func seconds(s string) (int64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > float64(recording.MaxDurationMS)/1000 {
		return 0, fmt.Errorf("not a time: %q", s)
	}
	return int64(math.Round(f * 1000)), nil
}

// maxReason bounds a failure reason stored on a recording item.
const maxReason = 500

// Clip shortens an engine's failure reason to what a recording keeps.
func Clip(reason string) string {
	if len(reason) <= maxReason {
		return reason
	}
	cut := maxReason
	for cut > 0 && !utf8.RuneStart(reason[cut]) {
		cut--
	}
	return reason[:cut] + "…"
}
