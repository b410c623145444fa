package lifecycle_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/internal/devtranscribe"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

// withTranscription turns transcription on in the convergence world, on a
// local engine that takes jobs and never runs them: the world itself
// finishes them (transcriptJobs), in any order, late or not at all.
func withTranscription(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	eng := &devtranscribe.Engine{}
	srv := httptest.NewServer(eng.Handler())
	t.Cleanup(srv.Close)
	env["TRANSCRIBE_ENABLED"] = "true"
	env["TRANSCRIBE_LANGUAGES"] = "en-US,ko-KR"
	env["AWS_ENDPOINT_URL_TRANSCRIBE"] = srv.URL
	return env
}

// job is a transcription job some recording once waited for.
type job struct{ user, recording, name string }

// startedJobs are the jobs the recordings name now.
func (w *world) startedJobs(t *testing.T) []job {
	var jobs []job
	for _, it := range w.scan(t, dynamo.RecordingsTable) {
		name, _ := it["transcript_job"].(*ddbtypes.AttributeValueMemberS)
		if name == nil {
			continue
		}
		user, rec, _, ok := recording.ParseJobName(name.Value)
		if !ok {
			t.Fatalf("recording item names job %q", name.Value)
		}
		jobs = append(jobs, job{user, rec, name.Value})
	}
	return jobs
}

// transcriptJobs finishes jobs as Amazon Transcribe would, unreliably:
// some complete, some fail, some are announced twice, some never; an
// announcement that fails (a fault) is retried as EventBridge retries.
// Jobs of recordings trashed, purged or of deleted accounts meanwhile
// finish like any other.
func (w *world) transcriptJobs(t *testing.T, jobs []job) {
	fixture, err := os.ReadFile("../transcribe/testdata/speakers.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		state := "COMPLETED"
		switch n := w.rng.IntN(10); {
		case n < 2:
			w.counts["transcription never finished"]++
			continue
		case n < 4:
			state = "FAILED"
			w.counts["transcription failed"]++
		default:
			key := recording.TranscriptKey(j.user, j.recording, j.name)
			doc := bytes.ReplaceAll(fixture, []byte("JOBNAME"), []byte(j.name))
			if _, err := w.s3.PutObject(context.Background(), &awss3.PutObjectInput{
				Bucket: aws.String(w.s.Config.Bucket), Key: &key, Body: bytes.NewReader(doc),
			}); err != nil {
				t.Fatal(err)
			}
			w.counts["transcription completed"]++
		}
		times := 1 + w.rng.IntN(2)
		for range times {
			w.announce(t, j, state)
		}
	}
}

func (w *world) announce(t *testing.T, j job, state string) {
	ev, _ := json.Marshal(map[string]any{
		"version": "0", "id": "converge", "detail-type": "Transcribe Job State Change", "source": "aws.transcribe",
		"account": "111122223333", "time": "2026-12-06T00:00:00Z", "region": "us-east-1", "resources": []string{},
		"detail": map[string]string{"TranscriptionJobName": j.name, "TranscriptionJobStatus": state},
	})
	for attempt := 0; ; attempt++ {
		_, err := w.s.Events.Invoke(context.Background(), ev)
		if err == nil {
			return
		}
		if attempt == 20 {
			t.Fatalf("transcription event %s %s never handled: %v", j.name, state, err)
		}
		w.counts["transcription event retried"]++
	}
}

// checkTranscripts asserts that every stored segment belongs to the
// completed transcript of a recording that exists, and that no engine
// output is left of a recording that does not.
func (w *world) checkTranscripts(t *testing.T) {
	wanted := map[string]string{} // "<user>/<recording>" -> completed job
	exists := map[string]bool{}
	for _, it := range w.scan(t, dynamo.RecordingsTable) {
		user := it["user_id"].(*ddbtypes.AttributeValueMemberS).Value
		rec := it["recording_id"].(*ddbtypes.AttributeValueMemberS).Value
		exists[user+"/"+rec] = true
		st, _ := it["transcript_status"].(*ddbtypes.AttributeValueMemberS)
		name, _ := it["transcript_job"].(*ddbtypes.AttributeValueMemberS)
		if st != nil && st.Value == string(recording.TranscriptCompleted) && name != nil {
			wanted[user+"/"+rec] = name.Value
		}
	}
	completed := 0
	for _, it := range w.scan(t, dynamo.TranscriptsTable) {
		user := it["user_id"].(*ddbtypes.AttributeValueMemberS).Value
		part := it["part"].(*ddbtypes.AttributeValueMemberS).Value
		rec, rest, _ := strings.Cut(part, "#")
		name, _, _ := strings.Cut(rest, "#")
		if wanted[user+"/"+rec] != name {
			t.Errorf("transcript item %s/%s belongs to no completed transcript (the recording wants %q)", user, part, wanted[user+"/"+rec])
		}
		completed++
	}
	out, err := w.s3.ListObjectsV2(context.Background(), &awss3.ListObjectsV2Input{
		Bucket: aws.String(w.s.Config.Bucket), Prefix: aws.String(recording.TranscriptPrefix),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range out.Contents {
		parts := strings.Split(strings.TrimPrefix(aws.ToString(o.Key), recording.TranscriptPrefix), "/")
		if len(parts) == 3 && !exists[parts[0]+"/"+parts[1]] {
			t.Errorf("engine output %s outlives its recording", aws.ToString(o.Key))
		}
	}
	t.Logf("transcripts: %d recordings completed, %d items stored", len(wanted), completed)
}
