package lifecycle_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/lifecycle"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// A rejected upload's URL still works until it expires, so an app that
// retries puts a body at the key again. The rejection stands: the event
// for that body deletes it, and the record stays rejected for its reason.
func TestUploadAgainUnderRejectedRecordIsDeleted(t *testing.T) {
	s, held := startHeld(t, stack.Options{})
	token, _ := s.Login(t, "retrier")
	const size = 6000
	up, key := rejectedUpload(t, s, held, token, size)
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

// The same late upload whose event is lost: the reconciler, not the event,
// must delete it. The rejected record keeps its upload's URLs in mind, so it
// is visited once none of them can land any more.
func TestUploadAgainUnderRejectedRecordIsDeletedWithoutItsEvent(t *testing.T) {
	clock := &stack.Clock{}
	s, held := startHeld(t, stack.Options{Clock: clock})
	token, _ := s.Login(t, "retrier")
	const size = 6000
	up, key := rejectedUpload(t, s, held, token, size)
	if st := stack.Put(t, up.Upload, audio(size, 'r')); st != http.StatusOK {
		t.Fatalf("PUT again: %d", st)
	}
	// Its event is lost. Until the URL can no longer land, the record waits
	// off the reconciler's passes: a pass costs only what is due.
	if rep, err := s.Keeper.Reconcile(context.Background(), 100); err != nil || rep.Examined != 0 {
		t.Errorf("a pass before the URL's deadline examined %d items (%v); want none due", rep.Examined, err)
	}
	// Time passes beyond the window and its grace, when no URL issued for
	// the recording can land.
	clock.Advance(s.Config.PendingUploadTTL + s.Config.UploadGrace + time.Minute)
	var reports []lifecycle.Report
	for range 3 {
		rep, err := s.Keeper.Reconcile(context.Background(), 100)
		if err != nil {
			t.Fatal(err)
		}
		reports = append(reports, rep)
	}
	if stored(t, s, key) {
		t.Errorf("the body put again under the rejected record is still stored after the reconciler ran: %+v", reports)
	}
	got, st := s.Get(t, token, up.Recording.ID)
	if st != http.StatusOK || got.Status != "rejected" || got.RejectReason != "not_audio" {
		t.Errorf("recording %d %v, reason %q; want still rejected as not_audio", st, got, got.RejectReason)
	}
	// Done: the record is off the reconciler's list.
	if rep, err := s.Keeper.Reconcile(context.Background(), 100); err != nil || rep.Examined != 0 {
		t.Errorf("a further pass examined %d items (%v); want none due", rep.Examined, err)
	}
}

// The user deletes a rejected recording while its URL can still land, and
// a late PUT through that URL loses its event: the record, kept as deleting
// until the URL's deadline, lets the reconciler delete that body.
func TestDeletedRejectedRecordCatchesALateUploadWithoutItsEvent(t *testing.T) {
	clock := &stack.Clock{}
	s, held := startHeld(t, stack.Options{Clock: clock})
	token, _ := s.Login(t, "deleter")
	const size = 6000
	up, key := rejectedUpload(t, s, held, token, size)
	if st := s.Call(t, token, http.MethodDelete, "/v1/recordings/"+up.Recording.ID, nil, nil); st != http.StatusOK {
		t.Fatalf("DELETE: %d", st)
	}
	if _, st := s.Get(t, token, up.Recording.ID); st != http.StatusNotFound {
		got, _ := s.Get(t, token, up.Recording.ID)
		t.Fatalf("the deleted recording answers %d %+v, want 404", st, got)
	}
	if st := stack.Put(t, up.Upload, audio(size, 'd')); st != http.StatusOK {
		t.Fatalf("PUT after the delete: %d", st)
	}
	// Its event is lost. Once no URL can land, the reconciler deletes it.
	clock.Advance(s.Config.PendingUploadTTL + s.Config.UploadGrace + time.Minute)
	for range 3 {
		if _, err := s.Keeper.Reconcile(context.Background(), 100); err != nil {
			t.Fatal(err)
		}
	}
	if stored(t, s, key) {
		t.Error("the body put after the rejected recording was deleted is still stored: an orphan")
	}
	if rep, err := s.Keeper.Reconcile(context.Background(), 100); err != nil || rep.Examined != 0 {
		t.Errorf("a further pass examined %d items (%v); want none due", rep.Examined, err)
	}
}
