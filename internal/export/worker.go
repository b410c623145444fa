package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// MaxAttempts is how many times the worker starts one export: the SQS
// queue's maxReceiveCount in infra/ is the same number, so the last
// delivery is the last attempt and the message then goes to the DLQ.
const MaxAttempts = 3

// Message is what the API sends the worker: the export to build, by key.
// The worker reads everything else from the record, so a message delivered
// twice or late only repeats or finds nothing to do.
type Message struct {
	Export *struct {
		UserID   string `json:"user_id"`
		ExportID string `json:"export_id"`
	} `json:"export"`
}

// NewMessage is the message that starts the export id of userID.
func NewMessage(userID, id string) []byte {
	var m Message
	m.Export = &struct {
		UserID   string `json:"user_id"`
		ExportID string `json:"export_id"`
	}{userID, id}
	b, _ := json.Marshal(m)
	return b
}

// Worker builds archives.
type Worker struct {
	Exports     *dynamo.Exports
	Store       *dynamo.Store
	Objects     *s3.Store
	Transcripts TranscriptSource
	Log         *slog.Logger
	Now         func() time.Time
	// Timeout is one attempt's bound (EXPORT_WORKER_TIMEOUT).
	Timeout time.Duration
	// Retention is how long a finished archive is kept.
	Retention time.Duration
}

// progressEvery spaces the progress writes: a user watching a bar needs
// about one a second, and each costs a write unit.
const progressEvery = time.Second

// HandleMessage builds the export a message names. An error asks for
// another delivery (the export stays running); the last attempt's failure
// is recorded on the export instead, and HandleMessage returns nil.
func (w *Worker) HandleMessage(ctx context.Context, body []byte) error {
	var m Message
	if err := json.Unmarshal(body, &m); err != nil || m.Export == nil || !recording.ValidID(m.Export.ExportID) || m.Export.UserID == "" {
		// Another delivery cannot fix it.
		w.Log.ErrorContext(ctx, "undecodable export message", "component", "export", "error", err)
		return nil
	}
	return w.Run(ctx, m.Export.UserID, m.Export.ExportID)
}

// Run makes one attempt at an export.
func (w *Worker) Run(ctx context.Context, userID, id string) error {
	now := w.Now()
	ex, ok, err := w.Exports.Claim(ctx, userID, id, MaxAttempts, now.Add(leaseOf(w.Timeout, 1)))
	if err != nil {
		return err
	}
	if !ok {
		w.Log.InfoContext(ctx, "export not running; nothing to do", "component", "export", "user_id", userID, "export_id", id)
		return nil
	}
	log := w.Log.With("component", "export", "user_id", userID, "export_id", id, "attempt", ex.Attempts)
	ctx, cancel := context.WithTimeout(ctx, w.Timeout)
	defer cancel()
	start := time.Now()
	size, total, err := w.build(ctx, ex)
	if err == nil {
		fin := w.Now()
		var ok bool
		ok, err = w.Exports.Finish(ctx, userID, id, size, total, fin, fin.Add(w.Retention))
		if err == nil && !ok {
			// Failed by the sweep meanwhile: the archive must not outlive
			// its record.
			err = w.Objects.Delete(ctx, ex.Key)
		}
		if err == nil {
			secs := time.Since(start).Seconds()
			log.InfoContext(ctx, "export ready", "recordings", total, "size_bytes", size, "seconds", secs,
				"mib_per_second", float64(size)/(1<<20)/max(secs, 1e-9))
			return nil
		}
	}
	if ex.Attempts < MaxAttempts {
		log.WarnContext(ctx, "export attempt failed; will retry", "error", err)
		return err
	}
	log.ErrorContext(ctx, "export failed", "error", err)
	fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer fcancel()
	return w.Exports.Fail(fctx, userID, id, failureReason(err), w.Now())
}

// failureReason is the sentence the user sees: what went wrong in their
// terms, never the internal error.
func failureReason(err error) string {
	if errors.Is(err, context.DeadlineExceeded) {
		return "the archive took too long to build; try again, or export fewer recordings"
	}
	return "the archive could not be built; try again later"
}

// build streams the archive into storage and returns its size and how many
// recordings it took. The zip writer and the upload meet in a pipe: the
// writer blocks until the upload has taken the bytes, so nothing but the
// upload's part buffers is ever held.
func (w *Worker) build(ctx context.Context, ex recording.Export) (size int64, total int, err error) {
	// A previous attempt killed mid-way left its multipart upload behind:
	// this attempt's own upload replaces it.
	if err := w.Objects.AbortUpload(ctx, ex.Key); err != nil {
		return 0, 0, err
	}
	recs, err := w.recordings(ctx, ex)
	if err != nil {
		return 0, 0, err
	}
	total = len(recs)
	if err := w.Exports.Progress(ctx, ex.UserID, ex.ID, 0, total); err != nil {
		return 0, 0, err
	}
	var last time.Time
	a := archive{objects: w.Objects, transcripts: w.Transcripts, progress: func(done int) {
		if time.Since(last) < progressEvery && done < total {
			return
		}
		last = time.Now()
		if err := w.Exports.Progress(ctx, ex.UserID, ex.ID, done, total); err != nil {
			w.Log.WarnContext(ctx, "export progress", "component", "export", "error", err)
		}
	}}
	pr, pw := io.Pipe()
	go func() {
		_, err := a.write(ctx, pw, ex, recs)
		pw.CloseWithError(err) // nil: EOF, the upload completes
	}()
	var estimate int64
	for _, r := range recs {
		estimate += r.SizeBytes
	}
	size, err = w.Objects.UploadStream(ctx, ex.Key, "application/zip", pr, estimate)
	pr.CloseWithError(errUploadStopped) // unblocks the writer if the upload gave up first
	if err != nil {
		return 0, 0, err
	}
	return size, total, nil
}

var errUploadStopped = errors.New("upload stopped")

// recordings lists what the export takes, oldest first.
func (w *Worker) recordings(ctx context.Context, ex recording.Export) ([]recording.Recording, error) {
	var all []recording.Recording
	for _, st := range ex.Statuses {
		after := ""
		for {
			page, next, err := w.Store.ListRecordings(ctx, ex.UserID, st, 100, after, w.Now())
			if err != nil {
				return nil, fmt.Errorf("list recordings: %w", err)
			}
			all = append(all, page...)
			if next == "" {
				break
			}
			after = next
		}
	}
	// ULIDs sort by creation time.
	slices.SortFunc(all, func(a, b recording.Recording) int { return strings.Compare(a.ID, b.ID) })
	return all, nil
}

// leaseOf is how long attempts worker attempts may take, with the queue's
// visibility timeout (the worker timeout and a minute) between them.
func leaseOf(timeout time.Duration, attempts int) time.Duration {
	return time.Duration(attempts)*(timeout+time.Minute) + time.Minute
}
