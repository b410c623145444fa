package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/voicerec/backend/internal/s3"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
	"github.com/voicerec/backend/internal/testenv/testaudio"
)

const m4a = "audio/mp4"

// heldEvents keeps a bucket's notifications from the events handler, so a
// test delivers each one when it chooses, as often as it chooses, or never:
// whatever it asserts then holds without help from an event that happens
// to arrive in time.
type heldEvents struct {
	s   *stack.Stack
	mu  sync.Mutex
	got []events.S3EventRecord
}

// startHeld runs a stack whose storage events are held.
func startHeld(t *testing.T, o stack.Options) (*stack.Stack, *heldEvents) {
	t.Helper()
	s := stack.Start(t, testenv.Get(t), o)
	h := &heldEvents{s: s}
	s.Env.OnEvent(t, s.Config.Bucket, func(_ context.Context, ev events.S3Event) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.got = append(h.got, ev.Records...)
		return nil
	})
	return s, h
}

// next waits for the first record not yet taken for key whose event name
// contains kind ("ObjectCreated", "ObjectRemoved"), and takes it. MinIO
// announces a tag change as ObjectCreated:PutTagging; those never match:
// the object did not change.
func (h *heldEvents) next(t *testing.T, key, kind string) events.S3Event {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		h.mu.Lock()
		for i, r := range h.got {
			if r.S3.Object.URLDecodedKey == key && strings.Contains(r.EventName, kind) && !strings.HasSuffix(r.EventName, "Tagging") {
				h.got = append(h.got[:i], h.got[i+1:]...)
				h.mu.Unlock()
				return events.S3Event{Records: []events.S3EventRecord{r}}
			}
		}
		h.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no %s event for %s", kind, key)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// deliver hands ev to the stack's events handler and returns the outcome
// it logged for the record.
func (h *heldEvents) deliver(t *testing.T, ev events.S3Event) string {
	t.Helper()
	before := len(h.s.Logged("s3 record"))
	if err := h.s.Events.Handle(context.Background(), ev); err != nil {
		t.Fatalf("handle %s: %v", ev.Records[0].EventName, err)
	}
	lines := h.s.Logged("s3 record")[before:]
	if len(lines) != 1 {
		t.Fatalf("want one log line for the record, got %v", lines)
	}
	outcome, _ := lines[0]["outcome"].(string)
	return outcome
}

// uploadConfirmed creates a recording of body through the API, PUTs it
// through its URL and delivers the upload's event; it returns the
// recording's id, its object key and that event, for a later redelivery.
func (h *heldEvents) uploadConfirmed(t *testing.T, token, name string, body []byte) (id, key string, created events.S3Event) {
	t.Helper()
	up := h.s.CreateUpload(t, token, name, m4a, int64(len(body)))
	key = h.s.ObjectKey(t, up.Upload.URL)
	if st := stack.Put(t, up.Upload, body); st != http.StatusOK {
		t.Fatalf("PUT: %d", st)
	}
	created = h.next(t, key, "ObjectCreated")
	if got := h.deliver(t, created); got != "confirmed" {
		t.Fatalf("upload of %s: outcome %q, want confirmed", name, got)
	}
	return up.Recording.ID, key, created
}

// adminPut stores body at key with storage credentials, not through a
// presigned URL, with the body's own SHA-256 when sha256 is not empty.
func adminPut(t *testing.T, s *stack.Stack, key string, body []byte, sha256 string) {
	t.Helper()
	in := &awss3.PutObjectInput{Bucket: &s.Config.Bucket, Key: &key, Body: bytes.NewReader(body), ContentType: aws.String(m4a)}
	if sha256 != "" {
		in.ChecksumAlgorithm, in.ChecksumSHA256 = s3types.ChecksumAlgorithmSha256, &sha256
	}
	if _, err := s.Clients.S3.PutObject(context.Background(), in); err != nil {
		t.Fatal(err)
	}
}

// stored reports whether storage holds an object at key.
func stored(t *testing.T, s *stack.Stack, key string) bool {
	t.Helper()
	_, err := s.Objects.Head(context.Background(), key)
	if errors.Is(err, s3.ErrNoObject) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	return true
}

// audio is a real M4A of n bytes; bodies of different seeds differ.
func audio(n int, seed byte) []byte { return testaudio.Body(m4a, n, seed) }

// rejectedUpload creates an upload of size bytes, stores silence under it
// and delivers its event: the recording ends rejected (not_audio), and its
// URL can still store a body until the upload window is over.
func rejectedUpload(t *testing.T, s *stack.Stack, held *heldEvents, token string, size int64) (stack.Upload, string) {
	t.Helper()
	up := s.CreateUpload(t, token, "memo.m4a", m4a, size)
	key := s.ObjectKey(t, up.Upload.URL)
	if st := stack.Put(t, up.Upload, make([]byte, size)); st != http.StatusOK {
		t.Fatalf("PUT: %d", st)
	}
	if got := held.deliver(t, held.next(t, key, "ObjectCreated")); got != "rejected" {
		t.Fatalf("silence as audio: outcome %q, want rejected", got)
	}
	return up, key
}
