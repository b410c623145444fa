package s3event_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/voicerec/backend/internal/export"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// The export queue's batch reaches the export worker through the events
// binary's one entry point, and the export it names ends ready; a
// scheduled pass sweeps exports after the recordings.
func TestSQSBatchRunsTheExportWorker(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	_, uid := s.Login(t, "sqs-export")
	s.Events.ExportWorker = s.ExportWorker
	now := time.Now()
	ex := recording.Export{UserID: uid, ID: recording.NewID(now), Statuses: []recording.Status{recording.StatusAvailable},
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	ex.Key = recording.ExportKey(uid, ex.ID)
	if err := s.ExportWorker.Exports.Start(context.Background(), ex, now.Add(time.Hour), now); err != nil {
		t.Fatal(err)
	}
	batch, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{
		MessageId: "1", EventSource: "aws:sqs", Body: string(export.NewMessage(uid, ex.ID)),
		EventSourceARN: "arn:aws:sqs:us-east-1:123456789012:recorder-test-exports",
	}}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.Events.Invoke(ctx, batch); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.ExportWorker.Exports.Get(ctx, uid, ex.ID, time.Now())
	if err != nil || !ok || got.Status != recording.ExportReady {
		t.Fatalf("after the batch: %+v %v %v", got, ok, err)
	}

	scheduled := json.RawMessage(`{"detail-type":"Scheduled Event","source":"aws.events","detail":{}}`)
	if _, err := s.Events.Invoke(ctx, scheduled); err != nil {
		t.Fatal(err)
	}
	if lines := s.Logs.String(); !containsAll(lines, `"msg":"export sweep"`) {
		t.Errorf("the scheduled pass did not sweep exports: %s", lines)
	}
}
