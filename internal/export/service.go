package export

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// Queue delivers a message to the worker: SQS on AWS, the same process
// locally. Either way the worker's HandleMessage receives the same bytes.
type Queue interface {
	Send(ctx context.Context, body []byte) error
}

// Service is the API's side of exports: start one, read one, list them.
type Service struct {
	Exports *dynamo.Exports
	Objects *s3.Store
	Queue   Queue
	Log     *slog.Logger
	Now     func() time.Time
	// Retention (EXPORT_RETENTION), WorkerTimeout (EXPORT_WORKER_TIMEOUT)
	// and DownloadURLTTL (DOWNLOAD_URL_TTL) come from the configuration.
	Retention      time.Duration
	WorkerTimeout  time.Duration
	DownloadURLTTL time.Duration
}

// StartRequest is what a user may ask of an export.
type StartRequest struct {
	// Status lists the recording statuses to take: "available" (the
	// default), "deleted" (the trash) or both.
	Status []recording.Status `json:"status,omitempty"`
	// IncludeTranscripts defaults to true.
	IncludeTranscripts *bool `json:"include_transcripts,omitempty"`
}

// View is an export as the API answers it.
type View struct {
	ID                 string                 `json:"id"`
	Status             recording.ExportStatus `json:"status"`
	Statuses           []recording.Status     `json:"statuses"`
	IncludeTranscripts bool                   `json:"include_transcripts"`
	RecordingsDone     int                    `json:"recordings_done"`
	RecordingsTotal    int                    `json:"recordings_total"`
	SizeBytes          *int64                 `json:"size_bytes,omitempty"`
	CreatedAt          time.Time              `json:"created_at"`
	FinishedAt         *time.Time             `json:"finished_at,omitempty"`
	ExpiresAt          time.Time              `json:"expires_at"`
	FailureReason      string                 `json:"failure_reason,omitempty"`
	Download           *Download              `json:"download,omitempty"`
}

// Download is a ready archive's presigned GET.
type Download struct {
	URL       string    `json:"url"`
	FileName  string    `json:"file_name"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Start records a running export of userID's recordings and sends the
// message that starts its worker. A user has at most one running export:
// a second start is a conflict until the first ends.
func (s *Service) Start(ctx context.Context, userID string, req StartRequest) (View, error) {
	statuses := req.Status
	if len(statuses) == 0 {
		statuses = []recording.Status{recording.StatusAvailable}
	}
	seen := map[recording.Status]bool{}
	for _, st := range statuses {
		if st != recording.StatusAvailable && st != recording.StatusDeleted {
			return View{}, recording.Errorf(recording.CodeValidation, "status: an export takes %q or %q recordings", recording.StatusAvailable, recording.StatusDeleted)
		}
		if seen[st] {
			return View{}, recording.Errorf(recording.CodeValidation, "status: %q is listed twice", st)
		}
		seen[st] = true
	}
	now := s.Now()
	ex := recording.Export{
		UserID: userID, ID: recording.NewID(now), Status: recording.ExportRunning, Statuses: statuses,
		IncludeTranscripts: req.IncludeTranscripts == nil || *req.IncludeTranscripts,
		CreatedAt:          now.UTC(), ExpiresAt: now.Add(s.Retention).UTC(),
	}
	ex.Key = recording.ExportKey(userID, ex.ID)
	if err := s.Exports.Start(ctx, ex, now.Add(leaseOf(s.WorkerTimeout, MaxAttempts)), now); err != nil {
		return View{}, err
	}
	if err := s.Queue.Send(ctx, NewMessage(userID, ex.ID)); err != nil {
		// Nobody will build it: release the user's lock at once.
		_ = s.Exports.Fail(context.WithoutCancel(ctx), userID, ex.ID, "the export could not be started; try again", s.Now())
		return View{}, fmt.Errorf("start export worker: %w", err)
	}
	return s.view(ctx, ex, now)
}

// Get reads one of userID's exports, with a download URL once ready.
func (s *Service) Get(ctx context.Context, userID, id string) (View, error) {
	if !recording.ValidID(id) {
		return View{}, errNoExport
	}
	now := s.Now()
	ex, ok, err := s.Exports.Get(ctx, userID, id, now)
	if err != nil {
		return View{}, err
	}
	if !ok {
		return View{}, errNoExport
	}
	return s.view(ctx, ex, now)
}

var errNoExport = recording.Errorf(recording.CodeNotFound, "no such export")

// listLimit is how many exports a listing shows: the recent ones, which
// retention keeps few anyway.
const listLimit = 20

// List returns userID's recent exports, newest first, without download
// URLs (a GET of one signs its URL).
func (s *Service) List(ctx context.Context, userID string) ([]View, error) {
	now := s.Now()
	list, err := s.Exports.List(ctx, userID, listLimit, now)
	if err != nil {
		return nil, err
	}
	views := make([]View, 0, len(list))
	for _, ex := range list {
		views = append(views, toView(ex))
	}
	return views, nil
}

func toView(ex recording.Export) View {
	v := View{
		ID: ex.ID, Status: ex.Status, Statuses: ex.Statuses, IncludeTranscripts: ex.IncludeTranscripts,
		RecordingsDone: ex.RecordingsDone, RecordingsTotal: ex.RecordingsTotal, CreatedAt: ex.CreatedAt,
		FinishedAt: ex.FinishedAt, ExpiresAt: ex.ExpiresAt, FailureReason: ex.FailureReason,
	}
	if v.Statuses == nil {
		v.Statuses = []recording.Status{}
	}
	if ex.Status == recording.ExportReady {
		size := ex.SizeBytes
		v.SizeBytes = &size
	}
	return v
}

func (s *Service) view(ctx context.Context, ex recording.Export, now time.Time) (View, error) {
	v := toView(ex)
	if ex.Status != recording.ExportReady {
		return v, nil
	}
	// The URL never outlives the archive.
	ttl := min(s.DownloadURLTTL, ex.ExpiresAt.Sub(now))
	name := recording.ExportFileName(ex.CreatedAt)
	signed, err := s.Objects.PresignGet(ctx, ex.Key, recording.ContentDisposition(name), "application/zip", ttl, now)
	if err != nil {
		return View{}, err
	}
	v.Download = &Download{URL: signed.URL, FileName: name, ExpiresAt: signed.ExpiresAt}
	return v, nil
}
