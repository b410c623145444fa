package dynamo

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/recording"
)

// The change feed lives in its own table, one partition per user: the
// changes keyed by seq, and a head item holding the last seq given out.
//
// A seq is the time its change was written, in microseconds since the
// epoch, or one more than the head when the head is ahead of the writer's
// clock: the head's condition is only that it is below the new seq. So a
// writer that remembers an old head (another process wrote since: the
// events function confirming an upload, another API instance) still
// writes in one transaction, and seqs still only grow. Seqs have gaps, so
// what a cursor missed is told by time: a change expires a retention
// after its seq's time (its TTL is derived from its seq), so changes
// expire in seq order, and every change after a cursor is still kept while
// the change at the cursor is (see ChangesAfter).
// The head sorts after every change (headSeq), so the Query that reads a
// page after a cursor also reads the head whenever the page is not full:
// an empty poll is one Query that returns one small item, and a page costs
// what its own changes weigh, whatever else the user or anyone else has.

// ChangesTable is the logical name of the change feed's table.
const ChangesTable = "changes"

// headSeq is the head item's sort key: above every seq a change can have.
const headSeq = math.MaxInt64

// DefaultChangeRetention is how long a change is kept when the store is
// not told otherwise (CHANGES_RETENTION).
const DefaultChangeRetention = 90 * 24 * time.Hour

// maxChangeAttempts bounds how often a state change retries after another
// change for the same user took the seq it meant to write.
const maxChangeAttempts = 40

// A change op says what a client does with a change.
const (
	OpUpsert = "upsert"
	OpRemove = "remove"
)

// Change is one entry of a user's feed. Recording is set for an upsert,
// as it was once the change was written.
type Change struct {
	Seq         int64
	Op          string
	RecordingID string
	Recording   *recording.Recording
	At          time.Time
}

// ChangePage is one read of the feed: the changes after a seq, in order,
// and the seq to continue after.
type ChangePage struct {
	Changes []Change
	// Last is the seq the next read starts after: the last change's, or
	// the cursor's when there was nothing new.
	Last    int64
	HasMore bool
}

// ErrChangesExpired means changes after the cursor are past their
// retention: the client must resync from a full listing. Latest is the
// seq to follow from after that listing.
type ErrChangesExpired struct{ Latest int64 }

func (e *ErrChangesExpired) Error() string { return "changes after this cursor are no longer kept" }

// ErrCursorAhead means a cursor names a seq the feed never gave out.
var ErrCursorAhead = errors.New("cursor is past the end of the feed")

// change is what a state change records in the feed, built by upsertOf
// or removalOf and written by transactChange in the same transaction.
type change struct {
	userID string
	op     string
	id     string
	rec    *recordingItem
	at     time.Time
}

func upsertOf(rec recording.Recording, at time.Time) change {
	it := toItem(rec)
	// What the reconciler keeps to itself never reaches a client.
	it.UserStatus, it.DueShard, it.DueAt, it.LandBy, it.TTL, it.UploadID = "", "", 0, 0, 0, ""
	return change{userID: rec.UserID, op: OpUpsert, id: rec.ID, rec: &it, at: at}
}

func removalOf(userID, recordingID string, at time.Time) change {
	return change{userID: userID, op: OpRemove, id: recordingID, at: at}
}

type changeItem struct {
	UserID      string         `dynamodbav:"user_id"`
	Seq         int64          `dynamodbav:"seq"`
	Op          string         `dynamodbav:"op,omitempty"`
	RecordingID string         `dynamodbav:"recording_id,omitempty"`
	Recording   *recordingItem `dynamodbav:"recording,omitempty"`
	At          string         `dynamodbav:"at,omitempty"`
	TTL         int64          `dynamodbav:"ttl,omitempty"`
	// LastSeq and FirstSeq (the first seq ever given out, which tells a
	// read from the start whether anything expired) are the head's.
	LastSeq  int64 `dynamodbav:"last_seq,omitempty"`
	FirstSeq int64 `dynamodbav:"first_seq,omitempty"`
}

// encodeChange is attributevalue.MarshalMap for a change item, without
// reflection, as encodeRecording is for the recording it carries;
// TestEncodeChangeMatchesMarshalMap holds it to the struct's tags.
func encodeChange(c changeItem) map[string]types.AttributeValue {
	m := map[string]types.AttributeValue{"user_id": str(c.UserID), "seq": num(c.Seq)}
	if c.Op != "" {
		m["op"] = str(c.Op)
	}
	if c.RecordingID != "" {
		m["recording_id"] = str(c.RecordingID)
	}
	if c.Recording != nil {
		m["recording"] = &types.AttributeValueMemberM{Value: encodeRecording(*c.Recording)}
	}
	if c.At != "" {
		m["at"] = str(c.At)
	}
	if c.TTL != 0 {
		m["ttl"] = num(c.TTL)
	}
	if c.LastSeq != 0 {
		m["last_seq"] = num(c.LastSeq)
	}
	if c.FirstSeq != 0 {
		m["first_seq"] = num(c.FirstSeq)
	}
	return m
}

func decodeChange(av map[string]types.AttributeValue) (changeItem, error) {
	var it changeItem
	if err := attributevalue.UnmarshalMap(av, &it); err != nil {
		return changeItem{}, fmt.Errorf("decode change: %w", err)
	}
	return it, nil
}

func changeKey(userID string, seq int64) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"user_id": str(userID), "seq": num(seq)}
}

// SetChangeRetention sets how long changes are kept (CHANGES_RETENTION).
func (s *Store) SetChangeRetention(d time.Duration) {
	if d > 0 {
		s.changeRetention = d
	}
}

// seqCache remembers the last seq this process wrote or read for each
// user, so two changes within the same microsecond still take distinct
// seqs without a refusal. A user never seen guesses 0. The map is bounded
// by starting afresh when full.
type seqCache struct {
	mu   sync.Mutex
	seqs map[string]int64
}

const maxCachedSeqs = 100_000

func (c *seqCache) get(userID string) int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seqs[userID]
}

func (c *seqCache) put(userID string, seq int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seqs == nil || len(c.seqs) >= maxCachedSeqs {
		c.seqs = map[string]int64{}
	}
	if seq > c.seqs[userID] {
		c.seqs[userID] = seq
	}
}

// lastSeq is the head of the user's feed (0 when nothing was written):
// the remembered guess, or with strong true a consistent read.
func (s *Store) lastSeq(ctx context.Context, userID string, strong bool) (int64, error) {
	if !strong {
		return s.seqs.get(userID), nil
	}
	last, _, err := s.head(ctx, userID)
	return last, err
}

// head reads the feed's head: the last and the first seq given out (both
// 0 when nothing was written).
func (s *Store) head(ctx context.Context, userID string) (last, first int64, err error) {
	out, err := s.db.GetItem(carrying(ctx), &dynamodb.GetItemInput{
		TableName: &s.changes, Key: changeKey(userID, headSeq), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("last_seq, first_seq"),
	})
	if err != nil {
		return 0, 0, fmt.Errorf("read change feed head: %w", err)
	}
	for name, v := range map[string]*int64{"last_seq": &last, "first_seq": &first} {
		if n, ok := out.Item[name].(*types.AttributeValueMemberN); ok {
			if *v, err = strconv.ParseInt(n.Value, 10, 64); err != nil {
				return 0, 0, fmt.Errorf("decode change feed head: %w", err)
			}
		}
	}
	s.seqs.put(userID, last)
	return last, first, nil
}

// nextSeq is the seq a change written at `at` takes when the head is
// believed to be at `head`: its time, or one past the head when the head
// is ahead of it.
func nextSeq(head int64, at time.Time) int64 { return max(head+1, at.UnixMicro()) }

// expiresAt is when the change with this seq expires (its TTL, in Unix
// seconds): a retention after the seq's time, so changes expire in seq
// order whatever the writers' clocks said.
func (s *Store) expiresAt(seq int64) int64 { return time.UnixMicro(seq).Add(s.changeRetention).Unix() }

// changeWrites are the two writes that record ch as change next: the head
// moved to next from anything below it, and the change itself.
func (s *Store) changeWrites(ch change, next int64) []types.TransactWriteItem {
	item := encodeChange(changeItem{
		UserID: ch.userID, Seq: next, Op: ch.op, RecordingID: ch.id, Recording: ch.rec,
		At: ts(ch.at), TTL: s.expiresAt(next),
	})
	return []types.TransactWriteItem{
		{Update: &types.Update{
			TableName: &s.changes, Key: changeKey(ch.userID, headSeq),
			UpdateExpression:          aws.String("SET last_seq = :next, first_seq = if_not_exists(first_seq, :next)"),
			ConditionExpression:       aws.String("attribute_not_exists(last_seq) OR last_seq < :next"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":next": num(next)},
			// A refusal carries the head as it stood (headAsRefused), so a
			// head ahead of the clock costs no read before the retry.
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		}},
		{Put: &types.Put{TableName: &s.changes, Item: item}},
	}
}

// transactChange runs items, with the session check when ctx carries a
// guard, and the writes that record ch in the feed, as one transaction:
// the change can never be lost or reordered against the state it records.
// While only the feed's head refused (it was at or past the seq, another
// writer's clock being ahead), it retries past the head. It returns the transaction's
// error as transactGuarded does, for the caller to judge its own items;
// the change's writes come after them, so failedItems' indexes still hold.
//
// A state change a user can see calls it with upsertOf or removalOf; a new
// kind of change (a transcript finishing) does the same in its own
// transaction.
func (s *Store) transactChange(ctx context.Context, ch change, items ...types.TransactWriteItem) error {
	release, err := s.turns.take(ctx, ch.userID)
	if err != nil {
		return err
	}
	defer release()
	var head int64
	known := false // head is as the last refusal found it
	for attempt := 0; attempt < maxChangeAttempts; attempt++ {
		if werr := headBackoff(ctx, attempt); werr != nil {
			return werr
		}
		if !known {
			var rerr error
			if head, rerr = s.lastSeq(ctx, ch.userID, attempt > 0); rerr != nil {
				return rerr
			}
		}
		next := nextSeq(head, ch.at)
		all := append(append(make([]types.TransactWriteItem, 0, len(items)+2), items...), s.changeWrites(ch, next)...)
		err = s.transactGuarded(ctx, all)
		if err == nil {
			s.seqs.put(ch.userID, next)
			return nil
		}
		if errors.Is(err, ErrSessionInvalid) || !headOnly(ctx, err, len(items)) {
			return err
		}
		if head, known = headAsRefused(ctx, err, len(items)); known {
			s.seqs.put(ch.userID, head)
		}
	}
	return err
}

// headAsRefused is the feed's head as a transaction built by transactChange
// found it when the head's condition refused it (n items before the head,
// after the session's check if any). A conflict returns no item, nor does a
// head that does not exist: then ok is false and the caller reads it.
func headAsRefused(ctx context.Context, err error, n int) (seq int64, ok bool) {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		return 0, false
	}
	i := n
	if guardOf(ctx) != nil {
		i++
	}
	if i >= len(tc.CancellationReasons) || aws.ToString(tc.CancellationReasons[i].Code) != "ConditionalCheckFailed" {
		return 0, false
	}
	v, found := tc.CancellationReasons[i].Item["last_seq"].(*types.AttributeValueMemberN)
	if !found {
		return 0, false
	}
	seq, perr := strconv.ParseInt(v.Value, 10, 64)
	return seq, perr == nil
}

// headBackoff waits before retry attempt n of a change whose seq was
// taken: full jitter over a window doubling up to 512 ms. Every change of
// a user goes through the one head item, so concurrent writers for one
// user are serialized there and need a wider spread than the quota's.
func headBackoff(ctx context.Context, attempt int) error {
	if attempt == 0 {
		return nil
	}
	window := 2 * time.Millisecond << min(attempt, 8)
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Duration(rand.Int64N(int64(window)))):
		return nil
	}
}

// headOnly reports a transaction cancelled by the feed's head alone (its
// condition or a conflict on it), with every other item's condition
// holding: the state change is still right, only its seq was taken.
func headOnly(ctx context.Context, err error, n int) bool {
	var tc *types.TransactionCanceledException
	if !errors.As(err, &tc) {
		var inProgress *types.TransactionInProgressException
		return errors.As(err, &inProgress)
	}
	off := 0
	if guardOf(ctx) != nil {
		off = 1
	}
	head := false
	for i, r := range tc.CancellationReasons {
		code := aws.ToString(r.Code)
		switch {
		case i == off+n && (code == "ConditionalCheckFailed" || code == "TransactionConflict"):
			head = true
		case code == "ConditionalCheckFailed":
			return false
		}
	}
	return head
}

// ChangesAfter reads up to limit changes of the user's feed after seq
// `after` (0: from the first), in one strongly consistent Query that also
// reads the change at the cursor. Changes past their retention that
// DynamoDB has not deleted yet are treated as gone. Since changes expire
// in seq order, a cursor missed nothing while its own change is kept
// (both by its stored TTL and by today's retention, so raising or
// lowering CHANGES_RETENTION never hides a gap); a cursor whose change is
// gone is still good when nothing came after it. Otherwise the client
// missed changes it can no longer get (ErrChangesExpired), as does a read
// from the first change once that one is gone.
func (s *Store) ChangesAfter(ctx context.Context, userID string, after int64, limit int, now time.Time) (ChangePage, error) {
	out, err := s.db.Query(ctx, &dynamodb.QueryInput{
		TableName:              &s.changes,
		KeyConditionExpression: aws.String("user_id = :u AND seq >= :after"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":u": str(userID), ":after": num(after),
		},
		ConsistentRead: aws.Bool(true),
		// The cursor's change, the page, and one more: either the head
		// (nothing more) or a change that says another page follows.
		Limit: aws.Int32(int32(limit + 2)),
	})
	if err != nil {
		return ChangePage{}, fmt.Errorf("read changes: %w", err)
	}
	kept := func(seq, ttl int64) bool {
		return (ttl == 0 || ttl > now.Unix()) && s.expiresAt(seq) > now.Unix()
	}
	page := ChangePage{Last: after}
	last, first := int64(-1), int64(0) // the head's, when the head was read
	cursorKept := false
	for _, av := range out.Items {
		it, err := decodeChange(av)
		if err != nil {
			return ChangePage{}, err
		}
		switch {
		case it.Seq == headSeq:
			last, first = it.LastSeq, it.FirstSeq
			s.seqs.put(userID, last)
			continue
		case it.Seq == after:
			cursorKept = kept(it.Seq, it.TTL)
			continue
		case !kept(it.Seq, it.TTL):
			continue
		}
		if len(page.Changes) == limit {
			page.HasMore = true
			break
		}
		page.Changes = append(page.Changes, it.change())
		page.Last = it.Seq
	}
	if last < 0 && out.LastEvaluatedKey == nil {
		last = 0 // the whole feed was read and has no head: nothing was written
	}
	if last >= 0 && last < after {
		return ChangePage{}, ErrCursorAhead
	}
	if after == 0 && last < 0 {
		// A page full before the head: read it for the first seq.
		if last, first, err = s.head(ctx, userID); err != nil {
			return ChangePage{}, err
		}
	}
	var gap bool
	if after == 0 {
		gap = first > 0 && (len(page.Changes) == 0 || page.Changes[0].Seq != first || !kept(first, 0))
	} else {
		gap = !cursorKept && last != after
	}
	if gap {
		if last < 0 {
			if last, _, err = s.head(ctx, userID); err != nil {
				return ChangePage{}, err
			}
		}
		return ChangePage{}, &ErrChangesExpired{Latest: last}
	}
	if !page.HasMore && last < 0 && out.LastEvaluatedKey != nil {
		page.HasMore = true
	}
	return page, nil
}

// LatestChange is the seq of the user's last change (0: none yet).
func (s *Store) LatestChange(ctx context.Context, userID string) (int64, error) {
	return s.lastSeq(ctx, userID, true)
}

func (it changeItem) change() Change {
	c := Change{Seq: it.Seq, Op: it.Op, RecordingID: it.RecordingID, At: parseTS(it.At)}
	if it.Recording != nil {
		rec := it.Recording.domain()
		c.Recording = &rec
	}
	return c
}

// DeleteChanges removes the user's feed, head included (account deletion).
func (s *Store) DeleteChanges(ctx context.Context, userID string) error {
	return deletePartition(ctx, s.db, s.changes, "seq", userID)
}

// transactRecorded is transact for a state change the feed records:
// applied is false when a condition of the caller's items did not hold or
// another transaction won the race.
func (s *Store) transactRecorded(ctx context.Context, what string, ch change, items ...types.TransactWriteItem) (bool, error) {
	err := s.transactChange(ctx, ch, items...)
	if errors.Is(err, ErrSessionInvalid) {
		return false, err
	}
	if conditionFailed(err) || transactionConflict(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return true, nil
}

// userTurns lets the writers of one user in this process take turns at
// the feed's head (and the user's quota item, which the same transactions
// touch) instead of colliding there: colliding writers lose their
// transaction and sleep a jittered backoff, and 32 creates for one user at
// once spent most of the request budget asleep. Other processes still
// collide and back off. Users share a few turnstiles by hash, which costs a
// little waiting between users and nothing in memory.
type userTurns [64]chan struct{}

func newUserTurns() *userTurns {
	var t userTurns
	for i := range t {
		t[i] = make(chan struct{}, 1)
	}
	return &t
}

// take waits for userID's turn, or for ctx to end; release ends the turn.
// A Store built without New has no turnstiles: every writer goes at once.
func (t *userTurns) take(ctx context.Context, userID string) (release func(), err error) {
	if t == nil {
		return func() {}, nil
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(userID))
	turn := t[h.Sum32()%uint32(len(t))]
	select {
	case turn <- struct{}{}:
		return func() { <-turn }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
