package dynamo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

// Tests written for mutants gremlins found alive in this package (see
// docs/mutation.md).

var wide = recording.Limits{MaxUploadBytes: 1 << 20, MaxBytes: 1 << 30, MaxRecordings: 1000, MaxPending: 100}

// What is stored reads back: optional times included.
func TestRecordingRoundTrip(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "round-trip")
	now := time.Now().UTC().Truncate(time.Millisecond)
	rec := pendingRec(u.ID, 10, now)
	recorded := now.Add(-time.Hour)
	dur := int64(1234)
	rec.RecordedAt, rec.DurationMS = &recorded, &dur
	if _, _, err := s.CreateUpload(ctx, rec, "", "fp", wide, now); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRecording(ctx, u.ID, rec.ID)
	if err != nil || got.ExpiresAt == nil || !got.ExpiresAt.Equal(*rec.ExpiresAt) || got.RecordedAt == nil || !got.RecordedAt.Equal(recorded) ||
		got.DurationMS == nil || *got.DurationMS != dur || got.UploadedAt != nil || !got.CreatedAt.Equal(now) || got.Key != rec.Key {
		t.Fatalf("read back %+v (%v), stored %+v", got, err, rec)
	}
	if _, err := s.ConfirmUpload(ctx, got, dynamo.Object{Size: 10, ContentType: "audio/mp4"}, now); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetRecording(ctx, u.ID, rec.ID)
	if err != nil || got.UploadedAt == nil || !got.UploadedAt.Equal(now) || got.ExpiresAt != nil || got.Status != recording.StatusAvailable {
		t.Fatalf("confirmed read back %+v (%v)", got, err)
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

// The quota version only moves forward, by one per change, so an
// optimistic write based on an old read can never match again.
func TestQuotaVersionMovesForward(t *testing.T) {
	s := newRawStore(t)
	u := newUser(t, s.Store, "version")
	version := func() float64 {
		return s.item(t, dynamo.UsersTable, map[string]string{"user_id": u.ID})["quota_version"].(float64)
	}
	now := time.Now()
	v0 := version()
	r, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, now), "", "fp", wide, now)
	if err != nil {
		t.Fatal(err)
	}
	v1 := version()
	if _, err := s.ConfirmUpload(ctx, r, dynamo.Object{Size: 1, ContentType: "audio/mp4"}, now); err != nil {
		t.Fatal(err)
	}
	v2 := version()
	if v1 != v0+1 || v2 != v1+1 {
		t.Fatalf("quota versions %v, %v, %v; want each one more than the last", v0, v1, v2)
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

// A reservation stops counting at the second it expires, and the byte
// quota's message says what is used.
func TestReservationEndsAtItsExpiry(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "res-end")
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 150, MaxRecordings: 10, MaxPending: 1}
	t0 := time.Unix(time.Now().Unix(), 0)
	r := pendingRec(u.ID, 100, t0)
	if _, _, err := s.CreateUpload(ctx, r, "", "fp", lim, t0); err != nil {
		t.Fatal(err)
	}
	lim.MaxPending = 2
	_, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 60, t0), "", "fp", lim, t0)
	if recording.ErrorCode(err) != recording.CodeQuotaExceeded || !strings.Contains(err.Error(), "exceeded: 100 of 150 bytes used") {
		t.Fatalf("over the byte quota: %v", err)
	}
	lim.MaxPending = 1
	at := *r.ExpiresAt
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 100, at), "", "fp", lim, at); err != nil {
		t.Fatalf("upload at the second the only reservation expires: %v", err)
	}
}

// Paging stops exactly at the end: a page as long as what is left carries
// no cursor.
func TestLastFullPageHasNoCursor(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "full-page")
	base := time.Now()
	for i := 0; i < 3; i++ {
		at := base.Add(time.Duration(i) * time.Millisecond)
		r, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, at), "", "fp", wide, at)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConfirmUpload(ctx, r, dynamo.Object{Size: 1, ContentType: "audio/mp4"}, at); err != nil {
			t.Fatal(err)
		}
	}
	items, next, err := s.ListRecordings(ctx, u.ID, recording.StatusAvailable, 3, "", base)
	if err != nil || len(items) != 3 || next != "" {
		t.Fatalf("%d items, next %q (%v); want 3 and no cursor", len(items), next, err)
	}
}

// Pending uploads past their window stay listed until the reconciler closes
// them (they may still land), and paging reaches every one.
func TestPendingUploadsPastTheirWindowStayListed(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "expired-first")
	t0 := time.Now()
	var live []string
	for i := 0; i < 2; i++ { // older, long-lived
		at := t0.Add(time.Duration(i) * time.Millisecond)
		r := pendingRec(u.ID, 1, at)
		long := t0.Add(10 * time.Hour)
		r.ExpiresAt = &long
		if _, _, err := s.CreateUpload(ctx, r, "", "fp", wide, at); err != nil {
			t.Fatal(err)
		}
		live = append(live, r.ID)
	}
	for i := 0; i < 3; i++ { // newer, expire in an hour
		at := t0.Add(time.Duration(10+i) * time.Millisecond)
		if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, at), "", "fp", wide, at); err != nil {
			t.Fatal(err)
		}
	}
	now := t0.Add(2 * time.Hour)
	got := listAll(t, s, u.ID, recording.StatusPending, now)
	if len(got) != 5 || got[3] != live[1] || got[4] != live[0] {
		t.Fatalf("pages saw %v, want all five, the long-lived %v last", got, live)
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

// A user reads as deleting exactly when the account is marked so.
func TestUserDeletingFlag(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "flag")
	if got, err := s.GetUser(ctx, u.ID); err != nil || got.Deleting {
		t.Fatalf("fresh user: deleting=%v (%v)", got.Deleting, err)
	}
	if err := s.MarkAccountDeleting(ctx, u.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetUser(ctx, u.ID); err != nil || !got.Deleting {
		t.Fatalf("marked user: deleting=%v (%v)", got.Deleting, err)
	}
}

// A sign-in keeps the profile as the provider last reported it: a field
// it leaves out is kept, a field it changes is changed, each on its own.
func TestProfileRefresh(t *testing.T) {
	s := newStore(t)
	now := time.Now()
	id := recording.Identity{Provider: "test", Subject: "profile", Email: "a@example.com", Name: "A"}
	u, _, err := s.SignIn(ctx, id, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		email, name         string
		wantEmail, wantName string
	}{
		{"", "", "a@example.com", "A"},
		{"b@example.com", "", "b@example.com", "A"},
		{"", "B", "b@example.com", "B"},
		{"b@example.com", "C", "b@example.com", "C"},
	} {
		id.Email, id.Name = step.email, step.name
		got, created, err := s.SignIn(ctx, id, now)
		if err != nil || created || got.ID != u.ID || got.Email != step.wantEmail || got.Name != step.wantName {
			t.Fatalf("sign-in with %q, %q: %+v created=%v (%v); want %q, %q", step.email, step.name, got, created, err, step.wantEmail, step.wantName)
		}
		stored, err := s.GetUser(ctx, u.ID)
		if err != nil || stored.Email != step.wantEmail || stored.Name != step.wantName {
			t.Fatalf("stored after %q, %q: %+v (%v)", step.email, step.name, stored, err)
		}
	}
}

// Tables that expire items have TTL enabled on their attribute.
func TestTTLIsEnabled(t *testing.T) {
	s := newRawStore(t)
	n := 0
	for _, tbl := range dynamo.Schema {
		if tbl.TTLAttribute == "" {
			continue
		}
		n++
		out, err := s.Client().DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(dynamo.TableName(s.prefix, tbl.Name))})
		if err != nil {
			t.Fatal(err)
		}
		d := out.TimeToLiveDescription
		if d == nil || aws.ToString(d.AttributeName) != tbl.TTLAttribute ||
			(d.TimeToLiveStatus != types.TimeToLiveStatusEnabled && d.TimeToLiveStatus != types.TimeToLiveStatusEnabling) {
			t.Errorf("table %s: TTL %+v, want enabled on %q", tbl.Name, d, tbl.TTLAttribute)
		}
	}
	if n == 0 {
		t.Fatal("no table has a TTL attribute")
	}
}
