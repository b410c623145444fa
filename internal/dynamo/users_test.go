package dynamo_test

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
)

// Concurrent first sign-ins with one identity make exactly one user.
func TestConcurrentSignUpMakesOneUser(t *testing.T) {
	s := newStore(t)
	now := time.Now()
	id := recording.Identity{Provider: "google", Subject: "sub-1", Email: "a@example.com"}
	const n = 16
	var wg sync.WaitGroup
	users := make([]string, n)
	created := make([]bool, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			u, c, err := s.SignIn(ctx, id, now)
			users[i], created[i], errs[i] = u.ID, c, err
		}()
	}
	close(start)
	wg.Wait()
	nCreated := 0
	for i := 0; i < n; i++ {
		if errs[i] != nil {
			t.Fatalf("sign-in %d: %v", i, errs[i])
		}
		if users[i] != users[0] {
			t.Fatalf("sign-in %d got user %s, sign-in 0 got %s", i, users[i], users[0])
		}
		if created[i] {
			nCreated++
		}
	}
	if nCreated != 1 {
		t.Fatalf("%d sign-ins reported creating the user, want exactly 1", nCreated)
	}
	u, err := s.GetUser(ctx, users[0])
	if err != nil || u.Email != "a@example.com" || len(u.Providers) != 1 || u.Providers[0] != "google" {
		t.Fatalf("user %+v, err %v", u, err)
	}
	// A later sign-in refreshes the profile.
	id.Name = "Alice"
	u2, c, err := s.SignIn(ctx, id, now)
	if err != nil || c || u2.ID != u.ID || u2.Name != "Alice" {
		t.Fatalf("second sign-in: %+v created=%v err=%v", u2, c, err)
	}
}

// A first sign-in that loses the race for its identity every time gives
// up after three attempts with an error, rather than spinning for as long
// as the races go on. The lost races are real ones on DynamoDB Local: just
// before each of the sign-in's transactions another writer creates the
// identity (so the transaction's condition fails), and just after it the
// identity goes again (so the next read finds nothing and tries anew).
func TestSignInGivesUpAfterThreeLostRaces(t *testing.T) {
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	c := env.Provision(t, cfg)
	raw := c.DynamoDB
	id := recording.Identity{Provider: "test", Subject: "always-late"}
	identities := aws.String(dynamo.TableName(cfg.TablePrefix, dynamo.IdentitiesTable))
	key := map[string]types.AttributeValue{"identity": &types.AttributeValueMemberS{Value: id.Key()}}
	var attempts atomic.Int32
	db := dynamodb.New(raw.Options(), func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
			return st.Initialize.Add(middleware.InitializeMiddlewareFunc("race", func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				if awsmiddleware.GetOperationName(ctx) != "TransactWriteItems" {
					return next.HandleInitialize(ctx, in)
				}
				attempts.Add(1)
				if _, err := raw.PutItem(ctx, &dynamodb.PutItemInput{TableName: identities, Item: map[string]types.AttributeValue{
					"identity": key["identity"], "user_id": &types.AttributeValueMemberS{Value: "someone-else"},
				}}); err != nil {
					t.Errorf("the competing sign-in: %v", err)
				}
				out, md, err := next.HandleInitialize(ctx, in)
				if _, derr := raw.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: identities, Key: key}); derr != nil {
					t.Errorf("removing the competing identity: %v", derr)
				}
				return out, md, err
			}), middleware.After)
		})
	})
	s := dynamo.New(db, cfg.TablePrefix)
	// A bound on the test: a sign-in that never gave up would fail on it.
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, _, err := s.SignIn(cctx, id, time.Now())
	if err == nil || !strings.Contains(err.Error(), "identity contended") {
		t.Fatalf("sign-in losing every race: %v, want the contention error", err)
	}
	if n := attempts.Load(); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
}

// A user reads as deleting exactly when the account is marked so.
func TestUserDeletingFlag(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "flag")
	if got, err := s.GetUser(ctx, u.ID); err != nil || got.Deleting {
		t.Fatalf("fresh user: deleting=%v (%v)", got.Deleting, err)
	}
	if err := s.MarkAccountDeleting(ctx, u.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetUser(ctx, u.ID); err != nil || !got.Deleting {
		t.Fatalf("marked user: deleting=%v (%v)", got.Deleting, err)
	}
}

// A sign-in keeps the profile as the provider last reported it: a field
// it leaves out is kept, a field it changes is changed, each on its own.
func TestProfileRefresh(t *testing.T) {
	s := newStore(t)
	now := time.Now()
	id := recording.Identity{Provider: "test", Subject: "profile", Email: "a@example.com", Name: "A"}
	u, _, err := s.SignIn(ctx, id, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		email, name         string
		wantEmail, wantName string
	}{
		{"", "", "a@example.com", "A"},
		{"b@example.com", "", "b@example.com", "A"},
		{"", "B", "b@example.com", "B"},
		{"b@example.com", "C", "b@example.com", "C"},
	} {
		id.Email, id.Name = step.email, step.name
		got, created, err := s.SignIn(ctx, id, now)
		if err != nil || created || got.ID != u.ID || got.Email != step.wantEmail || got.Name != step.wantName {
			t.Fatalf("sign-in with %q, %q: %+v created=%v (%v); want %q, %q", step.email, step.name, got, created, err, step.wantEmail, step.wantName)
		}
		stored, err := s.GetUser(ctx, u.ID)
		if err != nil || stored.Email != step.wantEmail || stored.Name != step.wantName {
			t.Fatalf("stored after %q, %q: %+v (%v)", step.email, step.name, stored, err)
		}
	}
}
