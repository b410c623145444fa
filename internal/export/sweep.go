package export

import (
	"context"
	"errors"
	"time"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// SweepReport is what one sweep did.
type SweepReport struct {
	Failed, Expired, UploadsAborted int
}

// Sweep is the reconciler's part for exports: a running export whose
// every attempt's lease has passed is failed (its worker is gone); a ready
// one past its retention loses its archive and record (the bucket's
// lifecycle rule does the same on AWS; this also covers MinIO); multipart
// uploads under exports/ older than one attempt are aborted, since no live
// worker can still be writing them.
func (w *Worker) Sweep(ctx context.Context, limit int) (SweepReport, error) {
	var rep SweepReport
	now := w.Now()
	due, err := w.Exports.Due(ctx, now, limit)
	if err != nil {
		return rep, err
	}
	var errs []error
	for _, ex := range due {
		switch ex.Status {
		case recording.ExportRunning:
			err = w.Exports.Fail(ctx, ex.UserID, ex.ID, "the export stopped before it finished; try again", now)
			rep.Failed++
		case recording.ExportReady:
			if err = w.Objects.Delete(ctx, ex.Key); err == nil || errors.Is(err, s3.ErrNoObject) {
				err = w.Exports.Delete(ctx, ex.UserID, ex.ID)
			}
			rep.Expired++
		}
		errs = append(errs, err)
	}
	n, err := w.Objects.AbortUploads(ctx, recording.ExportPrefix, now.Add(-w.Timeout-time.Minute))
	rep.UploadsAborted = n
	errs = append(errs, err)
	return rep, errors.Join(errs...)
}

// SweepLoop sweeps every interval until ctx ends: the local stack's
// stand-in for the reconciler's schedule.
func (w *Worker) SweepLoop(ctx context.Context, interval time.Duration, limit int) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if rep, err := w.Sweep(ctx, limit); err != nil || rep != (SweepReport{}) {
			w.Log.InfoContext(ctx, "export sweep", "component", "reconciler", "failed", rep.Failed,
				"expired", rep.Expired, "uploads_aborted", rep.UploadsAborted, "error", err)
		}
	}
}
