package lifecycle_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/testenv/stack"
)

// A recording owns one key, with the extension its record names. An object
// under the same id with another extension (recordings/U/ID.mp3 beside
// ID.m4a) belongs to no record: its event deletes it and leaves the
// recording, pending or available, as it was.
func TestObjectUnderAnotherExtensionIsDeleted(t *testing.T) {
	s, held := startHeld(t, stack.Options{})
	token, _ := s.Login(t, "extender")
	avail, availKey, _ := held.uploadConfirmed(t, token, "kept.m4a", audio(6000, 'a'))
	up := s.CreateUpload(t, token, "waiting.m4a", m4a, 6000)
	pendingKey := s.ObjectKey(t, up.Upload.URL)

	for _, r := range []struct{ id, key, status string }{{avail, availKey, "available"}, {up.Recording.ID, pendingKey, "pending"}} {
		other, ok := strings.CutSuffix(r.key, ".m4a")
		if !ok {
			t.Fatalf("key %s does not end in .m4a", r.key)
		}
		other += ".mp3"
		adminPut(t, s, other, audio(6000, 'x'), "")
		if got := held.deliver(t, held.next(t, other, "ObjectCreated")); got != "orphan_deleted" {
			t.Errorf("%s recording: the event for %s: outcome %q, want orphan_deleted", r.status, other, got)
		}
		if stored(t, s, other) {
			t.Errorf("%s recording: %s is still stored", r.status, other)
		}
		if got, st := s.Get(t, token, r.id); st != http.StatusOK || got.Status != r.status {
			t.Errorf("%s recording after the event: %d %v", r.status, st, got)
		}
	}
	if !stored(t, s, availKey) {
		t.Error("the available recording's own object is gone")
	}
	if b, n := s.Usage(t, token); b != 6000 || n != 1 {
		t.Errorf("usage = %d bytes, %d recordings; want 6000, 1", b, n)
	}
}
