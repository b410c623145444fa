package devtranscribe_test

import (
	"net/http"
	"testing"
)

// A transcript finishing changes what a recording shows (transcript_status),
// so the change feed carries it as an upsert: a device following the feed
// learns the transcript is there without listing again.
func TestTranscriptCompletionIsInTheChangeFeed(t *testing.T) {
	s := heldStack(t, nil)
	token, userID := s.Login(t, "follower")
	id := upload(t, s, token, "testdata/librivox/clip-0880.wav", map[string]any{"language": "en-US"})
	s.WaitStatus(t, token, id, "available")
	job := jobOf(t, s, userID, id)

	type change struct {
		Seq       int64          `json:"seq"`
		Op        string         `json:"op"`
		Recording map[string]any `json:"recording"`
	}
	var before struct {
		Changes []change `json:"changes"`
		Cursor  string   `json:"cursor"`
	}
	if st := s.Call(t, token, http.MethodGet, "/v1/changes?limit=500", nil, &before); st != http.StatusOK {
		t.Fatalf("changes: %d", st)
	}
	finish(t, s, userID, id, job, "speakers.json")

	var after struct {
		Changes []change `json:"changes"`
	}
	if st := s.Call(t, token, http.MethodGet, "/v1/changes?limit=500&cursor="+before.Cursor, nil, &after); st != http.StatusOK {
		t.Fatalf("changes after the cursor: %d", st)
	}
	for _, c := range after.Changes {
		if c.Op == "upsert" && c.Recording["id"] == id && c.Recording["transcript_status"] == "completed" {
			return
		}
	}
	t.Fatalf("no upsert with the completed transcript after the cursor: %+v", after.Changes)
}
