package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
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
	return s.transact(ctx, "confirm upload",
		types.TransactWriteItem{Update: &types.Update{
			TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
			UpdateExpression:          aws.String(set + " REMOVE expires_at, #ttl, due_shard, due_at"),
			ConditionExpression:       aws.String("#st = :pend"),
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
	return s.transact(ctx, "reject upload",
		types.TransactWriteItem{Update: &types.Update{
			TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
			UpdateExpression:          aws.String(set + " REMOVE expires_at"),
			ConditionExpression:       aws.String("#st = :pend"),
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
	return s.transact(ctx, "close upload",
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
	return s.transact(ctx, "remove recording after object removal",
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
	err := s.transactGuarded(ctx, items)
	if errors.Is(err, ErrSessionInvalid) {
		return err
	}
	if rec.Status == recording.StatusPending && failedItems(ctx, err)[1] && !failedItems(ctx, err)[0] {
		// The reservation was already gone (pruned as expired) or the
		// bounds are not there: release without touching them.
		items[1] = s.releaseReservation(rec)
		err = s.transactGuarded(ctx, items)
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
func (s *Store) FinishDelete(ctx context.Context, userID, recordingID string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.recordings, Key: recKey(userID, recordingID),
		ConditionExpression:       aws.String("#st = :del OR #st = :rej"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":del": str(string(recording.StatusDeleting)), ":rej": str(string(recording.StatusRejected))},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("finish delete: %w", err)
	}
	return nil
}

// Trash moves an available recording to the trash: out of the normal list,
// still counted against the quota, due for the reconciler to purge at
// purgeAt. It returns the recording as it is now.
func (s *Store) Trash(ctx context.Context, rec recording.Recording, purgeAt time.Time) (recording.Recording, error) {
	return s.moveTrash(ctx, rec, recording.StatusAvailable, recording.StatusDeleted,
		"SET #st = :to, user_status = :us, purge_at = :purge, due_shard = :shard, due_at = :due"+endShares,
		map[string]types.AttributeValue{":purge": str(ts(purgeAt)), ":shard": str(dueShard(rec.ID)), ":due": num(purgeAt.Unix()), ":one": num(1)})
}

// TrashAttempt is what TrashIfAvailable did, and what it saw.
type TrashAttempt struct {
	// Moved: this call moved the recording to the trash; Recording is
	// the recording as that write left it.
	Moved bool
	// Seen: the recording was not available, and Recording is it as the
	// refused write found it. Neither Moved nor Seen: it is not there, or
	// the write lost a race with another transaction; read it to know.
	Seen      bool
	Recording recording.Recording
}

// TrashIfAvailable moves a recording to the trash if it is available, in
// one request and without reading it first: the common delete. The write
// answers with the recording either way (as it left it, or as it found it
// when the condition refused), so the caller needs no read to say what
// happened. With a session guard in ctx, the session's ConditionCheck is in
// the same transaction; a transaction returns no item when it succeeds, so
// a strongly consistent read runs concurrently with it (one round trip of
// latency, as for Rename) and the moved fields are laid over what it read.
func (s *Store) TrashIfAvailable(ctx context.Context, userID, recordingID string, purgeAt time.Time) (TrashAttempt, error) {
	// The stored form of purge_at, so the answer is exactly what a later
	// read of the record returns.
	purge := parseTS(ts(purgeAt))
	update := types.Update{
		TableName: &s.recordings, Key: recKey(userID, recordingID),
		UpdateExpression:         aws.String("SET #st = :to, user_status = :us, purge_at = :purge, due_shard = :shard, due_at = :due" + endShares),
		ConditionExpression:      aws.String("#st = :from"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one":  num(1),
			":from": str(string(recording.StatusAvailable)), ":to": str(string(recording.StatusDeleted)),
			":us": str(userStatus(userID, recording.StatusDeleted)), ":purge": str(ts(purge)),
			":shard": str(dueShard(recordingID)), ":due": num(purge.Unix()),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if guardOf(ctx) != nil {
		return s.trashGuarded(ctx, update, purge)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: update.TableName, Key: update.Key, UpdateExpression: update.UpdateExpression,
		ConditionExpression: update.ConditionExpression, ExpressionAttributeNames: update.ExpressionAttributeNames,
		ExpressionAttributeValues: update.ExpressionAttributeValues, ReturnValues: types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: update.ReturnValuesOnConditionCheckFailure,
	})
	var refused *types.ConditionalCheckFailedException
	var conflict *types.TransactionConflictException
	switch {
	case err == nil:
		rec, err := decodeRecording(out.Attributes)
		if err != nil {
			return TrashAttempt{}, err
		}
		return TrashAttempt{Moved: true, Recording: rec.domain()}, nil
	case errors.As(err, &refused):
		return seenBy(refused.Item)
	case errors.As(err, &conflict):
		return TrashAttempt{}, nil
	}
	return TrashAttempt{}, fmt.Errorf("trash recording: %w", err)
}

func (s *Store) trashGuarded(ctx context.Context, update types.Update, purge time.Time) (TrashAttempt, error) {
	got, cancel := s.readBeside(ctx, update.Key)
	defer cancel()
	err := s.transactGuarded(ctx, []types.TransactWriteItem{{Update: &update}})
	var tc *types.TransactionCanceledException
	switch {
	case err == nil:
	case errors.Is(err, ErrSessionInvalid):
		return TrashAttempt{}, err
	case errors.As(err, &tc) && failedItems(ctx, err)[0]:
		// DynamoDB judged every condition: with the session's reported
		// as no failure, the session held, and an answer built from the
		// returned item needs no read to check it.
		if len(tc.CancellationReasons) == 2 && aws.ToString(tc.CancellationReasons[0].Code) == "None" {
			s.markChecked(ctx)
		}
		return seenBy(tc.CancellationReasons[1].Item)
	case transactionConflict(err):
		return TrashAttempt{}, nil
	default:
		return TrashAttempt{}, fmt.Errorf("trash recording: %w", err)
	}
	r := <-got
	if r.err != nil {
		return TrashAttempt{}, fmt.Errorf("read trashed recording: %w", r.err)
	}
	if r.item == nil {
		// Purged between the move and the read: nothing to show.
		return TrashAttempt{Moved: true}, nil
	}
	it, err := decodeRecording(r.item)
	if err != nil {
		return TrashAttempt{}, err
	}
	// The read may have been served before the move: show what the move
	// wrote.
	rec := it.domain()
	rec.Status, rec.PurgeAt, rec.DueAt = recording.StatusDeleted, &purge, time.Unix(purge.Unix(), 0).UTC()
	return TrashAttempt{Moved: true, Recording: rec}, nil
}

// seenBy reports a trash refused by its condition, with the item DynamoDB
// returned (none: there is no such recording).
func seenBy(item map[string]types.AttributeValue) (TrashAttempt, error) {
	if len(item) == 0 {
		return TrashAttempt{}, nil
	}
	it, err := decodeRecording(item)
	if err != nil {
		return TrashAttempt{}, err
	}
	return TrashAttempt{Seen: true, Recording: it.domain()}, nil
}

// Restore brings a recording back from the trash as it was.
func (s *Store) Restore(ctx context.Context, rec recording.Recording) (recording.Recording, error) {
	return s.moveTrash(ctx, rec, recording.StatusDeleted, recording.StatusAvailable,
		"SET #st = :to, user_status = :us REMOVE purge_at, due_shard, due_at", map[string]types.AttributeValue{})
}

func (s *Store) moveTrash(ctx context.Context, rec recording.Recording, from, to recording.Status, update string, vals map[string]types.AttributeValue) (recording.Recording, error) {
	vals[":from"], vals[":to"], vals[":us"] = str(string(from)), str(string(to)), str(userStatus(rec.UserID, to))
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("#st = :from"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: vals,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return recording.Recording{}, ErrStateChanged
	}
	if err != nil {
		return recording.Recording{}, fmt.Errorf("move recording from %s to %s: %w", from, to, err)
	}
	var it recordingItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return recording.Recording{}, err
	}
	return it.domain(), nil
}
