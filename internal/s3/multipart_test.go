package s3_test

import (
	"errors"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// Against MinIO: part URLs sign their exact length, ListParts reports what
// landed, a second complete is ErrNoUpload with the object in place, and
// aborting twice is harmless.
func TestMultipartOnStorage(t *testing.T) {
	store := newStore(t)
	now := time.Now()
	key := recording.ObjectKey("01JUSER0000000000000000000", "01JREC00000000000000000001", ".m4a")
	id, err := store.CreateMultipart(ctx, key, "audio/mp4")
	if err != nil || id == "" {
		t.Fatalf("create: %q %v", id, err)
	}
	const partSize = 5 << 20
	bodies := [][]byte{randomBytes(partSize), randomBytes(1234)}
	var parts []s3.Part
	for i, body := range bodies {
		up, err := store.PresignPart(ctx, key, id, i+1, int64(len(body)), time.Minute, now)
		if err != nil {
			t.Fatal(err)
		}
		if up.Headers["Content-Length"] == "" || up.Method != "PUT" {
			t.Fatalf("part request: %+v", up)
		}
		if st := put(t, up, body[:len(body)-1], nil); st != 403 {
			t.Fatalf("a part one byte short: %d, want 403", st)
		}
		if st := put(t, up, body, nil); st != 200 {
			t.Fatalf("part %d: %d", i+1, st)
		}
	}
	listed, err := store.ListParts(ctx, key, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 2 || listed[0].Number != 1 || listed[0].Size != partSize || listed[1].Size != 1234 || listed[1].ETag == "" {
		t.Fatalf("parts: %+v", listed)
	}
	parts = listed
	if err := store.CompleteMultipart(ctx, key, id, parts); err != nil {
		t.Fatal(err)
	}
	if err := store.CompleteMultipart(ctx, key, id, parts); !errors.Is(err, s3.ErrNoUpload) {
		t.Fatalf("second complete: %v, want ErrNoUpload", err)
	}
	info, err := store.Head(ctx, key)
	if err != nil || info.Size != partSize+1234 || info.ContentType != "audio/mp4" {
		t.Fatalf("object after complete: %+v %v", info, err)
	}
	if _, err := store.ListParts(ctx, key, id); !errors.Is(err, s3.ErrNoUpload) {
		t.Fatalf("list parts of a completed upload: %v", err)
	}

	// Abort: parts are gone, a second abort is fine, a wrong part list is ErrBadParts.
	id2, err := store.CreateMultipart(ctx, key+"2", "audio/mp4")
	if err != nil {
		t.Fatal(err)
	}
	up, _ := store.PresignPart(ctx, key+"2", id2, 1, 100, time.Minute, now)
	if st := put(t, up, randomBytes(100), nil); st != 200 {
		t.Fatalf("part: %d", st)
	}
	if err := store.CompleteMultipart(ctx, key+"2", id2, []s3.Part{{Number: 1, ETag: "0123456789abcdef0123456789abcdef"}}); !errors.Is(err, s3.ErrBadParts) {
		t.Fatalf("complete with a wrong ETag: %v, want ErrBadParts", err)
	}
	for range 2 {
		if err := store.AbortMultipart(ctx, key+"2", id2); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.ListParts(ctx, key+"2", id2); !errors.Is(err, s3.ErrNoUpload) {
		t.Fatalf("list parts after abort: %v", err)
	}
}
