package s3event

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/aws/aws-lambda-go/events"
)

// isSQS reports whether raw is a batch the export queue delivered.
func isSQS(raw json.RawMessage) bool {
	var probe struct {
		Records []struct {
			EventSource string `json:"eventSource"`
		} `json:"Records"`
	}
	return json.Unmarshal(raw, &probe) == nil && len(probe.Records) > 0 && probe.Records[0].EventSource == "aws:sqs"
}

// HandleExports runs the export worker on each message of an SQS batch
// (the queue's batch size is 1: one archive fills an invocation). An error
// leaves the message on the queue for another attempt.
func (h *Handler) HandleExports(ctx context.Context, raw json.RawMessage) error {
	if h.ExportWorker == nil {
		return errors.New("an export message reached a handler without the export worker")
	}
	var batch events.SQSEvent
	if err := json.Unmarshal(raw, &batch); err != nil {
		h.Log.ErrorContext(ctx, "undecodable SQS batch", "error", err)
		return nil
	}
	var errs []error
	for _, m := range batch.Records {
		errs = append(errs, h.ExportWorker.HandleMessage(ctx, []byte(m.Body)))
	}
	return errors.Join(errs...)
}

// sweepExports is the reconciler's export part, after the recordings'.
func (h *Handler) sweepExports(ctx context.Context, max int) error {
	if h.ExportWorker == nil {
		return nil
	}
	rep, err := h.ExportWorker.Sweep(ctx, max)
	h.Log.InfoContext(ctx, "export sweep", "component", "reconciler", "failed", rep.Failed,
		"expired", rep.Expired, "uploads_aborted", rep.UploadsAborted)
	return err
}
