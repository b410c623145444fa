package wire

import (
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/export"
)

// WithTranscripts gives the export worker the transcript store to read
// (without it, archives carry no transcripts).
func WithTranscripts(t export.TranscriptSource) Option {
	return func(o *options) { o.transcripts = t }
}

// buildExports makes the export worker and the API's export service. With
// EXPORT_QUEUE_URL the service starts the worker through SQS (the export
// Lambda); without, in this process, through the same HandleMessage.
func buildExports(a *App, transcripts export.TranscriptSource) {
	if transcripts == nil {
		transcripts = export.NoTranscripts{}
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
