package s3event_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// The events handler failing once must not
// lose the upload. MinIO's webhook target has a queue directory, so a
// delivery answered with 500 is delivered again, as Lambda retries a failed
// invocation; before the queue, MinIO dropped it and the recording stayed
// pending.
func TestFailedDeliveryIsRetriedByMinIO(t *testing.T) {
	s := stack.Start(t, testenv.StartQueued(t), stack.Options{})
	token, _ := s.Login(t, "unlucky")
	var calls atomic.Int32
	s.Env.OnEvent(t, s.Config.Bucket, func(ctx context.Context, ev events.S3Event) error {
		if calls.Add(1) == 1 {
			return errors.New("DynamoDB stalled") // the webhook answers 500
		}
		return s.Events.Handle(ctx, ev)
	})
	up := s.CreateUpload(t, token, "lecture.m4a", m4a, 6000)
	if st := stack.Put(t, up.Upload, body(6000, 'l')); st != http.StatusOK {
		t.Fatalf("PUT: %d", st)
	}
	s.WaitStatus(t, token, up.Recording.ID, "available")
	if n := calls.Load(); n < 2 {
		t.Errorf("delivered %d times; want a retry after the failure", n)
	}
}
