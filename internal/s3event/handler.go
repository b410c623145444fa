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

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// Handler processes S3 event notifications.
type Handler struct {
	Log     *slog.Logger
	Store   *dynamo.Store
	Objects *s3.Store
	Now     func() time.Time
	// RecordTimeout bounds the work on one record, so a dependency that
	// hangs fails the invocation (and Lambda retries it) instead of using
	// up the function's whole timeout. Zero means DefaultRecordTimeout.
	RecordTimeout time.Duration
}

// DefaultRecordTimeout leaves room for the SDK's three attempts per call.
const DefaultRecordTimeout = 15 * time.Second

// Build wires a Handler from configuration.
func Build(ctx context.Context, cfg config.Config, log *slog.Logger) (*Handler, error) {
	clients, err := cfg.AWSClients(ctx, log)
	if err != nil {
		return nil, err
	}
	return FromClients(cfg, log, clients), nil
}

// FromClients wires a Handler from ready-made clients.
func FromClients(cfg config.Config, log *slog.Logger, c config.Clients) *Handler {
	return &Handler{
		Log:     log,
		Store:   dynamo.New(c.DynamoDB, cfg.TablePrefix),
		Objects: s3.New(c.S3, c.Presign, cfg.Bucket),
		Now:     time.Now,
	}
}

// Outcomes, as logged per record.
const (
	outcomeConfirmed      = "confirmed"
	outcomeRejected       = "rejected"
	outcomeOrphanDeleted  = "orphan_deleted"
	outcomeDuplicate      = "duplicate_or_stale"
	outcomeRecordRemoved  = "record_removed"
	outcomeIgnored        = "ignored"
	outcomeObjectGone     = "object_already_gone"
	outcomeSkipped        = "skipped_permanent_error"
	outcomeFailed         = "failed_will_retry"
	outcomeDeletedLatePut = "late_upload_deleted"
	outcomeStaleRemoval   = "stale_removal_object_exists"
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
			h.Log.InfoContext(ctx, "s3 record", append(attrs, "outcome", outcome)...)
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
		return outcomeIgnored, nil
	}
	userID, recID, ok := recording.ParseKey(key)
	if !ok {
		return outcomeIgnored, nil
	}
	// AWS names events "ObjectCreated:Put", MinIO "s3:ObjectCreated:Put".
	name := strings.TrimPrefix(r.EventName, "s3:")
	seq := r.S3.Object.Sequencer
	switch {
	case strings.HasPrefix(name, "ObjectCreated:"):
		return h.created(ctx, userID, recID, key, seq)
	case strings.HasPrefix(name, "ObjectRemoved:"), strings.HasPrefix(name, "LifecycleExpiration:"):
		// A lifecycle rule's expiry is announced as its own event type,
		// not as ObjectRemoved; either way the object is gone.
		return h.removed(ctx, userID, recID, key, seq)
	}
	return outcomeIgnored, nil
}

func (h *Handler) created(ctx context.Context, userID, recID, key, seq string) (string, error) {
	rec, err := h.Store.GetRecording(ctx, userID, recID)
	if errors.Is(err, recording.ErrNotFound) {
		// Deleted, expired or never created: nothing may keep the bytes.
		return outcomeOrphanDeleted, h.Objects.Delete(ctx, key)
	}
	if err != nil {
		return "", err
	}
	if rec.Key != key {
		return outcomeOrphanDeleted, h.Objects.Delete(ctx, key)
	}
	switch {
	case rec.Status == recording.StatusAvailable:
		return outcomeDuplicate, nil
	case rec.Status != recording.StatusPending, rec.Expired(h.Now()):
		// Rejected, being deleted, or given up on: a late upload goes.
		return outcomeDeletedLatePut, h.Objects.Delete(ctx, key)
	}
	info, err := h.Objects.Head(ctx, key)
	if errors.Is(err, s3.ErrNoObject) {
		return outcomeObjectGone, nil // removed since; its own event follows
	}
	if err != nil {
		return "", err
	}
	if reason := mismatch(rec, info); reason != "" {
		applied, err := h.Store.RejectUpload(ctx, rec, reason, seq, h.Now())
		if err != nil {
			return "", err
		}
		if !applied {
			return outcomeDuplicate, nil
		}
		// Record first, object second: a failure between them is retried
		// and finds the rejected record, which deletes the object again.
		return outcomeRejected, h.Objects.Delete(ctx, key)
	}
	applied, err := h.Store.ConfirmUpload(ctx, rec, dynamo.Object{
		Size: info.Size, ContentType: rec.ContentType, ETag: info.ETag, Sequencer: seq,
	}, h.Now())
	if err != nil {
		return "", err
	}
	if applied {
		return outcomeConfirmed, nil
	}
	// Something else changed the record meanwhile; if it is gone now, so
	// must the object be.
	if _, err := h.Store.GetRecording(ctx, userID, recID); errors.Is(err, recording.ErrNotFound) {
		return outcomeOrphanDeleted, h.Objects.Delete(ctx, key)
	} else if err != nil {
		return "", err
	}
	return outcomeDuplicate, nil
}

// mismatch says why an object does not match its declaration, or "".
func mismatch(rec recording.Recording, info s3.ObjectInfo) string {
	if info.Size != rec.SizeBytes {
		return fmt.Sprintf("uploaded %d bytes but %d were declared", info.Size, rec.SizeBytes)
	}
	ct, _, err := recording.NormalizeContentType(info.ContentType)
	if err != nil || ct != rec.ContentType {
		return fmt.Sprintf("uploaded content type %q but %q was declared", info.ContentType, rec.ContentType)
	}
	return ""
}

func (h *Handler) removed(ctx context.Context, userID, recID, key, seq string) (string, error) {
	rec, err := h.Store.GetRecording(ctx, userID, recID)
	if errors.Is(err, recording.ErrNotFound) {
		return outcomeIgnored, nil
	}
	if err != nil {
		return "", err
	}
	if rec.Key != key {
		return outcomeIgnored, nil
	}
	// A removal delivered after a newer upload to the same key must not
	// drop the record of an object that exists again.
	if _, err := h.Objects.Head(ctx, key); err == nil {
		return outcomeStaleRemoval, nil
	} else if !errors.Is(err, s3.ErrNoObject) {
		return "", err
	}
	applied, err := h.Store.ObjectGone(ctx, rec, seq)
	if err != nil {
		return "", err
	}
	if applied {
		return outcomeRecordRemoved, nil
	}
	return outcomeDuplicate, nil
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
