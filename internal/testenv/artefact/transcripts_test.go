package artefact

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/client"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

// amazonOutput is the committed Amazon Transcribe output the completion
// path is fed, and a phrase of its transcript.
const (
	amazonOutput       = "../../transcribe/testdata/korean.json"
	amazonOutputPhrase = "회의실에서 예산 회의를"
)

// transcriptJob waits for the job a recording's confirmation (or a POST
// .../transcript) started through the local engine's Transcribe API, and
// returns its name from the recording's item.
func (a *app) transcriptJob(t *testing.T, userID, recordingID string) string {
	t.Helper()
	db := a.d.env.Clients(a.d.config).DynamoDB
	var job string
	waitFor(t, "a transcription job for "+recordingID, func() bool {
		out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
			TableName: aws.String(dynamo.TableName(a.d.config.TablePrefix, dynamo.RecordingsTable)), ConsistentRead: aws.Bool(true),
			Key: map[string]types.AttributeValue{
				"user_id": &types.AttributeValueMemberS{Value: userID}, "recording_id": &types.AttributeValueMemberS{Value: recordingID},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if v, ok := out.Item["transcript_job"].(*types.AttributeValueMemberS); ok {
			job = v.Value
		}
		return job != ""
	})
	return job
}

// finishTranscription plays Amazon Transcribe's part for the recording's
// job: it writes the committed output document where the job was told to,
// and returns the event EventBridge delivers to the events function.
func (a *app) finishTranscription(t *testing.T, userID, recordingID string) (job string, event map[string]any) {
	t.Helper()
	job = a.transcriptJob(t, userID, recordingID)
	doc, err := os.ReadFile(amazonOutput)
	if err != nil {
		t.Fatal(err)
	}
	doc = bytes.ReplaceAll(doc, []byte("JOBNAME"), []byte(job))
	key := recording.TranscriptKey(userID, recordingID, job)
	if _, err := a.d.env.Clients(a.d.config).S3.PutObject(context.Background(), &awss3.PutObjectInput{
		Bucket: aws.String(a.d.config.Bucket), Key: aws.String(key), Body: bytes.NewReader(doc),
	}); err != nil {
		t.Fatal(err)
	}
	return job, transcribeEvent(job, "COMPLETED")
}

// transcribeEvent is what the template's rule on Transcribe's job state
// changes delivers to its target.
func transcribeEvent(job, status string) map[string]any {
	return map[string]any{
		"version": "0", "id": requestID(), "detail-type": "Transcribe Job State Change", "source": "aws.transcribe",
		"account": templateAccount, "time": time.Now().UTC().Format(time.RFC3339), "region": templateRegion,
		"resources": []string{},
		"detail":    map[string]string{"TranscriptionJobName": job, "TranscriptionJobStatus": status},
	}
}

// checkTranscribed checks what the direct tests expect after a completion:
// the transcript stored and served, the job's output removed.
func (a *app) checkTranscribed(t *testing.T, user *client.Client, userID, recordingID, job string) {
	t.Helper()
	tr, err := user.Transcript(context.Background(), recordingID)
	if err != nil || tr.Status != client.TranscriptCompleted || tr.Language != "ko-KR" || len(tr.Segments) == 0 || !strings.Contains(tr.Text, amazonOutputPhrase) {
		t.Fatalf("transcript after the completion event = %+v, %v; want completed ko-KR holding %q", tr, err, amazonOutputPhrase)
	}
	if ok, _ := a.stored(t, recording.TranscriptKey(userID, recordingID, job)); ok {
		t.Errorf("the job's output is still in the bucket after the completion")
	}
}

// stepTranscripts switches transcription off and on (PATCH /v1/me), starts
// a job for the flow's recording (POST .../transcript), finishes it as
// Amazon would and reads the transcript (GET .../transcript).
func stepTranscripts(t *testing.T, f *flow) {
	ctx := context.Background()
	for _, v := range []bool{false, true} {
		me, err := f.user.SetTranscription(ctx, v)
		if want := map[bool]string{false: "off", true: "on"}[v]; err != nil || me.Transcription != want {
			t.Fatalf("transcription %v: %+v, %v", v, me, err)
		}
	}
	e := f.do(t, ctx, http.MethodPost, "/v1/recordings/"+f.single.ID+"/transcript", f.session.AccessToken, nil, nil)
	var started client.Transcript
	decodeInto(t, e, http.StatusAccepted, &started)
	if started.Status != client.TranscriptPending {
		t.Fatalf("POST transcript answered %+v; want pending", started)
	}
	job, ev := f.finishTranscription(t, f.session.User.ID, f.single.ID)
	if _, err := f.d.events.invoke(ctx, ev); err != nil {
		t.Fatalf("completion event: %v\n%s", err, f.d.events.logs.String())
	}
	f.checkTranscribed(t, f.user, f.session.User.ID, f.single.ID, job)
}
