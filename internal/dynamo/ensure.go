package dynamo

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// EnsureTables creates every table of Schema under prefix if it is missing
// and switches TTL on. It is safe to run again and concurrently: an existing
// table is left as it is, but one whose keys or indexes differ from Schema
// (made by an older version) is an error that names the difference, not a
// failure on the first request that uses it.
func EnsureTables(ctx context.Context, client *dynamodb.Client, prefix string) error {
	for _, t := range Schema {
		name := TableName(prefix, t.Name)
		_, err := client.CreateTable(ctx, createTableInput(name, t))
		var inUse *types.ResourceInUseException
		if err != nil && !errors.As(err, &inUse) {
			return fmt.Errorf("create table %s: %w", name, err)
		}
		waiter := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
			o.MinDelay = 100 * time.Millisecond
			o.MaxDelay = time.Second
		})
		out, err := waiter.WaitForOutput(ctx, &dynamodb.DescribeTableInput{TableName: &name}, 2*time.Minute)
		if err != nil {
			return fmt.Errorf("wait for table %s: %w", name, err)
		}
		if got, want := describeKeys(out.Table), schemaKeys(t); got != want {
			return fmt.Errorf("table %s exists with keys %s but this version needs %s; "+
				"it was created by an older version and must be deleted: %w", name, got, want, ErrOlderTable)
		}
		if err := ensureTTL(ctx, client, name, t.TTLAttribute); err != nil {
			return err
		}
	}
	return nil
}

func ensureTTL(ctx context.Context, client *dynamodb.Client, name, attr string) error {
	if attr == "" {
		return nil
	}
	out, err := client.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &name})
	if err != nil {
		return fmt.Errorf("describe TTL of %s: %w", name, err)
	}
	if d := out.TimeToLiveDescription; d != nil && aws.ToString(d.AttributeName) == attr &&
		(d.TimeToLiveStatus == types.TimeToLiveStatusEnabled || d.TimeToLiveStatus == types.TimeToLiveStatusEnabling) {
		return nil
	}
	_, err = client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName:               &name,
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: &attr, Enabled: aws.Bool(true)},
	})
	if err != nil {
		return fmt.Errorf("enable TTL on %s: %w", name, err)
	}
	return nil
}

func createTableInput(name string, t Table) *dynamodb.CreateTableInput {
	attrs := map[string]AttributeType{}
	keySchema := func(pk Key, sk *Key) []types.KeySchemaElement {
		attrs[pk.Name] = pk.Type
		ks := []types.KeySchemaElement{{AttributeName: aws.String(pk.Name), KeyType: types.KeyTypeHash}}
		if sk != nil {
			attrs[sk.Name] = sk.Type
			ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(sk.Name), KeyType: types.KeyTypeRange})
		}
		return ks
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   keySchema(t.PartitionKey, t.SortKey),
	}
	for _, ix := range t.Indexes {
		proj := types.ProjectionTypeAll
		if ix.KeysOnly {
			proj = types.ProjectionTypeKeysOnly
		}
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(ix.Name),
			KeySchema:  keySchema(ix.PartitionKey, ix.SortKey),
			Projection: &types.Projection{ProjectionType: proj},
		})
	}
	for n, typ := range attrs {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(n), AttributeType: types.ScalarAttributeType(typ),
		})
	}
	return in
}

// Ping checks that every table exists and is active; /readyz uses it.
func Ping(ctx context.Context, client *dynamodb.Client, prefix string) error {
	for _, t := range Schema {
		name := TableName(prefix, t.Name)
		out, err := client.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: &name})
		if err != nil {
			return fmt.Errorf("table %s: %w", name, err)
		}
		if s := out.Table.TableStatus; s != types.TableStatusActive && s != types.TableStatusUpdating {
			return fmt.Errorf("table %s is %s", name, s)
		}
	}
	return nil
}

// schemaKeys and describeKeys render a table's key schema and indexes the
// same way, so a definition and a live table compare as strings.
func schemaKeys(t Table) string {
	keys := func(pk Key, sk *Key) string {
		s := pk.Name + " HASH"
		if sk != nil {
			s += ", " + sk.Name + " RANGE"
		}
		return "(" + s + ")"
	}
	out := keys(t.PartitionKey, t.SortKey)
	idx := slices.Clone(t.Indexes)
	slices.SortFunc(idx, func(a, b Index) int { return strings.Compare(a.Name, b.Name) })
	for _, ix := range idx {
		out += " " + ix.Name + keys(ix.PartitionKey, ix.SortKey)
	}
	return out
}

func describeKeys(td *types.TableDescription) string {
	keys := func(ks []types.KeySchemaElement) string {
		var parts []string
		for _, k := range ks {
			parts = append(parts, aws.ToString(k.AttributeName)+" "+string(k.KeyType))
		}
		return "(" + strings.Join(parts, ", ") + ")"
	}
	if td == nil {
		return "()"
	}
	out := keys(td.KeySchema)
	idx := slices.Clone(td.GlobalSecondaryIndexes)
	slices.SortFunc(idx, func(a, b types.GlobalSecondaryIndexDescription) int {
		return strings.Compare(aws.ToString(a.IndexName), aws.ToString(b.IndexName))
	})
	for _, ix := range idx {
		out += " " + aws.ToString(ix.IndexName) + keys(ix.KeySchema)
	}
	return out
}

// ErrOlderTable is EnsureTables' answer when a table exists with another
// key schema or other indexes than Schema declares.
var ErrOlderTable = errors.New("older table")
