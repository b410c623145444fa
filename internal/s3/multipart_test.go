package s3_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// Against MinIO: part URLs sign their exact length and digest, ListParts
// reports what landed with the digests storage verified, the object carries
// the composite checksum of its parts, a second complete is ErrNoUpload with
// the object in place, and aborting twice is harmless.
func TestMultipartOnStorage(t *testing.T) {
	store := newStore(t)
	now := time.Now()
	key := recording.ObjectKey("01JUSER0000000000000000000", "01JREC00000000000000000001", ".m4a")
	id, err := store.CreateMultipart(ctx, key, "audio/mp4", s3.OwnerTags("01JUSER0000000000000000000", "01JREC00000000000000000001"))
	if err != nil || id == "" {
		t.Fatalf("create: %q %v", id, err)
	}
	const partSize = 5 << 20
	bodies := [][]byte{randomBytes(partSize), randomBytes(1234)}
	var parts []s3.Part
	var digests []string
	for i, body := range bodies {
		digest := sha256Of(body)
		digests = append(digests, digest)
		up, err := store.PresignPart(ctx, key, id, i+1, int64(len(body)), digest, time.Minute, now)
		if err != nil {
			t.Fatal(err)
		}
		if up.Headers["Content-Length"] == "" || up.Headers[s3.ChecksumHeader] != digest || up.Method != "PUT" {
			t.Fatalf("part request: %+v", up)
		}
		if st := put(t, up, body[:len(body)-1], nil); st != 403 {
			t.Fatalf("a part one byte short: %d, want 403", st)
		}
		other := bytes.Clone(body)
		other[len(other)-1] ^= 0xff
		if st := put(t, up, other, nil); st != 400 {
			t.Fatalf("a part of the signed length with another digest: %d, want 400", st)
		}
		if st := put(t, up, other, map[string]string{s3.ChecksumHeader: sha256Of(other)}); st != 403 {
			t.Fatalf("a part sent with its own (unsigned) digest: %d, want 403", st)
		}
		if st := put(t, up, body, nil); st != 200 {
			t.Fatalf("part %d: %d", i+1, st)
		}
	}
	listed, err := store.ListParts(ctx, key, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 2 || listed[0].Number != 1 || listed[0].Size != partSize || listed[1].Size != 1234 || listed[1].ETag == "" ||
		listed[0].SHA256 != digests[0] || listed[1].SHA256 != digests[1] {
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
	want, err := recording.CompositeSHA256(digests)
	if err != nil || info.SHA256 != want {
		t.Fatalf("object checksum %q, want the composite of its parts %q (%v)", info.SHA256, want, err)
	}
	if tags, err := store.Tags(ctx, key); err != nil || !maps.Equal(tags, s3.OwnerTags("01JUSER0000000000000000000", "01JREC00000000000000000001")) {
		t.Fatalf("tags of the completed object: %v %v, want the ones given at create", tags, err)
	}
	if _, err := store.ListParts(ctx, key, id); !errors.Is(err, s3.ErrNoUpload) {
		t.Fatalf("list parts of a completed upload: %v", err)
	}

	// Abort: parts are gone, a second abort is fine, a wrong part list is ErrBadParts.
	id2, err := store.CreateMultipart(ctx, key+"2", "audio/mp4", nil)
	if err != nil {
		t.Fatal(err)
	}
	small := randomBytes(100)
	up, _ := store.PresignPart(ctx, key+"2", id2, 1, 100, sha256Of(small), time.Minute, now)
	if st := put(t, up, small, nil); st != 200 {
		t.Fatalf("part: %d", st)
	}
	if err := store.CompleteMultipart(ctx, key+"2", id2, []s3.Part{{Number: 1, ETag: "0123456789abcdef0123456789abcdef", SHA256: sha256Of(small)}}); !errors.Is(err, s3.ErrBadParts) {
		t.Fatalf("complete with a wrong ETag: %v, want ErrBadParts", err)
	}
	stored, err := store.ListParts(ctx, key+"2", id2)
	if err != nil || len(stored) != 1 {
		t.Fatalf("parts: %+v %v", stored, err)
	}
	stored[0].SHA256 = sha256Of(randomBytes(100))
	if err := store.CompleteMultipart(ctx, key+"2", id2, stored); !errors.Is(err, s3.ErrBadParts) {
		t.Fatalf("complete naming another digest for a part: %v, want ErrBadParts", err)
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

func sha256Of(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}
