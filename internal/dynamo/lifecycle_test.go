package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
)

// When the filter drops items from a full page, the page
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
	got := listAll(t, s, u.ID, recording.StatusRejected, now)
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

// Provider obligations: a token is kept only on a live account; the
// obligations are written once with the mark; a retained item keeps only
// what the retry needs.
func TestProviderObligations(t *testing.T) {
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	clients := env.Provision(t, cfg)
	s := dynamo.New(clients.DynamoDB, cfg.TablePrefix)
	ctx := context.Background()
	now := time.Now()
	u, _, err := s.SignIn(ctx, recording.Identity{Provider: "apple", Subject: "a1", Email: "a@example.com", Name: "A"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetAppleToken(ctx, u.ID, "com.example", []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkAccountDeleting(ctx, u.ID, now, "apple#a1", "kakao#k1"); err != nil {
		t.Fatal(err)
	}
	// A second mark changes nothing: the obligations stay as first written.
	if err := s.MarkAccountDeleting(ctx, u.ID, now, "other#x"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetAppleToken(ctx, u.ID, "com.example", []byte{9}); recording.ErrorCode(err) != recording.CodeAccountDeleting {
		t.Fatalf("token set on a deleting account: %v", err)
	}
	got, err := s.GetUser(ctx, u.ID)
	if err != nil || !got.Deleting || len(got.Revoke) != 2 || string(got.AppleToken) != "\x01\x02\x03" || got.AppleClientID != "com.example" {
		t.Fatalf("after mark: %+v %v", got, err)
	}
	if err := s.DropRevocation(ctx, u.ID, "kakao#k1"); err != nil {
		t.Fatal(err)
	}
	if err := s.RetainForRevocation(ctx, u.ID, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, _ = s.GetUser(ctx, u.ID)
	if got.Email != "" || got.Name != "" || len(got.Identities) != 0 || len(got.Providers) != 0 ||
		len(got.Revoke) != 1 || got.Revoke[0] != "apple#a1" || got.RevokeAttempts != 1 || len(got.AppleToken) == 0 {
		t.Fatalf("retained: %+v", got)
	}
	if err := s.DropRevocation(ctx, u.ID, "apple#a1"); err != nil {
		t.Fatal(err)
	}
	if got, _ = s.GetUser(ctx, u.ID); len(got.Revoke) != 0 || len(got.AppleToken) != 0 || got.AppleClientID != "" {
		t.Fatalf("apple obligation dropped but its token kept: %+v", got)
	}
}

// listAll pages through a user's recordings in one status, two at a time,
// following every cursor, and returns their ids in order.
func listAll(t *testing.T, s *dynamo.Store, userID string, status recording.Status, now time.Time) []string {
	t.Helper()
	var got []string
	after := ""
	for page := 0; page < 10; page++ {
		items, next, err := s.ListRecordings(context.Background(), userID, status, 2, after, now)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			got = append(got, it.ID)
		}
		if next == "" {
			return got
		}
		after = next
	}
	t.Fatalf("still paging after 10 pages: %v", got)
	return nil
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
