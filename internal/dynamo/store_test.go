package dynamo_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newStore(t *testing.T) *dynamo.Store {
	t.Helper()
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	c := env.Provision(t, cfg)
	return dynamo.New(c.DynamoDB, cfg.TablePrefix)
}

var ctx = context.Background()

func newUser(t *testing.T, s *dynamo.Store, sub string) recording.User {
	t.Helper()
	u, _, err := s.SignIn(ctx, recording.Identity{Provider: "test", Subject: sub}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func pendingRec(uid string, size int64, now time.Time) recording.Recording {
	id := recording.NewID(now)
	exp := now.Add(time.Hour)
	return recording.Recording{UserID: uid, ID: id, FileName: "f.m4a", ContentType: "audio/mp4", SizeBytes: size,
		Status: recording.StatusPending, CreatedAt: now, ExpiresAt: &exp, DueAt: exp, Key: recording.ObjectKey(uid, id, ".m4a")}
}

// availableRec creates an upload of size bytes made at `at`, under wide
// limits, and confirms it: the recording as it is once available.
func availableRec(t *testing.T, s *dynamo.Store, uid string, size int64, at time.Time) recording.Recording {
	t.Helper()
	r, _, err := s.CreateUpload(ctx, pendingRec(uid, size, at), "", "fp", wide, at)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ConfirmUpload(ctx, r, dynamo.Object{Size: size, ContentType: "audio/mp4"}, at); err != nil || !ok {
		t.Fatalf("confirm: %v %v", ok, err)
	}
	r.Status = recording.StatusAvailable
	return r
}

var wide = recording.Limits{MaxUploadBytes: 1 << 20, MaxBytes: 1 << 30, MaxRecordings: 1000, MaxPending: 100}

// rawStore is a Store with what tests need to read its items as stored.
type rawStore struct {
	*dynamo.Store
	prefix string
}

func newRawStore(t *testing.T) rawStore {
	t.Helper()
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	c := env.Provision(t, cfg)
	return rawStore{Store: dynamo.New(c.DynamoDB, cfg.TablePrefix), prefix: cfg.TablePrefix}
}

// item returns one item exactly as stored, decoded to plain values.
func (s rawStore) item(t *testing.T, table string, key map[string]string) map[string]any {
	t.Helper()
	k := map[string]types.AttributeValue{}
	for n, v := range key {
		k[n] = &types.AttributeValueMemberS{Value: v}
	}
	out, err := s.Client().GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(dynamo.TableName(s.prefix, table)), Key: k, ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := attributevalue.UnmarshalMap(out.Item, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// snapshot is the user's item (counters, reservations, quota version) and
// one recording's item.
func (s rawStore) snapshot(t *testing.T, uid, rid string) [2]map[string]any {
	t.Helper()
	return [2]map[string]any{
		s.item(t, dynamo.UsersTable, map[string]string{"user_id": uid}),
		s.item(t, dynamo.RecordingsTable, map[string]string{"user_id": uid, "recording_id": rid}),
	}
}

// calls records the DynamoDB operations a store makes, on the real
// emulator: a middleware on the SDK client, not a stand-in for it.
type calls struct {
	mu  sync.Mutex
	ops []string
}

func (c *calls) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	ops := c.ops
	c.ops = nil
	slices.Sort(ops)
	return ops
}

func countingStore(t *testing.T) (*dynamo.Store, *calls, string) {
	t.Helper()
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	c := env.Provision(t, cfg)
	rec := &calls{}
	db := dynamodb.New(c.DynamoDB.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("count", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				rec.mu.Lock()
				rec.ops = append(rec.ops, awsmiddleware.GetOperationName(ctx))
				rec.mu.Unlock()
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		})
	})
	return dynamo.New(db, cfg.TablePrefix), rec, cfg.TablePrefix
}

func guarded(hash, uid string, now time.Time) context.Context {
	return dynamo.WithSession(ctx, &dynamo.SessionGuard{TokenHash: hash, UserID: uid, Now: now})
}

func wantOps(t *testing.T, c *calls, what string, want ...string) {
	t.Helper()
	slices.Sort(want)
	if got := c.take(); !slices.Equal(got, want) {
		t.Fatalf("%s made %v, want %v", what, got, want)
	}
}
