package lifecycle_test

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"testing"

	"github.com/voicerec/backend/internal/testenv/stack"
)

// A declared SHA-256 binds the recording to one body. The presigned URL
// makes storage refuse any other, but a body can reach the key another
// way (storage credentials, a bug): one of the declared size and type, and
// real audio, with another digest is rejected, never confirmed.
func TestOtherBodyThanDeclaredChecksumIsRejected(t *testing.T) {
	s, held := startHeld(t, stack.Options{})
	token, _ := s.Login(t, "checksummer")
	const size = 6000
	declared, other := audio(size, 'd'), audio(size, 'o')
	sum := sha256.Sum256(declared)
	otherSum := sha256.Sum256(other)
	var up stack.Upload
	req := map[string]any{"file_name": "memo.m4a", "content_type": m4a, "size_bytes": size,
		"sha256": base64.StdEncoding.EncodeToString(sum[:])}
	if st := s.Call(t, token, http.MethodPost, "/v1/recordings", req, &up); st != http.StatusCreated {
		t.Fatalf("create: %d", st)
	}
	key := s.ObjectKey(t, up.Upload.URL)
	adminPut(t, s, key, other, base64.StdEncoding.EncodeToString(otherSum[:]))

	outcome := held.deliver(t, held.next(t, key, "ObjectCreated"))
	got, st := s.Get(t, token, up.Recording.ID)
	if outcome != "rejected" || st != http.StatusOK || got.Status != "rejected" || got.RejectReason != "checksum_mismatch" {
		t.Fatalf("outcome %q; recording %d %v, reason %q (%q); want rejected with checksum_mismatch",
			outcome, st, got, got.RejectReason, got.RejectDetail)
	}
	if stored(t, s, key) {
		t.Error("the other body is still stored")
	}
	if b, n := s.Usage(t, token); b != 0 || n != 0 {
		t.Errorf("usage = %d bytes, %d recordings; want 0, 0", b, n)
	}
}
