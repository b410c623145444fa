package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"testing"

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

// heldEvents are the stack's held storage events (stack.HeldEvents) with
// the handler to deliver them to.
type heldEvents struct {
	*stack.HeldEvents
	s *stack.Stack
}

// startHeld runs a stack whose storage events are held.
func startHeld(t *testing.T, o stack.Options) (*stack.Stack, *heldEvents) {
	t.Helper()
	s := stack.Start(t, testenv.Get(t), o)
	return s, &heldEvents{HeldEvents: s.Hold(t), s: s}
}

// next takes the first held record for key whose event name contains kind.
func (h *heldEvents) next(t *testing.T, key, kind string) events.S3Event {
	t.Helper()
	return h.Next(t, key, kind)
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
