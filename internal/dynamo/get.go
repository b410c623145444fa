package dynamo

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/recording"
)

// GetRecording returns a recording as stored, whatever its status, or
// recording.ErrNotFound. Callers decide what is visible. With a session
// guard in ctx not yet checked, the session is read in the same
// BatchGetItem and judged first: an invalid session is refused whether or
// not the recording exists.
func (s *Store) GetRecording(ctx context.Context, userID, recordingID string) (recording.Recording, error) {
	var item map[string]types.AttributeValue
	if g := guardOf(ctx); g != nil && !g.Checked() {
		sess, rec, err := s.getWithSession(ctx, g, recKey(userID, recordingID))
		if err != nil {
			return recording.Recording{}, err
		}
		if !validSession(g, sess) {
			return recording.Recording{}, ErrSessionInvalid
		}
		g.checked.Store(true)
		item = rec
	} else {
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: &s.recordings, Key: recKey(userID, recordingID), ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return recording.Recording{}, fmt.Errorf("get recording: %w", err)
		}
		item = out.Item
	}
	if item == nil {
		return recording.Recording{}, recording.ErrNotFound
	}
	it, err := decodeRecording(item)
	if err != nil {
		return recording.Recording{}, err
	}
	return it.domain(), nil
}
