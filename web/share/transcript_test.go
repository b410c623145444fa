package share_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/internal/devtranscribe"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
	"github.com/voicerec/backend/internal/transcribe"
)

// transcribingStack is a stack whose engine takes jobs and never runs
// them: completeTranscript plays Amazon Transcribe's part.
func transcribingStack(t *testing.T) *stack.Stack {
	t.Helper()
	srv := httptest.NewServer((&devtranscribe.Engine{}).Handler())
	t.Cleanup(srv.Close)
	return stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{
		"TRANSCRIBE_ENABLED": "true", "TRANSCRIBE_LANGUAGES": "en-US", "AWS_ENDPOINT_URL_TRANSCRIBE": srv.URL,
	}})
}

// completeTranscript finishes the job the recording's confirmation started
// with a committed Amazon Transcribe output, through the events function's
// entry point.
func completeTranscript(t *testing.T, s *stack.Stack, userID, id, fixture string) {
	t.Helper()
	var job string
	for deadline := time.Now().Add(10 * time.Second); job == ""; time.Sleep(20 * time.Millisecond) {
		rec, err := s.Store.GetRecording(context.Background(), userID, id)
		if err != nil {
			t.Fatal(err)
		}
		if job = rec.TranscriptJob; job == "" && time.Now().After(deadline) {
			t.Fatalf("recording %s started no job (%q %s)", id, rec.TranscriptStatus, rec.TranscriptDetail)
		}
	}
	doc, err := os.ReadFile("../../internal/transcribe/testdata/" + fixture)
	if err != nil {
		t.Fatal(err)
	}
	key := recording.TranscriptKey(userID, id, job)
	if _, err := s.Clients.S3.PutObject(context.Background(), &awss3.PutObjectInput{
		Bucket: aws.String(s.Config.Bucket), Key: &key, Body: bytes.NewReader(bytes.ReplaceAll(doc, []byte("JOBNAME"), []byte(job))),
	}); err != nil {
		t.Fatal(err)
	}
	ev, _ := json.Marshal(map[string]any{
		"detail-type": transcribe.EventDetailType, "source": transcribe.EventSource,
		"detail": map[string]string{"TranscriptionJobName": job, "TranscriptionJobStatus": "COMPLETED"},
	})
	if _, err := s.Events.Invoke(context.Background(), ev); err != nil {
		t.Fatalf("deliver %s: %v", job, err)
	}
}
