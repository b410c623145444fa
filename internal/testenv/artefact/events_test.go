package artefact

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/client"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/testenv/testaudio"
)

// landed is a recording whose audio is in storage but that nobody has told
// the backend about yet: created and PUT, never completed.
type landed struct {
	user    *client.Client
	session client.Session
	rec     client.Recording
	key     string
	etag    string
	body    []byte
}

// eventCase is one kind of invocation the events binary serves: which of
// the template's functions receives it, the payload made for a recording
// that has landed, and what its answer must be. Every case then expects
// what the direct tests expect after it: the recording available, its
// object stored. A new event kind (a Transcribe job state change, an export
// queue message) is a new row.
type eventCase struct {
	name string
	// function picks the receiving function of the deployment, as the
	// template routes the event (eventsources_test.go).
	function func(t *testing.T, d *deployment) *function
	// payload is the event for l; it may also prepare the state (a due
	// time) the event acts on.
	payload func(t *testing.T, a *app, l landed) any
	// answer, when set, checks the function's answer.
	answer func(t *testing.T, raw json.RawMessage)
	// check, when set, replaces the usual check (the recording available,
	// its object stored) with the state this kind of event leads to.
	check func(t *testing.T, a *app, l landed)
}

var eventCases = []eventCase{
	{
		name:     "the S3 notification MinIO sent",
		function: func(t *testing.T, d *deployment) *function { return d.bucketNotified(t) },
		payload: func(t *testing.T, a *app, l landed) any {
			return s3Notification(t, a.d.config.Bucket, l.key, int64(len(l.body)), l.etag)
		},
	},
	{
		name: "the API's synchronous converge invoke",
		// The API's EVENTS_FUNCTION_NAME names the events function.
		function: func(t *testing.T, d *deployment) *function { return d.events },
		payload: func(t *testing.T, a *app, l landed) any {
			return map[string]any{"converge": map[string]string{"user_id": l.session.User.ID, "recording_id": l.rec.ID, "key": l.key}}
		},
		answer: func(t *testing.T, raw json.RawMessage) {
			var ans struct {
				Outcome string `json:"outcome"`
			}
			if err := json.Unmarshal(raw, &ans); err != nil || ans.Outcome == "" {
				t.Errorf("converge answered %s; want an outcome", raw)
			}
		},
	},
	{
		name: "the reconciler's EventBridge schedule",
		function: func(t *testing.T, d *deployment) *function {
			return d.ruleTarget(t, "the reconcile schedule", func(_ map[string][]any, schedule string) bool { return schedule != "" })
		},
		payload: func(t *testing.T, a *app, l landed) any {
			// The upload's window has not closed; make the record due now,
			// as it will be once the window and the grace have passed.
			a.makeDue(t, l.session.User.ID, l.rec.ID)
			return scheduledEvent()
		},
	},
	{
		name: "Transcribe's job state change, with Amazon's output",
		function: func(t *testing.T, d *deployment) *function {
			return d.ruleTarget(t, "Transcribe's job state changes", func(p map[string][]any, _ string) bool {
				return patternHas(p, "source", "aws.transcribe") && patternHas(p, "detail-type", "Transcribe Job State Change")
			})
		},
		payload: func(t *testing.T, a *app, l landed) any {
			// The confirmation starts the job through Transcribe's API;
			// Amazon's part (the output, the event) is the test's.
			a.confirm(t, l)
			_, ev := a.finishTranscription(t, l.session.User.ID, l.rec.ID)
			return ev
		},
		check: func(t *testing.T, a *app, l landed) {
			a.checkTranscribed(t, l.user, l.session.User.ID, l.rec.ID, a.transcriptJob(t, l.session.User.ID, l.rec.ID))
		},
	},
	{
		name: "the export queue's message",
		function: func(t *testing.T, d *deployment) *function {
			return d.queueConsumer(t, exportQueueName)
		},
		payload: func(t *testing.T, a *app, l landed) any {
			a.confirm(t, l)
			if _, err := l.user.StartExport(context.Background(), client.StartExportRequest{}); err != nil {
				t.Fatalf("start export: %v", err)
			}
			return a.exportEvent(t)
		},
		check: func(t *testing.T, a *app, l landed) {
			list, err := l.user.ListExports(context.Background())
			if err != nil || len(list) != 1 {
				t.Fatalf("exports = %+v, %v; want one", list, err)
			}
			a.checkArchive(t, l.user, l.session.User.ID, list[0].ID, l.body)
		},
	},
}

// confirm has the events function converge a landed recording, as the
// API's complete does.
func (a *app) confirm(t *testing.T, l landed) {
	t.Helper()
	if _, err := a.d.events.invoke(context.Background(), map[string]any{
		"converge": map[string]string{"user_id": l.session.User.ID, "recording_id": l.rec.ID, "key": l.key},
	}); err != nil {
		t.Fatalf("converge: %v", err)
	}
}

// TestEventsThroughTheArtefact lands a recording per case and hands the
// case's event to the function the template routes it to.
func TestEventsThroughTheArtefact(t *testing.T) {
	a := newApp(t)
	for _, c := range eventCases {
		t.Run(c.name, func(t *testing.T) {
			l := a.land(t)
			fn := c.function(t, a.d)
			raw, err := fn.invoke(context.Background(), c.payload(t, a, l))
			if err != nil {
				t.Fatalf("invoke: %v\n%s", err, fn.logs.String())
			}
			if c.answer != nil {
				c.answer(t, raw)
			}
			if c.check != nil {
				c.check(t, a, l)
				return
			}
			rec, err := l.user.GetRecording(context.Background(), l.rec.ID)
			if err != nil || rec.Status != "available" {
				t.Fatalf("after the event the recording is %q (%v); want available", rec.Status, err)
			}
			if ok, size := a.stored(t, l.key); !ok || size != int64(len(l.body)) {
				t.Errorf("after the event the object is stored=%v with %d bytes; want %d", ok, size, len(l.body))
			}
		})
	}
}

// land signs a new user in, declares a recording and PUTs its audio.
func (a *app) land(t *testing.T) landed {
	t.Helper()
	ctx := context.Background()
	user, sess := a.signIn(t, "landing-"+requestID())
	body := testaudio.Body("audio/wav", 4000, 'e')
	created, err := user.CreateRecording(ctx, client.CreateRecordingRequest{FileName: "landed.wav", ContentType: "audio/wav", SizeBytes: int64(len(body))}, "")
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if err := user.PutPresigned(ctx, created.Upload.URL, created.Upload.Headers, bytes.NewReader(body), int64(len(body)), ""); err != nil {
		t.Fatalf("PUT: %v", err)
	}
	if rec, err := user.GetRecording(ctx, created.Recording.ID); err != nil || rec.Status != "pending" {
		t.Fatalf("before any event the recording is %q (%v); want pending", rec.Status, err)
	}
	key := a.objectKey(t, sess.User.ID, created.Recording.ID)
	head, err := a.d.env.Clients(a.d.config).S3.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(a.d.config.Bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatal(err)
	}
	// S3 puts the ETag in a notification without its quotes.
	etag := strings.Trim(aws.ToString(head.ETag), `"`)
	return landed{user: user, session: sess, rec: created.Recording, key: key, etag: etag, body: body}
}

// makeDue sets a recording's due time in the past, so the reconciler's
// next pass visits it.
func (a *app) makeDue(t *testing.T, userID, recordingID string) {
	t.Helper()
	db := a.d.env.Clients(a.d.config).DynamoDB
	_, err := db.UpdateItem(context.Background(), &dynamodb.UpdateItemInput{
		TableName: aws.String(a.d.config.TablePrefix + dynamo.RecordingsTable),
		Key: map[string]types.AttributeValue{
			"user_id": &types.AttributeValueMemberS{Value: userID}, "recording_id": &types.AttributeValueMemberS{Value: recordingID},
		},
		UpdateExpression:    aws.String("SET due_at = :past"),
		ConditionExpression: aws.String("attribute_exists(due_at)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":past": &types.AttributeValueMemberN{Value: strconv.FormatInt(time.Now().Add(-time.Minute).Unix(), 10)},
		},
	})
	if err != nil {
		t.Fatalf("make %s due: %v", recordingID, err)
	}
}

// s3Notification is the notification MinIO sent (testdata, captured by
// capture-s3-notification.sh) as S3 hands it to Lambda, its Records only,
// about bucket/key instead: the key URL-encoded as S3 encodes it, the size
// and ETag the object's, everything else as MinIO wrote it.
func s3Notification(t *testing.T, bucket, key string, size int64, etag string) map[string]any {
	t.Helper()
	ev, err := s3NotificationFor(bucket, key, size, etag)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func s3NotificationFor(bucket, key string, size int64, etag string) (map[string]any, error) {
	raw, err := os.ReadFile("testdata/s3-notification.json")
	if err != nil {
		return nil, err
	}
	var captured struct {
		Records []map[string]any `json:"Records"`
	}
	if err := json.Unmarshal(raw, &captured); err != nil || len(captured.Records) != 1 {
		return nil, fmt.Errorf("testdata/s3-notification.json: %v (%d records)", err, len(captured.Records))
	}
	rec := captured.Records[0]
	s3, _ := rec["s3"].(map[string]any)
	b, _ := s3["bucket"].(map[string]any)
	o, _ := s3["object"].(map[string]any)
	if b == nil || o == nil {
		return nil, fmt.Errorf("testdata/s3-notification.json has no s3.bucket or s3.object")
	}
	b["name"], b["arn"] = bucket, "arn:aws:s3:::"+bucket
	o["key"], o["size"], o["eTag"] = url.QueryEscape(key), size, etag
	return map[string]any{"Records": []any{rec}}, nil
}

// scheduledEvent is what an EventBridge schedule rule sends its target.
func scheduledEvent() map[string]any {
	return map[string]any{
		"version": "0", "id": requestID(), "detail-type": "Scheduled Event", "source": "aws.events",
		"account": templateAccount, "time": time.Now().UTC().Format(time.RFC3339), "region": templateRegion,
		"resources": []string{"arn:aws:events:" + templateRegion + ":" + templateAccount + ":rule/recorder-" + templateStage + "-reconcile"},
		"detail":    map[string]any{},
	}
}
