package dynamo

import (
	"context"
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
