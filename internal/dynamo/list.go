package dynamo

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/recording"
)

// listedAttributes are what a listing shows of a recording, and its object
// key (a page may carry download URLs): a Query returns only these, so a
// page of up to 101 items leaves the index and due keys, the ETag, the
// multipart upload id and the expiry behind. It costs the same read
// capacity (DynamoDB bills the whole item), but fewer bytes to send,
// deserialize and decode on every list.
var listedAttributes = []string{
	"user_id", "recording_id", "#st", "file_name", "content_type", "size_bytes", "duration_ms", "codec",
	"sample_rate_hz", "channels", "recorded_at", "created_at", "uploaded_at", "expires_at", "purge_at",
	"sha256", "parts_sha256", "part_size", "reject_reason", "reject_detail", "object_key",
	"transcript_status", "requested_language",
}

var listProjection = strings.Join(listedAttributes, ", ")

// ListRecordings returns one page of a user's recordings in one status,
// newest first, starting after the recording id `after` (empty: from the
// newest). next is the id to continue after, empty on the last page. Items
// carry listedAttributes only.
//
// Available, rejected and trashed records are read from the by-status
// index, scoped to the caller's partition key. Pending records are not in
// it (see recordingItem.UserStatus): they are read from the user's
// partition of the table, filtered on status, so a page costs reads in
// proportion to the records it passes over, within maxListAllQueries.
// Records stored before pending ones left the index still carry a pending
// key there; nothing reads it, and the table lists each record once.
func (s *Store) ListRecordings(ctx context.Context, userID string, status recording.Status, limit int, after string, now time.Time) (items []recording.Recording, next string, err error) {
	if status == recording.StatusPending {
		in := &dynamodb.QueryInput{
			TableName:                &s.recordings,
			ProjectionExpression:     &listProjection,
			KeyConditionExpression:   aws.String("user_id = :u"),
			FilterExpression:         aws.String("#st = :pend"),
			ExpressionAttributeNames: map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":u": str(userID), ":pend": str(string(recording.StatusPending)),
			},
			ScanIndexForward: aws.Bool(false),
		}
		if after != "" {
			in.ExclusiveStartKey = recKey(userID, after)
		}
		return s.queryPage(ctx, in, limit, "list pending recordings")
	}
	in := &dynamodb.QueryInput{
		TableName: &s.recordings, IndexName: aws.String(RecordingsByStateIndex),
		KeyConditionExpression:    aws.String("user_status = :us"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":us": str(userStatus(userID, status))},
		ProjectionExpression:      &listProjection,
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ScanIndexForward:          aws.Bool(false),
	}
	if status == recording.StatusRejected { // kept for a week, deleted late by TTL
		in.FilterExpression = aws.String("#ttl > :now")
		in.ExpressionAttributeNames["#ttl"] = TTLAttribute
		in.ExpressionAttributeValues[":now"] = num(now.Unix())
	}
	if after != "" {
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			"user_status": str(userStatus(userID, status)), "recording_id": str(after), "user_id": str(userID),
		}
	}
	return s.queryPage(ctx, in, limit, "list recordings")
}

// maxListAllQueries bounds the Queries behind one page of a listing that
// filters: ListAllRecordings, pending and rejected ListRecordings. What the
// filter drops (trash, deleting records, other statuses, expired
// rejections) is read first, so a page may need more than one Query to
// fill; past the bound the page is returned short, with a cursor.
const maxListAllQueries = 4

// ListAllRecordings returns one page of a user's pending, available and
// rejected recordings together, newest first, starting after the recording
// id `after`; next is where to continue, empty on the last page. Trash
// (deleted) and deleting records are left out, and rejected ones past their
// retention too, as ListRecordings leaves them out of its own listings. It
// Queries the table itself, whose sort key orders a partition by id (time),
// so one cursor spans every status. Items carry listedAttributes only.
func (s *Store) ListAllRecordings(ctx context.Context, userID string, limit int, after string, now time.Time) (items []recording.Recording, next string, err error) {
	in := &dynamodb.QueryInput{
		TableName:                &s.recordings,
		ProjectionExpression:     &listProjection,
		KeyConditionExpression:   aws.String("user_id = :u"),
		FilterExpression:         aws.String("#st IN (:pend, :avail, :rej) AND (#st <> :rej OR #ttl > :now)"),
		ExpressionAttributeNames: map[string]string{"#st": "status", "#ttl": TTLAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":u": str(userID), ":now": num(now.Unix()),
			":pend": str(string(recording.StatusPending)), ":avail": str(string(recording.StatusAvailable)),
			":rej": str(string(recording.StatusRejected)),
		},
		ScanIndexForward: aws.Bool(false),
	}
	if after != "" {
		in.ExclusiveStartKey = recKey(userID, after)
	}
	return s.queryPage(ctx, in, limit, "list all recordings")
}

// queryPage runs in (a newest-first Query of one user's recordings, which
// may filter) until it has a page of limit items, it reaches the end, or
// it has made maxListAllQueries Queries; next is where to continue, empty
// on the last page. The session (if ctx carries a guard) is read at the
// same time as the first Query and judged before anything from the page
// is returned.
func (s *Store) queryPage(ctx context.Context, in *dynamodb.QueryInput, limit int, what string) (items []recording.Recording, next string, err error) {
	sess := s.readSessionAsync(ctx)
	for i := range maxListAllQueries {
		// One more than still needed tells whether another page exists, so
		// the last page carries no cursor.
		in.Limit = aws.Int32(int32(limit + 1 - len(items)))
		out, err := s.db.Query(carrying(ctx), in)
		if i == 0 {
			if serr := sess.wait(); serr != nil {
				return nil, "", serr
			}
		}
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", what, err)
		}
		for _, av := range out.Items {
			it, err := decodeRecording(av)
			if err != nil {
				return nil, "", err
			}
			items = append(items, it.domain())
		}
		if len(items) > limit {
			items = items[:limit]
			return items, items[limit-1].ID, nil
		}
		if out.LastEvaluatedKey == nil {
			return items, "", nil
		}
		in.ExclusiveStartKey = out.LastEvaluatedKey
	}
	// Out of Queries with more to read: continue where the last one stopped.
	var last recordingItem
	if err := attributevalue.UnmarshalMap(in.ExclusiveStartKey, &last); err != nil {
		return nil, "", fmt.Errorf("decode list position: %w", err)
	}
	return items, last.RecordingID, nil
}
