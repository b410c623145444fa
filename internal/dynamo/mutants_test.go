package dynamo_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

// Tests for the survivors of the mutation run on the merged code (session
// guard, quota bounds, direct decoder, ListAllRecordings).

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

// A create takes the one-transaction path (no read of the user) whenever
// the bounds can admit it: an upload of exactly the whole byte quota, and
// any upload when the in-flight cap is off (MaxPending 0). One that can
// never fit (larger than the quota) is refused from one read, without a
// transaction bound to fail. Round trips are the point of the bounds,
// so the paths are pinned by the calls made.
func TestCreatePathByQuotaEdges(t *testing.T) {
	s, c, _ := countingStore(t)
	for _, tc := range []struct {
		name    string
		size    int64
		lim     recording.Limits
		wantErr recording.Code
		ops     []string
	}{
		{"the whole byte quota", 100, recording.Limits{MaxBytes: 100, MaxRecordings: 10, MaxPending: 10}, "", []string{"TransactWriteItems"}},
		{"no in-flight cap", 10, recording.Limits{MaxBytes: 100, MaxRecordings: 10}, "", []string{"TransactWriteItems"}},
		{"more than the byte quota", 101, recording.Limits{MaxBytes: 100, MaxRecordings: 10, MaxPending: 10}, recording.CodeQuotaExceeded, []string{"GetItem"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUser(t, s, "edge-"+tc.name)
			now := time.Now()
			c.take()
			_, _, err := s.CreateUpload(ctx, pendingRec(u.ID, tc.size, now), "", "fp", tc.lim, now)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && recording.ErrorCode(err) != tc.wantErr {
				t.Fatalf("create: %v, want %q", err, tc.wantErr)
			}
			wantOps(t, c, "create", tc.ops...)
		})
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

// Under a live session guard the session's ConditionCheck is the
// transaction's first item, so the other items' failures are found one
// place further: a create over the quota is still refused as over the
// quota (not retried until it reads as contention), with or without an
// Idempotency-Key.
func TestGuardedCreateOverTheQuota(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "guarded-quota")
	now := time.Now()
	if err := s.CreateSession(ctx, recording.Session{TokenHash: "h-quota", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	lim := recording.Limits{MaxBytes: 1000, MaxRecordings: 1, MaxPending: 10}
	if _, _, err := s.CreateUpload(guarded("h-quota", u.ID, now), pendingRec(u.ID, 1, now), "", "fp", lim, now); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"", "key-over"} {
		_, _, err := s.CreateUpload(guarded("h-quota", u.ID, now), pendingRec(u.ID, 1, now), key, "fp", lim, now)
		if recording.ErrorCode(err) != recording.CodeQuotaExceeded {
			t.Fatalf("guarded create over the quota (key %q): %v, want %s", key, err, recording.CodeQuotaExceeded)
		}
	}
}

// The exact path moves the quota version forward by one like every other
// change: a version that went back could match an older read again and
// let a create based on it through.
func TestExactPathMovesTheQuotaVersionForward(t *testing.T) {
	s := newRawStore(t)
	u := newUser(t, s.Store, "exact-version")
	lim := recording.Limits{MaxBytes: 1000, MaxRecordings: 5, MaxPending: 5}
	now := time.Now()
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, now), "", "fp", lim, now); err != nil {
		t.Fatal(err)
	}
	// Bounds at the limit: the fast path refuses, the exact one admits.
	if _, err := s.Client().UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(dynamo.TableName(s.prefix, dynamo.UsersTable)),
		Key:              map[string]types.AttributeValue{"user_id": &types.AttributeValueMemberS{Value: u.ID}},
		UpdateExpression: aws.String("SET count_bound = :five"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":five": &types.AttributeValueMemberN{Value: strconv.FormatInt(lim.MaxRecordings, 10)},
		},
	}); err != nil {
		t.Fatal(err)
	}
	version := func() float64 {
		return s.item(t, dynamo.UsersTable, map[string]string{"user_id": u.ID})["quota_version"].(float64)
	}
	before := version()
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, now), "", "fp", lim, now); err != nil {
		t.Fatal(err)
	}
	if after := version(); after != before+1 {
		t.Fatalf("quota version %v after the exact path, was %v; want one more", after, before)
	}
}

// The listing of every status bounds the Queries behind one page: when
// trash fills them, the page is returned short with a cursor, and each
// Query asks only for what the page still needs, so the page ends where
// its fourth Query stopped. The cursor then leads on to the rest.
func TestListAllPageEndsAfterItsQueryBound(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "listall-bound")
	now := time.Now().UTC()
	// Oldest first: two live, eight in the trash, one live.
	plan := []bool{true, true, false, false, false, false, false, false, false, false, true}
	var live []string
	for i, keep := range plan {
		r := availableRec(t, s, u.ID, 1, now.Add(time.Duration(i)*time.Millisecond))
		if keep {
			live = append([]string{r.ID}, live...)
			continue
		}
		if _, err := s.Trash(ctx, r, now.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	// Limit 2: Queries of 3, 2, 2 and 2 items read the newest live one
	// and the eight in the trash, then stop.
	var pages [][]string
	after := ""
	for range 5 {
		items, next, err := s.ListAllRecordings(ctx, u.ID, 2, after, now)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		pages = append(pages, ids)
		if next == "" {
			break
		}
		after = next
	}
	if len(pages) != 2 || !slices.Equal(pages[0], live[:1]) || !slices.Equal(pages[1], live[1:]) {
		t.Fatalf("pages %v, want [%v %v]", pages, live[:1], live[1:])
	}
}

// A page of the listing of every status that holds exactly what is left
// carries no cursor: the app would otherwise ask for an empty page.
func TestListAllLastFullPageHasNoCursor(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "listall-full")
	now := time.Now()
	for i := range 2 {
		at := now.Add(time.Duration(i) * time.Millisecond)
		if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, at), "", "fp", wide, at); err != nil {
			t.Fatal(err)
		}
	}
	items, next, err := s.ListAllRecordings(ctx, u.ID, 2, "", now)
	if err != nil || len(items) != 2 || next != "" {
		t.Fatalf("%d items, next %q (%v); want 2 and no cursor", len(items), next, err)
	}
}

// Cancelling a pending upload whose reservation was already pruned (an
// exact-path create dropped it as expired) still works: the cancel
// releases without the reservation instead of failing as a state change
// forever, and leaves the other upload's reservation alone.
func TestCancelAfterTheReservationWasPruned(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "pruned")
	lim := recording.Limits{MaxBytes: 1000, MaxRecordings: 10, MaxPending: 1}
	t0 := time.Now()
	old := pendingRec(u.ID, 5, t0)
	if _, _, err := s.CreateUpload(ctx, old, "", "fp", lim, t0); err != nil {
		t.Fatal(err)
	}
	// Past the first reservation's end: the cap sends this create to the
	// exact path, which prunes the expired reservation.
	t1 := t0.Add(2 * time.Hour)
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 7, t1), "", "fp", lim, t1); err != nil {
		t.Fatal(err)
	}
	if err := s.BeginDelete(ctx, old, t1); err != nil {
		t.Fatalf("cancel of an upload whose reservation was pruned: %v", err)
	}
	got, err := s.GetRecording(ctx, u.ID, old.ID)
	if err != nil || got.Status != recording.StatusDeleting {
		t.Fatalf("cancelled record %q (%v), want %q", got.Status, err, recording.StatusDeleting)
	}
	user, err := s.GetUser(ctx, u.ID)
	if err != nil || user.UploadsInFlight != 1 || user.BytesReserved != 7 {
		t.Fatalf("reservations %d of %d bytes (%v), want the other upload's 1 of 7", user.UploadsInFlight, user.BytesReserved, err)
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

// A guarded transaction that succeeded has checked the session, and the
// guard says so: otherwise the API, which answers a route without a check
// only after reading the session itself, pays a round trip more.
func TestSuccessfulGuardedWriteMarksTheGuardChecked(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "checked")
	now := time.Now()
	if err := s.CreateSession(ctx, recording.Session{TokenHash: "h-checked", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	g := &dynamo.SessionGuard{TokenHash: "h-checked", UserID: u.ID, Now: now}
	if _, _, err := s.CreateUpload(dynamo.WithSession(context.Background(), g), pendingRec(u.ID, 1, now), "", "fp", wide, now); err != nil {
		t.Fatal(err)
	}
	if !g.Checked() {
		t.Fatal("a guarded create went through but the guard is not marked checked")
	}
}
