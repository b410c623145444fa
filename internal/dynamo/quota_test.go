package dynamo_test

import (
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

func TestQuotaCountsPendingAndConfirmed(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "q")
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 250, MaxRecordings: 3, MaxPending: 10}
	now := time.Now()
	r1, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 100, now), "", "fp", lim, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 100, now), "", "fp", lim, now); err != nil {
		t.Fatal(err)
	}
	// 200 reserved: 100 more would exceed 250.
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 100, now), "", "fp", lim, now); recording.ErrorCode(err) != recording.CodeQuotaExceeded {
		t.Fatalf("third upload over the byte quota: %v", err)
	}
	// Confirming moves bytes from reserved to stored: still no room.
	applied, err := s.ConfirmUpload(ctx, r1, dynamo.Object{Size: 100, ContentType: "audio/mp4", ETag: "e"}, now)
	if err != nil || !applied {
		t.Fatalf("confirm: %v %v", applied, err)
	}
	applied, err = s.ConfirmUpload(ctx, r1, dynamo.Object{Size: 100, ContentType: "audio/mp4", ETag: "e"}, now)
	if err != nil || applied {
		t.Fatalf("second confirm applied=%v err=%v; want a no-op", applied, err)
	}
	got, _ := s.GetUser(ctx, u.ID)
	if got.BytesStored != 100 || got.RecordingCount != 1 {
		t.Fatalf("counters after confirm: %+v", got)
	}
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 60, now), "", "fp", lim, now); recording.ErrorCode(err) != recording.CodeQuotaExceeded {
		t.Fatalf("upload over quota after confirm: %v", err)
	}
	// An expired reservation no longer counts.
	later := now.Add(2 * time.Hour)
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 100, later), "", "fp", lim, later); err != nil {
		t.Fatalf("upload once the pending one expired: %v", err)
	}
	// Count quota: 1 stored + 1 live pending; a third fits, a fourth not.
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, later), "", "fp", lim, later); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, later), "", "fp", lim, later); recording.ErrorCode(err) != recording.CodeQuotaExceeded {
		t.Fatalf("upload over the count quota: %v", err)
	}
}

// Concurrent creates never overshoot the quota.
func TestQuotaHoldsUnderConcurrency(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "c")
	lim := recording.Limits{MaxUploadBytes: 10, MaxBytes: 50, MaxRecordings: 1000, MaxPending: 100}
	now := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, over := 0, 0
	for i := 0; i < 12; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", lim, now)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case recording.ErrorCode(err) == recording.CodeQuotaExceeded:
				over++
			default:
				t.Errorf("create: %v", err)
			}
		}()
	}
	wg.Wait()
	if ok != 5 || over != 7 {
		t.Fatalf("%d created and %d refused; want 5 and 7", ok, over)
	}
	// What was admitted is what is reserved: 5 pending uploads of 10 bytes.
	items, _, err := s.ListRecordings(ctx, u.ID, recording.StatusPending, 100, "", now)
	if err != nil || len(items) != 5 {
		t.Fatalf("%d pending recordings (%v), want 5", len(items), err)
	}
}

// The in-flight cap is reached and refused; an expired reservation and a
// confirmed upload each free a place.
func TestInFlightUploadCapAtStore(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "cap")
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 1 << 30, MaxRecordings: 1000, MaxPending: 3}
	now := time.Now()
	var first recording.Recording
	for i := 0; i < lim.MaxPending; i++ {
		r, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, now), "", "fp", lim, now)
		if err != nil {
			t.Fatalf("upload %d of %d: %v", i+1, lim.MaxPending, err)
		}
		if i == 0 {
			first = r
		}
	}
	_, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, now), "", "fp", lim, now)
	if recording.ErrorCode(err) != recording.CodeQuotaExceeded || !strings.Contains(err.Error(), "uploads in progress") {
		t.Fatalf("upload over the in-flight cap: %v", err)
	}
	if applied, err := s.ConfirmUpload(ctx, first, dynamo.Object{Size: 1, ContentType: "audio/mp4"}, now); err != nil || !applied {
		t.Fatalf("confirm: %v %v", applied, err)
	}
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, now), "", "fp", lim, now); err != nil {
		t.Fatalf("upload after a confirmation freed a place: %v", err)
	}
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, now), "", "fp", lim, now); recording.ErrorCode(err) != recording.CodeQuotaExceeded {
		t.Fatalf("upload over the cap again: %v", err)
	}
	later := now.Add(2 * time.Hour) // every reservation has expired
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, later), "", "fp", lim, later); err != nil {
		t.Fatalf("upload once the reservations expired: %v", err)
	}
}

// A create takes the one-transaction path (no read of the user) whenever
// the bounds can admit it: an upload of exactly the whole byte quota, and
// any upload when the in-flight cap is off (MaxPending 0). One that can
// never fit (larger than the quota) is refused from one read, without a
// transaction bound to fail. Round trips are the point of the bounds
// for a create, so the paths are pinned by the calls made.
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

// A create writes its own reservation and nothing else of the pending
// map, on the fast path and on the exact one: another upload's entry, as
// stored, survives it. The exact path also resets the bounds to the
// figures it counted.
func TestCreateWritesOnlyItsOwnReservation(t *testing.T) {
	s, c, prefix := countingStore(t)
	u := newUser(t, s, "own-entry")
	now := time.Now()
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 1000, MaxRecordings: 5, MaxPending: 5}
	first, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", lim, now)
	if err != nil {
		t.Fatal(err)
	}
	users := aws.String(dynamo.TableName(prefix, dynamo.UsersTable))
	key := map[string]types.AttributeValue{"user_id": &types.AttributeValueMemberS{Value: u.ID}}
	// Mark the first entry as stored; a whole-map rewrite would drop it.
	if _, err := s.Client().UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: users, Key: key, UpdateExpression: aws.String("SET pending_uploads.#r.marker = :m"),
		ExpressionAttributeNames:  map[string]string{"#r": first.ID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":m": &types.AttributeValueMemberS{Value: "kept"}},
	}); err != nil {
		t.Fatal(err)
	}
	marker := func() any {
		out, err := s.Client().GetItem(ctx, &dynamodb.GetItemInput{TableName: users, Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		p := out.Item["pending_uploads"].(*types.AttributeValueMemberM).Value[first.ID].(*types.AttributeValueMemberM).Value
		return p["marker"]
	}
	c.take()
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", lim, now); err != nil {
		t.Fatal(err)
	}
	wantOps(t, c, "create on the bounds", "TransactWriteItems")
	if marker() == nil {
		t.Fatal("the fast path rewrote another upload's reservation")
	}
	// Bounds at the limit (as after deletes they never lowered): the fast
	// path refuses, the exact one admits and writes only its entry too.
	if _, err := s.Client().UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: users, Key: key, UpdateExpression: aws.String("SET count_bound = :five"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":five": &types.AttributeValueMemberN{Value: "5"}},
	}); err != nil {
		t.Fatal(err)
	}
	c.take()
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", lim, now); err != nil {
		t.Fatalf("create with stale bounds but room in the quota: %v", err)
	}
	wantOps(t, c, "create on the exact path", "GetItem", "TransactWriteItems", "TransactWriteItems")
	if marker() == nil {
		t.Fatal("the exact path rewrote another upload's reservation")
	}
	out, err := s.Client().GetItem(ctx, &dynamodb.GetItemInput{TableName: users, Key: key, ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	for attr, want := range map[string]string{"count_bound": "3", "pending_bound": "3", "bytes_bound": "30"} {
		if got := out.Item[attr].(*types.AttributeValueMemberN).Value; got != want {
			t.Errorf("%s = %s after the exact path, want %s", attr, got, want)
		}
	}
}

// Bounds only ever over-count, and cancelling a pending upload takes its
// share out of them: after cancelling, creates fit again on the fast path,
// up to the quota and no further.
func TestCancelledUploadsFreeTheBounds(t *testing.T) {
	s, c, _ := countingStore(t)
	u := newUser(t, s, "stale-bounds")
	now := time.Now()
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 100, MaxRecordings: 2, MaxPending: 2}
	var recs []recording.Recording
	for range 2 {
		r, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 50, now), "", "fp", lim, now)
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 50, now), "", "fp", lim, now); recording.ErrorCode(err) != recording.CodeQuotaExceeded {
		t.Fatalf("third create at the quota: %v", err)
	}
	for _, r := range recs {
		if err := s.BeginDelete(ctx, r, now); err != nil {
			t.Fatal(err)
		}
	}
	c.take()
	for i := range 2 {
		if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 50, now), "", "fp", lim, now); err != nil {
			t.Fatalf("create %d after freeing the quota: %v", i, err)
		}
		wantOps(t, c, "create after a cancel", "TransactWriteItems")
	}
	if _, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 50, now), "", "fp", lim, now); recording.ErrorCode(err) != recording.CodeQuotaExceeded {
		t.Fatalf("create over the quota again: %v", err)
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
