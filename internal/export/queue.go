package export

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// SQSQueue sends to the export worker's queue (EXPORT_QUEUE_URL); the
// queue starts the export Lambda, and its redrive policy sends a message
// that failed MaxAttempts times to the dead-letter queue.
type SQSQueue struct {
	Client *sqs.Client
	URL    string
}

// Send enqueues body.
func (q SQSQueue) Send(ctx context.Context, body []byte) error {
	b := string(body)
	if _, err := q.Client.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: &q.URL, MessageBody: &b}); err != nil {
		return fmt.Errorf("send to export queue: %w", err)
	}
	return nil
}

// LocalQueue runs the worker in this process, as the local stack and the
// tests do: each message is handed to the same HandleMessage the Lambda
// calls, on its own goroutine, and redelivered on failure as SQS would,
// up to MaxAttempts times.
type LocalQueue struct {
	Worker *Worker
	Log    *slog.Logger
	// Done, when set, is called after a message's last delivery (tests
	// wait on it).
	Done func()
}

// Send starts the worker on body, on a context of its own as a Lambda's
// would be: nothing of the request (its deadline, its session) reaches it.
func (q LocalQueue) Send(_ context.Context, body []byte) error {
	ctx := context.Background()
	go func() {
		if q.Done != nil {
			defer q.Done()
		}
		for attempt := 1; attempt <= MaxAttempts; attempt++ {
			if err := q.Worker.HandleMessage(ctx, body); err == nil {
				return
			}
		}
	}()
	return nil
}
