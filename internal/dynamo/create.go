package dynamo

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/recording"
)

type idempotencyItem struct {
	UserID      string `dynamodbav:"user_id"`
	Key         string `dynamodbav:"idempotency_key"`
	RecordingID string `dynamodbav:"recording_id"`
	Fingerprint string `dynamodbav:"fingerprint"`
	CreatedAt   string `dynamodbav:"created_at"`
	TTL         int64  `dynamodbav:"ttl"`
}

// IdempotencyWindow is how long an Idempotency-Key is remembered.
const IdempotencyWindow = 24 * time.Hour

// maxQuotaRetries bounds how often a create retries after losing a race on
// the user's quota version to another write. With the jittered backoff
// below, 32 creates for one user at once all get through (see
// TestParallelCreatesForOneUserAllSucceed).
const maxQuotaRetries = 40

// quotaBackoff waits before retry attempt n: full jitter over a window that
// doubles up to 64 ms, so contending writers spread out instead of
// colliding again in lockstep.
func quotaBackoff(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return nil
	}
	window := time.Millisecond << min(attempt, 6)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(rand.Int64N(int64(window)))):
		return nil
	}
}

// CreateUpload stores a new pending recording and reserves its bytes against
// the user's quota, atomically. With an idempotency key, a repeat of the
// same request returns the recording the first one created (replayed true);
// the same key with a different request (fingerprint) is refused.
//
// The common case is one transaction and no read: the session's
// ConditionCheck (when ctx carries a guard), the reservation added to the
// user's quota bounds under a condition on them, the record, and the
// idempotency key if any. The bounds (see quotaBounds) can only over-count,
// so a create they admit is within the quota. When they refuse, or an
// idempotency key already exists, the slow path reads what it needs and
// decides exactly, as it always did.
func (s *Store) CreateUpload(ctx context.Context, rec recording.Recording, idemKey, fingerprint string, lim recording.Limits, now time.Time) (recording.Recording, bool, error) {
	if rec.DueAt.IsZero() || rec.ExpiresAt == nil {
		// A pending record nobody would ever revisit could hold its
		// reservation, and any object uploaded for it, forever.
		return recording.Recording{}, false, fmt.Errorf("create upload: a pending record needs its window and due time")
	}
	recAV := encodeRecording(toItem(rec))
	resAV, err := attributevalue.Marshal(pendingUpload{Bytes: rec.SizeBytes, ExpiresAt: rec.DueAt.Unix()})
	if err != nil {
		return recording.Recording{}, false, err
	}
	fast := lim.MaxBytes-rec.SizeBytes >= 0
	// idemChecked: the key's state is known (absent, or stale and reusable);
	// until it is, the transaction's condition finds out for free.
	idemChecked, staleIdem := false, false
	for attempt, wait := 0, 0; attempt < maxQuotaRetries; attempt++ {
		if err := quotaBackoff(ctx, wait); err != nil {
			return recording.Recording{}, false, err
		}
		if idemKey != "" && !idemChecked && attempt > 0 {
			prev, found, err := s.replay(ctx, rec.UserID, idemKey, fingerprint, now)
			if err != nil {
				return recording.Recording{}, false, err
			}
			if found && prev.ID != "" {
				// A replay writes nothing, so no transaction checked the
				// session for it.
				if err := s.CheckSession(ctx); err != nil {
					return recording.Recording{}, false, err
				}
				return prev, true, nil
			}
			// The key's recording is gone: the key may be used again.
			idemChecked, staleIdem = true, found
		}
		var quota types.TransactWriteItem
		if fast {
			quota = s.reserveFast(rec, resAV, lim)
		} else {
			// The transaction below checks the session; a refusal built
			// from this read is checked by the API before it is answered.
			u, ok, err := s.getUserItem(carrying(ctx), rec.UserID)
			if err != nil {
				return recording.Recording{}, false, err
			}
			if !ok {
				return recording.Recording{}, false, recording.Errorf(recording.CodeUnauthorized, "account not found")
			}
			if u.AccountState == accountDeleting {
				return recording.Recording{}, false, recording.Errorf(recording.CodeAccountDeleting, "this account is being deleted")
			}
			if quota, err = s.reserveExact(u, rec, resAV, lim, now); err != nil {
				return recording.Recording{}, false, err
			}
		}
		items := []types.TransactWriteItem{
			quota,
			{Put: &types.Put{TableName: &s.recordings, Item: recAV, ConditionExpression: aws.String("attribute_not_exists(recording_id)")}},
		}
		if idemKey != "" {
			idemAV, err := attributevalue.MarshalMap(idempotencyItem{
				UserID: rec.UserID, Key: idemKey, RecordingID: rec.ID, Fingerprint: fingerprint, CreatedAt: ts(now),
				TTL: now.Add(IdempotencyWindow).Unix(),
			})
			if err != nil {
				return recording.Recording{}, false, err
			}
			cond := "attribute_not_exists(idempotency_key)"
			if staleIdem {
				cond = "attribute_exists(idempotency_key)"
			}
			items = append(items, types.TransactWriteItem{Put: &types.Put{
				TableName: &s.idempotency, Item: idemAV, ConditionExpression: aws.String(cond),
			}})
		}
		err := s.transactChange(ctx, upsertOf(rec, now), items...)
		if err == nil {
			return rec, false, nil
		}
		if errors.Is(err, ErrSessionInvalid) {
			return recording.Recording{}, false, err
		}
		failed := failedItems(ctx, err)
		switch {
		case idemKey != "" && failed[2]:
			// The key exists (or a stale one went): look at it next round,
			// before anything else.
			idemChecked, staleIdem = false, false
			wait = 0
		case fast && failed[0]:
			// The bounds refused (or the user is not there, or being
			// deleted): decide exactly from the user item.
			fast, wait = false, 0
		case conditionFailed(err) || transactionConflict(err):
			// Lost a race (quota version, a concurrent transaction): reread.
			wait++
		default:
			return recording.Recording{}, false, fmt.Errorf("create upload: %w", err)
		}
	}
	return recording.Recording{}, false, &recording.Error{Code: recording.CodeUnavailable, Message: "too much contention on this account; try again"}
}

// failedItems maps the index of each of a cancelled transaction's items, as
// the caller built them (without the session check withSession put first),
// to whether its condition failed.
func failedItems(ctx context.Context, err error) map[int]bool {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return nil
	}
	off := 0
	if guardOf(ctx) != nil {
		off = 1
	}
	failed := map[int]bool{}
	for i, r := range tc.CancellationReasons {
		if i >= off && aws.ToString(r.Code) == "ConditionalCheckFailed" {
			failed[i-off] = true
		}
	}
	return failed
}

// replay looks up an idempotency key. found with a zero recording means the
// key exists but its recording is gone.
func (s *Store) replay(ctx context.Context, userID, key, fingerprint string, now time.Time) (recording.Recording, bool, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: &s.idempotency, ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"user_id": str(userID), "idempotency_key": str(key)},
	})
	if err != nil {
		return recording.Recording{}, false, fmt.Errorf("get idempotency key: %w", err)
	}
	if out.Item == nil {
		return recording.Recording{}, false, nil
	}
	var it idempotencyItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return recording.Recording{}, false, err
	}
	if it.TTL <= now.Unix() {
		return recording.Recording{}, true, nil
	}
	if it.Fingerprint != fingerprint {
		return recording.Recording{}, false, recording.Errorf(recording.CodeIdempotencyReuse,
			"this Idempotency-Key was used for a different request")
	}
	rec, err := s.GetRecording(ctx, userID, it.RecordingID)
	if err == recording.ErrNotFound || (err == nil && !rec.Visible()) {
		return recording.Recording{}, true, nil
	}
	if err != nil {
		return recording.Recording{}, false, err
	}
	return rec, true, nil
}
