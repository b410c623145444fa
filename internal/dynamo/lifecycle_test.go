package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

// Issue 13, case 6: when the filter drops items from a full page, the page
// still says where to continue; before, the rest of the list was
// unreachable.
func TestPageWithFilteredItemsKeepsItsCursor(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	now := time.Now().UTC()
	u := newUser(t, s, "pager")
	lim := recording.Limits{MaxBytes: 1 << 30, MaxRecordings: 100, MaxPending: 100}
	// Newest first: r4, r3 rejected now; r2 rejected eight days ago (its
	// retention is over); r1, the oldest, rejected now.
	var recs []recording.Recording
	for i := range 4 {
		r := pendingRec(u.ID, 10, now.Add(time.Duration(i)*time.Millisecond))
		if _, _, err := s.CreateUpload(ctx, r, "", "fp", lim, now); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	for i, r := range recs {
		at := now
		if i == 1 {
			at = now.Add(-8 * 24 * time.Hour)
		}
		if applied, err := s.RejectUpload(ctx, r, "size_mismatch", "wrong size", at); err != nil || !applied {
			t.Fatalf("reject %d: %v %v", i, applied, err)
		}
	}
	var got []string
	after := ""
	for page := 0; page < 5; page++ {
		items, next, err := s.ListRecordings(ctx, u.ID, recording.StatusRejected, 2, after, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			got = append(got, it.ID)
		}
		if next == "" {
			break
		}
		after = next
	}
	want := []string{recs[3].ID, recs[2].ID, recs[0].ID}
	if len(got) != len(want) {
		t.Fatalf("listed %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("listed %v, want %v", got, want)
		}
	}
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

func dynamoObject(r recording.Recording) dynamo.Object {
	return dynamo.Object{Size: r.SizeBytes, ContentType: r.ContentType, ETag: "e"}
}
