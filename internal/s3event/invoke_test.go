package s3event_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// The EventBridge schedule's event runs a reconcile pass in the events
// Lambda: an upload abandoned past its window and grace is closed.
func TestScheduledEventRunsTheReconciler(t *testing.T) {
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock})
	token, _ := s.Login(t, "scheduled")
	up := s.CreateUpload(t, token, "never.m4a", m4a, 10)
	clock.Advance(s.Config.PendingUploadTTL + s.Config.UploadGrace + time.Second)

	scheduled := json.RawMessage(`{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event",` +
		`"source":"aws.events","account":"123456789012","time":"2026-11-26T12:00:00Z","region":"us-east-1",` +
		`"resources":["arn:aws:events:us-east-1:123456789012:rule/recorder-test-reconcile"],"detail":{}}`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Events.Invoke(ctx, scheduled); err != nil {
		t.Fatal(err)
	}
	if _, st := s.Get(t, token, up.Recording.ID); st != http.StatusNotFound {
		t.Errorf("abandoned upload after a scheduled pass: %d, want 404", st)
	}
	if lines := s.Logs.String(); !containsAll(lines, `"msg":"reconcile fix"`, `"outcome":"closed_never_uploaded"`, `"msg":"reconcile pass"`) {
		t.Errorf("the pass did not log its fix: %s", lines)
	}
	// An undecodable payload is logged and dropped, not retried forever.
	if err := s.Events.Invoke(ctx, json.RawMessage(`[1,2]`)); err != nil {
		t.Errorf("undecodable payload: %v", err)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}
