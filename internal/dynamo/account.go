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

// Deleting an account is a sequence of idempotent steps (see the API's
// DELETE /v1/me): each can be repeated after a failure, and the user item
// and the sessions go last so the app can retry with the same token.

// MarkAccountDeleting stops new uploads and confirmations for the user and
// puts the account on the reconciler's list, so the deletion finishes even
// if nobody calls again. revoke lists what must be undone at the providers
// (identity keys); it is written with the mark, once.
func (s *Store) MarkAccountDeleting(ctx context.Context, userID string, now time.Time, revoke ...string) error {
	update := "SET account_state = :d, due_shard = :shard, due_at = :due"
	values := map[string]types.AttributeValue{
		":d": str(accountDeleting), ":shard": str(dueShard(userID)), ":due": num(now.Unix()),
	}
	var names map[string]string
	if len(revoke) > 0 {
		names = map[string]string{"#rv": "revoke"}
		update += ", #rv = :r"
		values[":r"] = &types.AttributeValueMemberSS{Value: revoke}
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.users, Key: userKey(userID),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("attribute_exists(user_id) AND (attribute_not_exists(account_state) OR account_state <> :d)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("mark account deleting: %w", err)
	}
	return nil
}

// RecordingRef names one stored recording, its object and its state.
type RecordingRef struct {
	ID, Key string
	Status  recording.Status
	DueAt   time.Time
	// UploadID is a multipart upload's id (empty for a single PUT).
	UploadID string
	// LandBy is a rejected record's recording.LandBy.
	LandBy time.Time
}

// EachRecordingPage calls fn with each page of the user's recordings, all
// statuses, reading the user's partition of the base table.
func (s *Store) EachRecordingPage(ctx context.Context, userID string, fn func([]RecordingRef) error) error {
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName:                 &s.recordings,
		KeyConditionExpression:    aws.String("user_id = :u"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(userID)},
		ProjectionExpression:      aws.String("recording_id, object_key, #st, due_at, upload_id, land_by"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ConsistentRead:            aws.Bool(true),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list user's recordings: %w", err)
		}
		refs := make([]RecordingRef, 0, len(out.Items))
		for _, av := range out.Items {
			var it recordingItem
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return err
			}
			ref := RecordingRef{ID: it.RecordingID, Key: it.ObjectKey, Status: recording.Status(it.Status), UploadID: it.UploadID}
			if it.DueAt != 0 {
				ref.DueAt = time.Unix(it.DueAt, 0).UTC()
			}
			if it.LandBy != 0 {
				ref.LandBy = time.Unix(it.LandBy, 0).UTC()
			}
			refs = append(refs, ref)
		}
		if err := fn(refs); err != nil {
			return err
		}
	}
	return nil
}

// DeleteRejectedAt turns a rejected record into a deleting one, out of every
// listing, due at due: an account deletion keeps it so until its upload URL
// can no longer land, and the reconciler then deletes what landed and the
// record. ErrStateChanged: it is no longer rejected.
func (s *Store) DeleteRejectedAt(ctx context.Context, userID, recordingID string, due time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.recordings, Key: recKey(userID, recordingID),
		UpdateExpression:         aws.String("SET #st = :del, due_shard = :shard, due_at = :due REMOVE user_status"),
		ConditionExpression:      aws.String("#st = :rej"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":del": str(string(recording.StatusDeleting)), ":rej": str(string(recording.StatusRejected)),
			":shard": str(dueShard(recordingID)), ":due": num(due.Unix()),
		},
	})
	if conditionFailed(err) {
		return ErrStateChanged
	}
	if err != nil {
		return fmt.Errorf("delete rejected recording later: %w", err)
	}
	return nil
}

// DeleteRecordings removes records outright (account deletion).
func (s *Store) DeleteRecordings(ctx context.Context, userID string, ids []string) error {
	keys := make([]map[string]types.AttributeValue, 0, len(ids))
	for _, id := range ids {
		keys = append(keys, recKey(userID, id))
	}
	return s.batchDelete(ctx, s.recordings, keys)
}

// DeleteUserData removes the user's idempotency keys, identities and user
// item, in that order.
func (s *Store) DeleteUserData(ctx context.Context, userID string, identities []string) error {
	if err := s.DeleteUserRecords(ctx, userID, identities); err != nil {
		return err
	}
	return s.DeleteUser(ctx, userID)
}

// DeleteUser removes the user item.
func (s *Store) DeleteUser(ctx context.Context, userID string) error {
	if _, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &s.users, Key: userKey(userID)}); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return nil
}

// DeleteUserRecords removes the user's change feed, idempotency keys and
// identities.
func (s *Store) DeleteUserRecords(ctx context.Context, userID string, identities []string) error {
	if err := s.DeleteChanges(ctx, userID); err != nil {
		return err
	}
	if err := deletePartition(ctx, s.db, s.idempotency, "idempotency_key", userID); err != nil {
		return err
	}
	if err := s.deleteSearchIndex(ctx, userID); err != nil {
		return err
	}
	var idents []map[string]types.AttributeValue
	for _, id := range identities {
		idents = append(idents, map[string]types.AttributeValue{"identity": str(id)})
	}
	return s.batchDelete(ctx, s.identities, idents)
}

// SetAppleToken keeps a user's sealed Sign in with Apple refresh token and
// the client it belongs to (replacing an older one), unless the account is
// being deleted.
func (s *Store) SetAppleToken(ctx context.Context, userID, clientID string, sealed []byte) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.users, Key: userKey(userID),
		UpdateExpression:    aws.String("SET apple_token = :t, apple_client_id = :c"),
		ConditionExpression: aws.String("attribute_exists(user_id) AND (attribute_not_exists(account_state) OR account_state <> :d)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": &types.AttributeValueMemberB{Value: sealed}, ":c": str(clientID), ":d": str(accountDeleting),
		},
	})
	if conditionFailed(err) {
		return recording.Errorf(recording.CodeAccountDeleting, "this account is being deleted")
	}
	if err != nil {
		return fmt.Errorf("set apple token: %w", err)
	}
	return nil
}

// DropRevocation records that one provider obligation is done (or given
// up); an Apple one takes its token with it.
func (s *Store) DropRevocation(ctx context.Context, userID, entry string) error {
	update := "DELETE #rv :e"
	if strings.HasPrefix(entry, "apple#") {
		update += " REMOVE apple_token, apple_client_id"
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.users, Key: userKey(userID),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("attribute_exists(user_id)"),
		ExpressionAttributeNames:  map[string]string{"#rv": "revoke"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": &types.AttributeValueMemberSS{Value: []string{entry}}},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("drop revocation: %w", err)
	}
	return nil
}

// RetainForRevocation is the end of a deletion whose provider calls failed:
// the user item loses everything but the deletion state and what the
// remaining calls need, and is due again at due for the reconciler.
func (s *Store) RetainForRevocation(ctx context.Context, userID string, due time.Time) error {
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.users, Key: userKey(userID),
		UpdateExpression: aws.String("REMOVE email, #n, providers, identities, pending_uploads, recording_count, bytes_stored, quota_version, pending_bound, count_bound, bytes_bound, created_at " +
			"SET due_shard = :shard, due_at = :due, revoke_attempts = if_not_exists(revoke_attempts, :zero) + :one"),
		ConditionExpression:      aws.String("attribute_exists(user_id)"),
		ExpressionAttributeNames: map[string]string{"#n": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":shard": str(dueShard(userID)), ":due": num(due.Unix()), ":zero": num(0), ":one": num(1),
		},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("retain user for revocation: %w", err)
	}
	return nil
}

// UserIDByIdentity returns the user an identity key ("kakao#<sub>") belongs
// to, if any.
func (s *Store) UserIDByIdentity(ctx context.Context, identity string) (string, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.identities, Key: map[string]types.AttributeValue{"identity": str(identity)}, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return "", false, fmt.Errorf("get identity: %w", err)
	}
	if out.Item == nil {
		return "", false, nil
	}
	var ident identityItem
	if err := attributevalue.UnmarshalMap(out.Item, &ident); err != nil {
		return "", false, fmt.Errorf("decode identity: %w", err)
	}
	return ident.UserID, true, nil
}
