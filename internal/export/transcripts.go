package export

import (
	"context"
	"encoding/json"
)

// Transcript is what the archive carries beside a recording's audio: the
// text, and the timed segments as the transcript store keeps them.
type Transcript struct {
	Text     string
	Segments json.RawMessage
}

// TranscriptSource finds a recording's transcript. The transcript store is
// built elsewhere; the composition root hands it in when it exists. ok is
// false for a recording without one.
type TranscriptSource interface {
	Transcript(ctx context.Context, userID, recordingID string) (t Transcript, ok bool, err error)
}

// NoTranscripts is the source of a deployment without transcripts.
type NoTranscripts struct{}

// Transcript finds none.
func (NoTranscripts) Transcript(context.Context, string, string) (Transcript, bool, error) {
	return Transcript{}, false, nil
}
