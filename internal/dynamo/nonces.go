package dynamo

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// NoncesTable holds the login nonces the API issued and not yet consumed.
const NoncesTable = "nonces"

// Nonces keeps server-issued login nonces, by the SHA-256 of the nonce:
// the nonce itself is never stored. Each signs in at most once.
type Nonces struct {
	db    *dynamodb.Client
	table string
}

// NewNonces returns the nonce store over the table named with prefix.
func NewNonces(db *dynamodb.Client, prefix string) *Nonces {
	return &Nonces{db: db, table: TableName(prefix, NoncesTable)}
}

// Put records a fresh nonce hash valid until expires.
func (n *Nonces) Put(ctx context.Context, hash string, expires time.Time) error {
	_, err := n.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: &n.table,
		Item: map[string]types.AttributeValue{
			"nonce_hash": str(hash), "expires_at": num(expires.Unix()), TTLAttribute: num(expires.Unix()),
		},
		ConditionExpression: aws.String("attribute_not_exists(nonce_hash)"),
	})
	if err != nil {
		return fmt.Errorf("put nonce: %w", err)
	}
	return nil
}

// Consume deletes the nonce if it exists and has not expired at now, in one
// conditional delete: of two logins racing with one nonce, one wins. ok is
// false for an unknown, used or expired nonce.
func (n *Nonces) Consume(ctx context.Context, hash string, now time.Time) (ok bool, err error) {
	_, err = n.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 &n.table,
		Key:                       map[string]types.AttributeValue{"nonce_hash": str(hash)},
		ConditionExpression:       aws.String("attribute_exists(nonce_hash) AND expires_at > :now"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": num(now.Unix())},
	})
	if conditionFailed(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("consume nonce: %w", err)
	}
	return true, nil
}
