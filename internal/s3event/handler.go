// Package s3event is the events Lambda's logic: it reacts to objects appearing
// in and disappearing from the recordings bucket. The Lambda entry point and
// the local stack's MinIO webhook both call Handler.Handle.
package s3event

import (
	"context"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/voicerec/backend/internal/config"
)

// Handler processes S3 event notifications.
type Handler struct {
	Log *slog.Logger
}

// Handle processes every record of one notification.
func (h *Handler) Handle(ctx context.Context, ev events.S3Event) error {
	for _, rec := range ev.Records {
		start := time.Now()
		h.Log.InfoContext(ctx, "s3 event",
			"event", rec.EventName,
			"bucket", rec.S3.Bucket.Name,
			"key", rec.S3.Object.URLDecodedKey,
			"size", rec.S3.Object.Size,
			"sequencer", rec.S3.Object.Sequencer,
			"outcome", "logged",
			"latency_ms", time.Since(start).Milliseconds())
	}
	return nil
}

// Build wires a Handler from configuration.
func Build(ctx context.Context, cfg config.Config, log *slog.Logger) (*Handler, error) {
	clients, err := cfg.AWSClients(ctx)
	if err != nil {
		return nil, err
	}
	return FromClients(cfg, log, clients), nil
}

// FromClients wires a Handler from ready-made clients.
func FromClients(cfg config.Config, log *slog.Logger, c config.Clients) *Handler {
	return &Handler{Log: log}
}
