package dynamo_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

// One listing of every status the user works with. Trash,
// deleting records and rejected ones past their retention stay out, and
// the cursor carries the listing across pages however many of the items
// between were filtered away.
func TestListAllRecordingsSpansStatusesAndSkipsTrash(t *testing.T) {
	s := newStore(t)
	now := time.Now().UTC()
	u := newUser(t, s, "listall")
	lim := recording.Limits{MaxBytes: 1 << 30, MaxRecordings: 100, MaxPending: 100}
	// Oldest first: what each record becomes.
	plan := []string{"available", "trash", "rejected", "deleting", "pending", "expired-reject", "trash", "trash", "trash", "trash", "trash", "trash", "trash", "trash", "available", "rejected"}
	var want []string
	for i, what := range plan {
		r := pendingRec(u.ID, 10, now.Add(time.Duration(i)*time.Millisecond))
		if _, _, err := s.CreateUpload(ctx, r, "", "fp", lim, now); err != nil {
			t.Fatal(err)
		}
		confirm := func() {
			t.Helper()
			if applied, err := s.ConfirmUpload(ctx, r, dynamo.Object{Size: 10, ContentType: "audio/mp4"}, now); err != nil || !applied {
				t.Fatalf("confirm %d: %v %v", i, applied, err)
			}
			r.Status = recording.StatusAvailable
		}
		switch what {
		case "available":
			confirm()
		case "trash":
			confirm()
			if _, err := s.Trash(ctx, r, now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
		case "deleting":
			confirm()
			if err := s.BeginDelete(ctx, r, now); err != nil {
				t.Fatal(err)
			}
		case "rejected", "expired-reject":
			at := now
			if what == "expired-reject" {
				at = now.Add(-8 * 24 * time.Hour)
			}
			if applied, err := s.RejectUpload(ctx, r, "size_mismatch", "wrong size", at); err != nil || !applied {
				t.Fatalf("reject %d: %v %v", i, applied, err)
			}
		}
		switch what {
		case "available", "rejected", "pending":
			want = append(want, r.ID)
		}
	}
	slices.Reverse(want)
	for _, limit := range []int{1, 2, 3, 100} {
		var got []string
		after := ""
		for page := 0; ; page++ {
			if page > 20 {
				t.Fatalf("limit %d: still paging after 20 pages: %v", limit, got)
			}
			items, next, err := s.ListAllRecordings(context.Background(), u.ID, limit, after, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(items) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(items))
			}
			for _, it := range items {
				got = append(got, it.ID)
			}
			if next == "" {
				break
			}
			after = next
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: listed %v, want %v", limit, got, want)
		}
	}
}
