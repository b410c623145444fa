package dynamo_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

func dynamoObject(r recording.Recording) dynamo.Object {
	return dynamo.Object{Size: r.SizeBytes, ContentType: r.ContentType, ETag: "e"}
}

// Confirming, rejecting or closing a record that is no longer pending
// changes nothing, counters included.
func TestTransitionsFromTheWrongStateChangeNothing(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Now().UTC()
	u := newUser(t, s, "states")
	lim := recording.Limits{MaxBytes: 1 << 30, MaxRecordings: 100, MaxPending: 100}
	rejected := pendingRec(u.ID, 10, now)
	deleting := pendingRec(u.ID, 20, now.Add(time.Millisecond))
	for _, r := range []recording.Recording{rejected, deleting} {
		if _, _, err := s.CreateUpload(ctx, r, "", "fp", lim, now); err != nil {
			t.Fatal(err)
		}
	}
	if applied, err := s.RejectUpload(ctx, rejected, "bad", "bad body", now); err != nil || !applied {
		t.Fatal(applied, err)
	}
	if err := s.BeginDelete(ctx, deleting, now); err != nil {
		t.Fatal(err)
	}
	before, _ := s.GetUser(ctx, u.ID)
	for _, r := range []recording.Recording{rejected, deleting} {
		if applied, err := s.ConfirmUpload(ctx, r, dynamoObject(r), now); err != nil || applied {
			t.Errorf("confirm of %s record: applied=%v err=%v", r.ID, applied, err)
		}
		if applied, err := s.RejectUpload(ctx, r, "again", "again", now); err != nil || applied {
			t.Errorf("reject of a non-pending record: applied=%v err=%v", applied, err)
		}
		if applied, err := s.CloseUpload(ctx, r); err != nil || applied {
			t.Errorf("close of a non-pending record: applied=%v err=%v", applied, err)
		}
	}
	after, _ := s.GetUser(ctx, u.ID)
	if before.BytesStored != after.BytesStored || before.RecordingCount != after.RecordingCount || after.BytesStored != 0 {
		t.Errorf("counters moved: before %+v after %+v", before, after)
	}
	if got, _ := s.GetRecording(ctx, u.ID, rejected.ID); got.Status != recording.StatusRejected || got.RejectReason != "bad" {
		t.Errorf("rejected record became %+v", got)
	}
	if got, _ := s.GetRecording(ctx, u.ID, deleting.ID); got.Status != recording.StatusDeleting {
		t.Errorf("deleting record became %+v", got)
	}
}

// Confirming a recording that is no longer pending changes nothing: not
// the record, not the counters, not the reservations. A rejected record
// still has a TTL in the future and an older sequencer than the event, so
// the status condition is the only thing that stops it.
func TestConfirmChangesNothingUnlessPending(t *testing.T) {
	s := newRawStore(t)
	u := newUser(t, s.Store, "not-pending")
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 1000, MaxRecordings: 10, MaxPending: 10}
	now := time.Now()
	late := dynamo.Object{Size: 10, ContentType: "audio/mp4", ETag: "e"}

	rejected, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", lim, now)
	if err != nil {
		t.Fatal(err)
	}
	if applied, err := s.RejectUpload(ctx, rejected, "size_mismatch", "uploaded 9 bytes but 10 were declared", now); err != nil || !applied {
		t.Fatalf("reject: %v %v", applied, err)
	}

	deleting, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", lim, now)
	if err != nil {
		t.Fatal(err)
	}
	if applied, err := s.ConfirmUpload(ctx, deleting, dynamo.Object{Size: 10, ContentType: "audio/mp4"}, now); err != nil || !applied {
		t.Fatalf("confirm: %v %v", applied, err)
	}
	deleting.Status = recording.StatusAvailable
	if err := s.BeginDelete(ctx, deleting, now); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		rec  recording.Recording
		want recording.Status
	}{{"rejected", rejected, recording.StatusRejected}, {"deleting", deleting, recording.StatusDeleting}} {
		t.Run(tc.name, func(t *testing.T) {
			before := s.snapshot(t, u.ID, tc.rec.ID)
			// The event's view of the record is a stale "pending" one.
			stale := tc.rec
			stale.Status = recording.StatusPending
			applied, err := s.ConfirmUpload(ctx, stale, late, now)
			if err != nil || applied {
				t.Fatalf("confirm of a %s record: applied=%v err=%v; want a no-op", tc.name, applied, err)
			}
			after := s.snapshot(t, u.ID, tc.rec.ID)
			if !reflect.DeepEqual(before, after) {
				t.Fatalf("confirm of a %s record changed the items:\nbefore %v\nafter  %v", tc.name, before, after)
			}
			got, err := s.GetRecording(ctx, u.ID, tc.rec.ID)
			if err != nil || got.Status != tc.want {
				t.Fatalf("record is %q (%v), want %q", got.Status, err, tc.want)
			}
			user, err := s.GetUser(ctx, u.ID)
			if err != nil || user.BytesStored != 0 || user.RecordingCount != 0 {
				t.Fatalf("counters %d bytes, %d recordings (%v); want 0 and 0", user.BytesStored, user.RecordingCount, err)
			}
		})
	}
}

// A confirmation that fails on every condition at once (record not
// pending, account being deleted) is a no-op, not an error.
func TestConfirmFailingEveryConditionIsANoOp(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "all-fail")
	now := time.Now()
	r, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, now), "", "fp", wide, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.RejectUpload(ctx, r, "size_mismatch", "wrong size", now); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkAccountDeleting(ctx, u.ID, now); err != nil {
		t.Fatal(err)
	}
	if applied, err := s.ConfirmUpload(ctx, r, dynamo.Object{Size: 1, ContentType: "audio/mp4"}, now); err != nil || applied {
		t.Fatalf("applied=%v err=%v; want a no-op", applied, err)
	}
}

// The object's SHA-256, when storage reports one, is kept on the confirmed
// record: it is what the app shows to check the upload's integrity.
func TestConfirmKeepsTheObjectChecksum(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "sha")
	now := time.Now()
	for _, sha := range []string{"", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"} {
		r, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, now), "", "fp", wide, now)
		if err != nil {
			t.Fatal(err)
		}
		if ok, err := s.ConfirmUpload(ctx, r, dynamo.Object{Size: 1, ContentType: "audio/mp4", SHA256: sha}, now); err != nil || !ok {
			t.Fatalf("confirm: %v %v", ok, err)
		}
		got, err := s.GetRecording(ctx, u.ID, r.ID)
		if err != nil || got.SHA256 != sha {
			t.Fatalf("checksum read back %q (%v), want %q", got.SHA256, err, sha)
		}
	}
}

// A rejected single-PUT record remembers until when its URL may still store
// a body (LandBy), whatever happens to its due time: the Keeper deletes the
// rejected body and makes it due again then, or, if that delete failed, the
// reconciler does both at once and must still know when.
func TestRejectedRecordKeepsWhenItsURLMayLand(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Now().UTC()
	u := newUser(t, s, "lander")
	lim := recording.Limits{MaxBytes: 1 << 30, MaxRecordings: 100, MaxPending: 100}
	r, other := pendingRec(u.ID, 10, now), pendingRec(u.ID, 20, now.Add(time.Millisecond))
	for _, p := range []recording.Recording{r, other} {
		if _, _, err := s.CreateUpload(ctx, p, "", "fp", lim, now); err != nil {
			t.Fatal(err)
		}
	}
	landBy := now.Add(90 * time.Minute)
	r.LandBy = landBy
	if applied, err := s.RejectUpload(ctx, r, "not_audio", "not audio", now); err != nil || !applied {
		t.Fatal(applied, err)
	}
	got, err := s.GetRecording(ctx, u.ID, r.ID)
	if err != nil || got.LandBy.Unix() != landBy.Unix() || got.DueAt.Unix() != now.Unix() {
		t.Fatalf("rejected: land by %v, due %v (%v); want land by %v, due now %v", got.LandBy, got.DueAt, err, landBy, now)
	}
	if err := s.DueAgain(ctx, got, got.LandBy); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetRecording(ctx, u.ID, r.ID); got.DueAt.Unix() != landBy.Unix() || got.LandBy.Unix() != landBy.Unix() {
		t.Errorf("due again: due %v, land by %v; want both %v", got.DueAt, got.LandBy, landBy)
	}
	// Only a rejected record is made due this way.
	if err := s.DueAgain(ctx, other, landBy); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetRecording(ctx, u.ID, other.ID); got.Status != recording.StatusPending || got.DueAt.Unix() != other.DueAt.Unix() {
		t.Errorf("a pending record made due again: %s, due %v, want %v", got.Status, got.DueAt, other.DueAt)
	}
}

// A record whose object went releases its bytes and count.
func TestObjectGoneReleasesCounters(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "gone")
	now := time.Now()
	r := availableRec(t, s, u.ID, 1, now)
	if got, _ := s.GetUser(ctx, u.ID); got.BytesStored != 1 || got.RecordingCount != 1 {
		t.Fatalf("counters after confirm: %d bytes, %d recordings", got.BytesStored, got.RecordingCount)
	}
	if applied, err := s.ObjectGone(ctx, r); err != nil || !applied {
		t.Fatalf("removal: applied=%v %v; want applied", applied, err)
	}
	if got, _ := s.GetUser(ctx, u.ID); got.BytesStored != 0 || got.RecordingCount != 0 {
		t.Fatalf("counters after the object went: %d bytes, %d recordings; want 0, 0", got.BytesStored, got.RecordingCount)
	}
}

func TestDeleteReleasesQuotaAndHidesRecord(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "d")
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 1000, MaxRecordings: 10, MaxPending: 10}
	now := time.Now()
	r, _, _ := s.CreateUpload(ctx, pendingRec(u.ID, 40, now), "", "fp", lim, now)
	if _, err := s.ConfirmUpload(ctx, r, dynamo.Object{Size: 40, ContentType: "audio/mp4"}, now); err != nil {
		t.Fatal(err)
	}
	r.Status = recording.StatusAvailable
	if err := s.BeginDelete(ctx, r, now); err != nil {
		t.Fatal(err)
	}
	if err := s.BeginDelete(ctx, r, now); !errors.Is(err, dynamo.ErrStateChanged) {
		t.Fatalf("second BeginDelete on a stale read: %v", err)
	}
	if items, _, _ := s.ListRecordings(ctx, u.ID, recording.StatusAvailable, 10, "", now); len(items) != 0 {
		t.Fatalf("deleting recording still listed: %+v", items)
	}
	got, _ := s.GetUser(ctx, u.ID)
	if got.BytesStored != 0 || got.RecordingCount != 0 {
		t.Fatalf("counters after delete: %+v", got)
	}
	if err := s.FinishDelete(ctx, u.ID, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRecording(ctx, u.ID, r.ID); !errors.Is(err, recording.ErrNotFound) {
		t.Fatalf("record after FinishDelete: %v", err)
	}
}

// Trash and Restore answer the recording as it is after the move: the
// API returns it to the app as is.
func TestTrashAndRestoreReturnTheMovedRecording(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "trash-return")
	now := time.Now()
	r := availableRec(t, s, u.ID, 3, now)
	purge := now.Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	trashed, err := s.Trash(ctx, r, purge)
	if err != nil || trashed.ID != r.ID || trashed.Status != recording.StatusDeleted || trashed.PurgeAt == nil ||
		!trashed.PurgeAt.Equal(purge) || trashed.SizeBytes != 3 {
		t.Fatalf("trash answered %+v (%v)", trashed, err)
	}
	restored, err := s.Restore(ctx, trashed)
	if err != nil || restored.ID != r.ID || restored.Status != recording.StatusAvailable || restored.PurgeAt != nil {
		t.Fatalf("restore answered %+v (%v)", restored, err)
	}
}

// A pending record stays out of the by-status index (nothing lists pending
// records from it), so create writes no index entry and confirmation puts
// one instead of moving it; confirmation gives it its status key.
func TestPendingRecordHasNoStatusKeyUntilConfirmed(t *testing.T) {
	s := newRawStore(t)
	u := newUser(t, s.Store, "sparse-status")
	now := time.Now()
	r, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", wide, now)
	if err != nil {
		t.Fatal(err)
	}
	key := map[string]string{"user_id": u.ID, "recording_id": r.ID}
	if got, ok := s.item(t, dynamo.RecordingsTable, key)["user_status"]; ok {
		t.Fatalf("pending record stored with user_status %v", got)
	}
	if applied, err := s.ConfirmUpload(ctx, r, dynamoObject(r), now); err != nil || !applied {
		t.Fatalf("confirm: %v %v", applied, err)
	}
	if got := s.item(t, dynamo.RecordingsTable, key)["user_status"]; got != u.ID+"#available" {
		t.Fatalf("confirmed record's user_status is %v, want %s#available", got, u.ID)
	}
}
