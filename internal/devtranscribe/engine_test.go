package devtranscribe_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/client"
	"github.com/voicerec/backend/internal/devtranscribe"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// engineStack is a whole backend whose transcription engine is the local
// one, delivering its events to the stack's events handler as the local
// stack's webhook does.
func engineStack(t testing.TB, extra map[string]string) (*stack.Stack, *devtranscribe.Engine) {
	t.Helper()
	for _, tool := range []string{"ffmpeg", "pocketsphinx_continuous"} {
		if _, err := os.Stat("/usr/bin/" + tool); err != nil {
			// In CI a missing engine is a failure, not a skip.
			t.Fatalf("%s is not installed (apt-get install ffmpeg pocketsphinx pocketsphinx-en-us): %v", tool, err)
		}
	}
	eng := &devtranscribe.Engine{}
	srv := httptest.NewServer(eng.Handler())
	t.Cleanup(srv.Close)
	vars := map[string]string{
		"TRANSCRIBE_ENABLED":          "true",
		"TRANSCRIBE_LANGUAGES":        devtranscribe.Language,
		"AWS_ENDPOINT_URL_TRANSCRIBE": srv.URL,
	}
	for k, v := range extra {
		vars[k] = v
	}
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: vars})
	eng.S3 = s.Clients.S3
	eng.Deliver = func(ctx context.Context, ev []byte) error {
		_, err := s.Events.Invoke(ctx, ev)
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go eng.Run(ctx)
	return s, eng
}

type clip struct{ file, reference string }

func clips(t testing.TB) []clip {
	t.Helper()
	f, err := os.Open("testdata/librivox/reference.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []clip
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, words, ok := strings.Cut(sc.Text(), "\t")
		if ok {
			out = append(out, clip{name, words})
		}
	}
	return out
}

var contentTypes = map[string]string{".wav": "audio/wav", ".flac": "audio/flac", ".opus": "audio/ogg"}

// upload stores a clip as an app would and answers its recording id.
func upload(t testing.TB, s *stack.Stack, token, path string, extra map[string]any) string {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	req := map[string]any{"file_name": filepath.Base(path), "content_type": contentTypes[filepath.Ext(path)], "size_bytes": len(body)}
	for k, v := range extra {
		req[k] = v
	}
	var up stack.Upload
	if st := s.Call(t, token, http.MethodPost, "/v1/recordings", req, &up); st != http.StatusCreated {
		t.Fatalf("create %s: %d", path, st)
	}
	if st := stack.Put(t, up.Upload, body); st != http.StatusOK {
		t.Fatalf("put %s: %d", path, st)
	}
	return up.Recording.ID
}

func waitTranscript(t testing.TB, s *stack.Stack, token, id string) client.Transcript {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var tr client.Transcript
		st := s.Call(t, token, http.MethodGet, "/v1/recordings/"+id+"/transcript", nil, &tr)
		if st == http.StatusOK && tr.Status != "" && tr.Status != client.TranscriptPending {
			return tr
		}
		if time.Now().After(deadline) {
			t.Fatalf("transcript of %s: still %d %q", id, st, tr.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Real speech through the real engine: each LibriVox clip, uploaded as an
// app would, is transcribed by itself, and its transcript holds the
// clip's distinctive words. The word error rate is logged (-v), not
// required: a recogniser's exact words are not a contract.
func TestLibriVoxClipsAreTranscribed(t *testing.T) {
	s, eng := engineStack(t, nil)
	token, _ := s.Login(t, "reader")
	distinctive := map[string][]string{
		"clip-0880.wav":  {"young", "man"},
		"clip-0930.flac": {"might", "even", "made"},
		"clip-0870.opus": {"leisure", "consider", "power"},
	}
	start := time.Now()
	ids := map[string]string{}
	for _, c := range clips(t) {
		ids[c.file] = upload(t, s, token, filepath.Join("testdata/librivox", c.file), nil)
	}
	var refWords, errWords float64
	for _, c := range clips(t) {
		tr := waitTranscript(t, s, token, ids[c.file])
		if tr.Status != client.TranscriptCompleted {
			t.Fatalf("%s: transcript %s (%s: %s)", c.file, tr.Status, tr.Reason, tr.Detail)
		}
		if tr.Language != devtranscribe.Language || len(tr.Segments) == 0 {
			t.Errorf("%s: language %q, %d segments", c.file, tr.Language, len(tr.Segments))
		}
		for _, w := range distinctive[c.file] {
			if !strings.Contains(" "+tr.Text+" ", " "+w+" ") {
				t.Errorf("%s: transcript %q lacks %q", c.file, tr.Text, w)
			}
		}
		wer := devtranscribe.WordErrorRate(c.reference, tr.Text)
		n := float64(len(strings.Fields(c.reference)))
		refWords += n
		errWords += wer * n
		t.Logf("%s: WER %.2f: %q", c.file, wer, tr.Text)
		rec, _ := s.Get(t, token, ids[c.file])
		if rec.TranscriptStatus != client.TranscriptCompleted {
			t.Errorf("%s: recording shows transcript_status %q", c.file, rec.TranscriptStatus)
		}
	}
	cpu, audio := eng.Usage()
	t.Logf("overall WER %.3f over %.0f words; %s of audio took %s CPU (%.1f s CPU per audio minute); upload to last transcript %s",
		errWords/refWords, refWords, audio, cpu, cpu.Seconds()/audio.Minutes(), time.Since(start).Round(time.Millisecond))
	var me client.Me
	s.Call(t, token, http.MethodGet, "/v1/me", nil, &me)
	if me.Quota.TranscriptionMinutesUsed < 1 || me.Transcription != "on" {
		t.Errorf("me after three clips: %+v, transcription %q", me.Quota, me.Transcription)
	}
	raw, _ := json.Marshal(me.Quota)
	t.Logf("quota: %s", raw)
}

// A language the local engine lacks ends unsupported with a reason, and
// is never sent to it.
func TestKoreanIsUnsupportedLocally(t *testing.T) {
	s, _ := engineStack(t, nil)
	token, _ := s.Login(t, "hangul")
	id := upload(t, s, token, "testdata/librivox/clip-0880.wav", map[string]any{"language": "ko-KR"})
	tr := waitTranscript(t, s, token, id)
	if tr.Status != client.TranscriptUnsupported || tr.Reason != "language_unsupported" || !strings.Contains(tr.Detail, "ko-KR") {
		t.Fatalf("transcript %+v, want unsupported for ko-KR", tr)
	}
}
