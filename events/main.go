// Command events is the Lambda that S3 invokes when recording objects are
// created or removed, and that an EventBridge schedule invokes to run the
// reconciler.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/s3event"
)

func main() {
	ctx := context.Background()
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "events:", err)
		os.Exit(1)
	}
	h, err := s3event.Build(ctx, cfg, cfg.Logger(os.Stdout))
	if err != nil {
		fmt.Fprintln(os.Stderr, "events:", err)
		os.Exit(1)
	}
	lambda.Start(h.Invoke)
}
