package dynamo

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/recording"
)

// Rename changes a visible recording's file name and returns it.
//
// With a session guard the rename is a transaction with the session's
// ConditionCheck, which cannot return the item; a strongly consistent read
// of the recording runs concurrently, so the whole takes one round trip of
// latency. The answer is that read with the new name: the recording as it
// was at most one concurrent change before or after the rename.
func (s *Store) Rename(ctx context.Context, userID, recordingID, name string) (recording.Recording, error) {
	vals := map[string]types.AttributeValue{
		":n": str(name), ":avail": str(string(recording.StatusAvailable)), ":rej": str(string(recording.StatusRejected)),
		":pend": str(string(recording.StatusPending)),
	}
	update := types.Update{
		TableName: &s.recordings, Key: recKey(userID, recordingID),
		UpdateExpression:          aws.String("SET file_name = :n"),
		ConditionExpression:       aws.String("#st IN (:avail, :rej, :pend)"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: vals,
	}
	if guardOf(ctx) != nil {
		return s.renameGuarded(ctx, update, name)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: update.TableName, Key: update.Key, UpdateExpression: update.UpdateExpression,
		ConditionExpression: update.ConditionExpression, ExpressionAttributeNames: update.ExpressionAttributeNames,
		ExpressionAttributeValues: update.ExpressionAttributeValues, ReturnValues: types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return recording.Recording{}, recording.ErrNotFound
	}
	if err != nil {
		return recording.Recording{}, fmt.Errorf("rename recording: %w", err)
	}
	var it recordingItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return recording.Recording{}, err
	}
	return it.domain(), nil
}

// maxRenameAttempts bounds a rename's retries after losing a race with
// another transaction on the recording.
const maxRenameAttempts = 5

func (s *Store) renameGuarded(ctx context.Context, update types.Update, name string) (recording.Recording, error) {
	got, cancel := s.readBeside(ctx, update.Key)
	defer cancel()
	var err error
	for attempt := 0; attempt < maxRenameAttempts; attempt++ {
		// A transaction, unlike a plain update, is cancelled by another
		// one on the same item (a confirm landing now): wait and retry.
		if err = quotaBackoff(ctx, attempt); err != nil {
			return recording.Recording{}, err
		}
		err = s.transactGuarded(ctx, []types.TransactWriteItem{{Update: &update}})
		if !transactionConflict(err) || errors.Is(err, ErrSessionInvalid) {
			break
		}
	}
	if errors.Is(err, ErrSessionInvalid) {
		return recording.Recording{}, err
	}
	if conditionFailed(err) {
		return recording.Recording{}, recording.ErrNotFound
	}
	if transactionConflict(err) {
		return recording.Recording{}, &recording.Error{Code: recording.CodeUnavailable, Message: "this recording is changing; try again"}
	}
	if err != nil {
		return recording.Recording{}, fmt.Errorf("rename recording: %w", err)
	}
	r := <-got
	var it recordingItem
	if r.err == nil && r.item != nil {
		if err := attributevalue.UnmarshalMap(r.item, &it); err != nil {
			return recording.Recording{}, fmt.Errorf("decode recording: %w", err)
		}
	}
	if r.err != nil || r.item == nil || !it.domain().Visible() {
		// The read lost a race with the recording's creation or a
		// delete: read it again now that the rename is done.
		uid := update.Key["user_id"].(*types.AttributeValueMemberS).Value
		rid := update.Key["recording_id"].(*types.AttributeValueMemberS).Value
		rec, err := s.GetRecording(ctx, uid, rid)
		if err != nil {
			return recording.Recording{}, err
		}
		rec.FileName = name
		return rec, nil
	}
	it.FileName = name
	return it.domain(), nil
}

// besideRead is the answer of a read made beside a write (readBeside).
type besideRead struct {
	item map[string]types.AttributeValue
	err  error
}

// readBeside starts a strongly consistent read of the recording at key
// alongside a guarded transaction that cannot return the item it writes, so
// the route still costs one round trip. Its result may predate the write,
// and is used only once the transaction has judged the session (it carries
// no check of its own). cancel ends the read if the answer is not needed.
func (s *Store) readBeside(ctx context.Context, key map[string]types.AttributeValue) (<-chan besideRead, context.CancelFunc) {
	rctx, cancel := context.WithCancel(ctx)
	got := make(chan besideRead, 1)
	go func() {
		out, err := s.db.GetItem(carrying(rctx), &dynamodb.GetItemInput{TableName: &s.recordings, Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			got <- besideRead{err: err}
			return
		}
		got <- besideRead{item: out.Item}
	}()
	return got, cancel
}
