package dynamo

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/voicerec/backend/internal/recording"
)

// SessionGuard asks the store to check a session inside the request's own
// DynamoDB operation instead of in a read of its own: a ConditionCheck in a
// transaction, the session item in a BatchGetItem, or a read concurrent with
// a Query. The API's middleware attaches one (WithSession) when it knows the
// token's user from its cache; every store method a guarded route calls
// refuses the request with CodeUnauthorized when the session does not exist,
// has expired by Now or belongs to another user.
type SessionGuard struct {
	TokenHash string
	UserID    string
	Now       time.Time

	checked atomic.Bool
}

// Checked reports whether an operation has verified the session; a
// guarded route that answers without one must check it another way.
func (g *SessionGuard) Checked() bool { return g.checked.Load() }

type guardKey struct{}

// carryKey marks a DynamoDB call that checks the guard's session itself,
// or whose result is used only once the session has been judged.
type carryKey struct{}

func carrying(ctx context.Context) context.Context { return context.WithValue(ctx, carryKey{}, true) }

// enforceGuard is a middleware on the store's DynamoDB client: any call made
// with a guard not yet checked, and not marked as carrying the check, reads
// the session first. It makes the guard fail-safe: a store method written
// without the in-operation check costs a round trip more, never a request
// served on a revoked session.
func (s *Store) enforceGuard(st *middleware.Stack) error {
	return st.Initialize.Add(middleware.InitializeMiddlewareFunc("SessionGuard",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if g := guardOf(ctx); g != nil && !g.Checked() && ctx.Value(carryKey{}) == nil {
				if err := s.CheckSession(ctx); err != nil {
					return middleware.InitializeOutput{}, middleware.Metadata{}, err
				}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

// WithSession returns ctx carrying g for the store calls made with it.
func WithSession(ctx context.Context, g *SessionGuard) context.Context {
	return context.WithValue(ctx, guardKey{}, g)
}

func guardOf(ctx context.Context) *SessionGuard {
	g, _ := ctx.Value(guardKey{}).(*SessionGuard)
	return g
}

// ErrSessionInvalid refuses a request whose session is gone, expired or
// someone else's; the API answers it 401 like any other bad token.
var ErrSessionInvalid = recording.Errorf(recording.CodeUnauthorized, "missing, invalid or expired session token; sign in again")

// sessionCondition holds while the session exists for the guard's user and
// has not expired. The epoch-seconds ttl is compared rather than the RFC
// 3339 expires_at, which does not order as a string; flooring both sides to
// the second can refuse up to a second early, never accept late.
func (s *Store) sessionCheck(g *SessionGuard) types.TransactWriteItem {
	return types.TransactWriteItem{ConditionCheck: &types.ConditionCheck{
		TableName:                &s.sessions,
		Key:                      map[string]types.AttributeValue{"token_hash": str(g.TokenHash)},
		ConditionExpression:      aws.String("user_id = :suid AND #sttl > :snow"),
		ExpressionAttributeNames: map[string]string{"#sttl": TTLAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":suid": str(g.UserID), ":snow": num(g.Now.Unix()),
		},
	}}
}

// withSession puts the guard's ConditionCheck first in a transaction's
// items, so sessionRefused can find its cancellation reason at index 0.
func (s *Store) withSession(ctx context.Context, items []types.TransactWriteItem) []types.TransactWriteItem {
	g := guardOf(ctx)
	if g == nil {
		return items
	}
	return append([]types.TransactWriteItem{s.sessionCheck(g)}, items...)
}

// sessionRefused reports whether a transaction built with withSession was
// cancelled by the session's ConditionCheck. Reasons are per item, in the
// order of the items; a transaction can fail on the session and on another
// item at once, and the session wins: the caller learns nothing else.
func sessionRefused(ctx context.Context, err error) bool {
	if guardOf(ctx) == nil || err == nil {
		return false
	}
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) || len(tc.CancellationReasons) == 0 {
		return false
	}
	return aws.ToString(tc.CancellationReasons[0].Code) == "ConditionalCheckFailed"
}

// transactGuarded runs a transaction with the context's session check in
// it: ErrSessionInvalid when the session's check failed, else the
// transaction's own error for the caller to judge.
func (s *Store) transactGuarded(ctx context.Context, items []types.TransactWriteItem) error {
	_, err := s.db.TransactWriteItems(carrying(ctx), &dynamodb.TransactWriteItemsInput{TransactItems: s.withSession(ctx, items)})
	if sessionRefused(ctx, err) {
		return ErrSessionInvalid
	}
	if err == nil {
		s.markChecked(ctx)
	}
	return err
}

func (s *Store) markChecked(ctx context.Context) {
	if g := guardOf(ctx); g != nil {
		g.checked.Store(true)
	}
}

// validSession judges a session item read alongside the request's data.
func validSession(g *SessionGuard, item map[string]types.AttributeValue) bool {
	if item == nil {
		return false
	}
	uid, _ := item["user_id"].(*types.AttributeValueMemberS)
	exp, _ := item["expires_at"].(*types.AttributeValueMemberS)
	if uid == nil || exp == nil || uid.Value != g.UserID {
		return false
	}
	t, err := time.Parse(time.RFC3339Nano, exp.Value)
	return err == nil && g.Now.Before(t)
}

// CheckSession verifies the context's guard with a read of its own: the
// path for a guarded request that ends before any operation could check it.
func (s *Store) CheckSession(ctx context.Context) error {
	g := guardOf(ctx)
	if g == nil || g.Checked() {
		return nil
	}
	out, err := s.db.GetItem(carrying(ctx), &dynamodb.GetItemInput{
		TableName: &s.sessions, Key: map[string]types.AttributeValue{"token_hash": str(g.TokenHash)},
		ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("user_id, expires_at"),
	})
	if err != nil {
		return fmt.Errorf("get session: %w", err)
	}
	if !validSession(g, out.Item) {
		return ErrSessionInvalid
	}
	g.checked.Store(true)
	return nil
}

// sessionRead is the guard's session fetched concurrently with another
// call; wait returns ErrSessionInvalid unless it holds.
type sessionRead struct{ done chan error }

func (s *Store) readSessionAsync(ctx context.Context) *sessionRead {
	if guardOf(ctx) == nil {
		return nil
	}
	r := &sessionRead{done: make(chan error, 1)}
	go func() { r.done <- s.CheckSession(ctx) }()
	return r
}

func (r *sessionRead) wait() error {
	if r == nil {
		return nil
	}
	return <-r.done
}

// getWithSession reads the guard's session and one recording in one
// BatchGetItem, both strongly consistent, so a logout that returned is
// seen. Keys DynamoDB hands back unprocessed are asked for again.
func (s *Store) getWithSession(ctx context.Context, g *SessionGuard, key map[string]types.AttributeValue) (sess, rec map[string]types.AttributeValue, err error) {
	req := map[string]types.KeysAndAttributes{
		s.sessions: {
			Keys:           []map[string]types.AttributeValue{{"token_hash": str(g.TokenHash)}},
			ConsistentRead: aws.Bool(true), ProjectionExpression: aws.String("token_hash, user_id, expires_at"),
		},
		s.recordings: {Keys: []map[string]types.AttributeValue{key}, ConsistentRead: aws.Bool(true)},
	}
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 0 {
			if attempt > 8 {
				return nil, nil, fmt.Errorf("get recording: keys left unprocessed")
			}
			select {
			case <-ctx.Done():
				return nil, nil, ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
			}
		}
		out, err := s.db.BatchGetItem(carrying(ctx), &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, nil, fmt.Errorf("get recording: %w", err)
		}
		for _, it := range out.Responses[s.sessions] {
			sess = it
		}
		for _, it := range out.Responses[s.recordings] {
			rec = it
		}
		req = out.UnprocessedKeys
	}
	return sess, rec, nil
}

type sessionItem struct {
	TokenHash string `dynamodbav:"token_hash"`
	UserID    string `dynamodbav:"user_id"`
	CreatedAt string `dynamodbav:"created_at"`
	ExpiresAt string `dynamodbav:"expires_at"`
	TTL       int64  `dynamodbav:"ttl"`
	SessionID string `dynamodbav:"session_id,omitempty"`
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
	return recording.Session{TokenHash: it.TokenHash, UserID: it.UserID, SessionID: it.SessionID,
		CreatedAt: parseTS(it.CreatedAt), ExpiresAt: parseTS(it.ExpiresAt)}, true, nil
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

// DeleteUserSessions revokes every session of the user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) error {
	hashes, err := s.userSessionHashes(ctx, userID)
	if err != nil {
		return err
	}
	return s.batchDelete(ctx, s.sessions, sessionKeys(hashes))
}

// userSessionHashes are the keys the by-user index holds for the user (a
// keys-only Query, every page): device session records and sessions from
// before refresh tokens.
func (s *Store) userSessionHashes(ctx context.Context, userID string) ([]string, error) {
	var hashes []string
	p := dynamodb.NewQueryPaginator(s.db, &dynamodb.QueryInput{
		TableName: &s.sessions, IndexName: aws.String(SessionsByUserIndex),
		KeyConditionExpression:    aws.String("user_id = :u"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(userID)},
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		for _, it := range out.Items {
			if h, ok := it["token_hash"].(*types.AttributeValueMemberS); ok {
				hashes = append(hashes, h.Value)
			}
		}
	}
	return hashes, nil
}

func sessionKeys(hashes []string) []map[string]types.AttributeValue {
	keys := make([]map[string]types.AttributeValue, len(hashes))
	for i, h := range hashes {
		keys[i] = map[string]types.AttributeValue{"token_hash": str(h)}
	}
	return keys
}
