package recorder

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/voicerec/backend/internal/recording"
)

// ShareAudioTTL is the life of the presigned GET behind a share's audio:
// every play goes through the share first, so a revoked or expired share
// stops playing within this long.
const ShareAudioTTL = 60 * time.Second

// MaxListedShares bounds GET /v1/shares: the newest shares that still hold.
const MaxListedShares = 100

// ShareRequest is the body of POST /v1/recordings/{id}/shares.
type ShareRequest struct {
	ExpiresIn string `json:"expires_in,omitempty"`
}

// NewShare is a share just made: the only moment its token is known.
type NewShare struct {
	recording.Share
	Token string `json:"-"`
}

// CreateShare makes a link to one of the caller's available recordings.
func (s *Service) CreateShare(ctx context.Context, userID, recordingID string, req ShareRequest) (NewShare, error) {
	if !recording.ValidID(recordingID) {
		return NewShare{}, recording.ErrNotFound
	}
	life, err := recording.ShareLifetime(req.ExpiresIn)
	if err != nil {
		return NewShare{}, err
	}
	token, id, err := recording.NewShareToken()
	if err != nil {
		return NewShare{}, err
	}
	now := s.now().UTC()
	sh, err := s.store.CreateShare(ctx, userID, recordingID, id, now, now.Add(life))
	if err != nil {
		return NewShare{}, err
	}
	return NewShare{Share: sh, Token: token}, nil
}

// Shares lists the caller's shares that still hold, newest first.
func (s *Service) Shares(ctx context.Context, userID string) ([]recording.Share, error) {
	shares, err := s.store.ListShares(ctx, userID, s.now(), MaxListedShares)
	if shares == nil && err == nil {
		shares = []recording.Share{}
	}
	return shares, err
}

// RevokeShare ends one of the caller's shares at once.
func (s *Service) RevokeShare(ctx context.Context, userID, id string) error {
	if !recording.ValidShareID(id) {
		return recording.ErrShareNotFound
	}
	return s.store.RevokeShare(ctx, userID, id)
}

// SharedRecording is everything a share's page shows: nothing about the
// owner, only the recording's name, date, duration and transcript.
type SharedRecording struct {
	FileName   string
	DurationMS int64
	Date       time.Time
	Transcript string
}

// OpenShare is a visit to a share's page, counted as a view.
func (s *Service) OpenShare(ctx context.Context, token string) (SharedRecording, error) {
	rec, err := s.sharedRecording(ctx, token, true)
	if err != nil {
		return SharedRecording{}, err
	}
	out := SharedRecording{FileName: rec.FileName, Date: rec.CreatedAt}
	if rec.RecordedAt != nil {
		out.Date = *rec.RecordedAt
	}
	if rec.DurationMS != nil {
		out.DurationMS = *rec.DurationMS
	}
	if out.Transcript, err = s.transcriptForShare(ctx, rec); err != nil {
		return SharedRecording{}, err
	}
	return out, nil
}

// transcriptForShare is the recording's transcript text, or "" while it
// has none: one Query of the transcript's segments, made only for a
// recording whose transcript completed.
func (s *Service) transcriptForShare(ctx context.Context, rec recording.Recording) (string, error) {
	if rec.TranscriptStatus != recording.TranscriptCompleted || s.keeper == nil {
		return "", nil
	}
	t, err := s.keeper.Transcript(ctx, rec)
	if err != nil {
		return "", fmt.Errorf("shared recording's transcript: %w", err)
	}
	return t.Text, nil
}

// ShareAudio checks the share again and signs a short GET of its audio.
func (s *Service) ShareAudio(ctx context.Context, token string) (string, error) {
	rec, err := s.sharedRecording(ctx, token, false)
	if err != nil {
		return "", err
	}
	dl, err := s.objects.PresignGet(ctx, rec.Key, recording.ContentDisposition(rec.FileName), rec.ContentType, ShareAudioTTL, s.now())
	if err != nil {
		return "", err
	}
	return dl.URL, nil
}

func (s *Service) sharedRecording(ctx context.Context, token string, view bool) (recording.Recording, error) {
	if !recording.ValidShareToken(token) {
		return recording.Recording{}, recording.ErrShareNotFound
	}
	sh, err := s.store.OpenShare(ctx, recording.ShareIDOf(token), s.now(), view)
	if err != nil {
		return recording.Recording{}, err
	}
	return s.store.SharedRecording(ctx, sh)
}

// StorageOrigin is the scheme and host presigned URLs point at, for a
// page's Content-Security-Policy. Signing is local: this costs no request.
func (s *Service) StorageOrigin(ctx context.Context) string {
	dl, err := s.objects.PresignGet(ctx, "origin", "inline", "audio/mpeg", time.Minute, s.now())
	if err != nil {
		return ""
	}
	u, err := url.Parse(dl.URL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
