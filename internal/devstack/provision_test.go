package devstack_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/internal/devstack"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestProvisionIsIdempotent(t *testing.T) {
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	c := env.Clients(cfg)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := devstack.Provision(ctx, c, cfg, devstack.WebhookARN(testenv.WebhookID)); err != nil {
			t.Fatalf("provision #%d: %v", i+1, err)
		}
	}
	for _, table := range dynamo.Schema {
		name := dynamo.TableName(cfg.TablePrefix, table.Name)
		out, err := c.DynamoDB.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
		if err != nil {
			t.Fatalf("table %s: %v", name, err)
		}
		if got, want := len(out.Table.GlobalSecondaryIndexes), len(table.Indexes); got != want {
			t.Errorf("table %s has %d indexes, want %d", name, got, want)
		}
		ttl, err := c.DynamoDB.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &name})
		if err != nil {
			t.Fatal(err)
		}
		if got := aws.ToString(ttl.TimeToLiveDescription.AttributeName); got != table.TTLAttribute {
			t.Errorf("table %s TTL attribute %q, want %q", name, got, table.TTLAttribute)
		}
	}
	if err := dynamo.Ping(ctx, c.DynamoDB, cfg.TablePrefix); err != nil {
		t.Fatalf("ping tables: %v", err)
	}
	if err := testenv.NewStore(c, cfg).Ping(ctx); err != nil {
		t.Fatalf("ping bucket: %v", err)
	}
	notif, err := c.S3.GetBucketNotificationConfiguration(ctx, &awss3.GetBucketNotificationConfigurationInput{Bucket: &cfg.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(notif.QueueConfigurations); n != 1 {
		t.Fatalf("bucket has %d queue notifications after two provisions, want 1", n)
	}
}

// An object PUT to MinIO reaches the events handler through the webhook, with
// the key decoded exactly as the Lambda runtime decodes AWS's events.
func TestWebhookDeliversDecodedKey(t *testing.T) {
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	c := env.Provision(t, cfg)

	var mu sync.Mutex
	got := make(chan events.S3EventRecord, 10)
	env.OnEvent(t, cfg.Bucket, func(_ context.Context, ev events.S3Event) error {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range ev.Records {
			got <- r
		}
		return nil
	})

	key := "recordings/u1/회의 녹음 a+b.m4a"
	body := "hello"
	_, err := c.S3.PutObject(context.Background(), &awss3.PutObjectInput{
		Bucket: &cfg.Bucket, Key: &key, Body: strings.NewReader(body), ContentType: aws.String("audio/mp4"),
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-got:
		if r.S3.Object.URLDecodedKey != key {
			t.Errorf("decoded key %q, want %q (raw %q)", r.S3.Object.URLDecodedKey, key, r.S3.Object.Key)
		}
		if !strings.HasPrefix(r.EventName, "s3:ObjectCreated:") && !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			t.Errorf("event name %q", r.EventName)
		}
		if r.S3.Object.Size != int64(len(body)) {
			t.Errorf("size %d, want %d", r.S3.Object.Size, len(body))
		}
		if r.S3.Object.Sequencer == "" {
			t.Error("no sequencer")
		}
	case <-time.After(15 * time.Second):
		t.Fatal("no notification within 15s")
	}
}

// Local data outlives versions: when a table kept under .local/data was
// made by an older schema, `make run` stops saying what to do about it.
func TestProvisionNamesTheWayOutOfAnOlderTable(t *testing.T) {
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	c := env.Clients(cfg)
	ctx := context.Background()
	stale := dynamo.TableName(cfg.TablePrefix, dynamo.IdempotencyTable)
	if _, err := c.DynamoDB.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            &stale,
		BillingMode:          types.BillingModePayPerRequest,
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("key"), KeyType: types.KeyTypeHash}},
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("key"), AttributeType: types.ScalarAttributeTypeS}},
	}); err != nil {
		t.Fatal(err)
	}
	err := devstack.Provision(ctx, c, cfg, devstack.WebhookARN(testenv.WebhookID))
	if err == nil || !strings.Contains(err.Error(), stale) || !strings.Contains(err.Error(), "make clean-data") {
		t.Fatalf("provision over an older table: %v", err)
	}
}
