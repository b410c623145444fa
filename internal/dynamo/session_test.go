package dynamo_test

import (
	"context"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

func TestSessions(t *testing.T) {
	s := newStore(t)
	now := time.Now().UTC().Truncate(time.Second)
	sess := recording.Session{TokenHash: "h1", UserID: "u1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, sess); err == nil {
		t.Fatal("a second session under the same hash was accepted")
	}
	got, ok, err := s.GetSession(ctx, "h1")
	if err != nil || !ok || got.UserID != "u1" || !got.ExpiresAt.Equal(sess.ExpiresAt) {
		t.Fatalf("get session: %+v %v %v", got, ok, err)
	}
	for _, h := range []string{"h2", "h3"} {
		if err := s.CreateSession(ctx, recording.Session{TokenHash: h, UserID: "u1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.DeleteSession(ctx, "h1"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.GetSession(ctx, "h1"); ok {
		t.Fatal("deleted session still found")
	}
	if err := s.DeleteUserSessions(ctx, "u1"); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"h2", "h3"} {
		if _, ok, _ := s.GetSession(ctx, h); ok {
			t.Fatalf("session %s survived DeleteUserSessions", h)
		}
	}
}

// Each recording operation with a session guard costs one DynamoDB call,
// or two made at once (list): one round trip of latency, session check
// included. Rename and trash take two in turn: the recording is read with
// the session, then written with its change in the feed, which needs the
// whole recording the write leaves.
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
	wantOps(t, c, "rename", "BatchGetItem", "TransactWriteItems")
	if err := s.BeginDelete(guarded("h-one", u.ID, now), rec, now); err != nil {
		t.Fatal(err)
	}
	wantOps(t, c, "begin delete", "TransactWriteItems")

	// The common delete: an available recording to the trash. The change
	// feed records the moved recording in the move's transaction, so the
	// recording is read first, with the session (as rename does).
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
	wantOps(t, c, "trash", "BatchGetItem", "TransactWriteItems")
	if got, err := s.GetRecording(ctx, u.ID, avail.ID); err != nil || got.Status != recording.StatusDeleted || got.PurgeAt == nil {
		t.Fatalf("after trash: %+v %v", got, err)
	}
	c.take()
	// Not available (now in the trash): nothing moves, and the read says
	// what it found, having checked the session with it.
	g := &dynamo.SessionGuard{TokenHash: "h-one", UserID: u.ID, Now: now}
	again, err := s.TrashIfAvailable(dynamo.WithSession(ctx, g), u.ID, avail.ID, now.Add(2*time.Hour))
	if err != nil || again.Moved || !again.Seen || again.Recording.Status != recording.StatusDeleted ||
		again.Recording.PurgeAt == nil || !again.Recording.PurgeAt.Equal(purgeAt) || !g.Checked() {
		t.Fatalf("trash of a trashed recording: %+v %v (session checked: %v)", again, err, g.Checked())
	}
	wantOps(t, c, "trash of a trashed recording", "BatchGetItem")
	// Without a guard: the read, and the move when it is available.
	if _, err := s.Restore(ctx, again.Recording); err != nil {
		t.Fatal(err)
	}
	c.take()
	if a, err := s.TrashIfAvailable(ctx, u.ID, avail.ID, purgeAt); err != nil || !a.Moved || a.Recording.Status != recording.StatusDeleted ||
		a.Recording.FileName != avail.FileName || !a.Recording.PurgeAt.Equal(purgeAt) {
		t.Fatalf("unguarded trash: %+v %v", a, err)
	}
	wantOps(t, c, "unguarded trash", "GetItem", "TransactWriteItems")
	if a, err := s.TrashIfAvailable(ctx, u.ID, avail.ID, now.Add(2*time.Hour)); err != nil || a.Moved || !a.Seen || !a.Recording.PurgeAt.Equal(purgeAt) {
		t.Fatalf("unguarded trash of a trashed recording: %+v %v", a, err)
	}
	wantOps(t, c, "unguarded trash of a trashed recording", "GetItem")
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
