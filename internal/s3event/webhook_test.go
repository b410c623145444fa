package s3event_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/voicerec/backend/internal/s3event"
)

// A notification of exactly the webhook's limit (1 MiB) is read; one byte
// more is refused before it is decoded.
func TestWebhookBodyLimit(t *testing.T) {
	const limit = 1 << 20
	calls := 0
	hook := s3event.Webhook(func(context.Context, events.S3Event) error { calls++; return nil }, "t", slog.New(slog.NewTextHandler(io.Discard, nil)))
	doc := []byte(`{"Records":[]}`)
	for _, tc := range []struct{ size, status, calls int }{{limit, http.StatusNoContent, 1}, {limit + 1, http.StatusBadRequest, 1}} {
		b := append(append([]byte{}, doc...), bytes.Repeat([]byte(" "), tc.size-len(doc))...)
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/events", bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer t")
		hook.ServeHTTP(rec, req)
		if rec.Code != tc.status || calls != tc.calls {
			t.Errorf("%d-byte notification: %d (%s), %d handler calls; want %d, %d", tc.size, rec.Code, strings.TrimSpace(rec.Body.String()), calls, tc.status, tc.calls)
		}
	}
}
