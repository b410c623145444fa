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

	"github.com/voicerec/backend/internal/config"
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
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	log := cfg.Logger(stdout)
	parts, err := wire.Build(ctx, cfg, log)
	if err != nil {
		return err
	}
	h := s3event.New(log, parts.Keeper, parts.Objects, cfg.ReconcileMaxItems)
	lambda.StartWithOptions(h.Invoke, lambda.WithContext(ctx))
	return nil
}
