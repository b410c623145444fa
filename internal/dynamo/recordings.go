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

// recordingItem is a recording as stored.
type recordingItem struct {
	UserID      string `dynamodbav:"user_id"`
	RecordingID string `dynamodbav:"recording_id"`
	// UserStatus keys the by-status index; a deleting record has none, which
	// takes it out of every listing at once.
	UserStatus   string `dynamodbav:"user_status,omitempty"`
	Status       string `dynamodbav:"status"`
	FileName     string `dynamodbav:"file_name"`
	ContentType  string `dynamodbav:"content_type"`
	SizeBytes    int64  `dynamodbav:"size_bytes"`
	DurationMS   *int64 `dynamodbav:"duration_ms,omitempty"`
	Codec        string `dynamodbav:"codec,omitempty"`
	SampleRateHz int    `dynamodbav:"sample_rate_hz,omitempty"`
	Channels     int    `dynamodbav:"channels,omitempty"`
	RecordedAt   string `dynamodbav:"recorded_at,omitempty"`
	CreatedAt    string `dynamodbav:"created_at"`
	UploadedAt   string `dynamodbav:"uploaded_at,omitempty"`
	ExpiresAt    string `dynamodbav:"expires_at,omitempty"`
	PurgeAt      string `dynamodbav:"purge_at,omitempty"`
	TTL          int64  `dynamodbav:"ttl,omitempty"`
	ObjectKey    string `dynamodbav:"object_key"`
	ETag         string `dynamodbav:"etag,omitempty"`
	SHA256       string `dynamodbav:"sha256,omitempty"`
	PartsSHA256  string `dynamodbav:"parts_sha256,omitempty"`
	RejectReason string `dynamodbav:"reject_reason,omitempty"`
	RejectDetail string `dynamodbav:"reject_detail,omitempty"`
	// UploadID and PartSize are a multipart upload's (absent for one PUT).
	UploadID string `dynamodbav:"upload_id,omitempty"`
	PartSize int64  `dynamodbav:"part_size,omitempty"`
	// DueShard and DueAt key the sparse by-due index (see dueAttrs).
	DueShard string `dynamodbav:"due_shard,omitempty"`
	DueAt    int64  `dynamodbav:"due_at,omitempty"`
	// LandBy is a rejected record's recording.LandBy (Unix seconds).
	LandBy int64 `dynamodbav:"land_by,omitempty"`
}

func userStatus(userID string, st recording.Status) string { return userID + "#" + string(st) }

func toItem(r recording.Recording) recordingItem {
	it := recordingItem{
		UserID: r.UserID, RecordingID: r.ID, UserStatus: userStatus(r.UserID, r.Status), Status: string(r.Status),
		FileName: r.FileName, ContentType: r.ContentType, SizeBytes: r.SizeBytes, DurationMS: r.DurationMS,
		CreatedAt: ts(r.CreatedAt), ObjectKey: r.Key, ETag: r.ETag, SHA256: r.SHA256, PartsSHA256: r.PartsSHA256, RejectReason: r.RejectReason,
		RejectDetail: r.RejectDetail, Codec: r.Codec, SampleRateHz: r.SampleRateHz, Channels: r.Channels,
		UploadID: r.UploadID, PartSize: r.PartSize,
	}
	if !r.DueAt.IsZero() {
		it.DueShard, it.DueAt = dueShard(r.ID), r.DueAt.Unix()
	}
	if !r.LandBy.IsZero() {
		it.LandBy = r.LandBy.Unix()
	}
	if r.RecordedAt != nil {
		it.RecordedAt = ts(*r.RecordedAt)
	}
	if r.UploadedAt != nil {
		it.UploadedAt = ts(*r.UploadedAt)
	}
	if r.PurgeAt != nil {
		it.PurgeAt = ts(*r.PurgeAt)
	}
	if r.ExpiresAt != nil {
		// No TTL on a pending record: DynamoDB would delete it at an
		// arbitrary moment, racing a late upload. The reconciler closes it.
		it.ExpiresAt = ts(*r.ExpiresAt)
	}
	return it
}

func (it recordingItem) domain() recording.Recording {
	r := recording.Recording{
		UserID: it.UserID, ID: it.RecordingID, FileName: it.FileName, ContentType: it.ContentType, SizeBytes: it.SizeBytes,
		DurationMS: it.DurationMS, Status: recording.Status(it.Status), RejectReason: it.RejectReason, RejectDetail: it.RejectDetail,
		Codec: it.Codec, SampleRateHz: it.SampleRateHz, Channels: it.Channels,
		CreatedAt: parseTS(it.CreatedAt), Key: it.ObjectKey, ETag: it.ETag, SHA256: it.SHA256, PartsSHA256: it.PartsSHA256,
		UploadID: it.UploadID, PartSize: it.PartSize,
	}
	if it.DueAt != 0 {
		r.DueAt = time.Unix(it.DueAt, 0).UTC()
	}
	if it.LandBy != 0 {
		r.LandBy = time.Unix(it.LandBy, 0).UTC()
	}
	opt := func(s string) *time.Time {
		if s == "" {
			return nil
		}
		t := parseTS(s)
		return &t
	}
	r.RecordedAt, r.UploadedAt, r.ExpiresAt, r.PurgeAt = opt(it.RecordedAt), opt(it.UploadedAt), opt(it.ExpiresAt), opt(it.PurgeAt)
	return r
}

func recKey(userID, recordingID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"user_id": str(userID), "recording_id": str(recordingID)}
}

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
	recAV, err := attributevalue.MarshalMap(toItem(rec))
	if err != nil {
		return recording.Recording{}, false, err
	}
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
		err := s.transactGuarded(ctx, items)
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

// ListRecordings returns one page of a user's recordings in one status,
// newest first, starting after the recording id `after` (empty: from the
// newest). next is the id to continue after, empty on the last page. One
// Query on the by-status index, scoped to the caller's partition key.
func (s *Store) ListRecordings(ctx context.Context, userID string, status recording.Status, limit int, after string, now time.Time) (items []recording.Recording, next string, err error) {
	in := &dynamodb.QueryInput{
		TableName: &s.recordings, IndexName: aws.String(RecordingsByStateIndex),
		KeyConditionExpression:    aws.String("user_status = :us"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":us": str(userStatus(userID, status))},
		ScanIndexForward:          aws.Bool(false),
		// One more than asked tells whether another page exists, so the
		// last page carries no cursor.
		Limit: aws.Int32(int32(limit + 1)),
	}
	if status == recording.StatusRejected { // kept for a week, deleted late by TTL
		in.FilterExpression = aws.String("#ttl > :now")
		in.ExpressionAttributeNames = map[string]string{"#ttl": TTLAttribute}
		in.ExpressionAttributeValues[":now"] = num(now.Unix())
	}
	if after != "" {
		in.ExclusiveStartKey = map[string]types.AttributeValue{
			"user_status": str(userStatus(userID, status)), "recording_id": str(after), "user_id": str(userID),
		}
	}
	// The session (if ctx carries a guard) is read at the same time as the
	// page, and judged before anything from the page is returned.
	sess := s.readSessionAsync(ctx)
	out, err := s.db.Query(carrying(ctx), in)
	if serr := sess.wait(); serr != nil {
		return nil, "", serr
	}
	if err != nil {
		return nil, "", fmt.Errorf("list recordings: %w", err)
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
		next = items[limit-1].ID
	} else if out.LastEvaluatedKey != nil {
		// The query stopped early (the filter dropped expired items, or a
		// page filled up): more may follow, even when the page looks full.
		var last recordingItem
		if err := attributevalue.UnmarshalMap(out.LastEvaluatedKey, &last); err == nil {
			next = last.RecordingID
		}
	}
	return items, next, nil
}

// maxListAllQueries bounds the Queries behind one page of ListAllRecordings.
// Trashed and deleting items share the partition and are filtered away
// after they are read, so a page may need more than one Query to fill; past
// the bound the page is returned short, with a cursor.
const maxListAllQueries = 4

// ListAllRecordings returns one page of a user's pending, available and
// rejected recordings together, newest first, starting after the recording
// id `after`; next is where to continue, empty on the last page. Trash
// (deleted) and deleting records are left out, and rejected ones past their
// retention too, as ListRecordings leaves them out of its own listings. It
// Queries the table itself, whose sort key orders a partition by id (time),
// so one cursor spans every status.
func (s *Store) ListAllRecordings(ctx context.Context, userID string, limit int, after string, now time.Time) (items []recording.Recording, next string, err error) {
	in := &dynamodb.QueryInput{
		TableName:                &s.recordings,
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
	// The session (if ctx carries a guard) is read at the same time as the
	// first Query and judged before anything from the page is returned.
	sess := s.readSessionAsync(ctx)
	for i := range maxListAllQueries {
		// One more than still needed tells whether another page exists.
		in.Limit = aws.Int32(int32(limit + 1 - len(items)))
		out, err := s.db.Query(carrying(ctx), in)
		if i == 0 {
			if serr := sess.wait(); serr != nil {
				return nil, "", serr
			}
		}
		if err != nil {
			return nil, "", fmt.Errorf("list all recordings: %w", err)
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

// Rename changes a visible recording's file name and returns it.
//
// With a session guard the rename is a transaction with the session's
// ConditionCheck, which cannot return the item; a strongly consistent read
// of the recording runs concurrently, so the whole takes one round trip of
// latency. The answer is that read with the new name: the recording as it
// was at most one concurrent change before or after the rename.
func (s *Store) Rename(ctx context.Context, userID, recordingID, name string) (recording.Recording, error) {
	vals := map[string]types.AttributeValue{
		":n": str(name), ":avail": str(string(recording.StatusAvailable)), ":rej": str(string(recording.StatusRejected)),
		":pend": str(string(recording.StatusPending)),
	}
	update := types.Update{
		TableName: &s.recordings, Key: recKey(userID, recordingID),
		UpdateExpression:          aws.String("SET file_name = :n"),
		ConditionExpression:       aws.String("#st IN (:avail, :rej, :pend)"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: vals,
	}
	if guardOf(ctx) != nil {
		return s.renameGuarded(ctx, update, name)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: update.TableName, Key: update.Key, UpdateExpression: update.UpdateExpression,
		ConditionExpression: update.ConditionExpression, ExpressionAttributeNames: update.ExpressionAttributeNames,
		ExpressionAttributeValues: update.ExpressionAttributeValues, ReturnValues: types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return recording.Recording{}, recording.ErrNotFound
	}
	if err != nil {
		return recording.Recording{}, fmt.Errorf("rename recording: %w", err)
	}
	var it recordingItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return recording.Recording{}, err
	}
	return it.domain(), nil
}

// maxRenameAttempts bounds a rename's retries after losing a race with
// another transaction on the recording.
const maxRenameAttempts = 5

func (s *Store) renameGuarded(ctx context.Context, update types.Update, name string) (recording.Recording, error) {
	type read struct {
		item map[string]types.AttributeValue
		err  error
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan read, 1)
	go func() {
		out, err := s.db.GetItem(carrying(rctx), &dynamodb.GetItemInput{TableName: &s.recordings, Key: update.Key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			got <- read{err: err}
			return
		}
		got <- read{item: out.Item}
	}()
	var err error
	for attempt := 0; attempt < maxRenameAttempts; attempt++ {
		// A transaction, unlike a plain update, is cancelled by another
		// one on the same item (a confirm landing now): wait and retry.
		if err = quotaBackoff(ctx, attempt); err != nil {
			return recording.Recording{}, err
		}
		err = s.transactGuarded(ctx, []types.TransactWriteItem{{Update: &update}})
		if !transactionConflict(err) || errors.Is(err, ErrSessionInvalid) {
			break
		}
	}
	if errors.Is(err, ErrSessionInvalid) {
		return recording.Recording{}, err
	}
	if conditionFailed(err) {
		return recording.Recording{}, recording.ErrNotFound
	}
	if transactionConflict(err) {
		return recording.Recording{}, &recording.Error{Code: recording.CodeUnavailable, Message: "this recording is changing; try again"}
	}
	if err != nil {
		return recording.Recording{}, fmt.Errorf("rename recording: %w", err)
	}
	r := <-got
	var it recordingItem
	if r.err == nil && r.item != nil {
		if err := attributevalue.UnmarshalMap(r.item, &it); err != nil {
			return recording.Recording{}, fmt.Errorf("decode recording: %w", err)
		}
	}
	if r.err != nil || r.item == nil || !it.domain().Visible() {
		// The read lost a race with the recording's creation or a
		// delete: read it again now that the rename is done.
		uid := update.Key["user_id"].(*types.AttributeValueMemberS).Value
		rid := update.Key["recording_id"].(*types.AttributeValueMemberS).Value
		rec, err := s.GetRecording(ctx, uid, rid)
		if err != nil {
			return recording.Recording{}, err
		}
		rec.FileName = name
		return rec, nil
	}
	it.FileName = name
	return it.domain(), nil
}

// ErrStateChanged means a recording changed between read and write; the
// caller rereads and decides again.
var ErrStateChanged = fmt.Errorf("recording changed concurrently")

func userKey(userID string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"user_id": str(userID)}
}

// BeginDelete takes a recording out of the user's view and quota before its
// object is deleted: it becomes "deleting" with its bytes (or its pending
// reservation) released, and due at `due` for the reconciler. The caller
// then deletes the object and, once no upload URL can still land (at due for
// a pending one, at once otherwise), calls FinishDelete. Whatever fails in
// between, the reconciler finishes at due.
func (s *Store) BeginDelete(ctx context.Context, rec recording.Recording, due time.Time) error {
	mark := func(from recording.Status) types.TransactWriteItem {
		return types.TransactWriteItem{Update: &types.Update{
			TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
			UpdateExpression:         aws.String("SET #st = :del, due_shard = :shard, due_at = :due REMOVE user_status"),
			ConditionExpression:      aws.String("#st = :from"),
			ExpressionAttributeNames: map[string]string{"#st": "status"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":del": str(string(recording.StatusDeleting)), ":from": str(string(from)),
				":shard": str(dueShard(rec.ID)), ":due": num(due.Unix()),
			},
		}}
	}
	var items []types.TransactWriteItem
	switch rec.Status {
	case recording.StatusAvailable, recording.StatusDeleted:
		items = []types.TransactWriteItem{
			mark(rec.Status),
			{Update: &types.Update{
				TableName: &s.users, Key: userKey(rec.UserID),
				UpdateExpression:          aws.String("ADD bytes_stored :negsize, recording_count :neg1, quota_version :one"),
				ConditionExpression:       aws.String("attribute_exists(user_id)"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":negsize": num(-rec.SizeBytes), ":neg1": num(-1), ":one": num(1)},
			}},
		}
	case recording.StatusPending:
		items = []types.TransactWriteItem{mark(recording.StatusPending), s.releaseCounted(rec)}
	case recording.StatusRejected:
		// Only when its URL may still land (the caller decides): it then
		// waits, invisible, until due. It holds no quota.
		items = []types.TransactWriteItem{mark(recording.StatusRejected)}
	default:
		return nil // deleting records need only FinishDelete
	}
	err := s.transactGuarded(ctx, items)
	if errors.Is(err, ErrSessionInvalid) {
		return err
	}
	if rec.Status == recording.StatusPending && failedItems(ctx, err)[1] && !failedItems(ctx, err)[0] {
		// The reservation was already gone (pruned as expired) or the
		// bounds are not there: release without touching them.
		items[1] = s.releaseReservation(rec)
		err = s.transactGuarded(ctx, items)
		if errors.Is(err, ErrSessionInvalid) {
			return err
		}
	}
	if conditionFailed(err) || transactionConflict(err) {
		return ErrStateChanged
	}
	if err != nil {
		return fmt.Errorf("begin delete: %w", err)
	}
	return nil
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

// FinishDelete removes a deleting or rejected record once its object is gone.
func (s *Store) FinishDelete(ctx context.Context, userID, recordingID string) error {
	_, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: &s.recordings, Key: recKey(userID, recordingID),
		ConditionExpression:       aws.String("#st = :del OR #st = :rej"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":del": str(string(recording.StatusDeleting)), ":rej": str(string(recording.StatusRejected))},
	})
	if err != nil && !conditionFailed(err) {
		return fmt.Errorf("finish delete: %w", err)
	}
	return nil
}

// Trash moves an available recording to the trash: out of the normal list,
// still counted against the quota, due for the reconciler to purge at
// purgeAt. It returns the recording as it is now.
func (s *Store) Trash(ctx context.Context, rec recording.Recording, purgeAt time.Time) (recording.Recording, error) {
	return s.moveTrash(ctx, rec, recording.StatusAvailable, recording.StatusDeleted,
		"SET #st = :to, user_status = :us, purge_at = :purge, due_shard = :shard, due_at = :due",
		map[string]types.AttributeValue{":purge": str(ts(purgeAt)), ":shard": str(dueShard(rec.ID)), ":due": num(purgeAt.Unix())})
}

// TrashAttempt is what TrashIfAvailable did, and what it saw.
type TrashAttempt struct {
	// Moved: this call moved the recording to the trash; Recording is
	// the recording as that write left it.
	Moved bool
	// Seen: the recording was not available, and Recording is it as the
	// refused write found it. Neither Moved nor Seen: it is not there, or
	// the write lost a race with another transaction; read it to know.
	Seen      bool
	Recording recording.Recording
}

// TrashIfAvailable moves a recording to the trash if it is available, in
// one request and without reading it first: the common delete. The write
// answers with the recording either way (as it left it, or as it found it
// when the condition refused), so the caller needs no read to say what
// happened. With a session guard in ctx, the session's ConditionCheck is in
// the same transaction; a transaction returns no item when it succeeds, so
// a strongly consistent read runs concurrently with it (one round trip of
// latency, as for Rename) and the moved fields are laid over what it read.
func (s *Store) TrashIfAvailable(ctx context.Context, userID, recordingID string, purgeAt time.Time) (TrashAttempt, error) {
	// The stored form of purge_at, so the answer is exactly what a later
	// read of the record returns.
	purge := parseTS(ts(purgeAt))
	update := types.Update{
		TableName: &s.recordings, Key: recKey(userID, recordingID),
		UpdateExpression:         aws.String("SET #st = :to, user_status = :us, purge_at = :purge, due_shard = :shard, due_at = :due"),
		ConditionExpression:      aws.String("#st = :from"),
		ExpressionAttributeNames: map[string]string{"#st": "status"},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":from": str(string(recording.StatusAvailable)), ":to": str(string(recording.StatusDeleted)),
			":us": str(userStatus(userID, recording.StatusDeleted)), ":purge": str(ts(purge)),
			":shard": str(dueShard(recordingID)), ":due": num(purge.Unix()),
		},
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if guardOf(ctx) != nil {
		return s.trashGuarded(ctx, update, purge)
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: update.TableName, Key: update.Key, UpdateExpression: update.UpdateExpression,
		ConditionExpression: update.ConditionExpression, ExpressionAttributeNames: update.ExpressionAttributeNames,
		ExpressionAttributeValues: update.ExpressionAttributeValues, ReturnValues: types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: update.ReturnValuesOnConditionCheckFailure,
	})
	var refused *types.ConditionalCheckFailedException
	var conflict *types.TransactionConflictException
	switch {
	case err == nil:
		rec, err := decodeRecording(out.Attributes)
		if err != nil {
			return TrashAttempt{}, err
		}
		return TrashAttempt{Moved: true, Recording: rec.domain()}, nil
	case errors.As(err, &refused):
		return seenBy(refused.Item)
	case errors.As(err, &conflict):
		return TrashAttempt{}, nil
	}
	return TrashAttempt{}, fmt.Errorf("trash recording: %w", err)
}

func (s *Store) trashGuarded(ctx context.Context, update types.Update, purge time.Time) (TrashAttempt, error) {
	type read struct {
		item map[string]types.AttributeValue
		err  error
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan read, 1)
	go func() {
		// Its result is used only once the transaction has judged the
		// session.
		out, err := s.db.GetItem(carrying(rctx), &dynamodb.GetItemInput{TableName: &s.recordings, Key: update.Key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			got <- read{err: err}
			return
		}
		got <- read{item: out.Item}
	}()
	err := s.transactGuarded(ctx, []types.TransactWriteItem{{Update: &update}})
	var tc *types.TransactionCanceledException
	switch {
	case err == nil:
	case errors.Is(err, ErrSessionInvalid):
		return TrashAttempt{}, err
	case errors.As(err, &tc) && failedItems(ctx, err)[0]:
		// DynamoDB judged every condition: with the session's reported
		// as no failure, the session held, and an answer built from the
		// returned item needs no read to check it.
		if len(tc.CancellationReasons) == 2 && aws.ToString(tc.CancellationReasons[0].Code) == "None" {
			s.markChecked(ctx)
		}
		return seenBy(tc.CancellationReasons[1].Item)
	case transactionConflict(err):
		return TrashAttempt{}, nil
	default:
		return TrashAttempt{}, fmt.Errorf("trash recording: %w", err)
	}
	r := <-got
	if r.err != nil {
		return TrashAttempt{}, fmt.Errorf("read trashed recording: %w", r.err)
	}
	if r.item == nil {
		// Purged between the move and the read: nothing to show.
		return TrashAttempt{Moved: true}, nil
	}
	it, err := decodeRecording(r.item)
	if err != nil {
		return TrashAttempt{}, err
	}
	// The read may have been served before the move: show what the move
	// wrote.
	rec := it.domain()
	rec.Status, rec.PurgeAt, rec.DueAt = recording.StatusDeleted, &purge, time.Unix(purge.Unix(), 0).UTC()
	return TrashAttempt{Moved: true, Recording: rec}, nil
}

// seenBy reports a trash refused by its condition, with the item DynamoDB
// returned (none: there is no such recording).
func seenBy(item map[string]types.AttributeValue) (TrashAttempt, error) {
	if len(item) == 0 {
		return TrashAttempt{}, nil
	}
	it, err := decodeRecording(item)
	if err != nil {
		return TrashAttempt{}, err
	}
	return TrashAttempt{Seen: true, Recording: it.domain()}, nil
}

// Restore brings a recording back from the trash as it was.
func (s *Store) Restore(ctx context.Context, rec recording.Recording) (recording.Recording, error) {
	return s.moveTrash(ctx, rec, recording.StatusDeleted, recording.StatusAvailable,
		"SET #st = :to, user_status = :us REMOVE purge_at, due_shard, due_at", map[string]types.AttributeValue{})
}

func (s *Store) moveTrash(ctx context.Context, rec recording.Recording, from, to recording.Status, update string, vals map[string]types.AttributeValue) (recording.Recording, error) {
	vals[":from"], vals[":to"], vals[":us"] = str(string(from)), str(string(to)), str(userStatus(rec.UserID, to))
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: &s.recordings, Key: recKey(rec.UserID, rec.ID),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String("#st = :from"),
		ExpressionAttributeNames:  map[string]string{"#st": "status"},
		ExpressionAttributeValues: vals,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if conditionFailed(err) {
		return recording.Recording{}, ErrStateChanged
	}
	if err != nil {
		return recording.Recording{}, fmt.Errorf("move recording from %s to %s: %w", from, to, err)
	}
	var it recordingItem
	if err := attributevalue.UnmarshalMap(out.Attributes, &it); err != nil {
		return recording.Recording{}, err
	}
	return it.domain(), nil
}
