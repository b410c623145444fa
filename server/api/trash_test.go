package api_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

type listJSON struct {
	Items []struct {
		ID      string     `json:"id"`
		Status  string     `json:"status"`
		PurgeAt *time.Time `json:"purge_at"`
	} `json:"items"`
}

func (c *client) list(status string) listJSON {
	c.t.Helper()
	r := c.do("GET", "/v1/recordings?status="+status, nil)
	wantStatus(c.t, r, 200)
	var l listJSON
	r.decode(c.t, &l)
	return l
}

func download(t *testing.T, c *client, id string) []byte {
	t.Helper()
	rec := c.waitAvailable(id)
	resp, err := http.Get(rec.Download.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return b
}

// A deleted recording waits in the trash, restorable as it was,
// until it is purged by the user or, after TRASH_RETENTION, the reconciler.
func TestTrash(t *testing.T) {
	t.Parallel()
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock, Env: map[string]string{"TRASH_RETENTION": "24h"}})
	c, uid := login(t, s, "trasher")
	body := audioBytes("audio/mp4", 7000)
	kept := c.upload("keep.m4a", "audio/mp4", body)
	other := c.upload("other.m4a", "audio/mp4", audioBytes("audio/mp4", 6000))
	usage := func() [2]int64 { b, n := s.Usage(t, c.token); return [2]int64{b, n} }
	before := usage()

	wantStatus(t, c.do("DELETE", "/v1/recordings/"+kept.ID, nil), 200)
	if l := c.list("available"); len(l.Items) != 1 || l.Items[0].ID != other.ID {
		t.Errorf("the normal list still shows the trashed recording: %+v", l)
	}
	trash := c.list("deleted")
	if len(trash.Items) != 1 || trash.Items[0].ID != kept.ID || trash.Items[0].PurgeAt == nil ||
		trash.Items[0].PurgeAt.Sub(s.Clock()) < 23*time.Hour {
		t.Fatalf("trash: %+v", trash)
	}
	if usage() != before {
		t.Errorf("the trash does not count against the quota: %v, was %v", usage(), before)
	}
	var got recordingJSON
	r := c.do("GET", "/v1/recordings/"+kept.ID, nil)
	wantStatus(t, r, 200)
	r.decode(t, &got)
	if got.Status != "deleted" || got.Download != nil {
		t.Errorf("a trashed recording: %+v", got)
	}

	// Restore: the same id, the same bytes, the counters untouched.
	r = c.do("POST", "/v1/recordings/"+kept.ID+"/restore", nil)
	wantStatus(t, r, 200)
	if b := download(t, c, kept.ID); string(b) != string(body) {
		t.Errorf("restored bytes differ (%d vs %d)", len(b), len(body))
	}
	if usage() != before || len(c.list("deleted").Items) != 0 {
		t.Errorf("after restore: usage %v, trash %+v", usage(), c.list("deleted"))
	}
	wantProblem(t, c.do("POST", "/v1/recordings/"+kept.ID+"/restore", nil), 404, "not_found")

	// Purge at once.
	wantStatus(t, c.do("DELETE", "/v1/recordings/"+other.ID+"?purge=true", nil), 200)
	wantProblem(t, c.do("GET", "/v1/recordings/"+other.ID, nil), 404, "not_found")
	if b, n := s.Usage(t, c.token); b != before[0]-6000 || n != 1 {
		t.Errorf("usage after purge = %d, %d", b, n)
	}
	wantProblem(t, c.do("DELETE", "/v1/recordings/"+other.ID+"?purge=maybe", nil), 400, "validation_failed")

	// Purge by the reconciler once the retention is over; not before.
	wantStatus(t, c.do("DELETE", "/v1/recordings/"+kept.ID, nil), 200)
	clock.Advance(23 * time.Hour)
	if _, err := s.Keeper.Reconcile(context.Background(), 100); err != nil {
		t.Fatal(err)
	}
	if len(c.list("deleted").Items) != 1 {
		t.Fatal("purged before its retention was over")
	}
	clock.Advance(2 * time.Hour)
	rep, err := s.Keeper.Reconcile(context.Background(), 100)
	if err != nil || rep.Outcomes["purged_from_trash"] != 1 {
		t.Fatalf("reconcile: %+v %v", rep, err)
	}
	if _, err := s.Objects.Head(context.Background(), recording.ObjectKey(uid, kept.ID, ".m4a")); err == nil {
		t.Error("the purged recording's object is still stored")
	}
	if b, n := s.Usage(t, c.token); b != 0 || n != 0 || len(c.list("deleted").Items) != 0 {
		t.Errorf("after the purge: usage %d, %d; trash %+v", b, n, c.list("deleted"))
	}
}

// Account deletion does not stop at the trash: everything goes.
func TestAccountDeletionEmptiesTheTrash(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	c, uid := login(t, s, "trash-leaver")
	rec := c.upload("a.m4a", "audio/mp4", audioBytes("audio/mp4", 6000))
	wantStatus(t, c.do("DELETE", "/v1/recordings/"+rec.ID, nil), 200)
	wantStatus(t, c.do("DELETE", "/v1/me", nil), 204)
	if left := leftovers(t, s, uid); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
}
