package dynamo

import (
	"context"
	"fmt"
	"hash/fnv"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// DueShards spreads the by-due index over this many partition keys, so the
// index never concentrates every upload's write on one key.
const DueShards = 4

// dueShard is the by-due partition an item lives in: stable per item, so
// rewriting an item's due time never moves it between partitions.
func dueShard(id string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return "due#" + strconv.Itoa(int(h.Sum32()%DueShards))
}

// DueRef names an item the reconciler must visit: a recording (UserID and
// RecordingID) or an account (UserID alone).
type DueRef struct {
	UserID      string `dynamodbav:"user_id"`
	RecordingID string `dynamodbav:"recording_id"`
	DueAt       int64  `dynamodbav:"due_at"`
}

// DuePage is one page of due items and where the next page starts.
type DuePage struct {
	Refs []DueRef
	next map[string]types.AttributeValue
}

// More reports whether another page follows.
func (p DuePage) More() bool { return p.next != nil }

// DueRecordings reads one page of recordings in shard whose due time has
// come, oldest first. after is the previous page (nil for the first).
func (s *Store) DueRecordings(ctx context.Context, shard int, now time.Time, limit int, after *DuePage) (DuePage, error) {
	return s.due(ctx, s.recordings, shard, now, limit, after)
}

// DueAccounts is DueRecordings for accounts whose deletion must be finished.
func (s *Store) DueAccounts(ctx context.Context, shard int, now time.Time, limit int, after *DuePage) (DuePage, error) {
	return s.due(ctx, s.users, shard, now, limit, after)
}

func (s *Store) due(ctx context.Context, table string, shard int, now time.Time, limit int, after *DuePage) (DuePage, error) {
	in := &dynamodb.QueryInput{
		TableName: &table, IndexName: aws.String(DueIndex),
		KeyConditionExpression: aws.String("due_shard = :s AND due_at <= :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":s": str("due#" + strconv.Itoa(shard)), ":now": num(now.Unix()),
		},
		Limit: aws.Int32(int32(limit)),
	}
	if after != nil {
		in.ExclusiveStartKey = after.next
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return DuePage{}, fmt.Errorf("query due items of %s: %w", table, err)
	}
	page := DuePage{next: out.LastEvaluatedKey}
	if err := attributevalue.UnmarshalListOfMaps(out.Items, &page.Refs); err != nil {
		return DuePage{}, fmt.Errorf("decode due items: %w", err)
	}
	return page, nil
}
