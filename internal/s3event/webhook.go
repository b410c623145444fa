package s3event

import (
	"context"
	"crypto/subtle"
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
// a failed invocation: MinIO, given a queue directory, delivers again.
// Posts without "Authorization: Bearer <token>" are refused, so nothing but
// MinIO can feed events in.
func Webhook(handle func(context.Context, events.S3Event) error, token string, log *slog.Logger) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			// MinIO probes the target with other methods to see it is alive.
			w.WriteHeader(http.StatusOK)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			log.WarnContext(r.Context(), "bucket notification refused: bad or missing token")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
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
