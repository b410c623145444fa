// Command events is the Lambda that S3 invokes when recording objects are
// created or removed, and that an EventBridge schedule invokes to run the
// reconciler.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/voicerec/backend/internal/s3event"
	"github.com/voicerec/backend/internal/wire"
)

func main() {
	if err := run(context.Background(), os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "events:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	parts, err := wire.FromEnv(ctx, getenv, stdout)
	if err != nil {
		return err
	}
	h := s3event.New(parts.Log, parts.Keeper, parts.Objects, parts.Config.ReconcileMaxItems)
	h.ExportWorker = parts.ExportWorker
	lambda.StartWithOptions(h.Invoke, lambda.WithContext(ctx))
	return nil
}
