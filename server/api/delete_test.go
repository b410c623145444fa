package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// deleteJSON is the answer to DELETE /v1/recordings/{id}.
type deleteJSON struct {
	Outcome   string `json:"outcome"`
	Recording *struct {
		ID        string     `json:"id"`
		Status    string     `json:"status"`
		SizeBytes int64      `json:"size_bytes"`
		PurgeAt   *time.Time `json:"purge_at"`
	} `json:"recording"`
}

// losingProxy stands between an app and the API like a flaky mobile
// network: it forwards the first DELETE, lets the API act on it, and
// answers the app 502 instead of the API's answer. Everything else passes.
func losingProxy(t *testing.T, apiURL string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	target, err := url.Parse(apiURL)
	if err != nil {
		t.Fatal(err)
	}
	var lost atomic.Int32
	errLost := errors.New("answer lost on the way back")
	p := httputil.NewSingleHostReverseProxy(target)
	p.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodDelete && lost.CompareAndSwap(0, 1) {
			return errLost
		}
		return nil
	}
	p.ErrorHandler = func(w http.ResponseWriter, _ *http.Request, err error) {
		if !errors.Is(err, errLost) {
			t.Errorf("proxy: %v", err)
		}
		w.WriteHeader(http.StatusBadGateway)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv, &lost
}

// A delete whose answer was lost is retried by the app; the retry finds the
// recording in the trash and leaves it there, restorable with its audio. It
// used to purge it.
func TestRetriedDeleteKeepsTheRecordingRestorable(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"TRASH_RETENTION": "24h"}})
	c, uid := login(t, s, "retrier")
	body := audioBytes("audio/mp4", 7000)
	rec := c.upload("memo.m4a", "audio/mp4", body)
	proxy, lost := losingProxy(t, s.APIURL)

	// The first answer never reaches the app (502 from the network, not the
	// API, so the contract client is not the one to read it).
	first := &client{t: t, base: proxy.URL, token: c.token, http: http.DefaultClient}
	wantStatus(t, first.do("DELETE", "/v1/recordings/"+rec.ID, nil), http.StatusBadGateway)
	if lost.Load() != 1 {
		t.Fatal("the proxy did not forward the first DELETE")
	}
	retry := newClient(t, proxy.URL, c.token).do("DELETE", "/v1/recordings/"+rec.ID, nil)
	if retry.status/100 != 2 {
		t.Fatalf("retried delete: status %d: %s", retry.status, retry.body)
	}

	wantStatus(t, c.do("POST", "/v1/recordings/"+rec.ID+"/restore", nil), http.StatusOK)
	if _, err := s.Objects.Head(context.Background(), recording.ObjectKey(uid, rec.ID, ".m4a")); err != nil {
		t.Fatalf("the restored recording's object: %v", err)
	}
	if b := download(t, c, rec.ID); string(b) != string(body) {
		t.Errorf("restored bytes differ (%d vs %d)", len(b), len(body))
	}
	var answer deleteJSON
	wantStatus(t, retry, http.StatusOK)
	retry.decode(t, &answer)
	if answer.Outcome != "already_in_trash" || answer.Recording == nil || answer.Recording.Status != "deleted" {
		t.Errorf("retried delete answered %s", retry.body)
	}
}

func (c *client) deleteRecording(id, query string) deleteJSON {
	c.t.Helper()
	r := c.do("DELETE", "/v1/recordings/"+id+query, nil)
	wantStatus(c.t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		c.t.Fatalf("delete answered %q", ct)
	}
	var d deleteJSON
	r.decode(c.t, &d)
	return d
}

// Every delete says what it did: trashed, already in the trash (nothing
// changed, the same purge_at), or deleted for good (no recording).
func TestDeleteSaysWhatItDid(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"TRASH_RETENTION": "24h"}})
	c, uid := login(t, s, "outcomes")
	rec := c.upload("memo.m4a", "audio/mp4", audioBytes("audio/mp4", 7000))

	first := c.deleteRecording(rec.ID, "")
	if first.Outcome != "trashed" || first.Recording == nil || first.Recording.ID != rec.ID || first.Recording.Status != "deleted" ||
		first.Recording.SizeBytes != 7000 || first.Recording.PurgeAt == nil || first.Recording.PurgeAt.Sub(s.Clock()) < 23*time.Hour {
		t.Fatalf("first delete: %+v %+v", first, first.Recording)
	}
	var got recordingJSON
	r := c.do("GET", "/v1/recordings/"+rec.ID, nil)
	wantStatus(t, r, http.StatusOK)
	r.decode(t, &got)
	trash := c.list("deleted")
	if len(trash.Items) != 1 || !trash.Items[0].PurgeAt.Equal(*first.Recording.PurgeAt) || got.Status != "deleted" {
		t.Fatalf("the trash after the delete: %+v, GET %+v", trash, got)
	}
	for range 2 {
		again := c.deleteRecording(rec.ID, "")
		if again.Outcome != "already_in_trash" || again.Recording == nil || again.Recording.Status != "deleted" ||
			again.Recording.PurgeAt == nil || !again.Recording.PurgeAt.Equal(*first.Recording.PurgeAt) {
			t.Fatalf("delete of a recording in the trash: %+v %+v", again, again.Recording)
		}
	}
	if _, err := s.Objects.Head(context.Background(), recording.ObjectKey(uid, rec.ID, ".m4a")); err != nil {
		t.Fatalf("repeated deletes removed the object: %v", err)
	}
	// The refused trash write carried the session's check: the answer went
	// out on a checked session, with no read of its own.
	if l := s.Logged("guarded route answered without checking the session"); len(l) > 0 {
		t.Errorf("already_in_trash answered on an unchecked session: %v", l)
	}

	// Only purge deletes a recording in the trash; then it is gone.
	if d := c.deleteRecording(rec.ID, "?purge=true"); d.Outcome != "deleted" || d.Recording != nil {
		t.Fatalf("purge of a trashed recording: %+v", d)
	}
	wantProblem(t, c.do("DELETE", "/v1/recordings/"+rec.ID, nil), http.StatusNotFound, "not_found")
	other := c.upload("other.m4a", "audio/mp4", audioBytes("audio/mp4", 6000))
	if d := c.deleteRecording(other.ID, "?purge=true"); d.Outcome != "deleted" || d.Recording != nil {
		t.Fatalf("purge of an available recording: %+v", d)
	}

	// Recordings with no trash are deleted for good by a plain delete.
	pending := c.create("pending.m4a", "audio/mp4", 5000)
	if d := c.deleteRecording(pending.Recording.ID, ""); d.Outcome != "deleted" || d.Recording != nil {
		t.Fatalf("delete of a pending recording: %+v", d)
	}
	bad := c.create("bad.wav", "audio/wav", 3000)
	putBytes(t, bad, make([]byte, 3000))
	s.WaitStatus(t, c.token, bad.Recording.ID, "rejected")
	if d := c.deleteRecording(bad.Recording.ID, ""); d.Outcome != "deleted" || d.Recording != nil {
		t.Fatalf("delete of a rejected recording: %+v", d)
	}
}

// Without a trash, a plain delete of an available recording deletes it for
// good.
func TestDeleteWithoutTrashDeletesForGood(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"TRASH_RETENTION": "0s"}})
	c, _ := login(t, s, "no-trash")
	rec := c.upload("memo.m4a", "audio/mp4", audioBytes("audio/mp4", 7000))
	if d := c.deleteRecording(rec.ID, ""); d.Outcome != "deleted" || d.Recording != nil {
		t.Fatalf("delete without a trash: %+v", d)
	}
	wantProblem(t, c.do("GET", "/v1/recordings/"+rec.ID, nil), http.StatusNotFound, "not_found")
}

// Two devices delete the same recording at the same moment. The trash
// write is conditional on the recording being available, so exactly one of
// them moves it (trashed) and the other finds it there (already_in_trash),
// with the same purge_at; it is never purged, whichever way the race goes.
func TestConcurrentPlainDeletesTrashOnce(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"TRASH_RETENTION": "24h"}})
	c, uid := login(t, s, "two-devices")
	phoneToken, _ := s.Login(t, "two-devices")
	phone := newClient(t, s.APIURL, phoneToken)
	for round := range 5 {
		rec := c.upload("memo.m4a", "audio/mp4", audioBytes("audio/mp4", 7000))
		answers := make([]result, 2)
		var wg sync.WaitGroup
		for i, dev := range []*client{c, phone} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				answers[i] = dev.doAsync("DELETE", "/v1/recordings/"+rec.ID)
			}()
		}
		wg.Wait()
		outcomes := map[string]int{}
		var purgeAt []time.Time
		for _, r := range answers {
			wantStatus(t, r, http.StatusOK)
			var d deleteJSON
			r.decode(t, &d)
			outcomes[d.Outcome]++
			if d.Recording == nil || d.Recording.PurgeAt == nil {
				t.Fatalf("round %d: %s", round, r.body)
			}
			purgeAt = append(purgeAt, *d.Recording.PurgeAt)
		}
		if outcomes["trashed"] != 1 || outcomes["already_in_trash"] != 1 || !purgeAt[0].Equal(purgeAt[1]) {
			t.Fatalf("round %d: outcomes %v, purge_at %v", round, outcomes, purgeAt)
		}
		wantStatus(t, phone.do("POST", "/v1/recordings/"+rec.ID+"/restore", nil), http.StatusOK)
		if _, err := s.Objects.Head(context.Background(), recording.ObjectKey(uid, rec.ID, ".m4a")); err != nil {
			t.Fatalf("round %d: the restored recording's object: %v", round, err)
		}
	}
}

// doAsync is do for a goroutine: a failure to send is returned as status 0,
// not a t.Fatal off the test's goroutine.
func (c *client) doAsync(method, path string) result {
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		return result{body: []byte(err.Error())}
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return result{body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{body: []byte(err.Error())}
	}
	return result{status: resp.StatusCode, header: resp.Header, body: data}
}
