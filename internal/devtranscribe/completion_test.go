package devtranscribe_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/client"
	"github.com/voicerec/backend/internal/devtranscribe"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// heldStack is a backend whose engine takes jobs and never runs them: the
// test plays Amazon Transcribe's part, writing an output document where
// the job would and delivering the completion event when it chooses.
func heldStack(t *testing.T, extra map[string]string) *stack.Stack {
	t.Helper()
	eng := &devtranscribe.Engine{}
	srv := httptest.NewServer(eng.Handler())
	t.Cleanup(srv.Close)
	vars := map[string]string{
		"TRANSCRIBE_ENABLED":          "true",
		"TRANSCRIBE_LANGUAGES":        "en-US,ko-KR",
		"AWS_ENDPOINT_URL_TRANSCRIBE": srv.URL,
	}
	for k, v := range extra {
		vars[k] = v
	}
	return stack.Start(t, testenv.Get(t), stack.Options{Env: vars})
}

// jobOf is the transcription job a recording waits for. The job starts
// just after the confirmation, so a recording is seen available a moment
// before it has one.
func jobOf(t *testing.T, s *stack.Stack, userID, id string) string {
	t.Helper()
	rec := settled(t, s, userID, id)
	if rec.TranscriptJob == "" {
		t.Fatalf("recording %s has no job (transcript %q %s)", id, rec.TranscriptStatus, rec.TranscriptDetail)
	}
	return rec.TranscriptJob
}

// settled waits for the recording's transcript to be decided at its
// confirmation.
func settled(t *testing.T, s *stack.Stack, userID, id string) recording.Recording {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec, err := s.Store.GetRecording(context.Background(), userID, id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.TranscriptStatus != "" || time.Now().After(deadline) {
			return rec
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// finish writes fixture as job's output and delivers its completion, as
// Amazon Transcribe and EventBridge would.
func finish(t *testing.T, s *stack.Stack, userID, id, job, fixture string) {
	t.Helper()
	doc, err := os.ReadFile("../transcribe/testdata/" + fixture)
	if err != nil {
		t.Fatal(err)
	}
	doc = bytes.ReplaceAll(doc, []byte("JOBNAME"), []byte(job))
	key := recording.TranscriptKey(userID, id, job)
	if _, err := s.Clients.S3.PutObject(context.Background(), &awss3.PutObjectInput{
		Bucket: aws.String(s.Config.Bucket), Key: &key, Body: bytes.NewReader(doc),
	}); err != nil {
		t.Fatal(err)
	}
	deliver(t, s, job, "COMPLETED")
}

func deliver(t *testing.T, s *stack.Stack, job, state string) {
	t.Helper()
	ev, _ := json.Marshal(map[string]any{
		"version": "0", "id": "test", "detail-type": "Transcribe Job State Change", "source": "aws.transcribe",
		"account": "111122223333", "time": "2026-12-06T00:00:00Z", "region": "us-east-1", "resources": []string{},
		"detail": map[string]string{"TranscriptionJobName": job, "TranscriptionJobStatus": state},
	})
	if _, err := s.Events.Invoke(context.Background(), ev); err != nil {
		t.Fatalf("deliver %s %s: %v", job, state, err)
	}
}

func transcript(t *testing.T, s *stack.Stack, token, id string) (client.Transcript, int) {
	t.Helper()
	var tr client.Transcript
	st := s.Call(t, token, http.MethodGet, "/v1/recordings/"+id+"/transcript", nil, &tr)
	return tr, st
}

// chunks counts the transcript items left in the table, of anyone.
func chunks(t *testing.T, s *stack.Stack) int32 {
	t.Helper()
	out, err := s.Clients.DynamoDB.Scan(context.Background(), &dynamodb.ScanInput{
		TableName: aws.String(dynamo.TableName(s.Config.TablePrefix, dynamo.TranscriptsTable)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Count
}

func objectExists(t *testing.T, s *stack.Stack, key string) bool {
	t.Helper()
	_, err := s.Objects.Head(context.Background(), key)
	return err == nil
}

// Amazon Transcribe's own output format, fed through the completion path
// the events Lambda runs: a Korean job identified as ko-KR, and an English
// one with speaker labels.
func TestAmazonOutputsThroughTheCompletionPath(t *testing.T) {
	s := heldStack(t, nil)
	token, userID := s.Login(t, "amazon")
	for _, c := range []struct {
		fixture, language, want string
		segments                int
		speaker                 bool
	}{
		{"korean.json", "auto", "회의실에서 예산 회의를", 2, false},
		{"speakers.json", "en-US", "quarterly report", 3, true},
	} {
		id := upload(t, s, token, "testdata/librivox/clip-0880.wav", map[string]any{"language": c.language})
		s.WaitStatus(t, token, id, "available")
		settled(t, s, userID, id)
		if tr, _ := transcript(t, s, token, id); tr.Status != client.TranscriptPending {
			t.Fatalf("%s: before completion %+v", c.fixture, tr)
		}
		job := jobOf(t, s, userID, id)
		finish(t, s, userID, id, job, c.fixture)
		tr, st := transcript(t, s, token, id)
		if st != http.StatusOK || tr.Status != client.TranscriptCompleted || len(tr.Segments) != c.segments || !strings.Contains(tr.Text, c.want) {
			t.Fatalf("%s: %d %+v", c.fixture, st, tr)
		}
		if c.fixture == "korean.json" && tr.Language != "ko-KR" {
			t.Errorf("identified language %q", tr.Language)
		}
		if got := tr.Segments[0].Speaker != ""; got != c.speaker {
			t.Errorf("%s: first segment %+v", c.fixture, tr.Segments[0])
		}
		if objectExists(t, s, recording.TranscriptKey(userID, id, job)) {
			t.Errorf("%s: the engine's output was left in the bucket", c.fixture)
		}
		// A second delivery of the same event changes nothing.
		deliver(t, s, job, "COMPLETED")
		if again, _ := transcript(t, s, token, id); again.Text != tr.Text {
			t.Errorf("%s: redelivery changed the transcript to %+v", c.fixture, again)
		}
	}
}

// The transcript goes to the trash and back with its recording, and is
// purged with it.
func TestTranscriptFollowsTheRecording(t *testing.T) {
	s := heldStack(t, nil)
	token, userID := s.Login(t, "follower")
	id := upload(t, s, token, "testdata/librivox/clip-0880.wav", nil)
	s.WaitStatus(t, token, id, "available")
	finish(t, s, userID, id, jobOf(t, s, userID, id), "speakers.json")
	if st := s.Call(t, token, http.MethodDelete, "/v1/recordings/"+id, nil, nil); st >= 300 {
		t.Fatalf("trash: %d", st)
	}
	if tr, st := transcript(t, s, token, id); st != http.StatusOK || tr.Status != client.TranscriptCompleted {
		t.Fatalf("in the trash: %d %+v", st, tr)
	}
	if st := s.Call(t, token, http.MethodPost, "/v1/recordings/"+id+"/restore", nil, nil); st != http.StatusOK {
		t.Fatalf("restore: %d", st)
	}
	if tr, _ := transcript(t, s, token, id); tr.Status != client.TranscriptCompleted || len(tr.Segments) != 3 {
		t.Fatalf("restored: %+v", tr)
	}
	if st := s.Call(t, token, http.MethodDelete, "/v1/recordings/"+id+"?purge=true", nil, nil); st >= 300 {
		t.Fatalf("purge: %d", st)
	}
	if _, st := transcript(t, s, token, id); st != http.StatusNotFound {
		t.Fatalf("purged recording's transcript: %d", st)
	}
	if n := chunks(t, s); n != 0 {
		t.Fatalf("%d transcript items outlive the purge", n)
	}
}

// A job that finishes after its recording was purged stores nothing, and
// its output is removed.
func TestTranscriptAfterPurgeLeavesNothing(t *testing.T) {
	s := heldStack(t, nil)
	token, userID := s.Login(t, "late")
	id := upload(t, s, token, "testdata/librivox/clip-0880.wav", nil)
	s.WaitStatus(t, token, id, "available")
	job := jobOf(t, s, userID, id)
	if st := s.Call(t, token, http.MethodDelete, "/v1/recordings/"+id+"?purge=true", nil, nil); st >= 300 {
		t.Fatalf("purge: %d", st)
	}
	finish(t, s, userID, id, job, "speakers.json")
	if n := chunks(t, s); n != 0 {
		t.Fatalf("%d transcript items stored for a purged recording", n)
	}
	if objectExists(t, s, recording.TranscriptKey(userID, id, job)) {
		t.Fatal("the late job's output was left in the bucket")
	}
}

// Asking again supersedes the job under way: the older job's result,
// arriving late, is dropped; the newer one's is the transcript.
func TestSupersededJobIsDropped(t *testing.T) {
	s := heldStack(t, nil)
	token, userID := s.Login(t, "again")
	id := upload(t, s, token, "testdata/librivox/clip-0880.wav", nil)
	s.WaitStatus(t, token, id, "available")
	first := jobOf(t, s, userID, id)
	var tr client.Transcript
	if st := s.Call(t, token, http.MethodPost, "/v1/recordings/"+id+"/transcript", nil, &tr); st != http.StatusAccepted || tr.Status != client.TranscriptPending {
		t.Fatalf("restart: %d %+v", st, tr)
	}
	second := jobOf(t, s, userID, id)
	if second == first {
		t.Fatalf("restart kept job %s", first)
	}
	finish(t, s, userID, id, first, "korean.json")
	if tr, _ := transcript(t, s, token, id); tr.Status != client.TranscriptPending {
		t.Fatalf("the superseded job completed the transcript: %+v", tr)
	}
	if n := chunks(t, s); n != 0 {
		t.Fatalf("the superseded job left %d items", n)
	}
	finish(t, s, userID, id, second, "speakers.json")
	if tr, _ := transcript(t, s, token, id); tr.Status != client.TranscriptCompleted || !strings.Contains(tr.Text, "quarterly") {
		t.Fatalf("after the newer job: %+v", tr)
	}
}

// Switched off, a recording is skipped until its owner asks for it; a
// spent allowance skips it with its own reason, shown in /v1/me.
func TestTranscriptionSwitchAndAllowance(t *testing.T) {
	s := heldStack(t, map[string]string{"TRANSCRIBE_MINUTES_PER_MONTH": "1"})
	token, userID := s.Login(t, "frugal")
	var me client.Me
	if st := s.Call(t, token, http.MethodPatch, "/v1/me", map[string]string{"transcription": "off"}, &me); st != http.StatusOK || me.Transcription != "off" {
		t.Fatalf("switch off: %d %+v", st, me)
	}
	id := upload(t, s, token, "testdata/librivox/clip-0880.wav", nil)
	s.WaitStatus(t, token, id, "available")
	settled(t, s, userID, id)
	if tr, _ := transcript(t, s, token, id); tr.Status != client.TranscriptSkipped || tr.Reason != "transcription_off" {
		t.Fatalf("switched off: %+v", tr)
	}
	var tr client.Transcript
	if st := s.Call(t, token, http.MethodPost, "/v1/recordings/"+id+"/transcript", nil, &tr); st != http.StatusAccepted || tr.Status != client.TranscriptPending {
		t.Fatalf("asked for: %d %+v", st, tr)
	}
	jobOf(t, s, userID, id)
	// 3 s of audio counts as the 15 s minimum; four such jobs fill the
	// minute, the fifth is skipped.
	s.Call(t, token, http.MethodPatch, "/v1/me", map[string]string{"transcription": "on"}, nil)
	var last client.Transcript
	for range 4 {
		id := upload(t, s, token, "testdata/librivox/clip-0880.wav", nil)
		s.WaitStatus(t, token, id, "available")
		settled(t, s, userID, id)
		last, _ = transcript(t, s, token, id)
	}
	if last.Status != client.TranscriptSkipped || last.Reason != "monthly_allowance_used" {
		t.Fatalf("over the allowance: %+v", last)
	}
	s.Call(t, token, http.MethodGet, "/v1/me", nil, &me)
	if me.Quota.TranscriptionMinutesLimit != 1 || me.Quota.TranscriptionMinutesUsed != 1 {
		t.Fatalf("quota %+v", me.Quota)
	}
	if st := s.Call(t, token, http.MethodPatch, "/v1/me", map[string]string{"transcription": "maybe"}, nil); st != http.StatusBadRequest {
		t.Fatalf("transcription maybe: %d", st)
	}
}

// A job the engine fails ends failed with the engine's reason; one it
// fails for its language ends unsupported.
func TestFailedJobs(t *testing.T) {
	s := heldStack(t, nil)
	token, userID := s.Login(t, "failing")
	id := upload(t, s, token, "testdata/librivox/clip-0880.wav", map[string]any{"language": "ko-KR"})
	s.WaitStatus(t, token, id, "available")
	// The held engine refused ko-KR at its start (pocketsphinx has no
	// Korean model) and says so when asked: unsupported, not failed.
	deliver(t, s, jobOf(t, s, userID, id), "FAILED")
	if tr, _ := transcript(t, s, token, id); tr.Status != client.TranscriptUnsupported || !strings.Contains(tr.Detail, "ko-KR") {
		t.Fatalf("unsupported language: %+v", tr)
	}
	id = upload(t, s, token, "testdata/librivox/clip-0880.wav", nil)
	s.WaitStatus(t, token, id, "available")
	deliver(t, s, jobOf(t, s, userID, id), "FAILED")
	if tr, _ := transcript(t, s, token, id); tr.Status != client.TranscriptFailed || tr.Reason != "engine_failed" {
		t.Fatalf("failed job: %+v", tr)
	}
}
