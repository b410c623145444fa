// Command redrive replays the events function's dead-letter queue: each
// message is the failed asynchronous invocation's record, whose
// requestPayload is the original S3 event. The event is invoked again
// (synchronously, so a failure is seen here) and the message deleted only
// once the invocation succeeded. Replaying is safe at any age: the events
// handler converges each key to what its record says and never deletes
// audio a record still wants (docs/durability.md).
//
//	make redrive STAGE=prod [REDRIVE_MAX=100] [REDRIVE_DRY_RUN=1]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

func main() {
	stage := flag.String("stage", "", "the stage whose dead-letter queue to replay")
	max := flag.Int("max", 100, "most messages to replay in this run")
	dry := flag.Bool("dry-run", false, "print what would be replayed, change nothing")
	flag.Parse()
	if *stage == "" {
		fmt.Fprintln(os.Stderr, "redrive: -stage is required (make redrive STAGE=...)")
		os.Exit(2)
	}
	if err := run(context.Background(), *stage, *max, *dry); err != nil {
		fmt.Fprintln(os.Stderr, "redrive:", err)
		os.Exit(1)
	}
}

// Names follow infra/recorder: recorder-<stage>-events-dlq, and the events
// function found by its stack output.
func run(ctx context.Context, stage string, max int, dry bool) error {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	q := sqs.NewFromConfig(cfg)
	fn := lambda.NewFromConfig(cfg)
	url, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("recorder-" + stage + "-events-dlq")})
	if err != nil {
		return fmt.Errorf("find the dead-letter queue: %w", err)
	}
	done := 0
	for done < max {
		out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: url.QueueUrl, MaxNumberOfMessages: int32(min(10, max-done)), WaitTimeSeconds: 2, VisibilityTimeout: 120,
		})
		if err != nil {
			return err
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			target, payload, err := Payload([]byte(aws.ToString(m.Body)))
			if err != nil {
				fmt.Printf("skip %s: %v\n", aws.ToString(m.MessageId), err)
				continue
			}
			fmt.Printf("replay %s to %s (%d bytes)\n", aws.ToString(m.MessageId), target, len(payload))
			done++
			if dry {
				continue
			}
			res, err := fn.Invoke(ctx, &lambda.InvokeInput{FunctionName: aws.String(target), Payload: payload})
			if err != nil {
				return fmt.Errorf("invoke %s: %w", target, err)
			}
			if res.FunctionError != nil {
				fmt.Printf("  still failing (%s): %s; kept in the queue\n", aws.ToString(res.FunctionError), res.Payload)
				continue
			}
			if _, err := q.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: url.QueueUrl, ReceiptHandle: m.ReceiptHandle}); err != nil {
				return err
			}
		}
	}
	fmt.Printf("%d message(s) replayed\n", done)
	return nil
}

// Payload extracts the function and the original event from a Lambda
// on-failure destination record.
func Payload(body []byte) (function string, payload []byte, err error) {
	var rec struct {
		RequestContext struct {
			FunctionArn string `json:"functionArn"`
		} `json:"requestContext"`
		RequestPayload json.RawMessage `json:"requestPayload"`
	}
	if err := json.Unmarshal(body, &rec); err != nil {
		return "", nil, fmt.Errorf("not an invocation record: %w", err)
	}
	if len(rec.RequestPayload) == 0 || rec.RequestContext.FunctionArn == "" {
		return "", nil, errors.New("no requestPayload or functionArn")
	}
	// The ARN names the version (":$LATEST"); invoke the function itself.
	arn := rec.RequestContext.FunctionArn
	if i := lastColon(arn); i > 0 && arn[i+1:] == "$LATEST" {
		arn = arn[:i]
	}
	return arn, rec.RequestPayload, nil
}

func lastColon(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return i
		}
	}
	return -1
}
