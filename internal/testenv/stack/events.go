package stack

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// HeldEvents keeps a bucket's notifications instead of handling them, so a
// test decides when, how often, in which order or whether the handler sees
// each one: what it asserts then holds without help from an event that
// happens to arrive in time.
type HeldEvents struct {
	mu  sync.Mutex
	got []events.S3EventRecord
}

// Hold captures the notifications of the stack's bucket from now on.
func (s *Stack) Hold(t testing.TB) *HeldEvents {
	h := &HeldEvents{}
	s.Env.OnEvent(t, s.Config.Bucket, func(_ context.Context, ev events.S3Event) error {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.got = append(h.got, ev.Records...)
		return nil
	})
	return h
}

// Next waits for the first record not yet taken for key whose event name
// contains kind ("ObjectCreated", "ObjectRemoved"), and takes it. A tag
// change (MinIO's ObjectCreated:PutTagging) never matches: the object did
// not change.
func (h *HeldEvents) Next(t testing.TB, key, kind string) events.S3Event {
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
