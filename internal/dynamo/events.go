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
	Sequencer   string
}

// RejectedRetention is how long a rejected record stays for the app to show
// its reason.
const RejectedRetention = 7 * 24 * time.Hour

// ConfirmUpload turns a pending recording available and moves its bytes from
// the user's reservations to the stored counters, in one transaction that
// only succeeds while the record is still pending, unexpired, and has seen no
// newer event. applied is false when the condition did not hold (a duplicate
// or stale event, or a recording deleted meanwhile): then nothing changed.
func (s *Store) ConfirmUpload(ctx context.Context, rec recording.Recording, obj Object, now time.Time) (applied bool, err error) {
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
			UpdateExpression: aws.String("SET #st = :avail, user_status = :us, size_bytes = :size, content_type = :ct, " +
				"etag = :etag, uploaded_at = :now, sequencer = :seq REMOVE expires_at, #ttl"),
			ConditionExpression:      aws.String("#st = :pend AND #ttl > :nowepoch AND (attribute_not_exists(sequencer) OR sequencer < :seq)"),
			ExpressionAttributeNames: map[string]string{"#st": "status", "#ttl": TTLAttribute},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":avail": str(string(recording.StatusAvailable)), ":pend": str(string(recording.StatusPending)),
				":us": str(userStatus(rec.UserID, recording.StatusAvailable)), ":size": num(obj.Size),
				":ct": str(obj.ContentType), ":etag": str(obj.ETag), ":now": str(ts(now)),
				":seq": str(padSequencer(obj.Sequencer)), ":nowepoch": num(now.Unix()),
			},
		}},
		{Update: &types.Update{
			TableName: &s.users, Key: userKey(rec.UserID),
			UpdateExpression:          aws.String("REMOVE pending_uploads.#rid ADD bytes_stored :size, recording_count :one, quota_version :one"),
			ConditionExpression:       aws.String("attribute_exists(user_id) AND attribute_not_exists(account_state)"),
			ExpressionAttributeNames:  map[string]string{"#rid": rec.ID},
			ExpressionAttributeValues: map[string]types.AttributeValue{":size": num(obj.Size), ":one": num(1)},
		}},
	}})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("confirm upload: %w", err)
	}
	return true, nil
}

// RejectUpload marks a pending recording rejected with a reason the app can
// show, releases its reservation, and lets the record expire after a week.
func (s *Store) RejectUpload(ctx context.Context, rec recording.Recording, reason, sequencer string, now time.Time) (applied bool, err error) {
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
			UpdateExpression:         aws.String("SET #st = :rej, user_status = :us, reject_reason = :why, sequencer = :seq, #ttl = :ttl REMOVE expires_at"),
			ConditionExpression:      aws.String("#st = :pend AND (attribute_not_exists(sequencer) OR sequencer < :seq)"),
			ExpressionAttributeNames: map[string]string{"#st": "status", "#ttl": TTLAttribute},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":rej": str(string(recording.StatusRejected)), ":pend": str(string(recording.StatusPending)),
				":us": str(userStatus(rec.UserID, recording.StatusRejected)), ":why": str(reason),
				":seq": str(padSequencer(sequencer)), ":ttl": num(now.Add(RejectedRetention).Unix()),
			},
		}},
		s.releaseReservation(rec),
	}})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reject upload: %w", err)
	}
	return true, nil
}

// ObjectGone makes the record follow an object that disappeared: an
// available recording is removed with its bytes released; a deleting one
// (the API's own delete) is finished. A rejected record stays: its object was
// removed by the rejection itself, and the reason is for the app to show.
// Events older than what the record has seen change nothing. applied
// reports whether anything changed.
func (s *Store) ObjectGone(ctx context.Context, rec recording.Recording, sequencer string) (applied bool, err error) {
	switch rec.Status {
	case recording.StatusDeleting:
		return true, s.FinishDelete(ctx, rec.UserID, rec.ID)
	case recording.StatusAvailable:
	default:
		return false, nil
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Delete: &types.Delete{
			TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
			ConditionExpression:      aws.String("#st = :avail AND (attribute_not_exists(sequencer) OR sequencer < :seq)"),
			ExpressionAttributeNames: map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":avail": str(string(recording.StatusAvailable)), ":seq": str(padSequencer(sequencer)),
			},
		}},
		{Update: &types.Update{
			TableName: &s.users, Key: userKey(rec.UserID),
			UpdateExpression:          aws.String("ADD bytes_stored :negsize, recording_count :neg1, quota_version :one"),
			ConditionExpression:       aws.String("attribute_exists(user_id)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":negsize": num(-rec.SizeBytes), ":neg1": num(-1), ":one": num(1)},
		}},
	}})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("remove recording after object removal: %w", err)
	}
	return true, nil
}
