package dynamo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/recording"
)

// The sessions table holds three kinds of item, told apart by key:
//
//   - an access token's item under the token's bare hex hash, with user_id
//     and expires_at: the item the recording routes check in their own
//     operation, unchanged since before refresh tokens;
//   - a device session's record under "s:" + session id, with the device's
//     details, its current refresh token's key and its live access tokens'
//     hashes, which is what revoking it deletes;
//   - a refresh token's item under "r:" + hash (auth.RefreshKey). It names
//     only its session, never the user: it stays out of the by-user index,
//     so the retired ones kept for reuse detection cost a sessions list
//     nothing, and once an account is deleted (its records and access
//     tokens with it) what is left until TTL removes them are hashes tied
//     to a session that no longer exists, and to no one.
//
// No bearer token hashes to a prefixed key, so a refresh token or a
// session id presented as an access token finds nothing.
const sessionRecordPrefix = "s:"

func sessionRecordKey(id string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"token_hash": str(sessionRecordPrefix + id)}
}

// LegacySessionID names a session from before refresh tokens, which has no
// id of its own, by its token's hash: stable, and not the hash itself, so
// the list never shows a key of the table.
func LegacySessionID(tokenHash string) string {
	sum := sha256.Sum256([]byte("legacy session\x00" + tokenHash))
	return hex.EncodeToString(sum[:16])
}

type deviceRecord struct {
	TokenHash    string   `dynamodbav:"token_hash"`
	UserID       string   `dynamodbav:"user_id"`
	SessionID    string   `dynamodbav:"session_id"`
	DeviceName   string   `dynamodbav:"device_name,omitempty"`
	Provider     string   `dynamodbav:"provider,omitempty"`
	Platform     string   `dynamodbav:"platform,omitempty"`
	CreatedAt    string   `dynamodbav:"created_at"`
	LastUsedAt   string   `dynamodbav:"last_used_at"`
	ExpiresAt    string   `dynamodbav:"expires_at"`
	TTL          int64    `dynamodbav:"ttl"`
	RefreshKey   string   `dynamodbav:"refresh_key"`
	AccessHashes []string `dynamodbav:"access_hashes,stringset"`
}

func (r deviceRecord) session() recording.DeviceSession {
	return recording.DeviceSession{ID: r.SessionID, UserID: r.UserID, DeviceName: r.DeviceName, Provider: r.Provider,
		Platform: r.Platform, CreatedAt: parseTS(r.CreatedAt), LastUsedAt: parseTS(r.LastUsedAt), ExpiresAt: parseTS(r.ExpiresAt)}
}

type refreshItem struct {
	Key            string `dynamodbav:"token_hash"`
	SessionID      string `dynamodbav:"session_id"`
	ExpiresAt      string `dynamodbav:"expires_at"`
	TTL            int64  `dynamodbav:"ttl"`
	AccessHash     string `dynamodbav:"access_hash"`
	PrevAccessHash string `dynamodbav:"prev_access_hash,omitempty"`

	RetiredAt           string `dynamodbav:"retired_at,omitempty"`
	GraceUntil          string `dynamodbav:"grace_until,omitempty"`
	Salt                string `dynamodbav:"salt,omitempty"`
	ChildKey            string `dynamodbav:"child_key,omitempty"`
	ChildAccessExpires  string `dynamodbav:"child_access_expires,omitempty"`
	ChildRefreshExpires string `dynamodbav:"child_refresh_expires,omitempty"`
}

// RefreshToken is a stored refresh token: live, or retired by a rotation
// and kept to recognise its reuse.
type RefreshToken struct {
	Key string
	// UserID is the session record's; the item does not hold it.
	UserID    string
	SessionID string
	ExpiresAt time.Time
	// AccessHash is the access token issued with it, PrevAccessHash the
	// one before: the two a session keeps alive at once.
	AccessHash, PrevAccessHash string

	Retired bool
	// What the rotation that retired it issued, to answer a retry again.
	GraceUntil            time.Time
	Salt                  string
	ChildKey              string
	ChildAccessExpiresAt  time.Time
	ChildRefreshExpiresAt time.Time
}

// NewDeviceSession is a sign-in's session with its first pair of tokens.
type NewDeviceSession struct {
	Session         recording.DeviceSession
	AccessHash      string
	AccessExpiresAt time.Time
	RefreshKey      string
}

func accessItem(hash, userID, sessionID string, created, expires time.Time) (map[string]types.AttributeValue, error) {
	return attributevalue.MarshalMap(sessionItem{TokenHash: hash, UserID: userID, SessionID: sessionID,
		CreatedAt: ts(created), ExpiresAt: ts(expires), TTL: expires.Unix()})
}

func notExists() *string { return aws.String("attribute_not_exists(token_hash)") }

// CreateDeviceSession stores a session's record, its access token and its
// refresh token in one transaction (3 items, 6 WRU).
func (s *Store) CreateDeviceSession(ctx context.Context, n NewDeviceSession) error {
	d := n.Session
	rec, err := attributevalue.MarshalMap(deviceRecord{TokenHash: sessionRecordPrefix + d.ID, UserID: d.UserID, SessionID: d.ID,
		DeviceName: d.DeviceName, Provider: d.Provider, Platform: d.Platform, CreatedAt: ts(d.CreatedAt),
		LastUsedAt: ts(d.LastUsedAt), ExpiresAt: ts(d.ExpiresAt), TTL: d.ExpiresAt.Unix(), RefreshKey: n.RefreshKey,
		AccessHashes: []string{n.AccessHash}})
	if err != nil {
		return err
	}
	acc, err := accessItem(n.AccessHash, d.UserID, d.ID, d.CreatedAt, n.AccessExpiresAt)
	if err != nil {
		return err
	}
	ref, err := attributevalue.MarshalMap(refreshItem{Key: n.RefreshKey, SessionID: d.ID,
		ExpiresAt: ts(d.ExpiresAt), TTL: d.ExpiresAt.Unix(), AccessHash: n.AccessHash})
	if err != nil {
		return err
	}
	_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: &s.sessions, Item: rec, ConditionExpression: notExists()}},
		{Put: &types.Put{TableName: &s.sessions, Item: acc, ConditionExpression: notExists()}},
		{Put: &types.Put{TableName: &s.sessions, Item: ref, ConditionExpression: notExists()}},
	}})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// GetRefreshToken reads a refresh token's item by its key (strongly
// consistent: a rotation that returned is seen).
func (s *Store) GetRefreshToken(ctx context.Context, key string) (RefreshToken, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.sessions,
		Key: map[string]types.AttributeValue{"token_hash": str(key)}, ConsistentRead: aws.Bool(true)})
	if err != nil {
		return RefreshToken{}, false, fmt.Errorf("get refresh token: %w", err)
	}
	if out.Item == nil {
		return RefreshToken{}, false, nil
	}
	var it refreshItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return RefreshToken{}, false, fmt.Errorf("decode refresh token: %w", err)
	}
	if it.SessionID == "" {
		return RefreshToken{}, false, nil
	}
	return RefreshToken{Key: it.Key, SessionID: it.SessionID, ExpiresAt: parseTS(it.ExpiresAt),
		AccessHash: it.AccessHash, PrevAccessHash: it.PrevAccessHash, Retired: it.RetiredAt != "",
		GraceUntil: parseTS(it.GraceUntil), Salt: it.Salt, ChildKey: it.ChildKey,
		ChildAccessExpiresAt: parseTS(it.ChildAccessExpires), ChildRefreshExpiresAt: parseTS(it.ChildRefreshExpires)}, true, nil
}

// GetDeviceSession reads a session's record (strongly consistent).
func (s *Store) GetDeviceSession(ctx context.Context, id string) (recording.DeviceSession, string, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.sessions, Key: sessionRecordKey(id),
		ConsistentRead: aws.Bool(true)})
	if err != nil {
		return recording.DeviceSession{}, "", false, fmt.Errorf("get session: %w", err)
	}
	if out.Item == nil {
		return recording.DeviceSession{}, "", false, nil
	}
	var r deviceRecord
	if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
		return recording.DeviceSession{}, "", false, fmt.Errorf("decode session: %w", err)
	}
	return r.session(), r.RefreshKey, true, nil
}

// Rotation replaces a session's refresh token and issues an access token.
type Rotation struct {
	Old              RefreshToken
	Salt             string
	NewAccessHash    string
	NewRefreshKey    string
	AccessExpiresAt  time.Time
	RefreshExpiresAt time.Time
	GraceUntil       time.Time
	Now              time.Time
}

var (
	// ErrRefreshSpent is a rotation that lost to another rotation of the
	// same refresh token.
	ErrRefreshSpent = errors.New("refresh token already rotated")
	// ErrSessionGone is a rotation of a session revoked, expired or
	// already rotated past this token.
	ErrSessionGone = errors.New("session revoked or expired")
)

// maxRotateAttempts bounds the retries of a rotation or a revocation that
// collided with another transaction on the same items.
const maxRotateAttempts = 8

// RotateSession retires the old refresh token and issues the new pair in
// one transaction: the old token's retirement is conditional on it not
// being retired yet, so of two rotations of one token at once exactly one
// commits (the other gets ErrRefreshSpent), and the record's update is
// conditional on the old token still being the session's current one, so
// a revoked session can never be rotated back to life. The access token
// from two rotations ago is deleted in it too: a session has at most two
// live access tokens, both listed on its record for a revocation to find.
// 4 or 5 items, 8 or 10 WRU.
func (s *Store) RotateSession(ctx context.Context, r Rotation) error {
	o := r.Old
	newRef, err := attributevalue.MarshalMap(refreshItem{Key: r.NewRefreshKey, SessionID: o.SessionID,
		ExpiresAt: ts(r.RefreshExpiresAt), TTL: r.RefreshExpiresAt.Unix(), AccessHash: r.NewAccessHash, PrevAccessHash: o.AccessHash})
	if err != nil {
		return err
	}
	acc, err := accessItem(r.NewAccessHash, o.UserID, o.SessionID, r.Now, r.AccessExpiresAt)
	if err != nil {
		return err
	}
	live := []string{r.NewAccessHash}
	if o.AccessHash != "" {
		live = append(live, o.AccessHash)
	}
	items := []types.TransactWriteItem{
		{Update: &types.Update{TableName: &s.sessions, Key: map[string]types.AttributeValue{"token_hash": str(o.Key)},
			ConditionExpression: aws.String("attribute_exists(token_hash) AND attribute_not_exists(retired_at)"),
			UpdateExpression: aws.String("SET retired_at = :now, grace_until = :grace, salt = :salt, child_key = :ck, " +
				"child_access_expires = :cae, child_refresh_expires = :cre"),
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now": str(ts(r.Now)), ":grace": str(ts(r.GraceUntil)), ":salt": str(r.Salt), ":ck": str(r.NewRefreshKey),
				":cae": str(ts(r.AccessExpiresAt)), ":cre": str(ts(r.RefreshExpiresAt)),
			}}},
		{Put: &types.Put{TableName: &s.sessions, Item: newRef, ConditionExpression: notExists()}},
		{Put: &types.Put{TableName: &s.sessions, Item: acc, ConditionExpression: notExists()}},
		{Update: &types.Update{TableName: &s.sessions, Key: sessionRecordKey(o.SessionID),
			ConditionExpression: aws.String("refresh_key = :old AND #ttl > :nowsec"),
			UpdateExpression: aws.String("SET refresh_key = :new, expires_at = :exp, #ttl = :ttl, last_used_at = :used, " +
				"access_hashes = :live"),
			ExpressionAttributeNames: map[string]string{"#ttl": TTLAttribute},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":old": str(o.Key), ":nowsec": num(r.Now.Unix()), ":new": str(r.NewRefreshKey),
				":exp": str(ts(r.RefreshExpiresAt)), ":ttl": num(r.RefreshExpiresAt.Unix()),
				// To the hour: the list shows no more, and a refresh is the
				// only write, so using the API never writes at all.
				":used": str(ts(r.Now.UTC().Truncate(time.Hour))),
				":live": &types.AttributeValueMemberSS{Value: live},
			}}},
	}
	if o.PrevAccessHash != "" {
		items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.sessions,
			Key: map[string]types.AttributeValue{"token_hash": str(o.PrevAccessHash)}}})
	}
	for attempt := 0; ; attempt++ {
		if err := quotaBackoff(ctx, attempt); err != nil {
			return err
		}
		_, err := s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return nil
		}
		if transactionConflict(err) && attempt < maxRotateAttempts-1 {
			continue
		}
		var tc *types.TransactionCanceledException
		if errors.As(err, &tc) && len(tc.CancellationReasons) >= 4 {
			if aws.ToString(tc.CancellationReasons[0].Code) == "ConditionalCheckFailed" {
				return ErrRefreshSpent
			}
			if aws.ToString(tc.CancellationReasons[3].Code) == "ConditionalCheckFailed" {
				return ErrSessionGone
			}
		}
		return fmt.Errorf("rotate session: %w", err)
	}
}

// RevokeDeviceSession ends a session of userID at once: its record and its
// live access tokens go in one transaction, conditional on the record not
// having been rotated since it was read, so an access token issued by a
// concurrent refresh cannot outlive the revocation. Its refresh tokens
// are left to expire: without the record none can be used. false when
// there is no such session of this user.
func (s *Store) RevokeDeviceSession(ctx context.Context, userID, id string) (bool, error) {
	for attempt := 0; ; attempt++ {
		if err := quotaBackoff(ctx, attempt); err != nil {
			return false, err
		}
		out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{TableName: &s.sessions, Key: sessionRecordKey(id),
			ConsistentRead: aws.Bool(true)})
		if err != nil {
			return false, fmt.Errorf("get session: %w", err)
		}
		var r deviceRecord
		if out.Item == nil {
			return false, nil
		}
		if err := attributevalue.UnmarshalMap(out.Item, &r); err != nil {
			return false, fmt.Errorf("decode session: %w", err)
		}
		if r.UserID != userID {
			return false, nil
		}
		items := []types.TransactWriteItem{{Delete: &types.Delete{TableName: &s.sessions, Key: sessionRecordKey(id),
			ConditionExpression:       aws.String("refresh_key = :rk"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":rk": str(r.RefreshKey)}}}}
		for _, h := range r.AccessHashes {
			items = append(items, types.TransactWriteItem{Delete: &types.Delete{TableName: &s.sessions,
				Key: map[string]types.AttributeValue{"token_hash": str(h)}}})
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		if err == nil {
			return true, nil
		}
		if (transactionConflict(err) || conditionFailed(err)) && attempt < maxRotateAttempts-1 {
			continue
		}
		return false, fmt.Errorf("revoke session: %w", err)
	}
}

// UserSessions lists a user's sessions: one Query of the by-user index
// (keys only), then the items it names in BatchGetItem calls. It holds
// the device records and any token from before refresh tokens (Legacy);
// the access tokens of device sessions are passed over. Expired ones are
// the caller's to drop, since TTL deletes late.
func (s *Store) UserSessions(ctx context.Context, userID string) ([]recording.DeviceSession, error) {
	hashes, err := s.userSessionHashes(ctx, userID)
	if err != nil {
		return nil, err
	}
	keys := sessionKeys(hashes)
	var list []recording.DeviceSession
	for len(keys) > 0 {
		n := min(100, len(keys))
		items, err := s.batchGetSessions(ctx, keys[:n])
		if err != nil {
			return nil, err
		}
		keys = keys[n:]
		for _, it := range items {
			var r deviceRecord
			if err := attributevalue.UnmarshalMap(it, &r); err != nil {
				return nil, fmt.Errorf("decode session: %w", err)
			}
			switch {
			case r.UserID != userID:
			case strings.HasPrefix(r.TokenHash, sessionRecordPrefix):
				list = append(list, r.session())
			case r.SessionID == "":
				list = append(list, recording.DeviceSession{ID: LegacySessionID(r.TokenHash), UserID: r.UserID,
					CreatedAt: parseTS(r.CreatedAt), ExpiresAt: parseTS(r.ExpiresAt), Legacy: true})
			}
		}
	}
	return list, nil
}

// LegacyTokenHash finds the token hash of a user's session from before
// refresh tokens by its LegacySessionID: a Query of the by-user index.
func (s *Store) LegacyTokenHash(ctx context.Context, userID, id string) (string, bool, error) {
	hashes, err := s.userSessionHashes(ctx, userID)
	if err != nil {
		return "", false, err
	}
	for _, h := range hashes {
		if !strings.HasPrefix(h, sessionRecordPrefix) && LegacySessionID(h) == id {
			return h, true, nil
		}
	}
	return "", false, nil
}

var sessionListAttributes = func() map[string]string {
	m := map[string]string{}
	for _, a := range []string{"token_hash", "user_id", "session_id", "device_name", "provider", "platform",
		"created_at", "last_used_at", "expires_at"} {
		m["#"+a] = a
	}
	return m
}()

func (s *Store) batchGetSessions(ctx context.Context, keys []map[string]types.AttributeValue) ([]map[string]types.AttributeValue, error) {
	req := map[string]types.KeysAndAttributes{s.sessions: {Keys: keys, ConsistentRead: aws.Bool(true),
		// Every name through a placeholder: some are DynamoDB reserved words.
		ProjectionExpression:     aws.String(strings.Join(slices.Collect(maps.Keys(sessionListAttributes)), ", ")),
		ExpressionAttributeNames: sessionListAttributes}}
	var items []map[string]types.AttributeValue
	for attempt := 0; len(req) > 0; attempt++ {
		if attempt > 0 {
			if attempt > 8 {
				return nil, fmt.Errorf("get sessions: keys left unprocessed")
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 10 * time.Millisecond):
			}
		}
		out, err := s.db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: req})
		if err != nil {
			return nil, fmt.Errorf("get sessions: %w", err)
		}
		items = append(items, out.Responses[s.sessions]...)
		req = out.UnprocessedKeys
	}
	return items, nil
}
