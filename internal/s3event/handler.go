// Package s3event is the events Lambda's logic: it reacts to objects appearing
// in and disappearing from the recordings bucket. The Lambda entry point and
// the local stack's MinIO webhook both call Handler.Handle.
package s3event

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/smithy-go"

	"github.com/voicerec/backend/internal/export"
	"github.com/voicerec/backend/internal/lifecycle"
	"github.com/voicerec/backend/internal/metrics"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// Handler processes S3 event notifications. An event only says which key to
// look at: the Keeper reads the record and the object as they are now and
// converges them, so the outcome never depends on event order or delivery.
type Handler struct {
	Log     *slog.Logger
	Keeper  *lifecycle.Keeper
	Objects *s3.Store
	// RecordTimeout bounds the work on one record, so a dependency that
	// hangs fails the invocation (and Lambda retries it) instead of using
	// up the function's whole timeout. Zero means DefaultRecordTimeout.
	RecordTimeout time.Duration
	// ReconcileMaxItems bounds one scheduled reconcile pass.
	ReconcileMaxItems int
	// ExportWorker builds the archives the export queue's messages name,
	// and sweeps exports at each reconcile pass (nil: neither).
	ExportWorker *export.Worker
}

// S3Event is the notification document S3 (and MinIO) sends.
type S3Event = events.S3Event

// DefaultRecordTimeout leaves room for the SDK's three attempts per call.
const DefaultRecordTimeout = 15 * time.Second

// New is the handler of the Keeper's events (built once, by internal/wire);
// objects tells which bucket is ours.
func New(log *slog.Logger, keeper *lifecycle.Keeper, objects *s3.Store, reconcileMaxItems int) *Handler {
	return &Handler{Log: log, Keeper: keeper, Objects: objects, ReconcileMaxItems: reconcileMaxItems}
}

// stale outcomes are events that changed nothing: duplicates, and late or
// reordered deliveries whose key was already right.
var stale = map[string]bool{lifecycle.OutcomeInSync: true, lifecycle.OutcomeIgnored: true, lifecycle.OutcomeContended: true}

// Outcomes of a record that never reached the Keeper.
const (
	outcomeSkipped = "skipped_permanent_error"
	outcomeFailed  = "failed_will_retry"
)

// Handle processes every record of one notification. Records are handled
// independently: a permanent problem with one is logged and skipped, while a
// transient failure (an unreachable or throttling dependency) fails the
// invocation after the other records are done, so Lambda retries it. Every
// step is conditional or idempotent, so a retry repeats nothing.
func (h *Handler) Handle(ctx context.Context, ev events.S3Event) error {
	var retry []error
	for _, r := range ev.Records {
		start := time.Now()
		key := decodedKey(r.S3.Object)
		timeout := h.RecordTimeout
		if timeout <= 0 {
			timeout = DefaultRecordTimeout
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		outcome, err := h.handleRecord(rctx, r, key)
		cancel()
		attrs := []any{"event", r.EventName, "bucket", r.S3.Bucket.Name, "key", key,
			"sequencer", r.S3.Object.Sequencer, "latency_ms", float64(time.Since(start).Microseconds()) / 1000}
		switch {
		case err == nil:
			attrs = append(attrs, "outcome", outcome)
			if stale[outcome] {
				attrs = append(attrs, metrics.Attrs(time.Now(), map[string]string{metrics.DimService: metrics.ServiceEvents},
					metrics.Value{Metric: metrics.StaleEvents, Value: 1})...)
			}
			h.Log.InfoContext(ctx, "s3 record", attrs...)
		case transient(err):
			h.Log.ErrorContext(ctx, "s3 record", append(attrs, "outcome", outcomeFailed, "error", err)...)
			retry = append(retry, fmt.Errorf("%s: %w", key, err))
		default:
			h.Log.WarnContext(ctx, "s3 record", append(attrs, "outcome", outcomeSkipped, "error", err)...)
		}
	}
	return errors.Join(retry...)
}

// decodedKey is the object key as stored. The Lambda runtime decodes S3's
// URL-encoded key while unmarshalling; a record built by hand may carry
// only the raw form.
func decodedKey(o events.S3Object) string {
	if o.URLDecodedKey != "" || o.Key == "" {
		return o.URLDecodedKey
	}
	if k, err := url.QueryUnescape(o.Key); err == nil {
		return k
	}
	return o.Key
}

func (h *Handler) handleRecord(ctx context.Context, r events.S3EventRecord, key string) (string, error) {
	if r.S3.Bucket.Name != h.Objects.Bucket() {
		return lifecycle.OutcomeIgnored, nil
	}
	userID, recID, ok := recording.ParseKey(key)
	if !ok {
		return lifecycle.OutcomeIgnored, nil
	}
	// AWS names events "ObjectCreated:Put", MinIO "s3:ObjectCreated:Put"; a
	// lifecycle rule's expiry is announced as its own event type.
	name := strings.TrimPrefix(r.EventName, "s3:")
	if strings.HasSuffix(name, "Tagging") {
		// MinIO announces tag changes (an operator's; uploads carry their
		// tags from the start) as ObjectCreated:PutTagging; S3 as
		// ObjectTagging:*, which we do not subscribe to. The object itself
		// did not change.
		return lifecycle.OutcomeIgnored, nil
	}
	if name == "ObjectCreated:Put" && r.S3.Object.ETag != "" {
		// A single PUT's event reports the object it stored: the Keeper
		// need not ask storage again.
		return h.Keeper.ConvergeSeen(ctx, userID, recID, lifecycle.Seen{
			Key: key, Size: r.S3.Object.Size, ETag: r.S3.Object.ETag, At: r.EventTime,
		})
	}
	for _, kind := range []string{"ObjectCreated:", "ObjectRemoved:", "LifecycleExpiration:"} {
		if strings.HasPrefix(name, kind) {
			return h.Keeper.Converge(ctx, userID, recID, key)
		}
	}
	return lifecycle.OutcomeIgnored, nil
}

// transient reports errors worth a Lambda retry: anything but a client-side
// error that retrying cannot fix.
func transient(err error) bool {
	var api smithy.APIError
	if errors.As(err, &api) {
		var re interface{ HTTPStatusCode() int }
		if errors.As(err, &re) {
			code := re.HTTPStatusCode()
			return code >= 500 || code == 429 || api.ErrorCode() == "ThrottlingException" ||
				api.ErrorCode() == "ProvisionedThroughputExceededException" || api.ErrorCode() == "RequestLimitExceeded"
		}
	}
	return true
}
