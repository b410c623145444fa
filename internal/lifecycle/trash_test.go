package lifecycle_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv/stack"
)

var trash = map[string]string{"TRASH_RETENTION": "24h"}

// A recording in the trash keeps its object until its purge_at. The upload's
// ObjectCreated event delivered again (a duplicate, or one that arrives
// late) finds it there and changes nothing: it stays in the trash,
// restorable with its bytes.
func TestUploadEventAgainKeepsRecordingInTheTrash(t *testing.T) {
	clock := &stack.Clock{}
	s, held := startHeld(t, stack.Options{Clock: clock, Env: trash})
	token, _ := s.Login(t, "trash-keeper")
	body := audio(6000, 't')
	id, key, created := held.uploadConfirmed(t, token, "kept.m4a", body)
	if st := s.Call(t, token, http.MethodDelete, "/v1/recordings/"+id, nil, nil); st != http.StatusOK {
		t.Fatalf("delete to the trash: %d", st)
	}
	clock.Advance(23 * time.Hour) // still an hour before purge_at

	for i := range 2 {
		if got := held.deliver(t, created); got != "in_sync" {
			t.Errorf("delivery %d of the upload's event to the trashed recording: outcome %q, want in_sync", i+1, got)
		}
	}
	if got, st := s.Get(t, token, id); st != http.StatusOK || got.Status != "deleted" {
		t.Fatalf("after the event: %d %v; want it in the trash", st, got)
	}
	if !stored(t, s, key) {
		t.Fatal("the trashed recording's object is gone before its purge_at")
	}
	if b, n := s.Usage(t, token); b != 6000 || n != 1 {
		t.Errorf("usage = %d bytes, %d recordings; want 6000, 1", b, n)
	}
	if st := s.Call(t, token, http.MethodPost, "/v1/recordings/"+id+"/restore", nil, nil); st != http.StatusOK {
		t.Fatalf("restore: %d", st)
	}
	got, st := s.Get(t, token, id)
	if st != http.StatusOK || got.Status != "available" || got.Download == nil {
		t.Fatalf("restored: %d %v", st, got)
	}
	resp, err := http.Get(got.Download.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if b, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || !bytes.Equal(b, body) {
		t.Errorf("the restored recording downloads as %d, %d bytes; want 200 and the uploaded %d", resp.StatusCode, len(b), len(body))
	}
}

// Purging from the trash, by the user or by the reconciler at purge_at,
// removes the record and gives its bytes back to the quota by itself. No
// storage event is delivered after the purges: the ObjectRemoved one would
// repair a purge that only deleted the object, and hide it.
func TestPurgeFromTheTrashRemovesRecordAndQuota(t *testing.T) {
	clock := &stack.Clock{}
	s, held := startHeld(t, stack.Options{Clock: clock, Env: trash})
	token, uid := s.Login(t, "purger")
	byUser, userKey, _ := held.uploadConfirmed(t, token, "by-user.m4a", audio(6000, 'u'))
	byReconciler, reconcilerKey, _ := held.uploadConfirmed(t, token, "by-reconciler.m4a", audio(7000, 'c'))
	for _, id := range []string{byUser, byReconciler} {
		if st := s.Call(t, token, http.MethodDelete, "/v1/recordings/"+id, nil, nil); st != http.StatusOK {
			t.Fatalf("delete to the trash: %d", st)
		}
	}
	if b, n := s.Usage(t, token); b != 13000 || n != 2 {
		t.Fatalf("usage with both in the trash = %d bytes, %d recordings; want 13000, 2", b, n)
	}
	purged := func(id, key string, wantBytes, wantCount int64) {
		t.Helper()
		if rec, err := s.Store.GetRecording(context.Background(), uid, id); !errors.Is(err, recording.ErrNotFound) {
			t.Errorf("purged %s: the record is still there (%s, %v)", id, rec.Status, err)
		}
		if stored(t, s, key) {
			t.Errorf("purged %s: the object is still stored", id)
		}
		if b, n := s.Usage(t, token); b != wantBytes || n != wantCount {
			t.Errorf("purged %s: usage = %d bytes, %d recordings; want %d, %d", id, b, n, wantBytes, wantCount)
		}
	}

	if st := s.Call(t, token, http.MethodDelete, "/v1/recordings/"+byUser+"?purge=true", nil, nil); st != http.StatusOK {
		t.Fatalf("purge: %d", st)
	}
	purged(byUser, userKey, 7000, 1)

	clock.Advance(25 * time.Hour)
	rep, err := s.Keeper.Reconcile(context.Background(), 100)
	if err != nil || rep.Outcomes["purged_from_trash"] != 1 {
		t.Fatalf("reconcile after purge_at: %+v, %v", rep, err)
	}
	purged(byReconciler, reconcilerKey, 0, 0)
}
