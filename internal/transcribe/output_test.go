package transcribe_test

import (
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/transcribe"
)

func TestParseOutputKorean(t *testing.T) {
	data, err := os.ReadFile("testdata/korean.json")
	if err != nil {
		t.Fatal(err)
	}
	lang, segs, err := transcribe.ParseOutput(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []recording.Segment{
		{StartMS: 240, EndMS: 3520, Text: "내일 오후 세 시에 회의실에서 예산 회의를 하겠습니다."},
		{StartMS: 5300, EndMS: 6880, Text: "자료는 미리 공유해 주세요."},
	}
	if lang != "ko-KR" || !reflect.DeepEqual(segs, want) {
		t.Fatalf("got %q %+v, want ko-KR %+v", lang, segs, want)
	}
}

// Speakers labelled only in speaker_labels (by each word's start time)
// split the segments at every change of speaker.
func TestParseOutputSpeakers(t *testing.T) {
	data, err := os.ReadFile("testdata/speakers.json")
	if err != nil {
		t.Fatal(err)
	}
	lang, segs, err := transcribe.ParseOutput(data)
	if err != nil {
		t.Fatal(err)
	}
	want := []recording.Segment{
		{StartMS: 40, EndMS: 1620, Text: "Did you send the quarterly report?", Speaker: "spk_0"},
		{StartMS: 1900, EndMS: 2950, Text: "Yes, this morning.", Speaker: "spk_1"},
		{StartMS: 3100, EndMS: 3880, Text: "Great, thanks.", Speaker: "spk_0"},
	}
	if lang != "" || !reflect.DeepEqual(segs, want) {
		t.Fatalf("got %q %+v, want %+v", lang, segs, want)
	}
}

// A long monologue is cut at pauses and at sentence ends once long
// enough, and never runs past the longest segment.
func TestParseOutputCutsLongSpeech(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"results":{"items":[`)
	for i := range 100 {
		if i > 0 {
			b.WriteByte(',')
		}
		start := float64(i) * 0.5
		b.WriteString(`{"type":"pronunciation","start_time":"` + ftoa(start) + `","end_time":"` + ftoa(start+0.4) + `","alternatives":[{"content":"word"}]}`)
	}
	b.WriteString(`]}}`)
	_, segs, err := transcribe.ParseOutput([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(segs) < 3 {
		t.Fatalf("50 s of speech in %d segments", len(segs))
	}
	for _, s := range segs {
		if s.EndMS-s.StartMS > 20000 {
			t.Errorf("segment of %d ms", s.EndMS-s.StartMS)
		}
	}
}

func TestParseOutputRefusesBadTimes(t *testing.T) {
	for _, doc := range []string{
		`{"results":{"items":[{"type":"pronunciation","start_time":"x","end_time":"1","alternatives":[{"content":"a"}]}]}}`,
		`{"results":{"items":[{"type":"pronunciation","start_time":"2","end_time":"1","alternatives":[{"content":"a"}]}]}}`,
		`{"results":{"items":[{"type":"pronunciation","start_time":"-1","end_time":"1","alternatives":[{"content":"a"}]}]}}`,
		`not json`,
	} {
		if _, _, err := transcribe.ParseOutput([]byte(doc)); err == nil {
			t.Errorf("%s: parsed", doc)
		}
	}
}

func ftoa(f float64) string { return strings.TrimRight(strings.TrimRight(strconvF(f), "0"), ".") }

func strconvF(f float64) string { return strconv.FormatFloat(f, 'f', 3, 64) }
