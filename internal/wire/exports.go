package wire

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/export"
	"github.com/voicerec/backend/internal/recorder"
	"github.com/voicerec/backend/internal/recording"
)

// WithTranscripts gives the export worker another transcript source than
// the transcript store (tests hold or fake transcripts with it).
func WithTranscripts(t export.TranscriptSource) Option {
	return func(o *options) { o.transcripts = t }
}

// buildExports makes the export worker and the API's export service. With
// EXPORT_QUEUE_URL the service starts the worker through SQS (the export
// Lambda); without, in this process, through the same HandleMessage.
func buildExports(a *App, transcripts export.TranscriptSource) {
	if transcripts == nil {
		transcripts = storedTranscripts{a.Service}
	}
	exports := dynamo.NewExports(a.Clients.DynamoDB, a.Config.TablePrefix)
	a.ExportWorker = &export.Worker{
		Exports: exports, Store: a.Store, Objects: a.Objects, Transcripts: transcripts, Log: a.Log, Now: a.Now,
		Timeout: a.Config.ExportWorkerTimeout, Retention: a.Config.ExportRetention,
	}
	var queue export.Queue = export.LocalQueue{Worker: a.ExportWorker, Log: a.Log}
	if a.Config.ExportQueueURL != "" {
		queue = export.SQSQueue{Client: a.Clients.SQS, URL: a.Config.ExportQueueURL}
	}
	a.Exports = &export.Service{
		Exports: exports, Objects: a.Objects, Queue: queue, Log: a.Log, Now: a.Now,
		Retention: a.Config.ExportRetention, WorkerTimeout: a.Config.ExportWorkerTimeout,
		DownloadURLTTL: a.Config.DownloadURLTTL,
	}
}

// storedTranscripts reads a recording's completed transcript for the export
// worker through the operation GET /v1/recordings/{id}/transcript answers
// from, so an archive holds what the user sees.
type storedTranscripts struct{ s *recorder.Service }

func (t storedTranscripts) Transcript(ctx context.Context, userID, id string) (export.Transcript, bool, error) {
	tr, err := t.s.Transcript(ctx, userID, id)
	if errors.Is(err, recording.ErrNotFound) || recording.ErrorCode(err) == recording.CodeNotFound {
		return export.Transcript{}, false, nil
	}
	if err != nil {
		return export.Transcript{}, false, fmt.Errorf("transcript of %s: %w", id, err)
	}
	if tr.Status != recording.TranscriptCompleted {
		return export.Transcript{}, false, nil
	}
	segs, err := json.Marshal(tr.Segments)
	if err != nil {
		return export.Transcript{}, false, err
	}
	return export.Transcript{Text: tr.Text, Segments: segs}, true, nil
}
