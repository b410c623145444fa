package s3event

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
)

// maxWebhookBody bounds one notification; MinIO sends one record per POST.
const maxWebhookBody = 1 << 20

// Webhook adapts MinIO's bucket-notification webhook to the Lambda handler
// signature: MinIO posts the same S3 records AWS delivers to Lambda (plus
// two fields of its own, ignored here), so the local stack runs exactly the
// code that runs in AWS. A handler error answers 500, the local analogue of
// a failed invocation.
func Webhook(handle func(context.Context, events.S3Event) error, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			// MinIO probes the target with other methods to see it is alive.
			w.WriteHeader(http.StatusOK)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
		if err != nil || len(body) > maxWebhookBody {
			http.Error(w, "unreadable or oversized notification", http.StatusBadRequest)
			return
		}
		var ev events.S3Event
		if err := json.Unmarshal(body, &ev); err != nil {
			log.WarnContext(r.Context(), "undecodable bucket notification", "error", err)
			http.Error(w, "undecodable notification", http.StatusBadRequest)
			return
		}
		if err := handle(r.Context(), ev); err != nil {
			log.ErrorContext(r.Context(), "bucket notification failed", "error", err)
			http.Error(w, "handler failed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
