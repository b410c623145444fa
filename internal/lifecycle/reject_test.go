package lifecycle_test

import (
	"net/http"
	"testing"

	"github.com/voicerec/backend/internal/testenv/stack"
)

// A rejected upload's URL still works until it expires, so an app that
// retries puts a body at the key again. The rejection stands: the event
// for that body deletes it, and the record stays rejected for its reason.
func TestUploadAgainUnderRejectedRecordIsDeleted(t *testing.T) {
	s, held := startHeld(t, stack.Options{})
	token, _ := s.Login(t, "retrier")
	const size = 6000
	up := s.CreateUpload(t, token, "memo.m4a", m4a, size)
	key := objectKey(t, up.Upload.URL, s.Config.Bucket)
	if st := stack.Put(t, up.Upload, make([]byte, size)); st != http.StatusOK {
		t.Fatalf("PUT: %d", st)
	}
	if got := held.deliver(t, held.next(t, key, "ObjectCreated")); got != "rejected" {
		t.Fatalf("silence as audio: outcome %q, want rejected", got)
	}
	if stored(t, s, key) {
		t.Fatal("the rejected body is still stored")
	}

	if st := stack.Put(t, up.Upload, audio(size, 'r')); st != http.StatusOK {
		t.Fatalf("PUT again: %d", st)
	}
	outcome := held.deliver(t, held.next(t, key, "ObjectCreated"))
	if stored(t, s, key) {
		t.Errorf("the body put again under the rejected record is still stored (outcome %q)", outcome)
	}
	got, st := s.Get(t, token, up.Recording.ID)
	if st != http.StatusOK || got.Status != "rejected" || got.RejectReason != "not_audio" {
		t.Errorf("recording %d %v, reason %q; want still rejected as not_audio", st, got, got.RejectReason)
	}
	if b, n := s.Usage(t, token); b != 0 || n != 0 {
		t.Errorf("usage = %d bytes, %d recordings; want 0, 0", b, n)
	}
}
