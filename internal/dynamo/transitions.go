package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/recording"
)

// Object is what storage says about an uploaded object.
type Object struct {
	Size        int64
	ContentType string
	ETag        string
	SHA256      string
	PartsSHA256 string
	// What the audio itself says.
	DurationMS   int64
	Codec        string
	SampleRateHz int
	Channels     int
}

// RejectedRetention is how long a rejected record stays for the app to show
// its reason.
const RejectedRetention = 7 * 24 * time.Hour

// ErrStateChanged means a recording changed between read and write; the
// caller rereads and decides again.
var ErrStateChanged = fmt.Errorf("recording changed concurrently")

// Every transition below is conditional on the status it starts from, so the
// events handler, the reconciler and the API can race on one recording and
// exactly one of them applies each change; the others see applied false and
// reread.

// ConfirmUpload turns a pending recording available and moves its bytes from
// the user's reservations to the stored counters, in one transaction. applied
// is false when the record was no longer pending or the account is being
// deleted: then nothing changed.
func (s *Store) ConfirmUpload(ctx context.Context, rec recording.Recording, obj Object, now time.Time) (applied bool, err error) {
	set := "SET #st = :avail, user_status = :us, size_bytes = :size, content_type = :ct, etag = :etag, uploaded_at = :now, " +
		"duration_ms = :dur, codec = :codec, sample_rate_hz = :rate, channels = :ch"
	vals := map[string]types.AttributeValue{
		":avail": str(string(recording.StatusAvailable)), ":pend": str(string(recording.StatusPending)),
		":us": str(userStatus(rec.UserID, recording.StatusAvailable)), ":size": num(obj.Size),
		":ct": str(obj.ContentType), ":etag": str(obj.ETag), ":now": str(ts(now)),
		":dur": num(obj.DurationMS), ":codec": str(obj.Codec), ":rate": num(int64(obj.SampleRateHz)), ":ch": num(int64(obj.Channels)),
	}
	if obj.SHA256 != "" {
		set += ", sha256 = :sha"
		vals[":sha"] = str(obj.SHA256)
	}
	if obj.PartsSHA256 != "" {
		set += ", parts_sha256 = :psha"
		vals[":psha"] = str(obj.PartsSHA256)
	}
	if d := ledgerDigest(obj); d != "" {
		set += ", user_digest = :ud"
		vals[":ud"] = str(userDigest(rec.UserID, d))
	}
	vals[":fn"] = str(rec.FileName)
	return s.transactRecorded(ctx, "confirm upload", upsertOf(confirmed(rec, obj, now), now),
		types.TransactWriteItem{Update: &types.Update{
			TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
			UpdateExpression: aws.String(set + " REMOVE expires_at, #ttl, due_shard, due_at"),
			// The feed records rec with this change laid over it: a rename
			// since rec was read makes the caller read again.
			ConditionExpression:       aws.String("#st = :pend AND file_name = :fn"),
			ExpressionAttributeNames:  map[string]string{"#st": "status", "#ttl": TTLAttribute},
			ExpressionAttributeValues: vals,
		}},
		types.TransactWriteItem{Update: &types.Update{
			TableName: &s.users, Key: userKey(rec.UserID),
			UpdateExpression:          aws.String("REMOVE pending_uploads.#rid ADD bytes_stored :size, recording_count :one, quota_version :one"),
			ConditionExpression:       aws.String("attribute_exists(user_id) AND attribute_not_exists(account_state)"),
			ExpressionAttributeNames:  map[string]string{"#rid": rec.ID},
			ExpressionAttributeValues: map[string]types.AttributeValue{":size": num(obj.Size), ":one": num(1)},
		}},
	)
}

// confirmed is rec as ConfirmUpload leaves it.
func confirmed(rec recording.Recording, obj Object, now time.Time) recording.Recording {
	dur, at := obj.DurationMS, now.UTC()
	rec.Status, rec.SizeBytes, rec.ContentType, rec.ETag, rec.UploadedAt = recording.StatusAvailable, obj.Size, obj.ContentType, obj.ETag, &at
	rec.DurationMS, rec.Codec, rec.SampleRateHz, rec.Channels = &dur, obj.Codec, obj.SampleRateHz, obj.Channels
	if obj.SHA256 != "" {
		rec.SHA256 = obj.SHA256
	}
	if obj.PartsSHA256 != "" {
		rec.PartsSHA256 = obj.PartsSHA256
	}
	rec.ExpiresAt, rec.DueAt = nil, time.Time{}
	return rec
}

// RejectUpload marks a pending recording rejected with a reason code and a
// sentence the app can show, and releases its reservation; the record
// expires after a week. It is due at once: until ClearDue or DueAgain says
// its object is gone, the reconciler keeps deleting that object. rec.LandBy,
// when set, is kept: until then a body may land again (see DueAgain).
func (s *Store) RejectUpload(ctx context.Context, rec recording.Recording, reason, detail string, now time.Time) (applied bool, err error) {
	set := "SET #st = :rej, user_status = :us, reject_reason = :why, reject_detail = :detail, #ttl = :ttl, due_shard = :shard, due_at = :due"
	vals := map[string]types.AttributeValue{
		":rej": str(string(recording.StatusRejected)), ":pend": str(string(recording.StatusPending)),
		":us": str(userStatus(rec.UserID, recording.StatusRejected)), ":why": str(reason), ":detail": str(detail),
		":ttl": num(now.Add(RejectedRetention).Unix()), ":shard": str(dueShard(rec.ID)), ":due": num(now.Unix()),
	}
	if !rec.LandBy.IsZero() {
		set += ", land_by = :land"
		vals[":land"] = num(rec.LandBy.Unix())
	}
	vals[":fn"] = str(rec.FileName)
	after := rec
	after.Status, after.RejectReason, after.RejectDetail, after.ExpiresAt = recording.StatusRejected, reason, detail, nil
	return s.transactRecorded(ctx, "reject upload", upsertOf(after, now),
		types.TransactWriteItem{Update: &types.Update{
			TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
			UpdateExpression:          aws.String(set + " REMOVE expires_at"),
			ConditionExpression:       aws.String("#st = :pend AND file_name = :fn"),
			ExpressionAttributeNames:  map[string]string{"#st": "status", "#ttl": TTLAttribute},
			ExpressionAttributeValues: vals,
		}},
		s.releaseReservation(rec),
	)
}

// CloseUpload removes a pending record that was never uploaded, with its
// reservation. Only the reconciler calls it, after every URL issued for the
// record has expired and the object was found missing.
func (s *Store) CloseUpload(ctx context.Context, rec recording.Recording) (applied bool, err error) {
	return s.transactRecorded(ctx, "close upload", removalOf(rec.UserID, rec.ID, time.Now()),
		types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
			ConditionExpression:       aws.String("#st = :pend"),
			ExpressionAttributeNames:  map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pend": str(string(recording.StatusPending))},
		}},
		s.releaseReservation(rec),
	)
}

// ObjectGone removes an available (or trashed) recording whose object
// disappeared behind the API's back (a console delete, a lifecycle rule),
// releasing its bytes.
func (s *Store) ObjectGone(ctx context.Context, rec recording.Recording) (applied bool, err error) {
	return s.transactRecorded(ctx, "remove recording after object removal", removalOf(rec.UserID, rec.ID, time.Now()),
		types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
			ConditionExpression:      aws.String("#st IN (:avail, :trashed)"),
			ExpressionAttributeNames: map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":avail": str(string(recording.StatusAvailable)), ":trashed": str(string(recording.StatusDeleted)),
			},
		}},
		types.TransactWriteItem{Update: &types.Update{
			TableName: &s.users, Key: userKey(rec.UserID),
			UpdateExpression:          aws.String("ADD bytes_stored :negsize, recording_count :neg1, quota_version :one"),
			ConditionExpression:       aws.String("attribute_exists(user_id)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":negsize": num(-rec.SizeBytes), ":neg1": num(-1), ":one": num(1)},
		}},
	)
}

// DueAgain makes a rejected record, whose object is known to be gone, due
// at `at` (its LandBy): a body its upload URL stores meanwhile is deleted
// then, even if that body's event is lost.
func (s *Store) DueAgain(ctx context.Context, rec recording.Recording, at time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
		UpdateExpression:         aws.String("SET due_shard = :shard, due_at = :due"),
		ConditionExpression:      aws.String("#st = :rej"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":rej": str(string(recording.StatusRejected)), ":shard": str(dueShard(rec.ID)), ":due": num(at.Unix()),
		},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("set due again: %w", err)
	}
	return nil
}

// ClearDue takes a rejected record off the reconciler's list once its
// object is known to be gone.
func (s *Store) ClearDue(ctx context.Context, rec recording.Recording) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
		UpdateExpression:          aws.String("REMOVE due_shard, due_at"),
		ConditionExpression:       aws.String("#st = :rej"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":rej": str(string(recording.StatusRejected))},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("clear due: %w", err)
	}
	return nil
}

// transact runs a conditional transaction: applied is false when a
// condition did not hold or another transaction won the race.
func (s *Store) transact(ctx context.Context, what string, items ...types.TransactWriteItem) (bool, error) {
	_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
	if conditionFailed(err) || transactionConflict(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return true, nil
}

// BeginDelete takes a recording out of the user's view and quota before its
// object is deleted: it becomes "deleting" with its bytes (or its pending
// reservation) released, and due at `due` for the reconciler. The caller
// then deletes the object and, once no upload URL can still land (at due for
// a pending one, at once otherwise), calls FinishDelete. Whatever fails in
// between, the reconciler finishes at due.
func (s *Store) BeginDelete(ctx context.Context, rec recording.Recording, due time.Time) error {
	mark := func(from recording.Status) types.TransactWriteItem {
		return types.TransactWriteItem{Update: &types.Update{
			TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
			UpdateExpression:         aws.String("SET #st = :del, due_shard = :shard, due_at = :due REMOVE user_status"),
			ConditionExpression:      aws.String("#st = :from"),
			ExpressionAttributeNames: map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":del": str(string(recording.StatusDeleting)), ":from": str(string(from)),
				":shard": str(dueShard(rec.ID)), ":due": num(due.Unix()),
			},
		}}
	}
	var items []types.TransactWriteItem
	switch rec.Status {
	case recording.StatusAvailable, recording.StatusDeleted:
		items = []types.TransactWriteItem{
			mark(rec.Status),
			{Update: &types.Update{
				TableName: &s.users, Key: userKey(rec.UserID),
				UpdateExpression:          aws.String("ADD bytes_stored :negsize, recording_count :neg1, quota_version :one"),
				ConditionExpression:       aws.String("attribute_exists(user_id)"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":negsize": num(-rec.SizeBytes), ":neg1": num(-1), ":one": num(1)},
			}},
		}
	case recording.StatusPending:
		items = []types.TransactWriteItem{mark(recording.StatusPending), s.releaseCounted(rec)}
	case recording.StatusRejected:
		// Only when its URL may still land (the caller decides): it then
		// waits, invisible, until due. It holds no quota.
		items = []types.TransactWriteItem{mark(recording.StatusRejected)}
	default:
		return nil // deleting records need only FinishDelete
	}
	// From here the recording is out of the user's view for good.
	gone := removalOf(rec.UserID, rec.ID, time.Now())
	err := s.transactChange(ctx, gone, items...)
	if errors.Is(err, ErrSessionInvalid) {
		return err
	}
	if rec.Status == recording.StatusPending && failedItems(ctx, err)[1] && !failedItems(ctx, err)[0] {
		// The reservation was already gone (pruned as expired) or the
		// bounds are not there: release without touching them.
		items[1] = s.releaseReservation(rec)
		err = s.transactChange(ctx, gone, items...)
		if errors.Is(err, ErrSessionInvalid) {
			return err
		}
	}
	if conditionFailed(err) || transactionConflict(err) {
		return ErrStateChanged
	}
	if err != nil {
		return fmt.Errorf("begin delete: %w", err)
	}
	return nil
}

// FinishDelete removes a deleting or rejected record once its object is gone.
// A deleting record left the user's view (and the feed said so) when it
// became deleting; a rejected one leaves it now, and the feed says so in
// the same transaction.
func (s *Store) FinishDelete(ctx context.Context, userID, recordingID string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.recordings, Key: recKey(userID, recordingID),
		ConditionExpression:       aws.String("#st = :del"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":del": str(string(recording.StatusDeleting))},
	})
	if err == nil {
		return nil
	}
	if !conditionFailed(err) {
		return fmt.Errorf("finish delete: %w", err)
	}
	_, err = s.transactRecorded(ctx, "finish delete", removalOf(userID, recordingID, time.Now()),
		types.TransactWriteItem{Delete: &types.Delete{
			TableName: &s.recordings, Key: recKey(userID, recordingID),
			ConditionExpression:       aws.String("#st = :rej"),
			ExpressionAttributeNames:  map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{":rej": str(string(recording.StatusRejected))},
		}})
	return err
}

// Trash moves an available recording to the trash: out of the normal list,
// still counted against the quota, due for the reconciler to purge at
// purgeAt. It returns the recording as it is now.
func (s *Store) Trash(ctx context.Context, rec recording.Recording, purgeAt time.Time) (recording.Recording, error) {
	purge := parseTS(ts(purgeAt))
	after := rec
	after.Status, after.PurgeAt, after.DueAt = recording.StatusDeleted, &purge, time.Unix(purge.Unix(), 0).UTC()
	return s.moveTrash(ctx, rec, after,
		"SET #st = :to, user_status = :us, purge_at = :purge, due_shard = :shard, due_at = :due"+endShares,
		map[string]types.AttributeValue{":purge": str(ts(purge)), ":shard": str(dueShard(rec.ID)), ":due": num(purge.Unix()), ":one": num(1)})
}

// TrashAttempt is what TrashIfAvailable did, and what it saw.
type TrashAttempt struct {
	// Moved: this call moved the recording to the trash; Recording is
	// the recording as that write left it.
	Moved bool
	// Seen: the recording was not available, and Recording is it as it
	// was found. Neither Moved nor Seen: it is not there, or the write
	// kept losing races with other changes; read it to know.
	Seen      bool
	Recording recording.Recording
}

// TrashIfAvailable moves a recording to the trash if it is available. The
// feed records the recording as the move leaves it, in the move's own
// transaction, so the recording is read first (with the session, under a
// guard: GetRecording) and the move is conditional on what was read.
func (s *Store) TrashIfAvailable(ctx context.Context, userID, recordingID string, purgeAt time.Time) (TrashAttempt, error) {
	for range maxRenameAttempts {
		rec, err := s.GetRecording(ctx, userID, recordingID)
		if errors.Is(err, recording.ErrNotFound) {
			return TrashAttempt{}, nil
		}
		if err != nil {
			return TrashAttempt{}, err
		}
		if rec.Status != recording.StatusAvailable {
			return TrashAttempt{Seen: true, Recording: rec}, nil
		}
		moved, err := s.Trash(ctx, rec, purgeAt)
		if errors.Is(err, ErrStateChanged) {
			continue
		}
		if err != nil {
			return TrashAttempt{}, err
		}
		return TrashAttempt{Moved: true, Recording: moved}, nil
	}
	return TrashAttempt{}, nil
}

// Restore brings a recording back from the trash as it was.
func (s *Store) Restore(ctx context.Context, rec recording.Recording) (recording.Recording, error) {
	after := rec
	after.Status, after.PurgeAt, after.DueAt = recording.StatusAvailable, nil, time.Time{}
	return s.moveTrash(ctx, rec, after,
		"SET #st = :to, user_status = :us REMOVE purge_at, due_shard, due_at", map[string]types.AttributeValue{})
}

// moveTrash moves rec between the trash and the list, recording after in
// the feed. It is conditional on the status and name rec has, so what the
// feed records is exactly what the move leaves.
func (s *Store) moveTrash(ctx context.Context, rec, after recording.Recording, update string, vals map[string]types.AttributeValue) (recording.Recording, error) {
	from, to := rec.Status, after.Status
	vals[":from"], vals[":to"], vals[":us"], vals[":fn"] = str(string(from)), str(string(to)), str(userStatus(rec.UserID, to)), str(rec.FileName)
	err := s.transactChange(ctx, upsertOf(after, time.Now()), types.TransactWriteItem{Update: &types.Update{
		TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("#st = :from AND file_name = :fn"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: vals,
	}})
	if errors.Is(err, ErrSessionInvalid) {
		return recording.Recording{}, err
	}
	if conditionFailed(err) || transactionConflict(err) {
		return recording.Recording{}, ErrStateChanged
	}
	if err != nil {
		return recording.Recording{}, fmt.Errorf("move recording from %s to %s: %w", from, to, err)
	}
	return after, nil
}
