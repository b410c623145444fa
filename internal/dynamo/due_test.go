package dynamo_test

import (
	"testing"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
)

// A pending record is due in exactly one of the DueShards partitions, and
// the reconciler, which walks them by number, finds it there: a record in
// a partition outside 0..DueShards-1 would never be closed, its
// reservation held forever. Its due time reads back as stored.
func TestPendingRecordIsFoundInItsDueShard(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "due-shard")
	now := time.Now()
	rec := pendingRec(u.ID, 1, now)
	if _, _, err := s.CreateUpload(ctx, rec, "", "fp", wide, now); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRecording(ctx, u.ID, rec.ID)
	if err != nil || got.DueAt.Unix() != rec.DueAt.Unix() {
		t.Fatalf("due time read back %v (%v), stored %v", got.DueAt, err, rec.DueAt)
	}
	found := 0
	for shard := range dynamo.DueShards {
		page, err := s.DueRecordings(ctx, shard, rec.DueAt.Add(time.Second), 100, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, ref := range page.Refs {
			if ref.RecordingID == rec.ID {
				found++
			}
		}
	}
	if found != 1 {
		t.Fatalf("the pending record was found in %d due shards, want exactly 1", found)
	}
}
