package s3event

import (
	"context"
	"encoding/json"
	"time"
)

// Invoke is the events Lambda's entry point. S3 invokes it with bucket
// notifications, and an EventBridge schedule with a "Scheduled Event",
// which runs one reconcile pass: one artifact, and the reconciler can never
// be deployed without the handler whose misses it repairs.
func (h *Handler) Invoke(ctx context.Context, raw json.RawMessage) error {
	var probe struct {
		Source     string `json:"source"`
		DetailType string `json:"detail-type"`
	}
	if err := json.Unmarshal(raw, &probe); err == nil && probe.Source == "aws.events" && probe.DetailType == "Scheduled Event" {
		return h.Reconcile(ctx)
	}
	var ev S3Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		// Retrying cannot fix a payload that does not parse.
		h.Log.ErrorContext(ctx, "undecodable invocation", "error", err)
		return nil
	}
	return h.Handle(ctx, ev)
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
	return err
}
