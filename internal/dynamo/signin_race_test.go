package dynamo_test

import (
	"context"
	"strings"
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
