package dynamo_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
)

// calls records the DynamoDB operations a store makes, on the real
// emulator: a middleware on the SDK client, not a stand-in for it.
type calls struct {
	mu  sync.Mutex
	ops []string
}

func (c *calls) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops := c.ops
	c.ops = nil
	slices.Sort(ops)
	return ops
}

func countingStore(t *testing.T) (*dynamo.Store, *calls, string) {
	t.Helper()
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	c := env.Provision(t, cfg)
	rec := &calls{}
	db := dynamodb.New(c.DynamoDB.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("count", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				rec.mu.Lock()
				rec.ops = append(rec.ops, awsmiddleware.GetOperationName(ctx))
				rec.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		})
	})
	return dynamo.New(db, cfg.TablePrefix), rec, cfg.TablePrefix
}

func guarded(hash, uid string, now time.Time) context.Context {
	return dynamo.WithSession(ctx, &dynamo.SessionGuard{TokenHash: hash, UserID: uid, Now: now})
}

func wantOps(t *testing.T, c *calls, what string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := c.take(); !slices.Equal(got, want) {
		t.Fatalf("%s made %v, want %v", what, got, want)
	}
}

// Each recording operation with a session guard costs one DynamoDB call,
// or two made at once (list, rename, trash): one round trip of latency,
// session check included.
func TestGuardedOperationsTakeOneRoundTrip(t *testing.T) {
	s, c, _ := countingStore(t)
	u := newUser(t, s, "one-trip")
	now := time.Now()
	if err := s.CreateSession(ctx, recording.Session{TokenHash: "h-one", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 1000, MaxRecordings: 10, MaxPending: 10}
	c.take()

	rec, _, err := s.CreateUpload(guarded("h-one", u.ID, now), pendingRec(u.ID, 10, now), "", "fp", lim, now)
	if err != nil {
		t.Fatal(err)
	}
	wantOps(t, c, "create", "TransactWriteItems")
	if _, _, err := s.CreateUpload(guarded("h-one", u.ID, now), pendingRec(u.ID, 10, now), "key-1", "fp", lim, now); err != nil {
		t.Fatal(err)
	}
	wantOps(t, c, "create with a new Idempotency-Key", "TransactWriteItems")
	// The same key again replays: more calls, but the same recording.
	if _, replayed, err := s.CreateUpload(guarded("h-one", u.ID, now), pendingRec(u.ID, 10, now), "key-1", "fp", lim, now); err != nil || !replayed {
		t.Fatalf("replay: %v %v", replayed, err)
	}
	c.take()
	if got, err := s.GetRecording(guarded("h-one", u.ID, now), u.ID, rec.ID); err != nil || got.ID != rec.ID {
		t.Fatalf("get: %+v %v", got, err)
	}
	wantOps(t, c, "get", "BatchGetItem")
	if items, _, err := s.ListRecordings(guarded("h-one", u.ID, now), u.ID, recording.StatusPending, 10, "", now); err != nil || len(items) != 2 {
		t.Fatalf("list: %d %v", len(items), err)
	}
	wantOps(t, c, "list", "GetItem", "Query")
	if items, _, err := s.ListAllRecordings(guarded("h-one", u.ID, now), u.ID, 10, "", now); err != nil || len(items) != 2 {
		t.Fatalf("list all: %d %v", len(items), err)
	}
	wantOps(t, c, "list all", "GetItem", "Query")
	if got, err := s.Rename(guarded("h-one", u.ID, now), u.ID, rec.ID, "renamed.m4a"); err != nil || got.FileName != "renamed.m4a" || got.SizeBytes != 10 {
		t.Fatalf("rename: %+v %v", got, err)
	}
	wantOps(t, c, "rename", "GetItem", "TransactWriteItems")
	if err := s.BeginDelete(guarded("h-one", u.ID, now), rec, now); err != nil {
		t.Fatal(err)
	}
	wantOps(t, c, "begin delete", "TransactWriteItems")

	// The common delete: an available recording to the trash. A guarded
	// transaction returns no item, so the recording it answers with is read
	// at the same time; a refused one returns the item it found.
	avail, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", lim, now)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ConfirmUpload(ctx, avail, dynamo.Object{Size: 10, ContentType: "audio/mp4", ETag: "e"}, now); err != nil || !ok {
		t.Fatalf("confirm: %v %v", ok, err)
	}
	c.take()
	purgeAt := now.Add(time.Hour)
	a, err := s.TrashIfAvailable(guarded("h-one", u.ID, now), u.ID, avail.ID, purgeAt)
	if err != nil || !a.Moved || a.Recording.ID != avail.ID || a.Recording.Status != recording.StatusDeleted ||
		a.Recording.PurgeAt == nil || !a.Recording.PurgeAt.Equal(purgeAt) || a.Recording.SizeBytes != 10 {
		t.Fatalf("trash: %+v %v", a, err)
	}
	wantOps(t, c, "trash", "GetItem", "TransactWriteItems")
	if got, err := s.GetRecording(ctx, u.ID, avail.ID); err != nil || got.Status != recording.StatusDeleted || got.PurgeAt == nil {
		t.Fatalf("after trash: %+v %v", got, err)
	}
	c.take()
	// Not available (now in the trash): nothing moves, and the refused
	// write says what it found, having checked the session with it.
	g := &dynamo.SessionGuard{TokenHash: "h-one", UserID: u.ID, Now: now}
	again, err := s.TrashIfAvailable(dynamo.WithSession(ctx, g), u.ID, avail.ID, now.Add(2*time.Hour))
	if err != nil || again.Moved || !again.Seen || again.Recording.Status != recording.StatusDeleted ||
		again.Recording.PurgeAt == nil || !again.Recording.PurgeAt.Equal(purgeAt) || !g.Checked() {
		t.Fatalf("trash of a trashed recording: %+v %v (session checked: %v)", again, err, g.Checked())
	}
	wantOps(t, c, "trash of a trashed recording", "GetItem", "TransactWriteItems")
	// Without a guard: one UpdateItem, whichever way it goes.
	if _, err := s.Restore(ctx, again.Recording); err != nil {
		t.Fatal(err)
	}
	c.take()
	if a, err := s.TrashIfAvailable(ctx, u.ID, avail.ID, purgeAt); err != nil || !a.Moved || a.Recording.Status != recording.StatusDeleted ||
		a.Recording.FileName != avail.FileName || !a.Recording.PurgeAt.Equal(purgeAt) {
		t.Fatalf("unguarded trash: %+v %v", a, err)
	}
	wantOps(t, c, "unguarded trash", "UpdateItem")
	if a, err := s.TrashIfAvailable(ctx, u.ID, avail.ID, now.Add(2*time.Hour)); err != nil || a.Moved || !a.Seen || !a.Recording.PurgeAt.Equal(purgeAt) {
		t.Fatalf("unguarded trash of a trashed recording: %+v %v", a, err)
	}
	wantOps(t, c, "unguarded trash of a trashed recording", "UpdateItem")
	if a, err := s.TrashIfAvailable(ctx, u.ID, recording.NewID(now), purgeAt); err != nil || a.Moved || a.Seen {
		t.Fatalf("trash of no recording: %+v %v", a, err)
	}
}

// A session that is gone, expired or another user's refuses every guarded
// operation as unauthorized, whatever else would have failed with it: a
// quota, an unknown recording, a state changed meanwhile, a replay. The
// session's ConditionCheck is one reason among the transaction's, and it
// must win, never surface as a conflict or an internal error.
func TestGuardRefusesInvalidSessions(t *testing.T) {
	s, _, _ := countingStore(t)
	u := newUser(t, s, "guard")
	other := newUser(t, s, "guard-other")
	now := time.Now()
	for _, sess := range []recording.Session{
		{TokenHash: "h-live", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		{TokenHash: "h-revoked", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
		{TokenHash: "h-expired", UserID: u.ID, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Second)},
		{TokenHash: "h-other", UserID: other.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)},
	} {
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteSession(ctx, "h-revoked"); err != nil {
		t.Fatal(err)
	}
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 1000, MaxRecordings: 10, MaxPending: 1}
	live := guarded("h-live", u.ID, now)
	rec, _, err := s.CreateUpload(live, pendingRec(u.ID, 10, now), "key", "fp", lim, now)
	if err != nil {
		t.Fatal(err)
	}
	stale := rec
	stale.Status = recording.StatusAvailable // BeginDelete's condition fails too
	unknown := recording.NewID(now)
	for name, g := range map[string]context.Context{
		"revoked":              guarded("h-revoked", u.ID, now),
		"expired":              guarded("h-expired", u.ID, now),
		"never existed":        guarded("h-none", u.ID, now),
		"another user's":       guarded("h-other", u.ID, now),
		"live, clock past end": guarded("h-live", u.ID, now.Add(time.Hour+time.Second)),
	} {
		t.Run(name, func(t *testing.T) {
			want := func(what string, err error) {
				t.Helper()
				if recording.ErrorCode(err) != recording.CodeUnauthorized {
					t.Errorf("%s: %v, want unauthorized", what, err)
				}
			}
			_, _, err := s.CreateUpload(g, pendingRec(u.ID, 10, now), "", "fp", lim, now)
			want("create over the pending cap", err)
			_, _, err = s.CreateUpload(g, pendingRec(u.ID, 10, now), "key", "fp", lim, now)
			want("create replaying a key", err)
			_, err = s.GetRecording(g, u.ID, rec.ID)
			want("get", err)
			_, err = s.GetRecording(g, u.ID, unknown)
			want("get unknown", err)
			_, _, err = s.ListRecordings(g, u.ID, recording.StatusPending, 10, "", now)
			want("list", err)
			_, _, err = s.ListAllRecordings(g, u.ID, 10, "", now)
			want("list all", err)
			_, err = s.Rename(g, u.ID, rec.ID, "x.m4a")
			want("rename", err)
			_, err = s.Rename(g, u.ID, unknown, "x.m4a")
			want("rename unknown", err)
			want("begin delete", s.BeginDelete(g, rec, now))
			want("begin delete of a stale record", s.BeginDelete(g, stale, now))
			_, err = s.TrashIfAvailable(g, u.ID, rec.ID, now.Add(time.Hour))
			want("trash of a pending record", err)
		})
	}
	// Nothing was changed by the refused calls.
	got, err := s.GetRecording(live, u.ID, rec.ID)
	if err != nil || got.Status != recording.StatusPending || got.FileName != rec.FileName {
		t.Fatalf("after refused calls: %+v %v", got, err)
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

// The guard is fail-safe: a store call that does not check the session in
// its own request (here GetUser) reads it first when the context carries a
// guard not yet checked, so an operation added without the in-request
// check costs a round trip more, never serves a revoked session.
func TestUncheckedCallsUnderAGuardReadTheSessionFirst(t *testing.T) {
	s, c, _ := countingStore(t)
	u := newUser(t, s, "fail-safe")
	now := time.Now()
	if err := s.CreateSession(ctx, recording.Session{TokenHash: "h-safe", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	c.take()
	g := guarded("h-safe", u.ID, now)
	if got, err := s.GetUser(g, u.ID); err != nil || got.ID != u.ID {
		t.Fatalf("get user under a live session: %+v %v", got, err)
	}
	wantOps(t, c, "get user, guarded", "GetItem", "GetItem")
	// Checked once, the guard costs nothing more.
	if _, err := s.GetUser(g, u.ID); err != nil {
		t.Fatal(err)
	}
	wantOps(t, c, "get user, guard checked", "GetItem")
	if err := s.DeleteSession(ctx, "h-safe"); err != nil {
		t.Fatal(err)
	}
	c.take()
	if _, err := s.GetUser(guarded("h-safe", u.ID, now), u.ID); recording.ErrorCode(err) != recording.CodeUnauthorized {
		t.Fatalf("get user under a revoked session: %v", err)
	}
	wantOps(t, c, "get user, revoked", "GetItem")
}
