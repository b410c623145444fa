package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

func TestIdempotentCreate(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "i")
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 1000, MaxRecordings: 10, MaxPending: 10}
	now := time.Now()
	first, replayed, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "key-1", "fp-a", lim, now)
	if err != nil || replayed {
		t.Fatal(err, replayed)
	}
	again, replayed, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "key-1", "fp-a", lim, now)
	if err != nil || !replayed || again.ID != first.ID {
		t.Fatalf("replay: %v %v %s vs %s", err, replayed, again.ID, first.ID)
	}
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "key-1", "fp-b", lim, now); recording.ErrorCode(err) != recording.CodeIdempotencyReuse {
		t.Fatalf("same key, other request: %v", err)
	}
	// Another user's identical key is independent.
	v := newUser(t, s, "j")
	other, replayed, err := s.CreateUpload(ctx, pendingRec(v.ID, 10, now), "key-1", "fp-a", lim, now)
	if err != nil || replayed || other.ID == first.ID {
		t.Fatalf("other user's key: %v %v", err, replayed)
	}
	page, _, _ := s.ListRecordings(ctx, u.ID, recording.StatusPending, 10, "", now)
	if len(page) != 1 {
		t.Fatalf("%d pending recordings after a replay, want 1", len(page))
	}
	// Once the recording is deleted the key starts afresh.
	if err := s.BeginDelete(ctx, first, now); err != nil {
		t.Fatal(err)
	}
	fresh, replayed, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "key-1", "fp-a", lim, now)
	if err != nil || replayed || fresh.ID == first.ID {
		t.Fatalf("after delete: %v replayed=%v", err, replayed)
	}
}

// An Idempotency-Key is remembered for exactly IdempotencyWindow: at its
// end it is free again, for any request.
func TestIdempotencyWindowEnd(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "window")
	t0 := time.Unix(time.Now().Unix(), 0)
	first, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, t0), "k", "fp-a", wide, t0)
	if err != nil {
		t.Fatal(err)
	}
	end := t0.Add(dynamo.IdempotencyWindow)
	again, replayed, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, end), "k", "fp-b", wide, end)
	if err != nil || replayed || again.ID == first.ID {
		t.Fatalf("key reused at the end of its window: %v, replayed=%v", err, replayed)
	}
}

// A pending upload past its window stays what its key names until the
// reconciler closes it: a replay finds it (the API then issues no URL).
func TestIdempotencyKeyOfAPendingUploadPastItsWindow(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "expired-key")
	t0 := time.Now()
	first, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, t0), "k", "fp", wide, t0)
	if err != nil {
		t.Fatal(err)
	}
	later := t0.Add(2 * time.Hour) // past the upload's expiry, within the key's window
	again, replayed, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, later), "k", "fp", wide, later)
	if err != nil || !replayed || again.ID != first.ID {
		t.Fatalf("same key after the upload's window: %s replayed=%v (%v); want the same recording", again.ID, replayed, err)
	}
}

// A create that can never succeed (here: its recording id exists) gives up
// after a bounded number of attempts with a retryable error.
func TestCreateRetriesAreBounded(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "bounded")
	now := time.Now()
	rec := pendingRec(u.ID, 1, now)
	if _, _, err := s.CreateUpload(ctx, rec, "", "fp", wide, now); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, _, err := s.CreateUpload(cctx, rec, "", "fp", wide, now); recording.ErrorCode(err) != recording.CodeUnavailable {
		t.Fatalf("create of an existing id: %v, want %s", err, recording.CodeUnavailable)
	}
}

// A create that can never succeed tries exactly maxQuotaRetries times, no
// more: the bound is what keeps a hopeless create from holding a request
// (and DynamoDB capacity) for long.
func TestCreateTriesExactlyItsBound(t *testing.T) {
	s, c, _ := countingStore(t)
	u := newUser(t, s, "exact-bound")
	now := time.Now()
	rec := pendingRec(u.ID, 1, now)
	if _, _, err := s.CreateUpload(ctx, rec, "", "fp", wide, now); err != nil {
		t.Fatal(err)
	}
	c.take()
	if _, _, err := s.CreateUpload(ctx, rec, "", "fp", wide, now); recording.ErrorCode(err) != recording.CodeUnavailable {
		t.Fatalf("create of an existing id: %v, want %s", err, recording.CodeUnavailable)
	}
	if n := len(c.take()); n != dynamo.MaxQuotaRetries {
		t.Fatalf("%d attempts, want %d", n, dynamo.MaxQuotaRetries)
	}
}
