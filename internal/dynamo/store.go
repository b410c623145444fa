package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Store is the backend's DynamoDB persistence.
type Store struct {
	db          *dynamodb.Client
	users       string
	identities  string
	sessions    string
	recordings  string
	idempotency string
	shares      string
	search      string
	transcripts string
	// The change feed (changes.go) and how long its changes are kept.
	changes         string
	changeRetention time.Duration
	seqs            *seqCache
	turns           *userTurns
}

// New returns a Store over the tables named with prefix.
func New(db *dynamodb.Client, prefix string) *Store {
	s := &Store{
		users:       TableName(prefix, UsersTable),
		identities:  TableName(prefix, IdentitiesTable),
		sessions:    TableName(prefix, SessionsTable),
		recordings:  TableName(prefix, RecordingsTable),
		idempotency: TableName(prefix, IdempotencyTable),
		shares:      TableName(prefix, SharesTable),
		search:      TableName(prefix, SearchTable),
		transcripts: TableName(prefix, TranscriptsTable),
	}
	s.changes, s.changeRetention, s.seqs, s.turns = TableName(prefix, ChangesTable), DefaultChangeRetention, &seqCache{}, newUserTurns()
	if db != nil {
		o := db.Options()
		o.APIOptions = append(slices.Clone(o.APIOptions), s.enforceGuard)
		db = dynamodb.New(o)
	}
	s.db = db
	return s
}

// Client is the underlying DynamoDB client.
func (s *Store) Client() *dynamodb.Client { return s.db }

// epoch is how times are stored: RFC 3339 strings read well in the console,
// and TTL attributes must be epoch seconds.
func epoch(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func parseTS(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func str(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func num(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}

// conditionFailed reports a failed condition, alone or inside a transaction.
func conditionFailed(err error) bool {
	var ccf *types.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return true
	}
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		for _, r := range tc.CancellationReasons {
			if aws.ToString(r.Code) == "ConditionalCheckFailed" {
				return true
			}
		}
	}
	return false
}

// transactionConflict reports a transaction that lost a race with another
// one on the same items; it is safe to retry.
func transactionConflict(err error) bool {
	var tc *types.TransactionCanceledException
	if errors.As(err, &tc) {
		for _, r := range tc.CancellationReasons {
			if aws.ToString(r.Code) == "TransactionConflict" {
				return true
			}
		}
	}
	var inProgress *types.TransactionInProgressException
	return errors.As(err, &inProgress)
}

// batchDelete deletes keys from table in batches of 25, retrying what
// DynamoDB hands back unprocessed.
func (s *Store) batchDelete(ctx context.Context, table string, keys []map[string]types.AttributeValue) error {
	return batchDelete(ctx, s.db, table, keys)
}

// deletePartition deletes every item a user has in table (whose sort key
// is sortKey): a keys-only Query page by page, then batched deletes. An
// account deletion calls it for each table partitioned by user.
func deletePartition(ctx context.Context, db *dynamodb.Client, table, sortKey, userID string) error {
	var keys []map[string]types.AttributeValue
	p := dynamodb.NewQueryPaginator(db, &dynamodb.QueryInput{
		TableName:                 &table,
		KeyConditionExpression:    aws.String("user_id = :u"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":u": str(userID)},
		ProjectionExpression:      aws.String("user_id, " + sortKey),
	})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list %s of the user: %w", table, err)
		}
		keys = append(keys, out.Items...)
	}
	return batchDelete(ctx, db, table, keys)
}

func batchDelete(ctx context.Context, db *dynamodb.Client, table string, keys []map[string]types.AttributeValue) error {
	for len(keys) > 0 {
		n := min(25, len(keys))
		reqs := make([]types.WriteRequest, 0, n)
		for _, k := range keys[:n] {
			reqs = append(reqs, types.WriteRequest{DeleteRequest: &types.DeleteRequest{Key: k}})
		}
		keys = keys[n:]
		pending := map[string][]types.WriteRequest{table: reqs}
		for attempt := 0; len(pending) > 0; attempt++ {
			if attempt > 0 {
				if attempt > 8 {
					return fmt.Errorf("batch delete from %s: items left unprocessed", table)
				}
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-time.After(time.Duration(attempt*attempt) * 20 * time.Millisecond):
				}
			}
			out, err := db.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return fmt.Errorf("batch delete from %s: %w", table, err)
			}
			pending = out.UnprocessedItems
		}
	}
	return nil
}
