// Package s3 keeps recording objects in an S3 bucket and signs the URLs the
// app uses to move bytes directly to and from it.
package s3

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Store is the recordings bucket.
type Store struct {
	client  *awss3.Client
	presign *awss3.PresignClient
	bucket  string
}

// New returns a Store over bucket. public is a client for the endpoint the
// app reaches, which URLs are signed for.
func New(client, public *awss3.Client, bucket string) *Store {
	s := &Store{client: client, bucket: bucket}
	if public != nil {
		s.presign = awss3.NewPresignClient(public)
	}
	return s
}

// Bucket is the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

// Ping checks that the bucket exists and is reachable; /readyz uses it.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.client.HeadBucket(ctx, &awss3.HeadBucketInput{Bucket: &s.bucket}); err != nil {
		return fmt.Errorf("bucket %s: %w", s.bucket, err)
	}
	return nil
}

// EnsureBucket creates the bucket if it is missing.
func (s *Store) EnsureBucket(ctx context.Context) error {
	_, err := s.client.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: &s.bucket})
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	if err != nil && !errors.As(err, &owned) && !errors.As(err, &exists) {
		return fmt.Errorf("create bucket %s: %w", s.bucket, err)
	}
	return nil
}

// NotifyQueue sends ObjectCreated and ObjectRemoved events for keys under
// prefix to a queue-style target (MinIO's webhook ARN locally). In AWS the
// CDK app wires the bucket to the events Lambda instead.
func (s *Store) NotifyQueue(ctx context.Context, targetARN, prefix string) error {
	_, err := s.client.PutBucketNotificationConfiguration(ctx, &awss3.PutBucketNotificationConfigurationInput{
		Bucket: &s.bucket,
		NotificationConfiguration: &types.NotificationConfiguration{
			QueueConfigurations: []types.QueueConfiguration{{
				Id:       aws.String("recordings-to-events-handler"),
				QueueArn: aws.String(targetARN),
				Events:   []types.Event{"s3:ObjectCreated:*", "s3:ObjectRemoved:*"},
				Filter: &types.NotificationConfigurationFilter{Key: &types.S3KeyFilter{
					FilterRules: []types.FilterRule{{Name: types.FilterRuleNamePrefix, Value: aws.String(prefix)}},
				}},
			}},
		},
	})
	if err != nil {
		return fmt.Errorf("configure notifications on %s: %w", s.bucket, err)
	}
	return nil
}
