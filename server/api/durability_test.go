package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/voicerec/backend/internal/lifecycle"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// Regression tests for "nothing lost", one per reported case.

// captured is a bucket's notifications held back from the events handler:
// the test decides when (and whether) each is delivered.
type captured struct {
	mu  sync.Mutex
	evs []events.S3Event
}

func captureEvents(t *testing.T, s *stack.Stack) *captured {
	c := &captured{}
	s.Env.OnEvent(t, s.Config.Bucket, func(_ context.Context, ev events.S3Event) error {
		c.mu.Lock()
		c.evs = append(c.evs, ev)
		c.mu.Unlock()
		return nil
	})
	return c
}

func (c *captured) waitFor(t *testing.T, id string) events.S3Event {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		c.mu.Lock()
		for _, ev := range c.evs {
			if k := ev.Records[0].S3.Object.URLDecodedKey; len(k) > 0 && keyIsFor(k, id) {
				c.mu.Unlock()
				return ev
			}
		}
		c.mu.Unlock()
	}
	t.Fatalf("no event for %s", id)
	return events.S3Event{}
}

func keyIsFor(key, id string) bool {
	_, rid, ok := recording.ParseKey(key)
	return ok && rid == id
}

// reconcileUntilQuiet runs passes until one changes nothing.
func reconcileUntilQuiet(t *testing.T, s *stack.Stack) {
	t.Helper()
	for range 10 {
		rep, err := s.Keeper.Reconcile(context.Background(), 10_000)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Fixed() == 0 && rep.Failed == 0 && rep.Accounts == 0 {
			return
		}
	}
	t.Fatal("the reconciler did not settle in 10 passes")
}

func objectExists(t *testing.T, s *stack.Stack, uid, id string) bool {
	t.Helper()
	_, err := s.Objects.Head(context.Background(), recording.ObjectKey(uid, id, ".m4a"))
	return err == nil
}

func login(t *testing.T, s *stack.Stack, sub string) (*client, string) {
	tok, uid := s.Login(t, sub)
	return newClient(t, s.APIURL, tok), uid
}

// Case 1: an event that never arrives no longer loses the recording. The
// reconciler finds the pending record once its window and grace are over,
// sees the object, and confirms it; replaying the original event afterwards
// changes nothing (it used to delete the user's audio as an "orphan").
func TestLostEventIsReconciled(t *testing.T) {
	t.Parallel()
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock})
	evs := captureEvents(t, s) // delivered to nobody: the event is lost
	c, uid := login(t, s, "lost-event")
	body := audioBytes("audio/mp4", 6000)
	up := c.create("lecture.m4a", "audio/mp4", len(body))
	putBytes(t, up, body)
	ev := evs.waitFor(t, up.Recording.ID)

	// Within its window nothing is decided yet.
	reconcileUntilQuiet(t, s)
	c.get(up.Recording.ID, "pending")

	clock.Advance(s.Config.PendingUploadTTL + s.Config.UploadGrace + time.Minute)
	reconcileUntilQuiet(t, s)
	rec := c.waitAvailable(up.Recording.ID)
	if rec.SizeBytes != int64(len(body)) {
		t.Fatalf("reconciled recording: %+v", rec)
	}
	if err := s.Events.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	c.waitAvailable(up.Recording.ID)
	if !objectExists(t, s, uid, up.Recording.ID) {
		t.Fatal("replaying the original event deleted the audio")
	}
	if b, n := s.Usage(t, c.token); b != int64(len(body)) || n != 1 {
		t.Errorf("usage = %d bytes, %d recordings", b, n)
	}
}

// A pending upload that never happens is closed by the reconciler after its
// window and grace, its reservation released; not before.
func TestAbandonedUploadIsClosedAfterItsWindow(t *testing.T) {
	t.Parallel()
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock})
	c, _ := login(t, s, "abandoner")
	up := c.create("never.m4a", "audio/mp4", 1000)
	clock.Advance(s.Config.PendingUploadTTL)
	reconcileUntilQuiet(t, s)
	c.get(up.Recording.ID, "pending")
	clock.Advance(s.Config.UploadGrace + time.Second)
	reconcileUntilQuiet(t, s)
	wantProblem(t, c.do("GET", "/v1/recordings/"+up.Recording.ID, nil), 404, "not_found")
	q := c.quota()
	if q.BytesReserved != 0 || q.UploadsInFlight != 0 {
		t.Errorf("quota after close: %+v", q)
	}
}

// Case 2: a create replayed near the end of the pending window gets a URL
// that expires with the window, never after it.
func TestReplayedCreateURLNeverOutlivesTheWindow(t *testing.T) {
	t.Parallel()
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock})
	c, _ := login(t, s, "late-replayer")
	first := c.create("late.m4a", "audio/mp4", 10, "Idempotency-Key", "late-1")
	clock.Advance(s.Config.PendingUploadTTL - 2*time.Minute)
	r := c.do("POST", "/v1/recordings", map[string]any{"file_name": "late.m4a", "content_type": "audio/mp4", "size_bytes": 10},
		"Idempotency-Key", "late-1")
	wantStatus(t, r, 201)
	var replay createJSON
	r.decode(t, &replay)
	if replay.Recording.ID != first.Recording.ID {
		t.Fatalf("replay made another recording")
	}
	if replay.Upload.ExpiresAt.After(*replay.Recording.ExpiresAt) {
		t.Errorf("replayed URL expires %s, after the record's window %s", replay.Upload.ExpiresAt, replay.Recording.ExpiresAt)
	}
	u, _ := url.Parse(replay.Upload.URL)
	if secs, _ := strconv.Atoi(u.Query().Get("X-Amz-Expires")); secs > 120 {
		t.Errorf("replayed URL signed for %ds; the window has 120s left", secs)
	}
	// Past the window, a replay issues no URL at all.
	clock.Advance(3 * time.Minute)
	r = c.do("POST", "/v1/recordings", map[string]any{"file_name": "late.m4a", "content_type": "audio/mp4", "size_bytes": 10},
		"Idempotency-Key", "late-1")
	wantStatus(t, r, 200)
	if r.header.Get("Idempotent-Replayed") != "true" {
		t.Error("replay not marked")
	}
	var after map[string]any
	r.decode(t, &after)
	if _, has := after["upload"]; has {
		t.Errorf("a URL was issued past the window: %s", r.body)
	}
}

// Case 3: replaying the create of an available recording answers the
// recording as it is, with no URL that could overwrite its audio.
func TestReplayOfAvailableRecordingIssuesNoURL(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, _ := login(t, s, "replayer-available")
	body := audioBytes("audio/mp4", 6000)
	up := c.create("done.m4a", "audio/mp4", len(body), "Idempotency-Key", "done-1")
	putBytes(t, up, body)
	c.waitAvailable(up.Recording.ID)
	r := c.do("POST", "/v1/recordings", map[string]any{"file_name": "done.m4a", "content_type": "audio/mp4", "size_bytes": len(body)},
		"Idempotency-Key", "done-1")
	wantStatus(t, r, 200)
	var got map[string]map[string]any
	r.decode(t, &got)
	if got["upload"] != nil || got["recording"]["status"] != "available" || got["recording"]["id"] != up.Recording.ID {
		t.Errorf("replay of an available recording: %s", r.body)
	}
}

// Case 4: an account deletion interrupted by a storage fault no longer
// locks the user out: the old session sees the deletion under way, and the
// next sign-in finishes it and signs the user up afresh.
func TestInterruptedAccountDeletionFinishesOnNextLogin(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t)
	c := newClient(t, f.s.APIURL, f.token)
	up := f.uploaded(t, "keep-or-not.m4a")

	f.s3.Down()
	r := c.do("DELETE", "/v1/me", nil)
	if r.status != 503 && r.status != 504 {
		t.Fatalf("DELETE /v1/me with S3 down: %d %s", r.status, r.body)
	}
	f.s3.Up(t)
	r = c.do("GET", "/v1/me", nil)
	wantProblem(t, r, 409, "account_deleting")
	if r.header.Get("Retry-After") == "" {
		t.Error("account_deleting without Retry-After")
	}
	tok, _ := f.s.Login(t, "fault-user")
	fresh := newClient(t, f.s.APIURL, tok)
	var me struct {
		RecordingCount int64 `json:"recording_count"`
	}
	r = fresh.do("GET", "/v1/me", nil)
	wantStatus(t, r, 200)
	r.decode(t, &me)
	if me.RecordingCount != 0 {
		t.Errorf("the new account inherited %d recordings", me.RecordingCount)
	}
	if _, err := f.s.Objects.Head(context.Background(), recording.ObjectKey(f.userID, up.Recording.ID, ".m4a")); err == nil {
		t.Error("object survived the deletion")
	}
	wantStatus(t, c.do("GET", "/v1/me", nil), 401) // the old session went with the account
}

// Case 5: a recording delete interrupted by a storage fault is finished by
// the reconciler: no object stays behind a record nobody can see.
func TestInterruptedRecordingDeleteIsFinished(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t)
	c := newClient(t, f.s.APIURL, f.token)
	up := f.uploaded(t, "half-deleted.m4a")
	key := recording.ObjectKey(f.userID, up.Recording.ID, ".m4a")

	f.s3.Down()
	r := c.do("DELETE", "/v1/recordings/"+up.Recording.ID+"?purge=true", nil)
	if r.status != 503 && r.status != 504 {
		t.Fatalf("DELETE with S3 down: %d %s", r.status, r.body)
	}
	f.s3.Up(t)
	wantProblem(t, c.do("GET", "/v1/recordings/"+up.Recording.ID, nil), 404, "not_found")
	if b, n := f.s.Usage(t, f.token); b != 0 || n != 0 {
		t.Errorf("usage after delete = %d, %d", b, n)
	}
	rep, err := f.s.Keeper.Reconcile(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcomes[lifecycle.OutcomeDeleteFinished] != 1 {
		t.Errorf("reconcile pass: %+v", rep)
	}
	if _, err := f.s.Objects.Head(context.Background(), key); err == nil {
		t.Error("the object outlived its deleted recording")
	}
	if _, err := f.s.Store.GetRecording(context.Background(), f.userID, up.Recording.ID); err == nil {
		t.Error("the deleting record is still there")
	}
}

// Case 7: reservations are visible, and deleting a pending upload releases
// its reservation at once.
func TestQuotaShowsReservations(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"QUOTA_MAX_BYTES": "5000", "MAX_UPLOAD_BYTES": "5000"}})
	c, _ := login(t, s, "reserver")
	var ids []string
	for range 3 {
		ids = append(ids, c.create("a.m4a", "audio/mp4", 1000).Recording.ID)
	}
	q := c.quota()
	if q.BytesLimit != 5000 || q.BytesUsed != 0 || q.BytesReserved != 3000 || q.UploadsInFlight != 3 || q.UploadsInFlightLimit != 100 {
		t.Fatalf("quota with 3 abandoned uploads: %+v", q)
	}
	wantStatus(t, c.do("DELETE", "/v1/recordings/"+ids[0], nil), 200)
	if q := c.quota(); q.BytesReserved != 2000 || q.UploadsInFlight != 2 {
		t.Errorf("quota after deleting one pending upload: %+v", q)
	}
	wantProblem(t, c.do("POST", "/v1/recordings", map[string]any{"file_name": "b.m4a", "content_type": "audio/mp4", "size_bytes": 3001}), 403, "quota_exceeded")
}

type quotaJSON struct {
	BytesLimit           int64 `json:"bytes_limit"`
	BytesUsed            int64 `json:"bytes_used"`
	BytesReserved        int64 `json:"bytes_reserved"`
	UploadsInFlight      int   `json:"uploads_in_flight"`
	UploadsInFlightLimit int   `json:"uploads_in_flight_limit"`
}

func (c *client) quota() quotaJSON {
	c.t.Helper()
	r := c.do("GET", "/v1/me", nil)
	wantStatus(c.t, r, 200)
	var me struct {
		Quota *quotaJSON `json:"quota"`
	}
	r.decode(c.t, &me)
	if me.Quota == nil {
		c.t.Fatalf("/v1/me has no quota: %s", r.body)
	}
	return *me.Quota
}

// Integrity: a declared sha256 is signed into the upload URL, so storage
// refuses another body of the same length; the recording shows the digest
// storage holds.
func TestDeclaredChecksumIsEnforcedByStorage(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, _ := login(t, s, "checksummer")
	body := audioBytes("audio/mp4", 6000)
	sum := sha256.Sum256(body)
	digest := base64.StdEncoding.EncodeToString(sum[:])
	r := c.do("POST", "/v1/recordings", map[string]any{"file_name": "x.m4a", "content_type": "audio/mp4", "size_bytes": len(body), "sha256": digest})
	wantStatus(t, r, 201)
	var up createJSON
	r.decode(t, &up)
	if up.Upload.Headers["x-amz-checksum-sha256"] != digest {
		t.Fatalf("upload headers %v lack the checksum", up.Upload.Headers)
	}
	// Another body of the same length, different by construction: two
	// audioBytes calls share their one-byte seed once in 256 runs, and then
	// the PUT rightly succeeds.
	other := slices.Clone(body)
	other[len(other)-1] ^= 0xff
	if st := stack.Put(t, stack.Signed{Method: up.Upload.Method, URL: up.Upload.URL, Headers: up.Upload.Headers}, other); st != http.StatusBadRequest {
		t.Fatalf("PUT of another body with the declared digest: %d, want 400", st)
	}
	putBytes(t, up, body)
	c.waitAvailable(up.Recording.ID)
	var got struct {
		SHA256 string `json:"sha256"`
	}
	c.do("GET", "/v1/recordings/"+up.Recording.ID, nil).decode(t, &got)
	if got.SHA256 != digest {
		t.Errorf("recording sha256 = %q, want %q", got.SHA256, digest)
	}
	wantProblem(t, c.do("POST", "/v1/recordings", map[string]any{"file_name": "x.m4a", "content_type": "audio/mp4", "size_bytes": 1, "sha256": "abc"}), 400, "validation_failed")
}

// A phone backing up a folder creates many uploads at
// once; every one of 32 parallel creates for one user succeeds.
func TestParallelCreatesForOneUserAllSucceed(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, _ := login(t, s, "folder-backup")
	var wg sync.WaitGroup
	statuses := make([]int, 32)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.do("POST", "/v1/recordings", map[string]any{"file_name": "f" + strconv.Itoa(i) + ".m4a", "content_type": "audio/mp4", "size_bytes": 10})
			statuses[i] = r.status
		}()
	}
	wg.Wait()
	for i, st := range statuses {
		if st != 201 {
			t.Errorf("create %d: %d", i, st)
		}
	}
	if q := c.quota(); q.UploadsInFlight != 32 {
		t.Errorf("uploads in flight = %d, want 32", q.UploadsInFlight)
	}
}

// A timestamp that cannot be listed back is refused.
func TestRecordedAtOutOfRangeIsRefused(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, _ := login(t, s, "time-traveller")
	for _, ts := range []string{"9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00Z", time.Now().Add(72 * time.Hour).Format(time.RFC3339)} {
		wantProblem(t, c.do("POST", "/v1/recordings", map[string]any{"file_name": "t.m4a", "content_type": "audio/mp4", "size_bytes": 1, "recorded_at": ts}),
			400, "validation_failed")
	}
	wantStatus(t, c.do("POST", "/v1/recordings", map[string]any{"file_name": "t.m4a", "content_type": "audio/mp4", "size_bytes": 1,
		"recorded_at": time.Now().Add(-time.Hour).Format(time.RFC3339)}), 201)
}
