package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/recording"
)

// Rename changes a visible recording's file name and returns it.
//
// The feed records the renamed recording in the rename's own transaction,
// so the recording is read first (with the session, under a guard: see
// GetRecording) and the rename is conditional on the status and name it
// read: the answer, and the feed, are exactly what the rename left.
func (s *Store) Rename(ctx context.Context, userID, recordingID, name string) (recording.Recording, error) {
	var err error
	for attempt := 0; attempt < maxRenameAttempts; attempt++ {
		// A transaction, unlike a plain update, is cancelled by another
		// one on the same item (a confirm landing now): wait and retry.
		if err = quotaBackoff(ctx, attempt); err != nil {
			return recording.Recording{}, err
		}
		var rec recording.Recording
		rec, err = s.GetRecording(ctx, userID, recordingID)
		if err != nil {
			return recording.Recording{}, err
		}
		switch rec.Status {
		case recording.StatusAvailable, recording.StatusRejected, recording.StatusPending:
		default:
			return recording.Recording{}, recording.ErrNotFound
		}
		after := rec
		after.FileName = name
		err = s.transactChange(ctx, upsertOf(after, time.Now()), types.TransactWriteItem{Update: &types.Update{
			TableName: &s.recordings, Key: recKey(userID, recordingID),
			UpdateExpression:         aws.String("SET file_name = :n"),
			ConditionExpression:      aws.String("#st = :st AND file_name = :old"),
			ExpressionAttributeNames: map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":n": str(name), ":st": str(string(rec.Status)), ":old": str(rec.FileName),
			},
		}})
		if err == nil {
			return after, nil
		}
		if errors.Is(err, ErrSessionInvalid) {
			return recording.Recording{}, err
		}
		if !conditionFailed(err) && !transactionConflict(err) {
			return recording.Recording{}, fmt.Errorf("rename recording: %w", err)
		}
	}
	return recording.Recording{}, &recording.Error{Code: recording.CodeUnavailable, Message: "this recording is changing; try again"}
}

// maxRenameAttempts bounds a rename's retries after the recording changed
// between its read and its write.
const maxRenameAttempts = 5
