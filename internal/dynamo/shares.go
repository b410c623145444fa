package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/recording"
)

// SharesTable holds the links users made to their recordings.
const SharesTable = "shares"

// SharesByUserIndex lists a user's shares, newest first.
const SharesByUserIndex = "by-user"

// shareGenAttr is the recording attribute a share is tied to: trashing the
// recording increments it, so every share made before stops working
// without the shares being found and deleted, and a restore, which leaves
// it as it is, brings none of them back.
const shareGenAttr = "share_gen"

// sharesTable keys a share by its id, the truncated SHA-256 of its token,
// so the public link is one strongly consistent read and a revoke is one
// conditional delete; the TTL removes a share once it has expired.
var sharesTable = Table{
	Name:         SharesTable,
	PartitionKey: Key{"share_id", String},
	Indexes: []Index{{
		Name:         SharesByUserIndex,
		PartitionKey: Key{"user_id", String},
		SortKey:      &Key{"created_at", String},
	}},
	TTLAttribute: TTLAttribute,
}

type shareItem struct {
	ShareID     string `dynamodbav:"share_id"`
	UserID      string `dynamodbav:"user_id"`
	RecordingID string `dynamodbav:"recording_id"`
	Generation  int64  `dynamodbav:"share_gen"`
	CreatedAt   string `dynamodbav:"created_at"`
	ExpiresAt   string `dynamodbav:"expires_at"`
	TTL         int64  `dynamodbav:"ttl"`
	Views       int64  `dynamodbav:"views"`
}

func (it shareItem) domain() recording.Share {
	return recording.Share{
		ID: it.ShareID, UserID: it.UserID, RecordingID: it.RecordingID, Generation: it.Generation,
		CreatedAt: parseTS(it.CreatedAt), ExpiresAt: parseTS(it.ExpiresAt), Views: it.Views,
	}
}

func shareKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"share_id": str(id)}
}

// generationOf reads a recording item's share generation (absent: 0, never
// trashed).
func generationOf(item map[string]types.AttributeValue) int64 {
	if n, ok := item[shareGenAttr].(*types.AttributeValueMemberN); ok {
		v, _ := strconv.ParseInt(n.Value, 10, 64)
		return v
	}
	return 0
}

// CreateShare stores a share of an available recording under id, tied to
// the recording's current share generation. The read and the write need no
// transaction: a trash between them increments the generation, which ends
// the new share as it ends the others.
func (s *Store) CreateShare(ctx context.Context, userID, recordingID, id string, created, expires time.Time) (recording.Share, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.recordings, Key: recKey(userID, recordingID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return recording.Share{}, fmt.Errorf("get recording to share: %w", err)
	}
	if out.Item == nil {
		return recording.Share{}, recording.ErrNotFound
	}
	it, err := decodeRecording(out.Item)
	if err != nil {
		return recording.Share{}, err
	}
	rec := it.domain()
	if !rec.Visible() {
		return recording.Share{}, recording.ErrNotFound
	}
	if rec.Status != recording.StatusAvailable {
		return recording.Share{}, recording.ErrNotShareable
	}
	sh := shareItem{
		ShareID: id, UserID: userID, RecordingID: recordingID, Generation: generationOf(out.Item),
		CreatedAt: ts(created), ExpiresAt: ts(expires), TTL: expires.Unix(),
	}
	item, err := attributevalue.MarshalMap(sh)
	if err != nil {
		return recording.Share{}, err
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.shares, Item: item, ConditionExpression: aws.String("attribute_not_exists(share_id)"),
	}); err != nil {
		return recording.Share{}, fmt.Errorf("put share: %w", err)
	}
	d := sh.domain()
	d.FileName = rec.FileName
	return d, nil
}

// OpenShare returns a share that has not expired, or
// recording.ErrShareNotFound. With view, the visit is counted in the same
// (conditional) write that reads it.
func (s *Store) OpenShare(ctx context.Context, id string, now time.Time, view bool) (recording.Share, error) {
	var item map[string]types.AttributeValue
	if view {
		out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &s.shares, Key: shareKey(id),
			UpdateExpression:          aws.String("ADD #views :one"),
			ConditionExpression:       aws.String("attribute_exists(share_id) AND #ttl > :now"),
			ExpressionAttributeNames:  map[string]string{"#views": "views", "#ttl": TTLAttribute},
			ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1), ":now": num(now.Unix())},
			ReturnValues:              types.ReturnValueAllNew,
		})
		if conditionFailed(err) {
			return recording.Share{}, recording.ErrShareNotFound
		}
		if err != nil {
			return recording.Share{}, fmt.Errorf("open share: %w", err)
		}
		item = out.Attributes
	} else {
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.shares, Key: shareKey(id), ConsistentRead: aws.Bool(true)})
		if err != nil {
			return recording.Share{}, fmt.Errorf("get share: %w", err)
		}
		item = out.Item
	}
	var it shareItem
	if item == nil {
		return recording.Share{}, recording.ErrShareNotFound
	}
	if err := attributevalue.UnmarshalMap(item, &it); err != nil {
		return recording.Share{}, fmt.Errorf("decode share: %w", err)
	}
	// DynamoDB deletes expired items late; the expiry is the share's own.
	if it.TTL <= now.Unix() {
		return recording.Share{}, recording.ErrShareNotFound
	}
	return it.domain(), nil
}

// SharedRecording returns the recording a share names while the share
// still holds: the recording is available and has not been in the trash
// since the share was made. Anything else is recording.ErrShareNotFound.
func (s *Store) SharedRecording(ctx context.Context, sh recording.Share) (recording.Recording, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.recordings, Key: recKey(sh.UserID, sh.RecordingID), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return recording.Recording{}, fmt.Errorf("get shared recording: %w", err)
	}
	if out.Item == nil || generationOf(out.Item) != sh.Generation {
		return recording.Recording{}, recording.ErrShareNotFound
	}
	it, err := decodeRecording(out.Item)
	if err != nil {
		return recording.Recording{}, err
	}
	rec := it.domain()
	if rec.Status != recording.StatusAvailable {
		return recording.Recording{}, recording.ErrShareNotFound
	}
	return rec, nil
}

// ListShares returns up to limit of a user's shares that still hold,
// newest first, each with its recording's current name: one Query of the
// user's shares and one BatchGetItem of their recordings.
func (s *Store) ListShares(ctx context.Context, userID string, now time.Time, limit int) ([]recording.Share, error) {
	var shares []recording.Share
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: &s.shares, IndexName: aws.String(SharesByUserIndex),
		KeyConditionExpression:    aws.String("user_id = :u"),
		FilterExpression:          aws.String("#ttl > :now"),
		ExpressionAttributeNames:  map[string]string{"#ttl": TTLAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(userID), ":now": num(now.Unix())},
		ScanIndexForward:          aws.Bool(false),
	})
	for p.HasMorePages() && len(shares) < limit {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list shares: %w", err)
		}
		var items []shareItem
		if err := attributevalue.UnmarshalListOfMaps(out.Items, &items); err != nil {
			return nil, fmt.Errorf("decode shares: %w", err)
		}
		for _, it := range items {
			if len(shares) < limit {
				shares = append(shares, it.domain())
			}
		}
	}
	if len(shares) == 0 {
		return nil, nil
	}
	recs, err := s.shareTargets(ctx, userID, shares)
	if err != nil {
		return nil, err
	}
	live := shares[:0]
	for _, sh := range shares {
		if r, ok := recs[sh.RecordingID]; ok && r.status == string(recording.StatusAvailable) && r.gen == sh.Generation {
			sh.FileName = r.name
			live = append(live, sh)
		}
	}
	return live, nil
}

type shareTarget struct {
	status, name string
	gen          int64
}

// shareTargets reads the status, name and share generation of the
// recordings shares name (at most 100 distinct: one BatchGetItem call,
// repeated for what DynamoDB hands back unprocessed).
func (s *Store) shareTargets(ctx context.Context, userID string, shares []recording.Share) (map[string]shareTarget, error) {
	seen := map[string]bool{}
	var keys []map[string]types.AttributeValue
	for _, sh := range shares {
		if !seen[sh.RecordingID] {
			seen[sh.RecordingID] = true
			keys = append(keys, recKey(userID, sh.RecordingID))
		}
	}
	got := map[string]shareTarget{}
	for start := 0; start < len(keys); start += 100 {
		req := map[string]types.KeysAndAttributes{s.recordings: {
			Keys:                     keys[start:min(start+100, len(keys))],
			ProjectionExpression:     aws.String("recording_id, #st, file_name, " + shareGenAttr),
			ExpressionAttributeNames: map[string]string{"#st": "status"},
		}}
		for attempt := 0; len(req) > 0; attempt++ {
			if attempt > 8 {
				return nil, errors.New("read shared recordings: keys left unprocessed")
			}
			out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
			if err != nil {
				return nil, fmt.Errorf("read shared recordings: %w", err)
			}
			for _, item := range out.Responses[s.recordings] {
				var r struct {
					ID     string `dynamodbav:"recording_id"`
					Status string `dynamodbav:"status"`
					Name   string `dynamodbav:"file_name"`
				}
				if err := attributevalue.UnmarshalMap(item, &r); err != nil {
					return nil, fmt.Errorf("decode shared recording: %w", err)
				}
				got[r.ID] = shareTarget{status: r.Status, name: r.Name, gen: generationOf(item)}
			}
			req = out.UnprocessedKeys
		}
	}
	return got, nil
}

// RevokeShare deletes one of the user's shares at once; another user's or
// an unknown id is recording.ErrShareNotFound.
func (s *Store) RevokeShare(ctx context.Context, userID, id string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.shares, Key: shareKey(id),
		ConditionExpression:       aws.String("user_id = :u"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(userID)},
	})
	if conditionFailed(err) {
		return recording.ErrShareNotFound
	}
	if err != nil {
		return fmt.Errorf("revoke share: %w", err)
	}
	return nil
}

// DeleteUserShares deletes every share a user made (account deletion).
func (s *Store) DeleteUserShares(ctx context.Context, userID string) error {
	var keys []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: &s.shares, IndexName: aws.String(SharesByUserIndex),
		KeyConditionExpression:    aws.String("user_id = :u"),
		ProjectionExpression:      aws.String("share_id"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(userID)},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list shares to delete: %w", err)
		}
		for _, it := range out.Items {
			keys = append(keys, map[string]types.AttributeValue{"share_id": it["share_id"]})
		}
	}
	return s.batchDelete(ctx, s.shares, keys)
}

// endShares is the clause every move to the trash carries (with ":one"):
// it ends the recording's shares, in the same write, whoever trashes it.
const endShares = " ADD " + shareGenAttr + " :one"
