package dynamo_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
)

// feedLine is a change as the tests compare it: op, id and, for an upsert,
// the status and name it carries.
func feedLine(c dynamo.Change) string {
	if c.Op == dynamo.OpRemove {
		return "remove " + c.RecordingID
	}
	return fmt.Sprintf("upsert %s %s %s", c.RecordingID, c.Recording.Status, c.Recording.FileName)
}

func readFeed(t *testing.T, s *dynamo.Store, uid string, after int64) []dynamo.Change {
	t.Helper()
	var all []dynamo.Change
	for {
		page, err := s.ChangesAfter(ctx, uid, after, 2, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Changes...)
		after = page.Last
		if !page.HasMore {
			return all
		}
	}
}

func TestEveryKindOfChangeIsInTheFeedOnceInOrder(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "feed-kinds")
	now := time.Now()
	var want []string
	up := func(r recording.Recording) {
		want = append(want, fmt.Sprintf("upsert %s %s %s", r.ID, r.Status, r.FileName))
	}

	// create, confirm, rename, trash, restore, purge
	a, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", wide, now)
	if err != nil {
		t.Fatal(err)
	}
	up(a)
	if ok, err := s.ConfirmUpload(ctx, a, dynamo.Object{Size: 10, ContentType: "audio/mp4", SHA256: "abc"}, now); err != nil || !ok {
		t.Fatalf("confirm: %v %v", ok, err)
	}
	a.Status = recording.StatusAvailable
	up(a)
	if a, err = s.Rename(ctx, u.ID, a.ID, "renamed.m4a"); err != nil {
		t.Fatal(err)
	}
	up(a)
	trashed, err := s.Trash(ctx, a, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	up(trashed)
	restored, err := s.Restore(ctx, trashed)
	if err != nil {
		t.Fatal(err)
	}
	up(restored)
	moved, err := s.TrashIfAvailable(ctx, u.ID, a.ID, now.Add(time.Hour))
	if err != nil || !moved.Moved {
		t.Fatalf("trash: %+v %v", moved, err)
	}
	up(moved.Recording)
	if err := s.BeginDelete(ctx, moved.Recording, now); err != nil {
		t.Fatal(err)
	}
	want = append(want, "remove "+a.ID)
	if err := s.FinishDelete(ctx, u.ID, a.ID); err != nil {
		t.Fatal(err)
	}

	// create, reject, removal of the rejected record
	b, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", wide, now)
	if err != nil {
		t.Fatal(err)
	}
	up(b)
	if ok, err := s.RejectUpload(ctx, b, recording.RejectSizeMismatch, "too big", now); err != nil || !ok {
		t.Fatalf("reject: %v %v", ok, err)
	}
	b.Status = recording.StatusRejected
	up(b)
	if err := s.FinishDelete(ctx, u.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	want = append(want, "remove "+b.ID)

	// the reconciler's close, and its repair of a vanished object
	c, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", wide, now)
	if err != nil {
		t.Fatal(err)
	}
	up(c)
	if ok, err := s.CloseUpload(ctx, c); err != nil || !ok {
		t.Fatalf("close: %v %v", ok, err)
	}
	want = append(want, "remove "+c.ID)
	d := availableRec(t, s, u.ID, 10, now)
	want = append(want, fmt.Sprintf("upsert %s pending f.m4a", d.ID), fmt.Sprintf("upsert %s available f.m4a", d.ID))
	if ok, err := s.ObjectGone(ctx, d); err != nil || !ok {
		t.Fatalf("object gone: %v %v", ok, err)
	}
	want = append(want, "remove "+d.ID)

	got := readFeed(t, s, u.ID, 0)
	wantIncreasing(t, got, len(want))
	var lines []string
	for _, c := range got {
		lines = append(lines, feedLine(c))
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("feed:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if got[1].Recording.SHA256 != "abc" || got[1].Recording.UploadedAt == nil {
		t.Errorf("the confirm's change lacks what the confirm wrote: %+v", got[1].Recording)
	}

	// An up-to-date cursor reads nothing; one past the end is refused.
	last := got[len(got)-1].Seq
	page, err := s.ChangesAfter(ctx, u.ID, last, 100, time.Now())
	if err != nil || len(page.Changes) != 0 || page.HasMore || page.Last != last {
		t.Fatalf("empty poll: %+v %v", page, err)
	}
	if _, err := s.ChangesAfter(ctx, u.ID, last+1, 100, time.Now()); !errors.Is(err, dynamo.ErrCursorAhead) {
		t.Fatalf("a cursor past the end: %v", err)
	}
}

// A change records the recording as the write left it, even when a
// rename came between the caller's read and its write.
func TestAChangeRecordsTheRecordingAsWritten(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "feed-stale")
	now := time.Now()
	r, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", wide, now)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Rename(ctx, u.ID, r.ID, "new.m4a"); err != nil {
		t.Fatal(err)
	}
	// r still has the old name: the confirm must not record it.
	if ok, err := s.ConfirmUpload(ctx, r, dynamo.Object{Size: 10, ContentType: "audio/mp4"}, now); err != nil || ok {
		t.Fatalf("confirm from a stale read: applied %v, %v", ok, err)
	}
	fresh, err := s.GetRecording(ctx, u.ID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ConfirmUpload(ctx, fresh, dynamo.Object{Size: 10, ContentType: "audio/mp4"}, now); err != nil || !ok {
		t.Fatalf("confirm: %v %v", ok, err)
	}
	got := readFeed(t, s, u.ID, 0)
	if line := feedLine(got[len(got)-1]); line != fmt.Sprintf("upsert %s available new.m4a", r.ID) {
		t.Fatalf("last change: %s", line)
	}
}

func TestChangesPastRetentionAreGone(t *testing.T) {
	s := newStore(t)
	s.SetChangeRetention(time.Minute)
	u := newUser(t, s, "feed-retention")
	now := time.Now()
	for range 3 {
		availableRec(t, s, u.ID, 10, now)
	}
	feed := readFeed(t, s, u.ID, 0)
	wantIncreasing(t, feed, 6)
	second, last := feed[1].Seq, feed[5].Seq
	later := now.Add(2 * time.Minute)
	if _, err := s.ChangesAfter(ctx, u.ID, second, 100, later); !errors.As(err, new(*dynamo.ErrChangesExpired)) {
		t.Fatalf("a cursor behind expired changes: %v", err)
	}
	var expired *dynamo.ErrChangesExpired
	if _, err := s.ChangesAfter(ctx, u.ID, 0, 100, later); !errors.As(err, &expired) || expired.Latest != last {
		t.Fatalf("reading from the start of a truncated feed: %v", err)
	}
	if page, err := s.ChangesAfter(ctx, u.ID, last, 100, later); err != nil || len(page.Changes) != 0 {
		t.Fatalf("an up-to-date cursor after expiry: %+v %v", page, err)
	}
	if page, err := s.ChangesAfter(ctx, u.ID, second, 100, now); err != nil || len(page.Changes) != 4 {
		t.Fatalf("within retention: %+v %v", page, err)
	}
}

// A cursor's change tells whether the changes after it are kept by its
// stored expiry and by today's retention, so neither raising nor lowering
// CHANGES_RETENTION lets a read skip changes that expired.
func TestChangingTheRetentionNeverHidesAGap(t *testing.T) {
	for _, tc := range []struct {
		name          string
		written, read time.Duration
	}{
		{"raised", time.Minute, time.Hour},
		{"lowered", time.Hour, time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			s.SetChangeRetention(tc.written)
			u := newUser(t, s, "feed-retention-"+tc.name)
			now := time.Now()
			for range 2 {
				availableRec(t, s, u.ID, 10, now)
			}
			feed := readFeed(t, s, u.ID, 0)
			s.SetChangeRetention(tc.read)
			// Between the two retentions: the changes after the first
			// expired under one of them.
			if _, err := s.ChangesAfter(ctx, u.ID, feed[0].Seq, 100, now.Add(2*time.Minute)); !errors.As(err, new(*dynamo.ErrChangesExpired)) {
				t.Fatalf("a cursor behind changes expired under the %s retention: %v", tc.name, err)
			}
		})
	}
}

// A read of a feed with nothing in it is the one Query, with no read of a
// head that is not there: from the start an empty page, and a cursor is
// one the feed never gave out.
func TestAnEmptyFeedIsOneQuery(t *testing.T) {
	s, c, _ := countingStore(t)
	u := newUser(t, s, "feed-empty")
	c.take()
	if page, err := s.ChangesAfter(ctx, u.ID, 0, 100, time.Now()); err != nil || len(page.Changes) != 0 || page.HasMore {
		t.Fatalf("from the start: %+v %v", page, err)
	}
	wantOps(t, c, "reading an empty feed from the start", "Query")
	if _, err := s.ChangesAfter(ctx, u.ID, time.Now().UnixMicro(), 100, time.Now()); !errors.Is(err, dynamo.ErrCursorAhead) {
		t.Fatalf("a cursor on an empty feed: %v, want ErrCursorAhead", err)
	}
	wantOps(t, c, "reading an empty feed after a cursor", "Query")
}

// Concurrent state changes for one user each get their own seq.
func TestConcurrentChangesTakeDistinctSeqs(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "feed-race")
	now := time.Now()
	const n = 12
	errs := make(chan error, n)
	for range n {
		go func() {
			_, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", wide, now)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	wantIncreasing(t, readFeed(t, s, u.ID, 0), n)
}

func TestAccountDeletionRemovesTheFeed(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "feed-account")
	availableRec(t, s, u.ID, 10, time.Now())
	if err := s.DeleteUserRecords(ctx, u.ID, nil); err != nil {
		t.Fatal(err)
	}
	if n, err := s.LatestChange(ctx, u.ID); err != nil || n != 0 {
		t.Fatalf("latest change after deletion: %d %v", n, err)
	}
	if page, err := s.ChangesAfter(ctx, u.ID, 0, 100, time.Now()); err != nil || len(page.Changes) != 0 {
		t.Fatalf("feed after deletion: %+v %v", page, err)
	}
}

// Another process's change (the events function confirming an upload, an
// API instance elsewhere) does not cost the next change here a second
// transaction: a change's seq is its time, so a remembered head gone stale
// is still below it. Every upload's confirmation moves the head from the
// events function, and the API's next create for that user follows.
func TestAChangeAfterAnotherProcesssTakesOneTransaction(t *testing.T) {
	a, c, b, u := twoProcesses(t, "feed-elsewhere")
	now := time.Now()
	create(t, a, u, now)                       // a remembers the head
	create(t, b, u, now.Add(time.Millisecond)) // the other process moves it
	c.take()
	create(t, a, u, now.Add(2*time.Millisecond))
	wantOps(t, c, "a create after another process's", "TransactWriteItems")
	wantIncreasing(t, readFeed(t, a, u, 0), 3)
}

// A head ahead of this process's clock (another writer's clock runs ahead)
// refuses the change; the refusal carries the head, so the retry takes the
// next seq without a read between the two transactions.
func TestAHeadAheadOfTheClockIsLearnedFromTheRefusal(t *testing.T) {
	a, c, b, u := twoProcesses(t, "feed-ahead")
	now := time.Now()
	create(t, a, u, now)
	create(t, b, u, now.Add(time.Hour)) // its clock runs an hour ahead
	c.take()
	create(t, a, u, now.Add(time.Millisecond))
	wantOps(t, c, "a create behind the head", "TransactWriteItems", "TransactWriteItems")
	wantIncreasing(t, readFeed(t, a, u, 0), 3)
}

// twoProcesses is a counted store and another one on the same tables, as
// the API and the events function are, with a user and a session whose
// check goes into each create's transaction (create).
func twoProcesses(t *testing.T, name string) (*dynamo.Store, *calls, *dynamo.Store, string) {
	t.Helper()
	a, c, prefix := countingStore(t)
	env := testenv.Get(t)
	b := dynamo.New(env.Clients(env.Config(t, nil)).DynamoDB, prefix)
	u := newUser(t, a, name)
	now := time.Now()
	if err := a.CreateSession(ctx, recording.Session{TokenHash: "h-" + u.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return a, c, b, u.ID
}

func create(t *testing.T, s *dynamo.Store, uid string, at time.Time) {
	t.Helper()
	if _, _, err := s.CreateUpload(guarded("h-"+uid, uid, at), pendingRec(uid, 10, at), "", "fp", wide, at); err != nil {
		t.Fatal(err)
	}
}

// wantIncreasing checks a feed of n changes whose seqs only grow.
func wantIncreasing(t *testing.T, got []dynamo.Change, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d changes, want %d", len(got), n)
	}
	for i := 1; i < len(got); i++ {
		if got[i].Seq <= got[i-1].Seq {
			t.Fatalf("seq %d after %d", got[i].Seq, got[i-1].Seq)
		}
	}
}
