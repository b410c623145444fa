package s3event_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

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
	if _, err := s.Events.Invoke(ctx, scheduled); err != nil {
		t.Fatal(err)
	}
	if _, st := s.Get(t, token, up.Recording.ID); st != http.StatusNotFound {
		t.Errorf("abandoned upload after a scheduled pass: %d, want 404", st)
	}
	if lines := s.Logs.String(); !containsAll(lines, `"msg":"reconcile fix"`, `"outcome":"closed_never_uploaded"`, `"msg":"reconcile pass"`) {
		t.Errorf("the pass did not log its fix: %s", lines)
	}
	// An undecodable payload is logged and dropped, not retried forever.
	if _, err := s.Events.Invoke(ctx, json.RawMessage(`[1,2]`)); err != nil {
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

// The Lambda entry handles an S3 notification as S3 sends it: the raw JSON
// confirms the upload it names.
func TestInvokeHandlesS3Notifications(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	token, _ := s.Login(t, "invoked")
	var held []events.S3Event
	var mu sync.Mutex
	s.Env.OnEvent(t, s.Config.Bucket, func(_ context.Context, ev events.S3Event) error {
		mu.Lock()
		held = append(held, ev)
		mu.Unlock()
		return nil
	})
	up := s.CreateUpload(t, token, "invoked.m4a", m4a, 6000)
	stack.Put(t, up.Upload, body(6000, 'i'))
	var ev events.S3Event
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		if len(held) > 0 {
			ev = held[0]
		}
		mu.Unlock()
		if len(ev.Records) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no notification")
		}
	}
	raw, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Events.Invoke(context.Background(), raw); err != nil {
		t.Fatal(err)
	}
	if rec, st := s.Get(t, token, up.Recording.ID); st != http.StatusOK || rec.Status != "available" {
		t.Errorf("after Invoke with the notification: %d %+v", st, rec)
	}
}

// A pass keeps clear of the invocation's last seconds (so it can log what
// it did before Lambda stops it), and an unset item bound means the default,
// not zero.
func TestScheduledPassBounds(t *testing.T) {
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock})
	token, _ := s.Login(t, "bounds")
	up := s.CreateUpload(t, token, "never.m4a", m4a, 10)
	clock.Advance(s.Config.PendingUploadTTL + s.Config.UploadGrace + time.Second)
	scheduled := json.RawMessage(`{"source":"aws.events","detail-type":"Scheduled Event","detail":{}}`)

	// Four seconds left is inside the margin: the pass does nothing.
	short, cancel := context.WithTimeout(context.Background(), 4*time.Second)
	defer cancel()
	if _, err := s.Events.Invoke(short, scheduled); err != nil {
		t.Fatal(err)
	}
	if r, st := s.Get(t, token, up.Recording.ID); st != http.StatusOK || r.Status != "pending" {
		t.Fatalf("a pass ran into the invocation's last seconds: %d %q", st, r.Status)
	}
	s.Events.ReconcileMaxItems = 0
	long, cancel2 := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel2()
	if _, err := s.Events.Invoke(long, scheduled); err != nil {
		t.Fatal(err)
	}
	if _, st := s.Get(t, token, up.Recording.ID); st != http.StatusNotFound {
		t.Errorf("with ReconcileMaxItems unset the pass did nothing: %d", st)
	}
}
