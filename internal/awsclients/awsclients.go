// Package awsclients builds the AWS SDK clients the backend talks to, from
// the configuration's endpoints and region: the composition root
// (internal/wire) calls it once per process; tests pass emulator
// credentials to From.
package awsclients

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/transcribe"
	"github.com/aws/smithy-go/logging"

	"github.com/voicerec/backend/internal/config"
)

// Clients are the AWS clients the backend uses.
type Clients struct {
	DynamoDB *dynamodb.Client
	S3       *s3.Client
	// Presign is a client of the public S3 endpoint, which URLs are
	// signed for; it may differ from the one the server itself talks to.
	Presign *s3.Client
	// Lambda invokes the events function (EVENTS_FUNCTION_NAME).
	Lambda *lambda.Client
	// Transcribe starts transcription jobs (AWS_ENDPOINT_URL_TRANSCRIBE:
	// the local engine).
	Transcribe *transcribe.Client
	// SQS sends an export's start to the export worker's queue
	// (EXPORT_QUEUE_URL).
	SQS *sqs.Client
	// AWS is the loaded configuration, for the clients built on demand
	// (KMS, Secrets Manager).
	AWS aws.Config
}

// Load loads credentials the SDK's usual way (environment, shared files,
// the Lambda role) and builds clients pointed at the configured endpoints.
func Load(ctx context.Context, c config.Config, log *slog.Logger) (Clients, error) {
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx,
		// The SDK's own chatter (retries, connection reuse after an error
		// answer) goes to our log at debug level instead of raw stderr.
		awsconfig.WithLogger(logging.LoggerFunc(func(cls logging.Classification, format string, v ...any) {
			log.Debug("aws sdk", "class", string(cls), "message", fmt.Sprintf(format, v...))
		})),
		awsconfig.WithRegion(c.Region),
		awsconfig.WithHTTPClient(httpClient()),
		// Only checksum when an operation requires it: a checksum added to a
		// presigned PUT would have to be sent by the app, which curl and
		// mobile HTTP stacks do not do.
		func(o *awsconfig.LoadOptions) error {
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
			return nil
		},
	)
	if err != nil {
		return Clients{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return From(c, awsCfg), nil
}

// From builds the clients from an already loaded aws.Config; tests use it
// with static emulator credentials.
func From(c config.Config, awsCfg aws.Config) Clients {
	awsCfg.Retryer = Retryer
	if awsCfg.HTTPClient == nil {
		awsCfg.HTTPClient = httpClient()
	}
	awsCfg.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	awsCfg.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	ddb := dynamodb.NewFromConfig(awsCfg, func(o *dynamodb.Options) {
		if c.DynamoEndpoint != "" {
			o.BaseEndpoint = aws.String(c.DynamoEndpoint)
		}
	})
	s3Opts := func(endpoint string) func(*s3.Options) {
		return func(o *s3.Options) {
			if endpoint != "" {
				o.BaseEndpoint = aws.String(endpoint)
			}
			o.UsePathStyle = c.S3PathStyle
		}
	}
	public := s3.NewFromConfig(awsCfg, s3Opts(c.S3PublicEndpoint))
	return Clients{
		DynamoDB: ddb,
		S3:       s3.NewFromConfig(awsCfg, s3Opts(c.S3Endpoint)),
		Presign:  public,
		Lambda:   lambda.NewFromConfig(awsCfg),
		Transcribe: transcribe.NewFromConfig(awsCfg, func(o *transcribe.Options) {
			if c.Transcription.Endpoint != "" {
				o.BaseEndpoint = aws.String(c.Transcription.Endpoint)
			}
		}),
		SQS: sqs.NewFromConfig(awsCfg),
		AWS: awsCfg,
	}
}

// Retryer is the SDK's retry budget, set deliberately rather than left to
// defaults: three attempts with jittered backoff capped at one second, so a
// request's retries fit well inside REQUEST_TIMEOUT (the SDK's default
// backoff cap is 20 seconds).
func Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 3
		o.MaxBackoff = time.Second
		// No client-side retry token bucket: under an outage it turns
		// retries into instant failures that hide the real cause.
		o.RateLimiter = ratelimit.None
	})
}

// httpClient is the SDK's buildable client (so AWS_CA_BUNDLE keeps working)
// tuned for a process that talks to two endpoints at high concurrency: the
// default of two idle connections per host would reconnect constantly.
func httpClient() *awshttp.BuildableClient {
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConnsPerHost = 64
		t.ResponseHeaderTimeout = 10 * time.Second
	})
}
