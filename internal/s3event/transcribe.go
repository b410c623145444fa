package s3event

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/voicerec/backend/internal/transcribe"
)

// TranscribeJobChanged stores the result of the transcription job an
// EventBridge "Transcribe Job State Change" event names. Like a storage
// event it is only a hint: the Keeper decides from the record whether the
// result is still wanted, so a repeated or late delivery changes nothing.
func (h *Handler) TranscribeJobChanged(ctx context.Context, raw json.RawMessage) error {
	var ev transcribe.Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		h.Log.ErrorContext(ctx, "undecodable transcribe event", "error", err)
		return nil // retrying cannot fix it
	}
	var change transcribe.StateChange
	if err := json.Unmarshal(ev.Detail, &change); err != nil {
		h.Log.ErrorContext(ctx, "undecodable transcribe event detail", "error", err)
		return nil
	}
	timeout := h.RecordTimeout
	if timeout <= 0 {
		timeout = DefaultRecordTimeout
	}
	// A long recording's output is megabytes to read and many chunks
	// to write: more room than one storage record needs.
	ctx, cancel := context.WithTimeout(ctx, 4*timeout)
	defer cancel()
	start := time.Now()
	outcome, err := h.Keeper.FinishTranscript(ctx, change)
	attrs := []any{"job", change.TranscriptionJobName, "state", change.TranscriptionJobStatus,
		"latency_ms", float64(time.Since(start).Microseconds()) / 1000}
	if err != nil {
		h.Log.ErrorContext(ctx, "transcribe event", append(attrs, "outcome", outcomeFailed, "error", err)...)
		return fmt.Errorf("transcription job %s: %w", change.TranscriptionJobName, err)
	}
	h.Log.InfoContext(ctx, "transcribe event", append(attrs, "outcome", outcome)...)
	return nil
}

// EventWebhook takes EventBridge events posted by the local stack's
// transcription engine, as EventBridge would deliver them to the events
// Lambda, with the same bearer token as the storage webhook. A handler
// error answers 500, so the engine delivers again.
func EventWebhook(invoke func(context.Context, json.RawMessage) error, token string, log *slog.Logger) http.Handler {
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "POST an event", http.StatusMethodNotAllowed)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			log.WarnContext(r.Context(), "event refused: bad or missing token")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, maxWebhookBody+1))
		if err != nil || len(body) > maxWebhookBody || !json.Valid(body) {
			http.Error(w, "unreadable, oversized or undecodable event", http.StatusBadRequest)
			return
		}
		if err := invoke(r.Context(), body); err != nil {
			http.Error(w, "handler failed", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}
