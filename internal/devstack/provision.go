package devstack

import (
	"context"
	"errors"
	"fmt"

	"github.com/voicerec/backend/internal/awsclients"
	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// Provision makes the emulators look like the deployed stack: the tables
// from the shared schema, the bucket, and the bucket's notifications for
// recording objects going to the events handler's webhook. It is idempotent.
func Provision(ctx context.Context, c awsclients.Clients, cfg config.Config, webhookARN string) error {
	if err := dynamo.EnsureTables(ctx, c.DynamoDB, cfg.TablePrefix); err != nil {
		if errors.Is(err, dynamo.ErrOlderTable) {
			// Local data is disposable; say how to dispose of it.
			return fmt.Errorf("%w; stop the stack and run `make clean-data` (it deletes the local tables and objects), then start it again", err)
		}
		return err
	}
	store := s3.New(c.S3, c.Presign, cfg.Bucket)
	if err := store.EnsureBucket(ctx); err != nil {
		return err
	}
	return store.NotifyQueue(ctx, webhookARN, recording.KeyPrefix)
}
