package web_test

import (
	"context"
	"testing"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/search"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// transcriptRequest is the browser's ask for a finished transcript of a
// recording it made: the test stack runs no engine, so the test stores
// what a completed job stores (segments, the completed state, the search
// index) and the page finds it through the API.
type transcriptRequest struct {
	Transcribe struct {
		UserID      string `json:"userId"`
		RecordingID string `json:"recordingId"`
	} `json:"transcribe"`
}

// pageTranscript is what the phone's offline recording is said to hold:
// the browser searches for the second line and plays from it.
var pageTranscript = []recording.Segment{
	{StartMS: 0, EndMS: 1500, Text: "hello from the phone"},
	{StartMS: 1500, EndMS: 3000, Text: "the quick brown fox"},
}

func storeTranscript(t *testing.T, s *stack.Stack, r transcriptRequest) {
	t.Helper()
	ctx := context.Background()
	uid, id := r.Transcribe.UserID, r.Transcribe.RecordingID
	const job = "browser-test-job"
	if err := s.Store.PutTranscriptSegments(ctx, uid, id, job, pageTranscript); err != nil {
		t.Fatal(err)
	}
	if err := s.Store.SetTranscriptStatus(ctx, uid, id, "", dynamo.TranscriptState{
		Status: recording.TranscriptCompleted, Job: job, Language: "en-US",
	}); err != nil {
		t.Fatal(err)
	}
	segs := make([]search.Segment, len(pageTranscript))
	for i, sg := range pageTranscript {
		segs[i] = search.Segment{StartMS: sg.StartMS, EndMS: sg.EndMS, Text: sg.Text}
	}
	if err := s.Store.IndexTranscript(ctx, uid, id, "en-US", segs); err != nil {
		t.Fatal(err)
	}
}
