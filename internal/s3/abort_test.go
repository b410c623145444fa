package s3_test

import (
	"testing"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
)

// Abort forgives exactly one failure: an upload that no longer exists (the
// reconciler and a delete may both abort it). Any other failure, such as a
// bucket that is not there, must reach the caller, or the record would be
// closed while the parts still cost money.
func TestAbortForgivesOnlyAMissingUpload(t *testing.T) {
	store := newStore(t)
	key := recording.ObjectKey("01JUSER0000000000000000000", "01JREC00000000000000000009", ".m4a")
	if err := store.AbortMultipart(ctx, key, "bm90LWFuLXVwbG9hZA"); err != nil {
		t.Fatalf("abort of an upload that never existed: %v", err)
	}

	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	clients := env.Provision(t, cfg)
	cfg.Bucket += "-missing"
	if err := testenv.NewStore(clients, cfg).AbortMultipart(ctx, key, "bm90LWFuLXVwbG9hZA"); err == nil {
		t.Fatal("abort in a bucket that does not exist: nil error")
	}
}
