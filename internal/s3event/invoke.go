package s3event

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/voicerec/backend/internal/lifecycle"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/transcribe"
)

// Invoke is the events Lambda's entry point. S3 invokes it with bucket
// notifications, an EventBridge schedule with a "Scheduled Event", which
// runs one reconcile pass, and the API with a lifecycle.ConvergeRequest at
// a complete, answered with the outcome: one artifact, so the reconciler
// and the API's confirmation can never be deployed without the handler
// whose work they share. Only a converge request has an answer; the others
// answer nil.
func (h *Handler) Invoke(ctx context.Context, raw json.RawMessage) (*lifecycle.ConvergeAnswer, error) {
	var probe struct {
		Source     string                 `json:"source"`
		DetailType string                 `json:"detail-type"`
		Converge   *lifecycle.ConvergeKey `json:"converge"`
	}
	if err := json.Unmarshal(raw, &probe); err == nil {
		switch {
		case probe.Source == "aws.events" && probe.DetailType == "Scheduled Event":
			return nil, h.Reconcile(ctx)
		case probe.Converge != nil:
			return h.Converge(ctx, *probe.Converge)
		case probe.Source == transcribe.EventSource && probe.DetailType == transcribe.EventDetailType:
			return nil, h.TranscribeJobChanged(ctx, raw)
		}
	}
	if isSQS(raw) {
		return nil, h.HandleExports(ctx, raw)
	}
	var ev S3Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		// Retrying cannot fix a payload that does not parse.
		h.Log.ErrorContext(ctx, "undecodable invocation", "error", err)
		return nil, nil
	}
	return nil, h.Handle(ctx, ev)
}

// Converge converges the recording the API named at a complete, within
// the same bound as one S3 record. A key that is not a recording's is
// refused: the API only ever names its own records.
func (h *Handler) Converge(ctx context.Context, k lifecycle.ConvergeKey) (*lifecycle.ConvergeAnswer, error) {
	if !recording.ValidID(k.RecordingID) || k.UserID == "" {
		return nil, fmt.Errorf("converge request names no recording: %+v", k)
	}
	timeout := h.RecordTimeout
	if timeout <= 0 {
		timeout = DefaultRecordTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	outcome, err := h.Keeper.Converge(ctx, k.UserID, k.RecordingID, k.Key)
	attrs := []any{"user_id", k.UserID, "recording_id", k.RecordingID, "latency_ms", float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		h.Log.ErrorContext(ctx, "converge request", append(attrs, "error", err)...)
		return nil, err
	}
	h.Log.InfoContext(ctx, "converge request", append(attrs, "outcome", outcome)...)
	return &lifecycle.ConvergeAnswer{Outcome: outcome}, nil
}

// reconcileMargin is kept from the invocation's deadline to log the result.
const reconcileMargin = 5 * time.Second

// Reconcile runs one bounded reconcile pass and logs what it did.
func (h *Handler) Reconcile(ctx context.Context) error {
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl.Add(-reconcileMargin))
		defer cancel()
	}
	max := h.ReconcileMaxItems
	if max <= 0 {
		max = 1000
	}
	rep, err := h.Keeper.Reconcile(ctx, max)
	h.Log.InfoContext(ctx, "reconcile pass", "component", "reconciler", "examined", rep.Examined,
		"fixed", rep.Fixed(), "failed", rep.Failed, "accounts_finished", rep.Accounts, "more", rep.More, "outcomes", rep.Outcomes)
	return errors.Join(err, h.sweepExports(ctx, max))
}
