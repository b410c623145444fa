package dynamo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/testenv"
)

// Local data outlives versions: a table made by an older schema must stop
// start-up with a message naming it, not fail the first request that uses it.
func TestEnsureTablesRefusesAnOutdatedTable(t *testing.T) {
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	db := env.Clients(cfg).DynamoDB
	ctx := context.Background()
	stale := dynamo.TableName(cfg.TablePrefix, dynamo.IdempotencyTable)
	_, err := db.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &stale,
		BillingMode:          types.BillingModePayPerRequest,
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("key"), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("key"), AttributeType: types.ScalarAttributeTypeS}},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = dynamo.EnsureTables(ctx, db, cfg.TablePrefix)
	if err == nil || !strings.Contains(err.Error(), stale) || !strings.Contains(err.Error(), "older version") {
		t.Fatalf("EnsureTables over an outdated table: %v", err)
	}
	// Tables it created itself pass the same check on the next start.
	fresh := env.Config(t, nil)
	for range 2 {
		if err := dynamo.EnsureTables(ctx, db, fresh.TablePrefix); err != nil {
			t.Fatal(err)
		}
	}
}

// Tables that expire items have TTL enabled on their attribute.
func TestTTLIsEnabled(t *testing.T) {
	s := newRawStore(t)
	n := 0
	for _, tbl := range dynamo.Schema {
		if tbl.TTLAttribute == "" {
			continue
		}
		n++
		out, err := s.Client().DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(dynamo.TableName(s.prefix, tbl.Name))})
		if err != nil {
			t.Fatal(err)
		}
		d := out.TimeToLiveDescription
		if d == nil || aws.ToString(d.AttributeName) != tbl.TTLAttribute ||
			(d.TimeToLiveStatus != types.TimeToLiveStatusEnabled && d.TimeToLiveStatus != types.TimeToLiveStatusEnabling) {
			t.Errorf("table %s: TTL %+v, want enabled on %q", tbl.Name, d, tbl.TTLAttribute)
		}
	}
	if n == 0 {
		t.Fatal("no table has a TTL attribute")
	}
}
