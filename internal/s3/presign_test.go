package s3_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
	"github.com/voicerec/backend/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var ctx = context.Background()

func newStore(t *testing.T) *s3.Store {
	t.Helper()
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	return testenv.NewStore(env.Provision(t, cfg), cfg)
}

// put sends body to a presigned URL the way a phone's HTTP stack would:
// plain net/http, only the headers the API said to send (overridable).
func put(t *testing.T, up s3.SignedRequest, body []byte, override map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(up.Method, up.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range up.Headers {
		req.Header.Set(k, v)
	}
	for k, v := range override {
		req.Header.Set(k, v)
	}
	req.ContentLength = int64(len(body))
	if cl, ok := override["Content-Length"]; ok {
		req.ContentLength, _ = strconv.ParseInt(cl, 10, 64)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

func TestPresignedPutIsExact(t *testing.T) {
	store := newStore(t)
	now := time.Now()
	const size = 4096
	key := recording.ObjectKey("01JUSER0000000000000000000", "01JREC00000000000000000000", ".m4a")
	up, err := store.PresignPut(ctx, key, "audio/mp4", size, "", nil, 15*time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(up.URL)
	for p := range u.Query() {
		if strings.Contains(strings.ToLower(p), "checksum") || strings.Contains(strings.ToLower(p), "sdk-checksum") {
			t.Fatalf("presigned URL carries checksum parameter %q that a plain client cannot satisfy", p)
		}
	}
	signed := strings.Split(u.Query().Get("X-Amz-SignedHeaders"), ";")
	for _, h := range []string{"content-length", "content-type", "host"} {
		if !contains(signed, h) {
			t.Fatalf("signed headers %v lack %s", signed, h)
		}
	}
	if up.Headers["Content-Type"] != "audio/mp4" || up.Headers["Content-Length"] != "4096" || len(up.Headers) != 2 {
		t.Fatalf("headers to send: %v", up.Headers)
	}

	body := randomBytes(size)
	cases := []struct {
		name     string
		body     []byte
		override map[string]string
	}{
		{"one byte more", randomBytes(size + 1), map[string]string{"Content-Length": strconv.Itoa(size + 1)}},
		{"one byte less", randomBytes(size - 1), map[string]string{"Content-Length": strconv.Itoa(size - 1)}},
		{"another content type", body, map[string]string{"Content-Type": "audio/mpeg"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code := put(t, up, tc.body, tc.override); code != http.StatusForbidden {
				t.Fatalf("storage answered %d, want 403", code)
			}
		})
	}
	if _, err := store.Head(ctx, key); err != s3.ErrNoObject {
		t.Fatalf("a refused upload left an object: %v", err)
	}
	if code := put(t, up, body, nil); code != http.StatusOK {
		t.Fatalf("exact upload answered %d", code)
	}
	info, err := store.Head(ctx, key)
	if err != nil || info.Size != size || info.ContentType != "audio/mp4" {
		t.Fatalf("stored object %+v %v", info, err)
	}
}

// With a declared SHA-256 the SDK signs the digest header too, so storage
// refuses a body of the right length whose digest differs (400), and the
// client is told to send exactly the three signed headers.
func TestPresignedPutWithDigestIsExact(t *testing.T) {
	store := newStore(t)
	body := randomBytes(2048)
	sum := sha256.Sum256(body)
	digest := base64.StdEncoding.EncodeToString(sum[:])
	key := recording.ObjectKey("01JUSER0000000000000000000", "01JREC00000000000000000003", ".m4a")
	up, err := store.PresignPut(ctx, key, "audio/mp4", int64(len(body)), digest, nil, 15*time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(up.URL)
	if got := u.Query().Get("X-Amz-SignedHeaders"); got != "content-length;content-type;host;x-amz-checksum-sha256" {
		t.Fatalf("signed headers %q", got)
	}
	if up.Headers[s3.ChecksumHeader] != digest || len(up.Headers) != 3 {
		t.Fatalf("headers to send: %v", up.Headers)
	}
	if code := put(t, up, randomBytes(len(body)), nil); code != http.StatusBadRequest {
		t.Fatalf("a body with another digest: storage answered %d, want 400", code)
	}
	if code := put(t, up, body, nil); code != http.StatusOK {
		t.Fatalf("exact upload answered %d", code)
	}
}

// Tags signed into the URL are set by storage with the body, and a client
// cannot send others: the object is tagged from its first moment, with no
// request of ours after the upload.
func TestPresignedPutSetsSignedTags(t *testing.T) {
	store := newStore(t)
	body := randomBytes(512)
	userID, recID := "01JUSER0000000000000000000", "01JREC00000000000000000005"
	key := recording.ObjectKey(userID, recID, ".m4a")
	tags := s3.OwnerTags(userID, recID)
	up, err := store.PresignPut(ctx, key, "audio/mp4", int64(len(body)), "", tags, 15*time.Minute, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(up.URL)
	if got := u.Query().Get("X-Amz-SignedHeaders"); got != "content-length;content-type;host;x-amz-tagging" {
		t.Fatalf("signed headers %q", got)
	}
	if up.Headers[s3.TaggingHeader] != "recording="+recID+"&user="+userID {
		t.Fatalf("headers to send: %v", up.Headers)
	}
	if code := put(t, up, body, map[string]string{s3.TaggingHeader: "recording=" + recID + "&user=someone-else"}); code != http.StatusForbidden {
		t.Fatalf("a PUT with other tags: storage answered %d, want 403", code)
	}
	if code := put(t, up, body, nil); code != http.StatusOK {
		t.Fatalf("exact upload answered %d", code)
	}
	got, err := store.Tags(ctx, key)
	if err != nil || !maps.Equal(got, tags) {
		t.Fatalf("stored tags %v (%v), want %v", got, err, tags)
	}
}

func TestExpiredUploadURLIsRefused(t *testing.T) {
	store := newStore(t)
	key := recording.ObjectKey("01JUSER0000000000000000000", "01JREC00000000000000000001", ".wav")
	up, err := store.PresignPut(ctx, key, "audio/wav", 10, "", nil, time.Second, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(2100 * time.Millisecond) // the URL's own lifetime, not a timing assertion
	if code := put(t, up, randomBytes(10), nil); code != http.StatusForbidden {
		t.Fatalf("expired URL answered %d, want 403", code)
	}
}

func TestDownloadKeepsBytesAndName(t *testing.T) {
	store := newStore(t)
	now := time.Now()
	key := recording.ObjectKey("01JUSER0000000000000000000", "01JREC00000000000000000002", ".m4a")
	body := randomBytes(100_000)
	up, _ := store.PresignPut(ctx, key, "audio/mp4", int64(len(body)), "", nil, time.Minute, now)
	if code := put(t, up, body, nil); code != 200 {
		t.Fatalf("upload: %d", code)
	}
	name := "회의 녹음 a+b.m4a"
	dl, err := store.PresignGet(ctx, key, recording.ContentDisposition(name), "audio/mp4", time.Minute, now)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(dl.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || sha256.Sum256(got) != sha256.Sum256(body) {
		t.Fatalf("download: %d, %d bytes, same content: %v", resp.StatusCode, len(got), bytes.Equal(got, body))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "audio/mp4" {
		t.Errorf("content type %q", ct)
	}
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	if err != nil {
		t.Fatalf("Content-Disposition %q: %v", resp.Header.Get("Content-Disposition"), err)
	}
	if params["filename"] != name {
		t.Errorf("decoded file name %q, want %q (header %q)", params["filename"], name, resp.Header.Get("Content-Disposition"))
	}
	// Range requests work because storage serves them.
	req, _ := http.NewRequest(http.MethodGet, dl.URL, nil)
	req.Header.Set("Range", "bytes=10-19")
	rr, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Body.Close()
	part, _ := io.ReadAll(rr.Body)
	if rr.StatusCode != http.StatusPartialContent || !bytes.Equal(part, body[10:20]) {
		t.Fatalf("range request: %d %x", rr.StatusCode, part)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
