// Package lifecycle makes every recording and account converge to what its
// record says, whoever notices first: the events handler (an S3 event is a
// hint that a key changed), the reconciler (a record whose due time came),
// the recorder service (a delete, a login during an unfinished account
// deletion), which is the only one of them the API calls. All of
// them call the same level-triggered functions, which read the record and the
// object as they are now and act; a lost, duplicated, late or reordered event
// can only delay the result, never change it.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/voicerec/backend/internal/audio"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/metrics"
	"github.com/voicerec/backend/internal/providers"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// Keeper converges recordings and accounts.
type Keeper struct {
	Store   *dynamo.Store
	Objects *s3.Store
	Log     *slog.Logger
	Now     func() time.Time
	// TrashRetention is how long a deleted recording stays in the trash
	// (zero: deletes purge at once).
	TrashRetention time.Duration
	// Providers are the identity providers an account deletion calls
	// (nil: none).
	Providers *providers.Set
	// Transcription transcribes confirmed recordings (zero: none are).
	Transcription Transcription
	// Exports are the account's export records, which an account
	// deletion removes with their archives (nil: none kept).
	Exports *dynamo.Exports
}

// A record's due time says when it needs a visit; the API sets it (for a
// pending upload: its window plus UPLOAD_GRACE, when no URL issued for it
// can still be landing), so the Keeper needs no clock settings of its own.

// Outcomes, as logged. The ones that changed something are in Fixes.
const (
	OutcomeConfirmed      = "confirmed"
	OutcomeRejected       = "rejected"
	OutcomeOrphanDeleted  = "orphan_deleted"
	OutcomeRecordRemoved  = "record_removed"
	OutcomeClosed         = "closed_never_uploaded"
	OutcomeDeleteFinished = "delete_finished"
	OutcomePurged         = "purged_from_trash"
	OutcomeLateDeleted    = "late_upload_deleted"
	OutcomeInSync         = "in_sync"
	OutcomeWaiting        = "waiting_for_upload"
	OutcomeDeleteWaits    = "deleting_until_urls_expire"
	OutcomeIgnored        = "ignored"
	OutcomeContended      = "contended"
)

// Fixes are the outcomes that changed a record or removed an object.
var Fixes = map[string]bool{
	OutcomeConfirmed: true, OutcomeRejected: true, OutcomeOrphanDeleted: true, OutcomeRecordRemoved: true,
	OutcomeClosed: true, OutcomeDeleteFinished: true, OutcomeLateDeleted: true, OutcomePurged: true,
}

// maxRaces bounds how often Converge rereads after losing a conditional
// write to a concurrent change.
const maxRaces = 3

func (k *Keeper) now() time.Time {
	if k.Now == nil {
		return time.Now()
	}
	return k.Now()
}

// Seen is what an ObjectCreated:Put event reports of the object it
// announces: its key, size and ETag, and when it was stored.
type Seen struct {
	Key  string
	Size int64
	ETag string
	At   time.Time
}

// Converge makes one recording right. key is the object key an event
// named (it may differ from the record's if the extension does), or empty
// when the record itself is the reason to look.
func (k *Keeper) Converge(ctx context.Context, userID, recordingID, key string) (string, error) {
	return k.converge(ctx, userID, recordingID, key, nil)
}

// ConvergeSeen is Converge for an event that reported the object it
// announces: confirming a single PUT without a declared digest then needs
// no HEAD (see pending).
func (k *Keeper) ConvergeSeen(ctx context.Context, userID, recordingID string, seen Seen) (string, error) {
	return k.converge(ctx, userID, recordingID, seen.Key, &seen)
}

func (k *Keeper) converge(ctx context.Context, userID, recordingID, key string, seen *Seen) (string, error) {
	for range maxRaces {
		rec, err := k.Store.GetRecording(ctx, userID, recordingID)
		if errors.Is(err, recording.ErrNotFound) {
			// No record: deleted, closed long after its last URL, or never
			// created. Nothing may keep bytes under this key.
			return k.orphan(ctx, key)
		}
		if err != nil {
			return "", err
		}
		if key != "" && key != rec.Key {
			return k.orphan(ctx, key)
		}
		var outcome string
		switch rec.Status {
		case recording.StatusPending:
			outcome, err = k.pending(ctx, rec, seen)
		case recording.StatusAvailable:
			outcome, err = k.available(ctx, rec)
		case recording.StatusRejected:
			outcome, err = k.rejected(ctx, rec)
		case recording.StatusDeleting:
			outcome, err = k.deleting(ctx, rec)
		case recording.StatusDeleted:
			outcome, err = k.trashed(ctx, rec)
		default:
			return "", fmt.Errorf("recording %s/%s has unknown status %q", userID, recordingID, rec.Status)
		}
		if err != nil || outcome != "" {
			return outcome, err
		}
		// A conditional write lost to a concurrent change: decide again.
	}
	return OutcomeContended, nil
}

func (k *Keeper) orphan(ctx context.Context, key string) (string, error) {
	if key == "" {
		return OutcomeIgnored, nil
	}
	if _, err := k.Objects.Head(ctx, key); errors.Is(err, s3.ErrNoObject) {
		return OutcomeIgnored, nil
	} else if err != nil {
		return "", err
	}
	if err := k.Objects.Delete(ctx, key); err != nil {
		return "", err
	}
	k.emit(ctx, "orphan removed", nil, []any{"key", key}, metrics.Value{Metric: metrics.OrphansRemoved, Value: 1})
	return OutcomeOrphanDeleted, nil
}

// pending confirms or rejects an upload that landed, and closes one that
// never did once no URL issued for it can still land. "" means a
// conditional write lost a race.
//
// An event's report (seen) stands in for a HEAD when the HEAD would prove
// nothing more: a single PUT without a declared digest. Its size and ETag
// are the event's, its type is what the probe's first ranged read answers
// with, and every read is pinned to that ETag. A declared digest needs the
// stored checksum, which only a HEAD returns (ranged reads carry none);
// a multipart object needs its composite checksum likewise. An event
// naming another size than declared is not trusted to reject: a rejection
// deletes the object, so it is decided on the object as it is now.
func (k *Keeper) pending(ctx context.Context, rec recording.Recording, seen *Seen) (string, error) {
	if seen != nil && seen.Key == rec.Key && seen.ETag != "" && seen.Size == rec.SizeBytes && !rec.Multipart() && rec.SHA256 == "" {
		info := s3.ObjectInfo{Size: seen.Size, ETag: strings.Trim(seen.ETag, `"`), LastModified: seen.At}
		outcome, err := k.landed(ctx, rec, info)
		if err == nil {
			return outcome, nil
		}
		// The event may be stale (the object replaced or deleted since:
		// the pinned read fails) or storage failed a read: look at the
		// object as it is now instead.
		k.Log.InfoContext(ctx, "event facts not usable, reading the object", "key", rec.Key, "error", err)
	}
	info, err := k.Objects.Head(ctx, rec.Key)
	if errors.Is(err, s3.ErrNoObject) {
		if rec.DueAt.IsZero() || k.now().Before(rec.DueAt) {
			return OutcomeWaiting, nil
		}
		if rec.Multipart() {
			// Its window is over: discard the parts, so nothing can
			// complete it any more. A complete that won the race left an
			// object: look again.
			if err := k.Objects.AbortMultipart(ctx, rec.Key, rec.UploadID); err != nil {
				return "", err
			}
			if _, err := k.Objects.Head(ctx, rec.Key); err == nil {
				return "", nil
			} else if !errors.Is(err, s3.ErrNoObject) {
				return "", err
			}
		}
		applied, err := k.Store.CloseUpload(ctx, rec)
		if err != nil || !applied {
			return "", err
		}
		return OutcomeClosed, nil
	}
	if err != nil {
		return "", err
	}
	return k.landed(ctx, rec, info)
}

// landed confirms or rejects the object info describes.
func (k *Keeper) landed(ctx context.Context, rec recording.Recording, info s3.ObjectInfo) (string, error) {
	obj, reason, detail, read, err := k.check(ctx, rec, info)
	if err != nil {
		return "", err
	}
	if reason != "" {
		now := k.now()
		if !rec.Multipart() && rec.DueAt.After(now) {
			// Its URL may still store a body until the record's due time.
			// A completed multipart upload cannot be completed again.
			rec.LandBy = rec.DueAt
		}
		applied, err := k.Store.RejectUpload(ctx, rec, reason, detail, now)
		if err != nil || !applied {
			return "", err
		}
		k.emit(ctx, "recording rejected", map[string]string{metrics.DimReason: reason},
			[]any{"key", rec.Key, "reason", reason, "detail", detail},
			metrics.Value{Metric: metrics.Rejected, Value: 1}, metrics.Value{Metric: metrics.BytesRead, Value: float64(read)})
		// Record first, object second: if the delete fails, the rejected
		// record is still due and the reconciler deletes the object.
		if err := k.Objects.Delete(ctx, rec.Key); err != nil {
			return "", err
		}
		rec.Status, rec.DueAt = recording.StatusRejected, now
		return OutcomeRejected, k.settleRejected(ctx, rec)
	}
	// The object's tags were signed into its upload URL (s3.OwnerTags);
	// what is learned here (duration, status) goes to the record only,
	// where operators and the app read it, and costs no request to storage.
	now := k.now()
	applied, err := k.Store.ConfirmUpload(ctx, rec, obj, now)
	if err != nil || !applied {
		return "", err
	}
	k.emit(ctx, "recording confirmed", nil,
		[]any{"key", rec.Key, "codec", obj.Codec, "duration_ms", obj.DurationMS, "bytes_read", read},
		metrics.Value{Metric: metrics.Confirmed, Value: 1},
		metrics.Value{Metric: metrics.ConfirmationLatency, Value: float64(max(0, now.Sub(info.LastModified).Milliseconds()))},
		metrics.Value{Metric: metrics.BytesRead, Value: float64(read)})
	rec.Status, rec.DurationMS, rec.UploadedAt = recording.StatusAvailable, &obj.DurationMS, &now
	// A start that fails is retried with the event, whose next visit
	// finds the recording available without a transcript.
	return OutcomeConfirmed, k.startTranscriptOnce(ctx, rec)
}

// check decides whether an uploaded object may become the recording: it
// must match the declaration (size, type, checksum) and be real audio of the
// declared type, read through ranged GETs of only the bytes the format needs.
// A reason (with a sentence for the app) means reject; an error means the
// check itself failed (storage unreachable) and must be retried.
func (k *Keeper) check(ctx context.Context, rec recording.Recording, info s3.ObjectInfo) (obj dynamo.Object, reason, detail string, read int64, err error) {
	if info.Size != rec.SizeBytes {
		return obj, recording.RejectSizeMismatch, fmt.Sprintf("uploaded %d bytes but %d were declared", info.Size, rec.SizeBytes), 0, nil
	}
	typeMismatch := func(stored string) bool {
		ct, _, err := recording.NormalizeContentType(stored)
		return err != nil || ct != rec.ContentType
	}
	typeDetail := func(stored string) string {
		return fmt.Sprintf("uploaded content type %q but %q was declared", stored, rec.ContentType)
	}
	if info.ContentType != "" && typeMismatch(info.ContentType) {
		return obj, recording.RejectTypeMismatch, typeDetail(info.ContentType), 0, nil
	}
	// A digest is published only when storage verified it: a single PUT's
	// declared one (its URL signed it), or a multipart object's composite of
	// every part (each part URL signed its digest). An object that came by
	// another path carries neither, and is not the upload that was declared.
	var sha, parts string
	switch n, composite := recording.CompositeParts(info.SHA256); {
	case rec.Multipart():
		if !composite || n != rec.PartCount() {
			return obj, recording.RejectChecksumMismatch, "storage holds no verified checksum of every part of this upload", 0, nil
		}
		parts = info.SHA256
	case rec.SHA256 != "" && info.SHA256 != rec.SHA256:
		return obj, recording.RejectChecksumMismatch, "the stored checksum does not match the declared sha256", 0, nil
	case recording.ValidSHA256(info.SHA256):
		sha = info.SHA256
	}
	r := k.Objects.RangeReader(ctx, rec.Key, info.ETag)
	facts, err := audio.Probe(ctx, r, info.Size)
	if info.ContentType == "" {
		// No HEAD was made: the stored type is the first read's, and
		// decides before what the bytes say, as it would after a HEAD.
		if stored := r.ContentType(); stored != "" && typeMismatch(stored) {
			return obj, recording.RejectTypeMismatch, typeDetail(stored), r.BytesRead(), nil
		}
	}
	var bad *audio.Error
	switch {
	case errors.As(err, &bad):
		what := map[string]string{
			audio.ReasonNotAudio:   "the file is not a recognised audio format",
			audio.ReasonUnreadable: "the audio file is damaged or cut short",
		}[bad.Reason]
		return obj, bad.Reason, what, r.BytesRead(), nil
	case err != nil:
		return obj, "", "", r.BytesRead(), fmt.Errorf("probe %s: %w", rec.Key, err)
	case !audio.TypeMatches(rec.ContentType, facts):
		return obj, recording.RejectTypeMismatch, fmt.Sprintf("the file is %s audio (%s), not %s", facts.Container, facts.Codec, rec.ContentType), r.BytesRead(), nil
	}
	return dynamo.Object{
		Size: info.Size, ContentType: rec.ContentType, ETag: info.ETag, SHA256: sha, PartsSHA256: parts,
		DurationMS: facts.DurationMS, Codec: facts.Codec, SampleRateHz: facts.SampleRateHz, Channels: facts.Channels,
	}, "", "", r.BytesRead(), nil
}

// emit logs one decision as a line that is also an EMF record, under the
// service ctx was marked with (the events handler unless said otherwise).
func (k *Keeper) emit(ctx context.Context, msg string, dims map[string]string, attrs []any, values ...metrics.Value) {
	if dims == nil {
		dims = map[string]string{}
	}
	dims[metrics.DimService] = metrics.ServiceFrom(ctx, metrics.ServiceEvents)
	k.Log.InfoContext(ctx, msg, append(attrs, metrics.Attrs(time.Now(), dims, values...)...)...)
}

// available drops the record of an object that disappeared behind the
// API's back.
func (k *Keeper) available(ctx context.Context, rec recording.Recording) (string, error) {
	_, err := k.Objects.Head(ctx, rec.Key)
	if err == nil {
		return OutcomeInSync, k.startTranscriptOnce(ctx, rec)
	}
	if !errors.Is(err, s3.ErrNoObject) {
		return "", err
	}
	applied, err := k.Store.ObjectGone(ctx, rec)
	if err != nil || !applied {
		return "", err
	}
	return OutcomeRecordRemoved, k.dropTranscript(ctx, rec)
}

// trashed purges a recording whose time in the trash is over, and drops one
// whose object disappeared meanwhile.
func (k *Keeper) trashed(ctx context.Context, rec recording.Recording) (string, error) {
	if _, err := k.Objects.Head(ctx, rec.Key); errors.Is(err, s3.ErrNoObject) {
		applied, err := k.Store.ObjectGone(ctx, rec)
		if err != nil || !applied {
			return "", err
		}
		return OutcomeRecordRemoved, k.dropTranscript(ctx, rec)
	} else if err != nil {
		return "", err
	}
	if rec.DueAt.IsZero() || k.now().Before(rec.DueAt) {
		return OutcomeInSync, nil
	}
	if err := k.purge(ctx, rec); err != nil {
		if errors.Is(err, dynamo.ErrStateChanged) {
			return "", nil // restored meanwhile: decide again
		}
		return "", err
	}
	return OutcomePurged, nil
}

// purge deletes an available or trashed recording for good: out of the
// quota first, then the object, then the record.
func (k *Keeper) purge(ctx context.Context, rec recording.Recording) error {
	now := k.now()
	if err := k.Store.BeginDelete(ctx, rec, now); err != nil {
		return err
	}
	rec.Status, rec.DueAt = recording.StatusDeleting, now
	_, err := k.deleting(ctx, rec)
	return err
}

// rejected removes any object under a rejected record: the rejected body
// itself if its delete failed, or a later PUT through the same URL.
func (k *Keeper) rejected(ctx context.Context, rec recording.Recording) (string, error) {
	outcome := OutcomeInSync
	if _, err := k.Objects.Head(ctx, rec.Key); err == nil {
		if err := k.Objects.Delete(ctx, rec.Key); err != nil {
			return "", err
		}
		outcome = OutcomeLateDeleted
	} else if !errors.Is(err, s3.ErrNoObject) {
		return "", err
	}
	return outcome, k.settleRejected(ctx, rec)
}

// settleRejected is the due time of a rejected record whose object is
// gone: its LandBy while a body can still land there, none after.
func (k *Keeper) settleRejected(ctx context.Context, rec recording.Recording) error {
	if rec.LandBy.After(k.now()) {
		if rec.DueAt.Unix() == rec.LandBy.Unix() {
			return nil
		}
		return k.Store.DueAgain(ctx, rec, rec.LandBy)
	}
	if rec.DueAt.IsZero() {
		return nil
	}
	return k.Store.ClearDue(ctx, rec)
}

// deleting removes the object of a recording being deleted, and the record
// once no URL issued for it can still land.
func (k *Keeper) deleting(ctx context.Context, rec recording.Recording) (string, error) {
	if rec.Multipart() {
		// Parts first: once aborted, nothing can complete the upload.
		if err := k.Objects.AbortMultipart(ctx, rec.Key, rec.UploadID); err != nil {
			return "", err
		}
	}
	if err := k.Objects.Delete(ctx, rec.Key); err != nil {
		return "", err
	}
	if !rec.DueAt.IsZero() && k.now().Before(rec.DueAt) {
		return OutcomeDeleteWaits, nil
	}
	// The transcript before the record: once the record is gone, nothing
	// would lead to it.
	if err := k.dropTranscript(ctx, rec); err != nil {
		return "", err
	}
	if err := k.Store.FinishDelete(ctx, rec.UserID, rec.ID); err != nil {
		return "", err
	}
	// Search reads each hit's record at query time, so a purged recording
	// is never found whatever the index holds; this reclaims its items.
	if err := k.Store.Unindex(ctx, rec.UserID, rec.ID); err != nil {
		k.Log.WarnContext(ctx, "unindex purged recording", "recording_id", rec.ID, "error", err)
	}
	return OutcomeDeleteFinished, nil
}

// DeleteRecording starts and, where it can, finishes the user's delete of a
// recording, and says what it did. A plain delete (purge false, with a
// TrashRetention) moves an available recording to the trash and leaves one
// already there as it is: a delete retried after a lost answer, or sent
// from two devices, must never cost the user the recording. Only purge, or
// the reconciler at purge_at, deletes a recording in the trash.
//
// Deleting for good takes the recording out of view and quota first, then
// the object, then the record. A pending record stays (invisible,
// "deleting") until every URL issued for it has expired, so an upload
// still in flight finds it and is removed. A failure at any step leaves a
// due record that the reconciler finishes.
func (k *Keeper) DeleteRecording(ctx context.Context, userID, recordingID string, purge bool) (recording.Deletion, error) {
	toTrash := !purge && k.TrashRetention > 0
	var seen *recording.Recording
	if toTrash {
		// Most deletes trash an available recording: try that first, in
		// one request that answers with the recording whatever it found.
		a, err := k.Store.TrashIfAvailable(ctx, userID, recordingID, k.now().Add(k.TrashRetention))
		if err != nil {
			return recording.Deletion{}, err
		}
		if a.Moved {
			return trashedAs(recording.DeleteTrashed, a.Recording), nil
		}
		if a.Seen {
			seen = &a.Recording
		}
	}
	for range maxRaces {
		var rec recording.Recording
		if seen != nil {
			rec, seen = *seen, nil
		} else {
			var err error
			if rec, err = k.Store.GetRecording(ctx, userID, recordingID); err != nil {
				return recording.Deletion{}, err
			}
		}
		if rec.Status == recording.StatusDeleted && !purge {
			// Even without a TrashRetention now: a plain delete never
			// purges; the reconciler does at purge_at.
			return trashedAs(recording.DeleteAlreadyInTrash, rec), nil
		}
		if rec.Status == recording.StatusAvailable && toTrash {
			a, err := k.Store.TrashIfAvailable(ctx, userID, recordingID, k.now().Add(k.TrashRetention))
			if err != nil {
				return recording.Deletion{}, err
			}
			if a.Moved {
				return trashedAs(recording.DeleteTrashed, a.Recording), nil
			}
			if a.Seen {
				seen = &a.Recording
			}
			continue
		}
		err := k.deleteForGood(ctx, rec)
		if errors.Is(err, dynamo.ErrStateChanged) {
			continue // confirmed, trashed or restored meanwhile: decide again
		}
		if err != nil {
			return recording.Deletion{}, err
		}
		return recording.Deletion{Outcome: recording.DeleteDeleted}, nil
	}
	return recording.Deletion{}, &recording.Error{Code: recording.CodeUnavailable, Message: "recording is changing; try again"}
}

func trashedAs(o recording.DeleteOutcome, rec recording.Recording) recording.Deletion {
	return recording.Deletion{Outcome: o, Recording: &rec}
}

// deleteForGood deletes a recording in any status, or returns
// ErrStateChanged when it changed since rec was read.
func (k *Keeper) deleteForGood(ctx context.Context, rec recording.Recording) error {
	switch rec.Status {
	case recording.StatusAvailable, recording.StatusDeleted:
		return k.purge(ctx, rec)
	case recording.StatusDeleting:
		// A delete that failed halfway, or a pending one waiting for its
		// URLs to expire: deleting it again finishes what can be.
		_, err := k.deleting(ctx, rec)
		return err
	}
	now := k.now()
	due := now
	switch {
	case rec.Status == recording.StatusPending && rec.DueAt.After(now) && !rec.Multipart():
		// A single PUT's URL may still land until due. A multipart
		// upload is aborted below, after which no part URL or complete
		// can create the object, so it finishes at once.
		due = rec.DueAt
	case rec.Status == recording.StatusRejected && rec.LandBy.After(now):
		// So may a rejected upload's: the record waits as deleting until
		// then, so the reconciler deletes a late body whose event is lost.
		due = rec.LandBy
	}
	// A rejected record whose URL can no longer land holds nothing to
	// release and nothing can come: it is removed at once, without a mark.
	if rec.Status != recording.StatusRejected || due.After(now) {
		if err := k.Store.BeginDelete(ctx, rec, due); err != nil {
			return err
		}
	}
	rec.Status, rec.DueAt = recording.StatusDeleting, due
	_, err := k.deleting(ctx, rec)
	return err
}

// RestoreRecording brings a recording back from the trash; a recording not
// in the trash is not found there.
func (k *Keeper) RestoreRecording(ctx context.Context, userID, recordingID string) (recording.Recording, error) {
	rec, err := k.Store.GetRecording(ctx, userID, recordingID)
	if err != nil {
		return recording.Recording{}, err
	}
	if rec.Status != recording.StatusDeleted {
		return recording.Recording{}, recording.ErrNotFound
	}
	restored, err := k.Store.Restore(ctx, rec)
	if errors.Is(err, dynamo.ErrStateChanged) {
		return recording.Recording{}, recording.ErrNotFound // purged or restored meanwhile
	}
	return restored, err
}
