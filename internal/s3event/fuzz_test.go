package s3event_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/voicerec/backend/internal/s3event"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// fuzzSeeds are event documents as AWS and MinIO send them, with keys in
// and out of the layout.
var fuzzSeeds = []string{
	`{"Records":[{"eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"B"},"object":{"key":"recordings/01ARZ3NDEKTSV4RRFFQ69G5FAV/01ARZ3NDEKTSV4RRFFQ69G5FAW.m4a","size":10,"sequencer":"0A"}}}]}`,
	`{"Records":[{"eventName":"s3:ObjectRemoved:Delete","s3":{"bucket":{"name":"B"},"object":{"key":"recordings/%ED%9A%8C+%EC%9D%98/x.m4a","sequencer":"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"}}}]}`,
	`{"Records":[{"eventName":"LifecycleExpiration:Delete","s3":{"bucket":{"name":"B"},"object":{"key":"recordings/a/b/c"}}}]}`,
	`{"Records":[{"eventName":"ObjectCreated:Copy","s3":{"bucket":{"name":"B"},"object":{"key":"%zz%"}}},{"eventName":""}]}`,
	`{"Records":[]}`, `{"Records":null}`, `{}`, `[]`, `{"Records":[{"s3":{"object":{"key":5}}}]}`,
}

func fuzzHandler(f *testing.F) (*s3event.Handler, *stack.SyncBuffer, string) {
	env := testenv.Get(f)
	cfg := env.Config(f, nil)
	clients := env.Provision(f, cfg)
	logs := &stack.SyncBuffer{}
	return handlerFor(f, cfg, slog.New(slog.NewJSONHandler(logs, nil)), clients), logs, cfg.Bucket
}

// FuzzS3Event: whatever a notification holds, the handler does not panic,
// answers every record with exactly one log line, and fails the invocation
// only for what a retry could fix.
func FuzzS3Event(f *testing.F) {
	h, logs, bucket := fuzzHandler(f)
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		var ev events.S3Event
		if json.Unmarshal([]byte(doc), &ev) != nil {
			return // the Lambda runtime refuses it before our code runs
		}
		for i := range ev.Records {
			ev.Records[i].S3.Bucket.Name = bucket // so each record reaches key parsing
		}
		before := len(parseLog(logs.String()))
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatalf("Handle(%s): %v", doc, err)
		}
		if got := len(parseLog(logs.String())) - before; got != len(ev.Records) {
			t.Fatalf("%d log lines for %d records", got, len(ev.Records))
		}
	})
}

// FuzzWebhook: the local webhook answers any body with 204 or 400, never a
// server error while the emulators are up.
func FuzzWebhook(f *testing.F) {
	h, _, _ := fuzzHandler(f)
	hook := s3event.Webhook(h.Handle, "fuzz-token", slog.New(slog.NewTextHandler(&stack.SyncBuffer{}, nil)))
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Add(strings.Repeat("{", 5000))
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/events", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer fuzz-token")
		hook.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent && rec.Code != http.StatusBadRequest {
			t.Fatalf("webhook answered %d to %q", rec.Code, body)
		}
		// Without the token nothing reaches the handler.
		rec = httptest.NewRecorder()
		hook.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/events", strings.NewReader(body)))
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("webhook answered %d to a post without its token", rec.Code)
		}
	})
}
