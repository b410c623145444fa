package dynamo_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
)

// readFirstStore is a store that, once armed, holds every
// TransactWriteItems until a GetItem has been answered: the guarded trash's
// concurrent read then always sees the recording as it was before the move.
func readFirstStore(t *testing.T) (s *dynamo.Store, arm func()) {
	t.Helper()
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	c := env.Provision(t, cfg)
	read := make(chan struct{})
	var once sync.Once
	var armed atomic.Bool
	db := dynamodb.New(c.DynamoDB.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("read-first", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if !armed.Load() {
					return next.HandleInitialize(ctx, in)
				}
				switch awsmiddleware.GetOperationName(ctx) {
				case "TransactWriteItems":
					select {
					case <-read:
					case <-time.After(5 * time.Second):
						t.Error("no GetItem ran beside the transaction")
					}
				case "GetItem":
					defer once.Do(func() { close(read) })
				}
				return next.HandleInitialize(ctx, in)
			}), middleware.After)
		})
	})
	return dynamo.New(db, cfg.TablePrefix), func() { armed.Store(true) }
}

// A guarded trash answers the recording as its move left it, even when the
// read made beside the transaction was served before the move.
func TestGuardedTrashAnswersTheMovedRecordingWhenItsReadCameFirst(t *testing.T) {
	s, arm := readFirstStore(t)
	u := newUser(t, s, "trash-read-first")
	now := time.Now()
	if err := s.CreateSession(ctx, recording.Session{TokenHash: "h-first", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	lim := recording.Limits{MaxUploadBytes: 100, MaxBytes: 1000, MaxRecordings: 10, MaxPending: 10}
	rec, _, err := s.CreateUpload(ctx, pendingRec(u.ID, 10, now), "", "fp", lim, now)
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.ConfirmUpload(ctx, rec, dynamo.Object{Size: 10, ContentType: "audio/mp4", ETag: "e"}, now); err != nil || !ok {
		t.Fatalf("confirm: %v %v", ok, err)
	}
	arm()
	purgeAt := now.Add(time.Hour)
	a, err := s.TrashIfAvailable(guarded("h-first", u.ID, now), u.ID, rec.ID, purgeAt)
	if err != nil || !a.Moved || a.Recording.Status != recording.StatusDeleted || a.Recording.PurgeAt == nil ||
		!a.Recording.PurgeAt.Equal(purgeAt) || a.Recording.FileName != rec.FileName {
		t.Fatalf("trash answered %+v (%v)", a, err)
	}
	stored, err := s.GetRecording(ctx, u.ID, rec.ID)
	if err != nil || stored.Status != a.Recording.Status || !stored.PurgeAt.Equal(*a.Recording.PurgeAt) || !stored.DueAt.Equal(a.Recording.DueAt) {
		t.Fatalf("stored %+v, answered %+v (%v)", stored, a.Recording, err)
	}
}
