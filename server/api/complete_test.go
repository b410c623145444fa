package api_test

import (
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

type completedJSON struct {
	recordingJSON
	DurationMS *int64 `json:"duration_ms"`
}

// After its PUT, an app confirms a single-PUT upload at once: the answer is
// the recording's final state, not a pending one to poll.
func TestCompleteConfirmsASinglePut(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tok, _ := s.Login(t, "complete-single")
	c := newClient(t, s.APIURL, tok)
	body := audioBytes("audio/mp4", 200_000)
	up := c.create("memo.m4a", "audio/mp4", len(body))
	putBytes(t, up, body)

	for _, req := range []any{nil, "{}"} { // an empty body or an empty object; the second is a repeat
		r := c.do("POST", "/v1/recordings/"+up.Recording.ID+"/complete", req)
		wantStatus(t, r, 200)
		var rec completedJSON
		r.decode(t, &rec)
		if rec.Status != "available" || rec.DurationMS == nil || *rec.DurationMS <= 0 {
			t.Fatalf("complete with body %v: %s", req, r.body)
		}
	}
	if n, count := s.Usage(t, tok); n != int64(len(body)) || count != 1 {
		t.Errorf("usage after two completes: %d bytes, %d recordings; want %d, 1", n, count, len(body))
	}
}

// A complete that overtakes its own PUT (or whose object is not visible
// yet) is no error: the recording is still pending, and the event or the
// reconciler confirms it later.
func TestCompleteBeforeThePutAnswersPending(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tok, _ := s.Login(t, "complete-early")
	c := newClient(t, s.APIURL, tok)
	up := c.create("early.m4a", "audio/mp4", 1000)
	r := c.do("POST", "/v1/recordings/"+up.Recording.ID+"/complete", nil)
	wantStatus(t, r, 200)
	var rec recordingJSON
	r.decode(t, &rec)
	if rec.Status != "pending" {
		t.Fatalf("complete before the PUT: %s", r.body)
	}
}

// A single PUT has no parts: a list of them is a conflict the app must hear
// about (as before complete took single PUTs), not something ignored.
func TestCompleteOfASinglePutRefusesParts(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tok, _ := s.Login(t, "complete-parts")
	c := newClient(t, s.APIURL, tok)
	up := c.create("parts.m4a", "audio/mp4", 1000)
	r := c.do("POST", "/v1/recordings/"+up.Recording.ID+"/complete", map[string]any{
		"parts": []map[string]any{{"part_number": 1, "etag": "x", "sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}}})
	wantProblem(t, r, 409, "conflict")
}
