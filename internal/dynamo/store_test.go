package dynamo_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newStore(t *testing.T) *dynamo.Store {
	t.Helper()
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	c := env.Provision(t, cfg)
	return dynamo.New(c.DynamoDB, cfg.TablePrefix)
}

var ctx = context.Background()

// Concurrent first sign-ins with one identity make exactly one user.
func TestConcurrentSignUpMakesOneUser(t *testing.T) {
	s := newStore(t)
	now := time.Now()
	id := recording.Identity{Provider: "google", Subject: "sub-1", Email: "a@example.com"}
	const n = 16
	var wg sync.WaitGroup
	users := make([]string, n)
	created := make([]bool, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			u, c, err := s.SignIn(ctx, id, now)
			users[i], created[i], errs[i] = u.ID, c, err
		}()
	}
	close(start)
	wg.Wait()
	nCreated := 0
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("sign-in %d: %v", i, errs[i])
		}
		if users[i] != users[0] {
			t.Fatalf("sign-in %d got user %s, sign-in 0 got %s", i, users[i], users[0])
		}
		if created[i] {
			nCreated++
		}
	}
	if nCreated != 1 {
		t.Fatalf("%d sign-ins reported creating the user, want exactly 1", nCreated)
	}
	u, err := s.GetUser(ctx, users[0])
	if err != nil || u.Email != "a@example.com" || len(u.Providers) != 1 || u.Providers[0] != "google" {
		t.Fatalf("user %+v, err %v", u, err)
	}
	// A later sign-in refreshes the profile.
	id.Name = "Alice"
	u2, c, err := s.SignIn(ctx, id, now)
	if err != nil || c || u2.ID != u.ID || u2.Name != "Alice" {
		t.Fatalf("second sign-in: %+v created=%v err=%v", u2, c, err)
	}
}

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

func newUser(t *testing.T, s *dynamo.Store, sub string) recording.User {
	t.Helper()
	u, _, err := s.SignIn(ctx, recording.Identity{Provider: "test", Subject: sub}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func pendingRec(uid string, size int64, now time.Time) recording.Recording {
	id := recording.NewID(now)
	exp := now.Add(time.Hour)
	return recording.Recording{UserID: uid, ID: id, FileName: "f.m4a", ContentType: "audio/mp4", SizeBytes: size,
		Status: recording.StatusPending, CreatedAt: now, ExpiresAt: &exp, DueAt: exp, Key: recording.ObjectKey(uid, id, ".m4a")}
}

// availableRec creates an upload of size bytes made at `at`, under wide
// limits, and confirms it: the recording as it is once available.
func availableRec(t *testing.T, s *dynamo.Store, uid string, size int64, at time.Time) recording.Recording {
	t.Helper()
	r, _, err := s.CreateUpload(ctx, pendingRec(uid, size, at), "", "fp", wide, at)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ConfirmUpload(ctx, r, dynamo.Object{Size: size, ContentType: "audio/mp4"}, at); err != nil || !ok {
		t.Fatalf("confirm: %v %v", ok, err)
	}
	r.Status = recording.StatusAvailable
	return r
}

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

// Paging newest first sees every recording once, even as new ones arrive.
func TestPaginationWhileInserting(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "p")
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 1 << 30, MaxRecordings: 1000, MaxPending: 1000}
	base := time.Now()
	var want []string
	add := func(i int) string {
		at := base.Add(time.Duration(i) * time.Millisecond)
		r, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 1, at), "", "fp", lim, at)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.ConfirmUpload(ctx, r, dynamo.Object{Size: 1, ContentType: "audio/mp4"}, at); err != nil {
			t.Fatal(err)
		}
		return r.ID
	}
	for i := 0; i < 25; i++ {
		want = append([]string{add(i)}, want...) // newest first
	}
	var got []string
	after := ""
	pages := 0
	for {
		items, next, err := s.ListRecordings(ctx, u.ID, recording.StatusAvailable, 10, after, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			got = append(got, it.ID)
		}
		pages++
		add(100 + pages) // a newer recording lands between pages
		if next == "" {
			break
		}
		after = next
	}
	if pages != 3 {
		t.Errorf("%d pages, want 3", pages)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pages saw\n%v\nwant\n%v", got, want)
	}
}

func TestDeleteReleasesQuotaAndHidesRecord(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "d")
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 1000, MaxRecordings: 10, MaxPending: 10}
	now := time.Now()
	r, _, _ := s.CreateUpload(ctx, pendingRec(u.ID, 40, now), "", "fp", lim, now)
	if _, err := s.ConfirmUpload(ctx, r, dynamo.Object{Size: 40, ContentType: "audio/mp4"}, now); err != nil {
		t.Fatal(err)
	}
	r.Status = recording.StatusAvailable
	if err := s.BeginDelete(ctx, r, now); err != nil {
		t.Fatal(err)
	}
	if err := s.BeginDelete(ctx, r, now); !errors.Is(err, dynamo.ErrStateChanged) {
		t.Fatalf("second BeginDelete on a stale read: %v", err)
	}
	if items, _, _ := s.ListRecordings(ctx, u.ID, recording.StatusAvailable, 10, "", now); len(items) != 0 {
		t.Fatalf("deleting recording still listed: %+v", items)
	}
	got, _ := s.GetUser(ctx, u.ID)
	if got.BytesStored != 0 || got.RecordingCount != 0 {
		t.Fatalf("counters after delete: %+v", got)
	}
	if err := s.FinishDelete(ctx, u.ID, r.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRecording(ctx, u.ID, r.ID); !errors.Is(err, recording.ErrNotFound) {
		t.Fatalf("record after FinishDelete: %v", err)
	}
}
