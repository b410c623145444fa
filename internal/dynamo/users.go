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

// userItem is a user as stored. The counters cover available recordings;
// pending uploads are reserved in PendingUploads so quota checks and
// confirmations touch one item and stay strongly consistent.
type userItem struct {
	UserID         string                   `dynamodbav:"user_id"`
	CreatedAt      string                   `dynamodbav:"created_at"`
	Email          string                   `dynamodbav:"email,omitempty"`
	Name           string                   `dynamodbav:"name,omitempty"`
	Providers      []string                 `dynamodbav:"providers,stringset,omitempty"`
	Identities     []string                 `dynamodbav:"identities,stringset,omitempty"`
	RecordingCount int64                    `dynamodbav:"recording_count"`
	BytesStored    int64                    `dynamodbav:"bytes_stored"`
	PendingUploads map[string]pendingUpload `dynamodbav:"pending_uploads"`
	// QuotaVersion changes with every change to the counters or
	// reservations; creating an upload is conditional on it.
	QuotaVersion int64 `dynamodbav:"quota_version"`
	// Upper bounds of the usage above, for a create that does not read
	// the user (see reserveFast); written as zeros at sign-up.
	PendingBound int64  `dynamodbav:"pending_bound"`
	CountBound   int64  `dynamodbav:"count_bound"`
	BytesBound   int64  `dynamodbav:"bytes_bound"`
	AccountState string `dynamodbav:"account_state,omitempty"`
	// Provider obligations (see recording.User).
	AppleToken     []byte   `dynamodbav:"apple_token,omitempty"`
	AppleClientID  string   `dynamodbav:"apple_client_id,omitempty"`
	Revoke         []string `dynamodbav:"revoke,stringset,omitempty"`
	RevokeAttempts int      `dynamodbav:"revoke_attempts,omitempty"`
}

type pendingUpload struct {
	Bytes     int64 `dynamodbav:"bytes"`
	ExpiresAt int64 `dynamodbav:"expires_at"`
}

const accountDeleting = "deleting"

func (u userItem) domain() recording.User {
	du := recording.User{
		ID: u.UserID, Providers: u.Providers, CreatedAt: parseTS(u.CreatedAt), Email: u.Email, Name: u.Name,
		RecordingCount: u.RecordingCount, BytesStored: u.BytesStored, Identities: u.Identities,
		Deleting: u.AccountState == accountDeleting, UploadsInFlight: len(u.PendingUploads),
		AppleToken: u.AppleToken, AppleClientID: u.AppleClientID, Revoke: u.Revoke, RevokeAttempts: u.RevokeAttempts,
	}
	for _, p := range u.PendingUploads {
		du.BytesReserved += p.Bytes
	}
	return du
}

type identityItem struct {
	Identity  string `dynamodbav:"identity"`
	UserID    string `dynamodbav:"user_id"`
	Provider  string `dynamodbav:"provider"`
	Subject   string `dynamodbav:"subject"`
	CreatedAt string `dynamodbav:"created_at"`
}

func (s *Store) getUserItem(ctx context.Context, userID string) (userItem, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.users, Key: map[string]types.AttributeValue{"user_id": str(userID)}, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return userItem{}, false, fmt.Errorf("get user: %w", err)
	}
	if out.Item == nil {
		return userItem{}, false, nil
	}
	var u userItem
	if err := attributevalue.UnmarshalMap(out.Item, &u); err != nil {
		return userItem{}, false, fmt.Errorf("decode user: %w", err)
	}
	return u, true, nil
}

// GetUser returns the user, or recording.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, userID string) (recording.User, error) {
	u, ok, err := s.getUserItem(ctx, userID)
	if err != nil {
		return recording.User{}, err
	}
	if !ok {
		return recording.User{}, recording.ErrNotFound
	}
	return u.domain(), nil
}

// SignIn returns the user behind a verified identity, creating it on the
// first sign-in. Creation is one transaction conditional on the identity
// not existing, so concurrent first sign-ins make exactly one user.
func (s *Store) SignIn(ctx context.Context, id recording.Identity, now time.Time) (user recording.User, created bool, err error) {
	for attempt := 0; attempt < 3; attempt++ {
		u, found, err := s.userByIdentity(ctx, id)
		if err != nil {
			return recording.User{}, false, err
		}
		if found {
			return s.refreshProfile(ctx, u, id)
		}
		u = userItem{
			UserID: recording.NewID(now), CreatedAt: ts(now), Email: id.Email, Name: id.Name,
			Providers: []string{id.Provider}, Identities: []string{id.Key()},
			PendingUploads: map[string]pendingUpload{},
		}
		userAV, err := attributevalue.MarshalMap(u)
		if err != nil {
			return recording.User{}, false, err
		}
		identAV, err := attributevalue.MarshalMap(identityItem{
			Identity: id.Key(), UserID: u.UserID, Provider: id.Provider, Subject: id.Subject, CreatedAt: ts(now),
		})
		if err != nil {
			return recording.User{}, false, err
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
			{Put: &types.Put{TableName: &s.identities, Item: identAV, ConditionExpression: aws.String("attribute_not_exists(#k)"),
				ExpressionAttributeNames: map[string]string{"#k": "identity"}}},
			{Put: &types.Put{TableName: &s.users, Item: userAV, ConditionExpression: aws.String("attribute_not_exists(user_id)")}},
		}})
		if err == nil {
			return u.domain(), true, nil
		}
		if !conditionFailed(err) && !transactionConflict(err) {
			return recording.User{}, false, fmt.Errorf("create user: %w", err)
		}
		// Another sign-in created this identity first: go round and use it.
	}
	return recording.User{}, false, fmt.Errorf("sign in %s: identity contended", id.Provider)
}

func (s *Store) userByIdentity(ctx context.Context, id recording.Identity) (userItem, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.identities, Key: map[string]types.AttributeValue{"identity": str(id.Key())}, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return userItem{}, false, fmt.Errorf("get identity: %w", err)
	}
	if out.Item == nil {
		return userItem{}, false, nil
	}
	var ident identityItem
	if err := attributevalue.UnmarshalMap(out.Item, &ident); err != nil {
		return userItem{}, false, fmt.Errorf("decode identity: %w", err)
	}
	u, ok, err := s.getUserItem(ctx, ident.UserID)
	if err != nil {
		return userItem{}, false, err
	}
	if !ok {
		// Deleting an account removes identities before the user, so this
		// means a deletion is under way; the caller must not sign in.
		return userItem{}, false, recording.Errorf(recording.CodeAccountDeleting, "this account is being deleted")
	}
	return u, true, nil
}

// refreshProfile keeps email and name as the provider last reported them.
func (s *Store) refreshProfile(ctx context.Context, u userItem, id recording.Identity) (recording.User, bool, error) {
	if u.AccountState == accountDeleting {
		// The user is returned too, so the caller can finish the deletion.
		return u.domain(), false, recording.Errorf(recording.CodeAccountDeleting, "this account is being deleted")
	}
	if (id.Email == "" || id.Email == u.Email) && (id.Name == "" || id.Name == u.Name) {
		return u.domain(), false, nil
	}
	if id.Email != "" {
		u.Email = id.Email
	}
	if id.Name != "" {
		u.Name = id.Name
	}
	_, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.users, Key: map[string]types.AttributeValue{"user_id": str(u.UserID)},
		UpdateExpression:          aws.String("SET email = :e, #n = :n"),
		ConditionExpression:       aws.String("attribute_exists(user_id)"),
		ExpressionAttributeNames:  map[string]string{"#n": "name"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": str(u.Email), ":n": str(u.Name)},
	})
	if err != nil && !conditionFailed(err) {
		return recording.User{}, false, fmt.Errorf("update profile: %w", err)
	}
	return u.domain(), false, nil
}

type sessionItem struct {
	TokenHash string `dynamodbav:"token_hash"`
	UserID    string `dynamodbav:"user_id"`
	CreatedAt string `dynamodbav:"created_at"`
	ExpiresAt string `dynamodbav:"expires_at"`
	TTL       int64  `dynamodbav:"ttl"`
}

// CreateSession stores a session under its token hash.
func (s *Store) CreateSession(ctx context.Context, sess recording.Session) error {
	av, err := attributevalue.MarshalMap(sessionItem{
		TokenHash: sess.TokenHash, UserID: sess.UserID, CreatedAt: ts(sess.CreatedAt), ExpiresAt: ts(sess.ExpiresAt),
		TTL: sess.ExpiresAt.Unix(),
	})
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &s.sessions, Item: av, ConditionExpression: aws.String("attribute_not_exists(token_hash)"),
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// GetSession looks a session up by token hash: one GetItem. Expiry is the
// caller's to check, since TTL deletes late.
func (s *Store) GetSession(ctx context.Context, tokenHash string) (recording.Session, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.sessions, Key: map[string]types.AttributeValue{"token_hash": str(tokenHash)},
	})
	if err != nil {
		return recording.Session{}, false, fmt.Errorf("get session: %w", err)
	}
	if out.Item == nil {
		return recording.Session{}, false, nil
	}
	var it sessionItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return recording.Session{}, false, fmt.Errorf("decode session: %w", err)
	}
	return recording.Session{TokenHash: it.TokenHash, UserID: it.UserID, CreatedAt: parseTS(it.CreatedAt), ExpiresAt: parseTS(it.ExpiresAt)}, true, nil
}

// DeleteSession revokes one session. The session item is in the
// transactions of the user's requests (their ConditionCheck), and DynamoDB
// refuses a plain write to an item a transaction holds with
// TransactionConflictException, which the SDK does not retry: retry it
// here, since a logout must not fail because a request was in flight.
// (DynamoDB Local does not reproduce this refusal.)
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	for attempt := 0; ; attempt++ {
		if err := quotaBackoff(ctx, attempt); err != nil {
			return err
		}
		_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
			TableName: &s.sessions, Key: map[string]types.AttributeValue{"token_hash": str(tokenHash)},
		})
		var conflict *types.TransactionConflictException
		if errors.As(err, &conflict) && attempt < maxSessionDeleteAttempts-1 {
			continue
		}
		if err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return nil
	}
}

// maxSessionDeleteAttempts bounds a logout's retries after conflicts.
const maxSessionDeleteAttempts = 6
