package lifecycle_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// Deleting an account removes every recording, the trashed ones too, by
// itself. The storage events of the deletion are never delivered: the
// ObjectRemoved event of a trashed recording's object would remove its
// record and hide a deletion that skipped it, but only when it arrives in
// time.
func TestAccountDeletionRemovesTrashedRecordings(t *testing.T) {
	s, held := startHeld(t, stack.Options{Env: trash})
	token, uid := s.Login(t, "leaver")
	kept, keptKey, _ := held.uploadConfirmed(t, token, "kept.m4a", audio(6000, 'k'))
	trashed, trashedKey, _ := held.uploadConfirmed(t, token, "trashed.m4a", audio(7000, 't'))
	if st := s.Call(t, token, http.MethodDelete, "/v1/recordings/"+trashed, nil, nil); st != http.StatusOK {
		t.Fatalf("delete to the trash: %d", st)
	}
	if got, _ := s.Get(t, token, trashed); got.Status != "deleted" {
		t.Fatalf("not in the trash: %v", got)
	}

	if st := s.Call(t, token, http.MethodDelete, "/v1/me", nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete account: %d", st)
	}
	for _, r := range []struct{ what, id, key string }{{"available", kept, keptKey}, {"trashed", trashed, trashedKey}} {
		if rec, err := s.Store.GetRecording(context.Background(), uid, r.id); !errors.Is(err, recording.ErrNotFound) {
			t.Errorf("the %s recording's record is left (%s, %v)", r.what, rec.Status, err)
		}
		if stored(t, s, r.key) {
			t.Errorf("the %s recording's object is left", r.what)
		}
	}
	out, err := s.Clients.S3.ListObjectsV2(context.Background(), &awss3.ListObjectsV2Input{
		Bucket: &s.Config.Bucket, Prefix: aws.String(recording.UserPrefix(uid)),
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Contents) != 0 {
		t.Errorf("%d objects left under the user's prefix", len(out.Contents))
	}
}

// A rejected upload's URL may still store a body after the account is
// deleted. The deletion catches it as it catches a pending upload's: the
// record stays, deleting, until the URL can no longer land, so the
// reconciler removes such a body even if its event is lost, then the record.
func TestAccountDeletionCatchesAnUploadAgainUnderARejectedRecord(t *testing.T) {
	clock := &stack.Clock{}
	s, held := startHeld(t, stack.Options{Clock: clock})
	token, uid := s.Login(t, "rejected-leaver")
	const size = 6000
	up, key := rejectedUpload(t, s, held, token, size)
	if st := s.Call(t, token, http.MethodDelete, "/v1/me", nil, nil); st != http.StatusNoContent {
		t.Fatalf("delete account: %d", st)
	}
	// The app retries its PUT; the event for it is lost.
	if st := stack.Put(t, up.Upload, audio(size, 'r')); st != http.StatusOK {
		t.Fatalf("PUT after the account deletion: %d", st)
	}
	clock.Advance(s.Config.PendingUploadTTL + s.Config.UploadGrace + time.Minute)
	for range 3 {
		if _, err := s.Keeper.Reconcile(context.Background(), 100); err != nil {
			t.Fatal(err)
		}
	}
	if stored(t, s, key) {
		t.Error("the body PUT after the account deletion is still stored after the reconciler ran")
	}
	if rec, err := s.Store.GetRecording(context.Background(), uid, up.Recording.ID); !errors.Is(err, recording.ErrNotFound) {
		t.Errorf("the rejected recording's record is left (%s, %v)", rec.Status, err)
	}
}
