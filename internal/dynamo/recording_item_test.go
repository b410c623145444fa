package dynamo_test

import (
	"testing"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

// What is stored reads back: optional times included.
func TestRecordingRoundTrip(t *testing.T) {
	s := newStore(t)
	u := newUser(t, s, "round-trip")
	now := time.Now().UTC().Truncate(time.Millisecond)
	rec := pendingRec(u.ID, 10, now)
	recorded := now.Add(-time.Hour)
	dur := int64(1234)
	rec.RecordedAt, rec.DurationMS = &recorded, &dur
	if _, _, err := s.CreateUpload(ctx, rec, "", "fp", wide, now); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetRecording(ctx, u.ID, rec.ID)
	if err != nil || got.ExpiresAt == nil || !got.ExpiresAt.Equal(*rec.ExpiresAt) || got.RecordedAt == nil || !got.RecordedAt.Equal(recorded) ||
		got.DurationMS == nil || *got.DurationMS != dur || got.UploadedAt != nil || !got.CreatedAt.Equal(now) || got.Key != rec.Key {
		t.Fatalf("read back %+v (%v), stored %+v", got, err, rec)
	}
	if _, err := s.ConfirmUpload(ctx, got, dynamo.Object{Size: 10, ContentType: "audio/mp4"}, now); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetRecording(ctx, u.ID, rec.ID)
	if err != nil || got.UploadedAt == nil || !got.UploadedAt.Equal(now) || got.ExpiresAt != nil || got.Status != recording.StatusAvailable {
		t.Fatalf("confirmed read back %+v (%v)", got, err)
	}
}
