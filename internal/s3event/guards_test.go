package s3event_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/internal/s3"
	"github.com/voicerec/backend/internal/s3event"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// An object removed behind the API's back removes its record, and the log
// says so (record_removed, with a latency in milliseconds that fits the
// call); the same event again finds nothing to do.
func TestObjectRemovedOutcomeAndLatency(t *testing.T) {
	r := newReplay(t)
	up := r.s.CreateUpload(t, r.token, "behind.m4a", m4a, 6000)
	key := objectKey(t, up.Upload.URL, r.s.Config.Bucket)
	stack.Put(t, up.Upload, body(6000, 'b'))
	if got := r.handle(t, r.rec.next(t, key, "ObjectCreated")); got != "confirmed" {
		t.Fatalf("confirm: %s", got)
	}
	if _, err := r.s.Clients.S3.DeleteObject(context.Background(), &awss3.DeleteObjectInput{Bucket: &r.s.Config.Bucket, Key: &key}); err != nil {
		t.Fatal(err)
	}
	removed := r.rec.next(t, key, "ObjectRemoved")
	before := len(parseLog(r.logs.String()))
	start := time.Now()
	if err := r.h.Handle(context.Background(), removed); err != nil {
		t.Fatal(err)
	}
	wall := float64(time.Since(start).Microseconds()) / 1000
	lines := parseLog(r.logs.String())[before:]
	if len(lines) != 1 || lines[0].Outcome != "record_removed" {
		t.Fatalf("log lines %+v, want one with outcome record_removed", lines)
	}
	if l := lines[0].LatencyMS; l == nil || *l < 0 || *l > wall {
		t.Fatalf("latency_ms %s for a call of %.3f ms", r.logs, wall)
	}
	if got := r.handle(t, removed); got != "ignored" {
		t.Fatalf("the removal again: %s, want ignored", got)
	}
	if b, n := r.s.Usage(t, r.token); b != 0 || n != 0 {
		t.Fatalf("usage %d bytes, %d recordings; want 0, 0", b, n)
	}
}

// The logged key is the decoded one: URLDecodedKey when the record has it
// (the Lambda runtime fills it in), else the raw Key unescaped, else the raw
// Key as it is.
func TestRecordKeyDecoding(t *testing.T) {
	logs := &stack.SyncBuffer{}
	h := &s3event.Handler{Log: slog.New(slog.NewJSONHandler(logs, nil)), Objects: s3.New(nil, nil, "ours")}
	for _, tc := range []struct {
		obj  events.S3Object
		want string
	}{
		{events.S3Object{URLDecodedKey: "recordings/a b", Key: "recordings/other"}, "recordings/a b"},
		{events.S3Object{Key: "recordings%2Fa+b"}, "recordings/a b"},
		{events.S3Object{Key: "bad%zz"}, "bad%zz"},
		{events.S3Object{}, ""},
	} {
		before := len(parseLog(logs.String()))
		ev := events.S3Event{Records: []events.S3EventRecord{{EventName: "ObjectCreated:Put",
			S3: events.S3Entity{Bucket: events.S3Bucket{Name: "someone-elses"}, Object: tc.obj}}}}
		if err := h.Handle(context.Background(), ev); err != nil {
			t.Fatal(err)
		}
		lines := parseLog(logs.String())[before:]
		if len(lines) != 1 || lines[0].Key != tc.want || lines[0].Outcome != "ignored" {
			t.Errorf("%+v: logged %+v, want key %q, ignored", tc.obj, lines, tc.want)
		}
	}
}

// A notification of exactly the webhook's limit (1 MiB) is read; one byte
// more is refused before it is decoded.
func TestWebhookBodyLimit(t *testing.T) {
	const limit = 1 << 20
	calls := 0
	hook := s3event.Webhook(func(context.Context, events.S3Event) error { calls++; return nil }, "t", slog.New(slog.NewTextHandler(io.Discard, nil)))
	doc := []byte(`{"Records":[]}`)
	for _, tc := range []struct{ size, status, calls int }{{limit, http.StatusNoContent, 1}, {limit + 1, http.StatusBadRequest, 1}} {
		b := append(append([]byte{}, doc...), bytes.Repeat([]byte(" "), tc.size-len(doc))...)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer t")
		hook.ServeHTTP(rec, req)
		if rec.Code != tc.status || calls != tc.calls {
			t.Errorf("%d-byte notification: %d (%s), %d handler calls; want %d, %d", tc.size, rec.Code, strings.TrimSpace(rec.Body.String()), calls, tc.status, tc.calls)
		}
	}
}
