package dynamo

import (
	"context"
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
	// Transcription settings and this month's use (see recording.User).
	TranscriptionOff  bool   `dynamodbav:"transcription_off,omitempty"`
	TranscribeMonth   string `dynamodbav:"transcribe_month,omitempty"`
	TranscribeSeconds int64  `dynamodbav:"transcribe_seconds,omitempty"`
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
		TranscriptionOff: u.TranscriptionOff, TranscribeMonth: u.TranscribeMonth, TranscribeSeconds: u.TranscribeSeconds,
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

func userKey(userID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"user_id": str(userID)}
}

// quotaBounds: the user item carries quota bounds beside the exact state:
// pending_bound counts reservations, count_bound recordings plus
// reservations and bytes_bound their bytes. A create adds to them;
// confirming, rejecting, closing and deleting an available recording leave
// them alone (a confirm moves a reservation into the counters, the rest
// only free); cancelling a pending upload takes its entry's share out with
// the entry (releaseCounted); the exact path (reserveExact) sets them to
// the exact figures, under the quota version. So they are
// never below the usage they bound, and a create they admit is within the
// quota; when they drift too high, the exact path resets them.
const (
	pendingBoundAttr = "pending_bound"
	countBoundAttr   = "count_bound"
	bytesBoundAttr   = "bytes_bound"
)

// reserveFast adds the reservation and only the new one to the map, under
// conditions on the bounds; no read needed. Items without bounds (made
// before they existed) fail the condition and take the exact path once.
func (s *Store) reserveFast(rec recording.Recording, resAV types.AttributeValue, lim recording.Limits) types.TransactWriteItem {
	cond := "attribute_not_exists(account_state) AND attribute_exists(pending_uploads) AND " +
		"#cb < :maxc AND #bb <= :maxb"
	vals := map[string]types.AttributeValue{
		":res": resAV, ":one": num(1), ":size": num(rec.SizeBytes),
		":maxc": num(lim.MaxRecordings), ":maxb": num(lim.MaxBytes - rec.SizeBytes),
	}
	if lim.MaxPending > 0 {
		cond += " AND #pb < :maxp"
		vals[":maxp"] = num(int64(lim.MaxPending))
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &s.users, Key: userKey(rec.UserID),
		UpdateExpression:          aws.String("SET pending_uploads.#rid = :res ADD quota_version :one, #pb :one, #cb :one, #bb :size"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#rid": rec.ID, "#pb": pendingBoundAttr, "#cb": countBoundAttr, "#bb": bytesBoundAttr},
		ExpressionAttributeValues: vals,
	}}
}

// reserveExact is the quota check from the user as read: expired
// reservations are dropped, the limits checked against what is live, and
// the bounds set to the exact figures with the new reservation, all
// conditional on the quota version read.
func (s *Store) reserveExact(u userItem, rec recording.Recording, resAV types.AttributeValue, lim recording.Limits, now time.Time) (types.TransactWriteItem, error) {
	live, err := reserve(u, rec, lim, now)
	if err != nil {
		return types.TransactWriteItem{}, err
	}
	var liveBytes int64
	for _, p := range live {
		liveBytes += p.Bytes
	}
	names := map[string]string{"#pb": pendingBoundAttr, "#cb": countBoundAttr, "#bb": bytesBoundAttr}
	vals := map[string]types.AttributeValue{
		":v": num(u.QuotaVersion), ":next": num(u.QuotaVersion + 1),
		":pb": num(int64(len(live))), ":cb": num(u.RecordingCount + int64(len(live))), ":bb": num(u.BytesStored + liveBytes),
	}
	set := "SET quota_version = :next, #pb = :pb, #cb = :cb, #bb = :bb"
	remove := ""
	if u.PendingUploads == nil {
		mapAV, err := attributevalue.Marshal(live)
		if err != nil {
			return types.TransactWriteItem{}, err
		}
		set += ", pending_uploads = :p"
		vals[":p"] = mapAV
	} else {
		set += ", pending_uploads.#rid = :res"
		names["#rid"], vals[":res"] = rec.ID, resAV
		i := 0
		for id := range u.PendingUploads {
			if _, ok := live[id]; ok {
				continue
			}
			name := fmt.Sprintf("#x%d", i)
			names[name] = id
			if remove == "" {
				remove = " REMOVE "
			} else {
				remove += ", "
			}
			remove += "pending_uploads." + name
			i++
		}
	}
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &s.users, Key: userKey(rec.UserID),
		UpdateExpression:          aws.String(set + remove),
		ConditionExpression:       aws.String("quota_version = :v AND attribute_not_exists(account_state)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	}}, nil
}

// reserve checks the quota, counting live pending uploads, and returns the
// user's reservations with the new upload added and expired ones dropped.
func reserve(u userItem, rec recording.Recording, lim recording.Limits, now time.Time) (map[string]pendingUpload, error) {
	live := map[string]pendingUpload{}
	var pendingBytes int64
	for id, p := range u.PendingUploads {
		if p.ExpiresAt > now.Unix() {
			live[id] = p
			pendingBytes += p.Bytes
		}
	}
	switch {
	case lim.MaxPending > 0 && len(live) >= lim.MaxPending:
		return nil, recording.Errorf(recording.CodeQuotaExceeded, "too many uploads in progress (at most %d); finish or delete some first", lim.MaxPending)
	case u.RecordingCount+int64(len(live))+1 > lim.MaxRecordings:
		return nil, recording.Errorf(recording.CodeQuotaExceeded, "recording limit reached (%d recordings, pending uploads included)", lim.MaxRecordings)
	case u.BytesStored+pendingBytes+rec.SizeBytes > lim.MaxBytes:
		return nil, recording.Errorf(recording.CodeQuotaExceeded, "storage quota exceeded: %d of %d bytes used, pending uploads included",
			u.BytesStored+pendingBytes, lim.MaxBytes)
	}
	// The reservation holds until the record can be closed, not just until
	// its window ends: an upload may still land in between.
	live[rec.ID] = pendingUpload{Bytes: rec.SizeBytes, ExpiresAt: rec.DueAt.Unix()}
	return live, nil
}

// releaseCounted releases a reservation and lowers the quota bounds by
// what it added to them, only while the entry is there as reserved and the
// bounds exist: every entry in the map is counted in the bounds (see
// quotaBounds), so taking one out with its share keeps them upper bounds.
// A user who cancels uploads then stays on the create's fast path.
func (s *Store) releaseCounted(rec recording.Recording) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &s.users, Key: userKey(rec.UserID),
		UpdateExpression: aws.String("REMOVE pending_uploads.#rid ADD quota_version :one, #pb :neg1, #cb :neg1, #bb :negsize"),
		ConditionExpression: aws.String("attribute_exists(user_id) AND pending_uploads.#rid.#bytes = :size AND " +
			"attribute_exists(#pb) AND attribute_exists(#cb) AND attribute_exists(#bb)"),
		ExpressionAttributeNames: map[string]string{"#rid": rec.ID, "#bytes": "bytes",
			"#pb": pendingBoundAttr, "#cb": countBoundAttr, "#bb": bytesBoundAttr},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": num(1), ":neg1": num(-1), ":size": num(rec.SizeBytes), ":negsize": num(-rec.SizeBytes),
		},
	}}
}

func (s *Store) releaseReservation(rec recording.Recording) types.TransactWriteItem {
	return types.TransactWriteItem{Update: &types.Update{
		TableName: &s.users, Key: userKey(rec.UserID),
		UpdateExpression:          aws.String("REMOVE pending_uploads.#rid ADD quota_version :one"),
		ConditionExpression:       aws.String("attribute_exists(user_id)"),
		ExpressionAttributeNames:  map[string]string{"#rid": rec.ID},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": num(1)},
	}}
}
