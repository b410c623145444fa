package recorder

import (
	"context"
	"errors"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

// Transcript is the caller's recording's transcript: its status, and once
// completed its text and segments. A recording in the trash keeps its
// transcript and shows it; one purged has none.
func (s *Service) Transcript(ctx context.Context, userID, id string) (recording.Transcript, error) {
	rec, err := s.ownRecording(ctx, userID, id)
	if err != nil {
		return recording.Transcript{}, err
	}
	return s.keeper.Transcript(ctx, rec)
}

// Retranscribe starts the recording's transcription again, whatever
// became of the last one: a user who switched transcription off asks for
// this recording, a failed job is retried, a skipped one tried again once
// the allowance has room. A job already under way is replaced; its result
// is dropped when it arrives.
func (s *Service) Retranscribe(ctx context.Context, userID, id string) (recording.Transcript, error) {
	if s.keeper == nil || s.keeper.Transcription.Engine == nil {
		return recording.Transcript{}, recording.Errorf(recording.CodeConflict, "this server does not transcribe recordings")
	}
	rec, err := s.ownRecording(ctx, userID, id)
	if err != nil {
		return recording.Transcript{}, err
	}
	if rec.Status != recording.StatusAvailable {
		return recording.Transcript{}, recording.Errorf(recording.CodeConflict,
			"only an available recording can be transcribed; this one is %s", rec.Status)
	}
	_, err = s.keeper.StartTranscript(ctx, rec, true)
	if errors.Is(err, dynamo.ErrTranscriptMoved) {
		return recording.Transcript{}, recording.Errorf(recording.CodeConflict, "the recording changed meanwhile; try again")
	}
	if err != nil {
		return recording.Transcript{}, err
	}
	if rec, err = s.ownRecording(ctx, userID, id); err != nil {
		return recording.Transcript{}, err
	}
	return s.keeper.Transcript(ctx, rec)
}

// Transcription values of PATCH /v1/me and GET /v1/me.
const (
	TranscriptionOn  = "on"
	TranscriptionOff = "off"
)

// MePatch is what PATCH /v1/me may change.
type MePatch struct {
	Transcription *string `json:"transcription"`
}

// UpdateMe applies a PATCH /v1/me and answers the user as GET /v1/me does.
func (s *Service) UpdateMe(ctx context.Context, userID string, p MePatch) (Me, error) {
	if p.Transcription == nil {
		return Me{}, recording.Errorf(recording.CodeValidation, "nothing to change: send transcription")
	}
	var off bool
	switch *p.Transcription {
	case TranscriptionOn:
	case TranscriptionOff:
		off = true
	default:
		return Me{}, recording.Errorf(recording.CodeValidation, "transcription must be %q or %q", TranscriptionOn, TranscriptionOff)
	}
	err := s.store.SetTranscription(ctx, userID, off)
	if errors.Is(err, recording.ErrNotFound) {
		// No user item, or one being deleted: Me says which.
		return s.Me(ctx, userID)
	}
	if err != nil {
		return Me{}, err
	}
	return s.Me(ctx, userID)
}

// transcriptionQuota fills in the transcription part of a user's quota.
func (s *Service) transcriptionQuota(u recording.User, q *Quota) string {
	q.TranscriptionMinutesLimit = s.cfg.Transcription.MinutesPerMonth
	if u.TranscribeMonth == s.now().UTC().Format("2006-01") {
		q.TranscriptionMinutesUsed = (u.TranscribeSeconds + 59) / 60
	}
	if u.TranscriptionOff {
		return TranscriptionOff
	}
	return TranscriptionOn
}
