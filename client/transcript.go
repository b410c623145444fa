package client

import (
	"context"
	"net/http"
)

// Transcript statuses.
const (
	TranscriptPending     = "pending"
	TranscriptCompleted   = "completed"
	TranscriptFailed      = "failed"
	TranscriptSkipped     = "skipped"
	TranscriptUnsupported = "unsupported"
)

// Segment is a stretch of speech in a transcript.
type Segment struct {
	StartMS int64  `json:"start_ms"`
	EndMS   int64  `json:"end_ms"`
	Text    string `json:"text"`
	Speaker string `json:"speaker,omitempty"`
}

// Transcript is what was said in a recording. Status is empty when no
// transcript was ever started; Reason and Detail say why one is skipped,
// failed or unsupported.
type Transcript struct {
	RecordingID string    `json:"recording_id"`
	Status      string    `json:"status,omitempty"`
	Language    string    `json:"language,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	Detail      string    `json:"detail,omitempty"`
	Text        string    `json:"text"`
	Segments    []Segment `json:"segments"`
}

// Transcript reads a recording's transcript.
func (c *Client) Transcript(ctx context.Context, id string) (Transcript, error) {
	var out Transcript
	err := c.do(ctx, http.MethodGet, recordingPath(id)+"/transcript", nil, nil, &out)
	return out, err
}

// Retranscribe starts a recording's transcription again.
func (c *Client) Retranscribe(ctx context.Context, id string) (Transcript, error) {
	var out Transcript
	err := c.do(ctx, http.MethodPost, recordingPath(id)+"/transcript", nil, nil, &out)
	return out, err
}

// SetTranscription switches the account's transcription of new
// recordings on or off.
func (c *Client) SetTranscription(ctx context.Context, on bool) (Me, error) {
	v := "off"
	if on {
		v = "on"
	}
	var out Me
	err := c.do(ctx, http.MethodPatch, "/v1/me", nil, map[string]string{"transcription": v}, &out)
	return out, err
}
