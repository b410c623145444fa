package recording_test

import (
	"errors"
	"testing"

	"github.com/voicerec/backend/internal/recording"
)

// An error's text carries its cause for logs, and nothing for a missing
// one (no "<nil>" in a log line).
func TestErrorTextCarriesTheCause(t *testing.T) {
	plain := recording.Errorf(recording.CodeNotFound, "no such recording")
	if got := plain.Error(); got != "not_found: no such recording" {
		t.Fatalf("without a cause: %q", got)
	}
	wrapped := &recording.Error{Code: recording.CodeUnavailable, Message: "storage is down", Err: errors.New("dial tcp: refused")}
	if got := wrapped.Error(); got != "service_unavailable: storage is down: dial tcp: refused" {
		t.Fatalf("with a cause: %q", got)
	}
}
