package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/internal/devtranscribe"
	"github.com/voicerec/backend/internal/lifecycle"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
	amazon "github.com/voicerec/backend/internal/transcribe"
)

// heldTranscriptions is a stack whose engine takes jobs and never runs
// them: the test writes Amazon Transcribe's output and delivers the
// completion event itself.
func heldTranscriptions(t *testing.T) *stack.Stack {
	t.Helper()
	srv := httptest.NewServer((&devtranscribe.Engine{}).Handler())
	t.Cleanup(srv.Close)
	return stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{
		"TRANSCRIBE_ENABLED": "true", "TRANSCRIBE_LANGUAGES": "en-US,ko-KR", "AWS_ENDPOINT_URL_TRANSCRIBE": srv.URL,
	}})
}

// completeJob writes fixture as the job of the recording's output and
// delivers its completion through the events function's entry point, and
// returns the segments the output holds.
func completeJob(t *testing.T, s *stack.Stack, userID, id, fixture string) []recording.Segment {
	t.Helper()
	return completeNamedJob(t, s, userID, id, jobOf(t, s, userID, id), fixture)
}

// jobOf waits for the job a recording's confirmation starts.
func jobOf(t *testing.T, s *stack.Stack, userID, id string) string {
	t.Helper()
	var job string
	for deadline := time.Now().Add(10 * time.Second); job == ""; time.Sleep(20 * time.Millisecond) {
		rec, err := s.Store.GetRecording(context.Background(), userID, id)
		if err != nil {
			t.Fatal(err)
		}
		if job = rec.TranscriptJob; job == "" && time.Now().After(deadline) {
			t.Fatalf("recording %s never started a job (%q %s)", id, rec.TranscriptStatus, rec.TranscriptDetail)
		}
	}
	return job
}

func completeNamedJob(t *testing.T, s *stack.Stack, userID, id, job, fixture string) []recording.Segment {
	t.Helper()
	doc, err := os.ReadFile("../../internal/transcribe/testdata/" + fixture)
	if err != nil {
		t.Fatal(err)
	}
	doc = bytes.ReplaceAll(doc, []byte("JOBNAME"), []byte(job))
	_, segs, err := amazon.ParseOutput(doc)
	if err != nil {
		t.Fatal(err)
	}
	key := recording.TranscriptKey(userID, id, job)
	if _, err := s.Clients.S3.PutObject(context.Background(), &awss3.PutObjectInput{
		Bucket: aws.String(s.Config.Bucket), Key: &key, Body: bytes.NewReader(doc),
	}); err != nil {
		t.Fatal(err)
	}
	ev, _ := json.Marshal(map[string]any{
		"version": "0", "id": "test", "detail-type": amazon.EventDetailType, "source": amazon.EventSource,
		"account": "111122223333", "time": "2026-12-06T00:00:00Z", "region": "us-east-1", "resources": []string{},
		"detail": map[string]string{"TranscriptionJobName": job, "TranscriptionJobStatus": "COMPLETED"},
	})
	if _, err := s.Events.Invoke(context.Background(), ev); err != nil {
		t.Fatalf("deliver %s: %v", job, err)
	}
	return segs
}

// A transcript that completes is searchable by what was said, in English
// and in Korean, each match at the time of the segment that said it; a
// transcript completing after its recording was purged leaves nothing in
// the index.
func TestCompletedTranscriptsAreSearchable(t *testing.T) {
	t.Parallel()
	s := heldTranscriptions(t)
	c, uid := login(t, s, "spoken")
	body := audioBytes("audio/mp4", 5000)
	english := c.upload("a.m4a", "audio/mp4", body)
	korean := c.upload("b.m4a", "audio/mp4", body)
	for _, tc := range []struct {
		id, fixture, q, said string
	}{
		{english.ID, "speakers.json", "quarterly", "quarterly"},
		{korean.ID, "korean.json", "예산", "예산"},
	} {
		if got := c.search(tc.q, "").ids(); len(got) != 0 {
			t.Fatalf("%q is found before its transcript: %q", tc.q, got)
		}
		segs := completeJob(t, s, uid, tc.id, tc.fixture)
		res := c.search(tc.q, "")
		if !slices.Equal(res.ids(), []string{tc.id}) {
			t.Fatalf("search %q after %s completed: %q, want %s", tc.q, tc.fixture, res.ids(), tc.id)
		}
		m := res.Items[0].Matches
		i := slices.IndexFunc(segs, func(sg recording.Segment) bool { return strings.Contains(sg.Text, tc.said) })
		if len(m) == 0 || m[0].Field != "transcript" || m[0].StartMS == nil || i < 0 ||
			*m[0].StartMS != segs[i].StartMS || *m[0].EndMS != segs[i].EndMS || !strings.Contains(m[0].Snippet, tc.said) {
			t.Errorf("search %q: matches %+v, want segment %d %+v", tc.q, m, i, segs)
		}
	}

	// Purged while its job ran: the late completion indexes nothing.
	late := c.upload("c.m4a", "audio/mp4", body)
	job := jobOf(t, s, uid, late.ID)
	wantStatus(t, c.do("DELETE", "/v1/recordings/"+late.ID+"?purge=true", nil), 200)
	reconcileUntilQuiet(t, s)
	completeNamedJob(t, s, uid, late.ID, job, "speakers.json")
	if got := c.search("quarterly", "").ids(); !slices.Equal(got, []string{english.ID}) {
		t.Errorf("after the purged recording's job completed: %q", got)
	}
	if n := searchItems(t, s, uid, late.ID); n != 0 {
		t.Errorf("a purged recording has %d search items", n)
	}
}

// A transcript handed to the index after its recording was purged (the
// purge's unindex ran before the transcript was indexed) is taken out
// again: no index item outlives its recording.
func TestTranscriptIndexedAfterPurgeIsRemoved(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, uid := login(t, s, "raced")
	gone := recording.NewID(time.Now())
	sink := lifecycle.SearchIndex{Store: s.Store}
	if err := sink.TranscriptReady(context.Background(), uid, gone, "en-US", []recording.Segment{{StartMS: 0, EndMS: 900, Text: "lingering words"}}); err != nil {
		t.Fatal(err)
	}
	if n := searchItems(t, s, uid, gone); n != 0 {
		t.Errorf("the index kept %d items of a recording that is gone", n)
	}
	if got := c.search("lingering", "").ids(); len(got) != 0 {
		t.Errorf("found: %q", got)
	}
}

// A recording whose object disappeared behind the API's back loses its
// record, and with it its search items.
func TestRecordRemovedWithItsObjectLeavesTheIndex(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, uid := login(t, s, "vanishing")
	up := c.upload("Vanishing act.m4a", "audio/mp4", audioBytes("audio/mp4", 5000))
	if got := c.search("vanishing", "").ids(); !slices.Equal(got, []string{up.ID}) {
		t.Fatalf("before: %q", got)
	}
	rec, err := s.Store.GetRecording(context.Background(), uid, up.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Objects.Delete(context.Background(), rec.Key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Keeper.Converge(context.Background(), uid, up.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Store.GetRecording(context.Background(), uid, up.ID); err == nil {
		t.Fatal("the record outlived its object")
	}
	if n := searchItems(t, s, uid, up.ID); n != 0 {
		t.Errorf("the removed recording left %d search items", n)
	}
}
