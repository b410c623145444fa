package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// multipartEnv makes 5 MiB parts and multipart from 5 MiB on, so a file of
// a few MiB more than 10 is three parts.
var multipartEnv = map[string]string{"MULTIPART_THRESHOLD_BYTES": "5242880", "MULTIPART_PART_SIZE": "5242880"}

const mib = 1 << 20

type multipartCreateJSON struct {
	Recording recordingJSON `json:"recording"`
	Upload    struct {
		Method    string    `json:"method"`
		PartSize  int64     `json:"part_size"`
		PartCount int       `json:"part_count"`
		ExpiresAt time.Time `json:"expires_at"`
	} `json:"upload"`
}

type partURLJSON struct {
	PartNumber int               `json:"part_number"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers"`
	ExpiresAt  time.Time         `json:"expires_at"`
}

type storedPartJSON struct {
	PartNumber int    `json:"part_number"`
	ETag       string `json:"etag"`
	SizeBytes  int64  `json:"size_bytes"`
	SHA256     string `json:"sha256"`
}

func withEnv(extra map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range multipartEnv {
		out[k] = v
	}
	for k, v := range extra {
		out[k] = v
	}
	return out
}

func (c *client) createMultipart(name string, size int, headers ...string) multipartCreateJSON {
	c.t.Helper()
	r := c.do("POST", "/v1/recordings", map[string]any{"file_name": name, "content_type": "audio/mp4", "size_bytes": size}, headers...)
	wantStatus(c.t, r, 201)
	var out multipartCreateJSON
	r.decode(c.t, &out)
	if out.Upload.Method != "MULTIPART" {
		c.t.Fatalf("create of %d bytes: %s", size, r.body)
	}
	return out
}

// signParts asks for the URLs of parts of body cut at partSize, each signing
// its part's digest (a nil body: the digest of nothing, for URLs never used).
func (c *client) signParts(id string, body []byte, partSize int64, numbers ...int) []partURLJSON {
	c.t.Helper()
	parts := []map[string]any{}
	for _, n := range numbers {
		var part []byte
		if body != nil {
			part = partOf(body, partSize, n)
		}
		parts = append(parts, map[string]any{"part_number": n, "sha256": sha256B64(part)})
	}
	r := c.do("POST", "/v1/recordings/"+id+"/parts", map[string]any{"parts": parts})
	wantStatus(c.t, r, 200)
	var out struct {
		Parts []partURLJSON `json:"parts"`
	}
	r.decode(c.t, &out)
	if len(out.Parts) != len(numbers) {
		c.t.Fatalf("asked for %d parts, got %s", len(numbers), r.body)
	}
	return out.Parts
}

func (c *client) storedParts(id string) []storedPartJSON {
	c.t.Helper()
	r := c.do("GET", "/v1/recordings/"+id+"/parts", nil)
	wantStatus(c.t, r, 200)
	var out struct {
		Parts []storedPartJSON `json:"parts"`
	}
	r.decode(c.t, &out)
	return out.Parts
}

// putPart sends body to a part URL and returns storage's status and ETag.
func putPart(t *testing.T, p partURLJSON, body []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("PUT", p.URL, bytes.NewReader(body))
	for k, v := range p.Headers {
		if k != "Content-Length" {
			req.Header.Set(k, v)
		}
	}
	req.ContentLength = int64(len(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("ETag")
}

func partOf(body []byte, partSize int64, n int) []byte {
	lo := int64(n-1) * partSize
	return body[lo:min(lo+partSize, int64(len(body)))]
}

func completeBody(parts []storedPartJSON) map[string]any {
	list := []map[string]any{}
	for _, p := range parts {
		list = append(list, map[string]any{"part_number": p.PartNumber, "etag": p.ETag, "sha256": p.SHA256})
	}
	return map[string]any{"parts": list}
}

func sha256B64(b []byte) string {
	sum := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// signOne is a well-formed request for part 1's URL.
func signOne() map[string]any {
	return map[string]any{"parts": []map[string]any{{"part_number": 1, "sha256": sha256B64(nil)}}}
}

// The whole flow against MinIO: a multipart create, part URLs of exact
// lengths (storage refuses a short part with 403), the parts storage
// holds, complete (which already answers available), complete again
// (harmless), the download and the quota.
func TestMultipartUploadHappyPath(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: multipartEnv})
	c, _ := login(t, s, "mp-happy")
	body := audioBytes("audio/mp4", 10*mib+12345)

	// Below the threshold nothing changes.
	if small := c.create("small.m4a", "audio/mp4", 5*mib-1); small.Upload.Method != "PUT" {
		t.Fatalf("below the threshold: %+v", small.Upload)
	}
	up := c.createMultipart("lecture.m4a", len(body))
	if up.Upload.PartSize != 5*mib || up.Upload.PartCount != 3 || up.Recording.Status != "pending" ||
		up.Recording.ExpiresAt == nil || !up.Upload.ExpiresAt.Equal(*up.Recording.ExpiresAt) {
		t.Fatalf("create: %+v", up)
	}
	if d := time.Until(up.Upload.ExpiresAt); d < 23*time.Hour || d > 25*time.Hour {
		t.Errorf("multipart window %s, want 24h", d)
	}
	id := up.Recording.ID
	if got := c.storedParts(id); len(got) != 0 {
		t.Fatalf("parts before any upload: %+v", got)
	}
	urls := c.signParts(id, body, up.Upload.PartSize, 3, 1, 2)
	for i, want := range []struct{ n, size int }{{3, 12345}, {1, 5 * mib}, {2, 5 * mib}} {
		p := urls[i]
		if p.PartNumber != want.n || p.Headers["Content-Length"] != strconv.Itoa(want.size) {
			t.Fatalf("part %d: %+v, want %d bytes", want.n, p, want.size)
		}
		if d := time.Until(p.ExpiresAt); d < 14*time.Minute || d > 16*time.Minute {
			t.Errorf("part URL lives %s, want 15m", d)
		}
	}
	t.Run("a part of the wrong length is refused by storage", func(t *testing.T) {
		short := partOf(body, up.Upload.PartSize, 1)
		if st, _ := putPart(t, urls[1], short[:len(short)-1]); st != 403 {
			t.Fatalf("short part: %d, want 403", st)
		}
		if st, _ := putPart(t, urls[0], append(partOf(body, up.Upload.PartSize, 3), 0)); st != 403 {
			t.Fatalf("long last part: %d, want 403", st)
		}
	})
	etags := map[int]string{}
	for _, p := range urls {
		st, etag := putPart(t, p, partOf(body, up.Upload.PartSize, p.PartNumber))
		if st != 200 || etag == "" {
			t.Fatalf("part %d: %d %q", p.PartNumber, st, etag)
		}
		etags[p.PartNumber] = etag
	}
	stored := c.storedParts(id)
	if len(stored) != 3 {
		t.Fatalf("stored parts: %+v", stored)
	}
	for i, p := range stored {
		if p.PartNumber != i+1 || p.SizeBytes != int64(len(partOf(body, up.Upload.PartSize, i+1))) || "\""+p.ETag+"\"" != etags[i+1] && p.ETag != etags[i+1] {
			t.Fatalf("stored part %d: %+v (etag %s)", i+1, p, etags[i+1])
		}
	}
	// A part list that is not every part in order is refused before storage.
	wantProblem(t, c.do("POST", "/v1/recordings/"+id+"/complete", completeBody(stored[:2])), 400, "validation_failed")
	wantProblem(t, c.do("POST", "/v1/recordings/"+id+"/complete", completeBody([]storedPartJSON{stored[1], stored[0], stored[2]})), 400, "validation_failed")

	var done recordingJSON
	r := c.do("POST", "/v1/recordings/"+id+"/complete", completeBody(stored))
	wantStatus(t, r, 200)
	r.decode(t, &done)
	if done.Status != "available" || done.SizeBytes != int64(len(body)) {
		t.Fatalf("after complete: %s", r.body)
	}
	r = c.do("POST", "/v1/recordings/"+id+"/complete", completeBody(stored))
	wantStatus(t, r, 200)
	r.decode(t, &done)
	if done.Status != "available" {
		t.Fatalf("second complete: %s", r.body)
	}
	// Parts routes of a finished upload are a conflict, not a crash.
	wantProblem(t, c.do("GET", "/v1/recordings/"+id+"/parts", nil), 409, "conflict")
	wantProblem(t, c.do("POST", "/v1/recordings/"+id+"/parts", signOne()), 409, "conflict")

	rec := c.waitAvailable(id)
	resp, err := http.Get(rec.Download.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if sha256.Sum256(got) != sha256.Sum256(body) {
		t.Fatalf("download: %d bytes, not the file", len(got))
	}
	if b, n := s.Usage(t, c.token); b != int64(len(body)) || n != 1 {
		t.Errorf("usage = %d bytes, %d recordings", b, n)
	}
	if q := c.quota(); q.BytesReserved != 5*mib-1 || q.UploadsInFlight != 1 { // the small pending one
		t.Errorf("quota: %+v", q)
	}
	s.AssertLogsFree(t, c.token, urls[0].URL)
	// The complete confirmed it at once: nothing for operators to look into.
	if warned := s.Logged("confirm after complete"); len(warned) != 0 {
		t.Errorf("a complete that confirmed its upload warned: %v", warned)
	}
}

// Parts routes and complete validate what they are given.
func TestMultipartRequestValidation(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: multipartEnv})
	c, _ := login(t, s, "mp-validate")
	id := c.createMultipart("v.m4a", 11*mib).Recording.ID // 3 parts
	single := c.create("one.m4a", "audio/mp4", 1000).Recording.ID
	for _, tc := range []struct {
		name, path string
		body       any
		status     int
		code       string
	}{
		{"no parts", "/parts", map[string]any{"parts": []any{}}, 400, "validation_failed"},
		{"part 0", "/parts", partsOf(0), 400, "validation_failed"},
		{"beyond part_count", "/parts", partsOf(4), 400, "validation_failed"},
		{"a part twice", "/parts", partsOf(1, 1), 400, "validation_failed"},
		{"over 100 parts", "/parts", partsOf(make([]int, 101)...), 400, "validation_failed"},
		{"unknown field", "/parts", map[string]any{"parts": partsOf(1)["parts"], "upload_id": "x"}, 400, "invalid_request"},
		{"part numbers without digests (the old form)", "/parts", map[string]any{"part_numbers": []int{1}}, 400, "validation_failed"},
		{"a part without its digest", "/parts", map[string]any{"parts": []map[string]any{{"part_number": 1}}}, 400, "validation_failed"},
		{"a digest that is hex, not base64", "/parts", map[string]any{"parts": []map[string]any{{"part_number": 1, "sha256": strings.Repeat("ab", 32)}}}, 400, "validation_failed"},
		{"complete without a part's digest", "/complete", map[string]any{"parts": []map[string]any{
			{"part_number": 1, "etag": "a"}, {"part_number": 2, "etag": "b"}, {"part_number": 3, "etag": "c"}}}, 400, "validation_failed"},
		{"complete without parts", "/complete", map[string]any{"parts": []int{}}, 400, "validation_failed"},
		{"complete without etag", "/complete", map[string]any{"parts": []map[string]any{{"part_number": 1}}}, 400, "validation_failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, c.do("POST", "/v1/recordings/"+id+tc.path, tc.body), tc.status, tc.code)
		})
	}
	// A file of exactly the threshold is uploaded in parts.
	c.createMultipart("edge.m4a", 5*mib)
	// A hundred parts, the most one request may ask for, are signed at once.
	hundred := c.createMultipart("h.m4a", 100*5*mib).Recording.ID
	all := make([]int, 100)
	for i := range all {
		all[i] = i + 1
	}
	c.signParts(hundred, nil, 0, all...)
	// A single-PUT recording has no parts.
	wantProblem(t, c.do("POST", "/v1/recordings/"+single+"/parts", signOne()), 409, "conflict")
	wantProblem(t, c.do("GET", "/v1/recordings/"+single+"/parts", nil), 409, "conflict")
	wantProblem(t, c.do("POST", "/v1/recordings/"+single+"/complete", map[string]any{"parts": []map[string]any{{"part_number": 1, "etag": "x"}}}), 409, "conflict")
	// An etag storage never answered is refused by storage.
	body := audioBytes("audio/mp4", 11*mib)
	p := c.signParts(id, body, 5*mib, 1, 2, 3)
	var stored []storedPartJSON
	for _, u := range p {
		st, etag := putPart(t, u, partOf(body, 5*mib, u.PartNumber))
		if st != 200 {
			t.Fatalf("part %d: %d", u.PartNumber, st)
		}
		stored = append(stored, storedPartJSON{PartNumber: u.PartNumber, ETag: etag, SHA256: sha256B64(partOf(body, 5*mib, u.PartNumber))})
	}
	good := stored[1]
	stored[1].ETag = "0123456789abcdef0123456789abcdef"
	wantProblem(t, c.do("POST", "/v1/recordings/"+id+"/complete", completeBody(stored)), 400, "validation_failed")
	// So is a digest other than the one storage verified for that part.
	stored[1] = good
	stored[1].SHA256 = sha256B64([]byte("another body"))
	wantProblem(t, c.do("POST", "/v1/recordings/"+id+"/complete", completeBody(stored)), 400, "validation_failed")
}

// A part URL that expired is refused by storage; asking again signs a new
// one that works.
func TestMultipartExpiredPartURLIsResigned(t *testing.T) {
	t.Parallel()
	// A signed URL's time is whole seconds, so it lives between TTL-1 s and
	// TTL: 3 s leaves a re-signed part's PUT (5 MiB, on a machine busy with
	// the other tests) at least 2 s.
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: withEnv(map[string]string{"UPLOAD_URL_TTL": "3s"})})
	c, _ := login(t, s, "mp-expire")
	body := audioBytes("audio/mp4", 6*mib)
	up := c.createMultipart("slow.m4a", len(body))
	id := up.Recording.ID
	old := c.signParts(id, body, up.Upload.PartSize, 1)[0]
	time.Sleep(time.Until(old.ExpiresAt) + 100*time.Millisecond)
	if st, _ := putPart(t, old, partOf(body, up.Upload.PartSize, 1)); st != 403 {
		t.Fatalf("expired part URL: %d, want 403", st)
	}
	for n := 1; n <= 2; n++ {
		p := c.signParts(id, body, up.Upload.PartSize, n)[0] // just before its PUT
		if st, _ := putPart(t, p, partOf(body, up.Upload.PartSize, n)); st != 200 {
			t.Fatalf("re-signed part %d: %d", n, st)
		}
	}
	r := c.do("POST", "/v1/recordings/"+id+"/complete", completeBody(c.storedParts(id)))
	wantStatus(t, r, 200)
	var rec recordingJSON
	r.decode(t, &rec)
	if rec.Status != "available" {
		t.Fatalf("after complete: %s", r.body)
	}
}

// A replayed create returns the same multipart upload: same recording,
// same upload id on the record, and the parts uploaded through the first
// answer count.
func TestMultipartIdempotentReplay(t *testing.T) {
	t.Parallel()
	env := testenv.Get(t)
	s3calls := newS3Recorder(t, env.MinIO.Endpoint())
	vars := maps.Clone(multipartEnv)
	vars["AWS_ENDPOINT_URL_S3"], vars["S3_PUBLIC_ENDPOINT"] = s3calls.URL, env.MinIO.Endpoint()
	s := stack.Start(t, env, stack.Options{Env: vars})
	c, uid := login(t, s, "mp-replay")
	first := c.createMultipart("r.m4a", 6*mib, "Idempotency-Key", "mp-1")
	rec, err := s.Store.GetRecording(context.Background(), uid, first.Recording.ID)
	if err != nil || rec.UploadID == "" || rec.PartSize != 5*mib {
		t.Fatalf("stored record: %+v %v", rec, err)
	}
	part := partOf(audioBytes("audio/mp4", 6*mib), 5*mib, 1)
	p := c.signParts(first.Recording.ID, part, 5*mib, 1)[0]
	if st, _ := putPart(t, p, part); st != 200 {
		t.Fatalf("part: %d", st)
	}
	again := c.createMultipart("r.m4a", 6*mib, "Idempotency-Key", "mp-1")
	if again.Recording.ID != first.Recording.ID || again.Upload != first.Upload {
		t.Fatalf("replay: %+v, first %+v", again, first)
	}
	after, _ := s.Store.GetRecording(context.Background(), uid, first.Recording.ID)
	if after.UploadID != rec.UploadID {
		t.Fatal("the replay replaced the upload")
	}
	if got := c.storedParts(first.Recording.ID); len(got) != 1 {
		t.Fatalf("parts after replay: %+v", got)
	}
	if q := c.quota(); q.UploadsInFlight != 1 || q.BytesReserved != 6*mib {
		t.Fatalf("quota after replay: %+v", q)
	}
	// The upload the replay started is aborted at once, and only that one.
	var created, aborted []string
	for _, call := range s3calls.list() {
		switch {
		case call.method == http.MethodPost && call.query.Has("uploads"):
			created = append(created, call.path)
		case call.method == http.MethodDelete && call.query.Has("uploadId"):
			aborted = append(aborted, call.path)
		}
	}
	if len(created) != 2 || len(aborted) != 1 || aborted[0] != created[1] || strings.HasSuffix(aborted[0], "/"+rec.Key) {
		t.Errorf("uploads started %q, aborted %q: want the replay's own aborted", created, aborted)
	}
	if w := s.Logged("abort unused multipart upload"); len(w) != 0 {
		t.Errorf("aborting the replay's upload warned: %v", w)
	}
}

type s3Call struct {
	method, path string
	query        url.Values
}

// s3Recorder is a reverse proxy in front of MinIO that notes every request
// the API makes, for tests of calls that leave nothing to see afterwards
// (MinIO lists open multipart uploads only by their exact key).
type s3Recorder struct {
	URL   string
	mu    sync.Mutex
	calls []s3Call
}

func newS3Recorder(t *testing.T, upstream string) *s3Recorder {
	t.Helper()
	target, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	r := &s3Recorder{}
	proxy := httputil.NewSingleHostReverseProxy(target) // keeps the signed Host header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.calls = append(r.calls, s3Call{req.Method, req.URL.Path, req.URL.Query()})
		r.mu.Unlock()
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *s3Recorder) list() []s3Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// DELETE of a pending multipart recording aborts its upload (its parts are
// gone from storage) and releases its reservation at once.
func TestMultipartDeleteAbortsTheUpload(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: multipartEnv})
	c, uid := login(t, s, "mp-delete")
	up := c.createMultipart("gone.m4a", 6*mib)
	id := up.Recording.ID
	rec, _ := s.Store.GetRecording(context.Background(), uid, id)
	part := partOf(audioBytes("audio/mp4", 6*mib), 5*mib, 1)
	p := c.signParts(id, part, 5*mib, 1)[0]
	if st, _ := putPart(t, p, part); st != 200 {
		t.Fatalf("part: %d", st)
	}
	if q := c.quota(); q.BytesReserved != 6*mib {
		t.Fatalf("reservation: %+v", q)
	}
	wantStatus(t, c.do("DELETE", "/v1/recordings/"+id, nil), 200)
	if _, err := s.Objects.ListParts(context.Background(), rec.Key, rec.UploadID); !errors.Is(err, s3.ErrNoUpload) {
		t.Fatalf("parts after delete: %v", err)
	}
	if q := c.quota(); q.BytesReserved != 0 || q.UploadsInFlight != 0 {
		t.Fatalf("quota after delete: %+v", q)
	}
	// Nothing is left to finish: the record is gone, not waiting.
	if _, err := s.Store.GetRecording(context.Background(), uid, id); err == nil {
		t.Fatal("the record of an aborted upload stays")
	}
	wantProblem(t, c.do("GET", "/v1/recordings/"+id+"/parts", nil), 404, "not_found")
	if st, _ := putPart(t, p, part); st == 200 {
		t.Fatal("a part URL still works after the delete")
	}
}

// The reconciler aborts a multipart upload whose window (and grace) has
// passed and closes its record, releasing the reservation; not before.
func TestMultipartReconcilerAbortsAfterTheWindow(t *testing.T) {
	t.Parallel()
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: multipartEnv, Clock: clock})
	c, uid := login(t, s, "mp-abandon")
	up := c.createMultipart("abandoned.m4a", 6*mib)
	id := up.Recording.ID
	rec, _ := s.Store.GetRecording(context.Background(), uid, id)
	part := partOf(audioBytes("audio/mp4", 6*mib), 5*mib, 1)
	p := c.signParts(id, part, 5*mib, 1)[0]
	if st, _ := putPart(t, p, part); st != 200 {
		t.Fatalf("part: %d", st)
	}
	clock.Advance(s.Config.MultipartUploadTTL)
	reconcileUntilQuiet(t, s)
	if got := c.storedParts(id); len(got) != 1 {
		t.Fatalf("parts within the grace: %+v", got)
	}
	clock.Advance(s.Config.UploadGrace + time.Second)
	reconcileUntilQuiet(t, s)
	if _, err := s.Objects.ListParts(context.Background(), rec.Key, rec.UploadID); !errors.Is(err, s3.ErrNoUpload) {
		t.Fatalf("parts after the window: %v", err)
	}
	wantProblem(t, c.do("GET", "/v1/recordings/"+id+"/parts", nil), 404, "not_found")
	if q := c.quota(); q.BytesReserved != 0 || q.UploadsInFlight != 0 {
		t.Fatalf("quota after close: %+v", q)
	}
}

// The quota counts a multipart upload's declared size from its create,
// before a single byte is stored.
func TestMultipartQuotaCountsDeclaredSize(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: withEnv(map[string]string{
		"QUOTA_MAX_BYTES": strconv.Itoa(20 * mib), "MAX_UPLOAD_BYTES": strconv.Itoa(20 * mib)})})
	c, _ := login(t, s, "mp-quota")
	c.createMultipart("a.m4a", 12*mib)
	wantProblem(t, c.do("POST", "/v1/recordings", map[string]any{"file_name": "b.m4a", "content_type": "audio/mp4", "size_bytes": 12 * mib}), 403, "quota_exceeded")
	if q := c.quota(); q.BytesReserved != 12*mib || q.UploadsInFlight != 1 {
		t.Fatalf("quota: %+v", q)
	}
}

// Another user's multipart recording is 404 on every new route, exactly
// like a missing id, and stays untouched.
func TestMultipartRoutesOwnership(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: multipartEnv})
	a, _ := login(t, s, "mp-owner-a")
	b, _ := login(t, s, "mp-owner-b")
	id := a.createMultipart("mine.m4a", 6*mib).Recording.ID
	for _, op := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/parts", signOne()},
		{"GET", "/parts", nil},
		{"POST", "/complete", map[string]any{"parts": []map[string]any{{"part_number": 1, "etag": "x"}, {"part_number": 2, "etag": "y"}}}},
	} {
		t.Run(op.method+op.path, func(t *testing.T) {
			wantProblem(t, b.do(op.method, "/v1/recordings/"+id+op.path, op.body), 404, "not_found")
			wantProblem(t, b.do(op.method, "/v1/recordings/not-an-id"+op.path, op.body), 404, "not_found")
		})
	}
	if got := a.storedParts(id); len(got) != 0 {
		t.Fatalf("A's upload changed: %+v", got)
	}
}

// uploadAllParts signs and sends every part of body and returns storage's
// list of them.
func (c *client) uploadAllParts(up multipartCreateJSON, body []byte) []storedPartJSON {
	c.t.Helper()
	var numbers []int
	for n := 1; n <= up.Upload.PartCount; n++ {
		numbers = append(numbers, n)
	}
	for _, p := range c.signParts(up.Recording.ID, body, up.Upload.PartSize, numbers...) {
		if st, _ := putPart(c.t, p, partOf(body, up.Upload.PartSize, p.PartNumber)); st != 200 {
			c.t.Fatalf("part %d: %d", p.PartNumber, st)
		}
	}
	return c.storedParts(up.Recording.ID)
}

// An app whose complete call was lost still gets its recording: storage's
// CompleteMultipartUpload event goes through the same Keeper as a PUT's.
func TestMultipartCompletedEventConfirms(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: multipartEnv})
	c, uid := login(t, s, "mp-event")
	body := audioBytes("audio/mp4", 7*mib)
	up := c.createMultipart("event.m4a", len(body))
	stored := c.uploadAllParts(up, body)
	rec, _ := s.Store.GetRecording(context.Background(), uid, up.Recording.ID)
	var parts []s3.Part
	for _, p := range stored {
		parts = append(parts, s3.Part{Number: p.PartNumber, ETag: p.ETag, SHA256: p.SHA256})
	}
	if err := s.Objects.CompleteMultipart(context.Background(), rec.Key, rec.UploadID, parts); err != nil {
		t.Fatal(err)
	}
	if got := c.waitAvailable(up.Recording.ID); got.SizeBytes != int64(len(body)) {
		t.Fatalf("confirmed by the event: %+v", got)
	}
	// The app's complete, arriving late, is harmless.
	r := c.do("POST", "/v1/recordings/"+up.Recording.ID+"/complete", completeBody(stored))
	wantStatus(t, r, 200)
}

// A multipart upload that is not audio is rejected by the complete's own
// answer, its object deleted and its reservation released.
func TestMultipartNotAudioIsRejectedOnComplete(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: multipartEnv})
	c, uid := login(t, s, "mp-reject")
	body := randomBytes(6 * mib)
	up := c.createMultipart("noise.m4a", len(body))
	stored := c.uploadAllParts(up, body)
	r := c.do("POST", "/v1/recordings/"+up.Recording.ID+"/complete", completeBody(stored))
	wantStatus(t, r, 200)
	var rec recordingJSON
	r.decode(t, &rec)
	if rec.Status != "rejected" || rec.RejectReason != "not_audio" {
		t.Fatalf("complete of noise: %s", r.body)
	}
	if objectExists(t, s, uid, up.Recording.ID) {
		t.Error("the rejected object is kept")
	}
	if q := c.quota(); q.BytesReserved != 0 || q.UploadsInFlight != 0 {
		t.Errorf("quota after rejection: %+v", q)
	}
}

// Deleting the account aborts its pending multipart uploads.
func TestMultipartAccountDeletionAborts(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: multipartEnv})
	c, uid := login(t, s, "mp-leaver")
	up := c.createMultipart("left.m4a", 6*mib)
	rec, _ := s.Store.GetRecording(context.Background(), uid, up.Recording.ID)
	part := partOf(audioBytes("audio/mp4", 6*mib), 5*mib, 1)
	p := c.signParts(up.Recording.ID, part, 5*mib, 1)[0]
	if st, _ := putPart(t, p, part); st != 200 {
		t.Fatalf("part: %d", st)
	}
	wantStatus(t, c.do("DELETE", "/v1/me", nil), 204)
	if _, err := s.Objects.ListParts(context.Background(), rec.Key, rec.UploadID); !errors.Is(err, s3.ErrNoUpload) {
		t.Fatalf("parts after account deletion: %v", err)
	}
	if _, err := s.Store.GetRecording(context.Background(), uid, up.Recording.ID); err == nil {
		t.Error("the aborted upload's record stays")
	}
}

// No part URL outlives the recording's window: near its end a part URL
// expires with it, and after it no part URL is issued at all.
func TestMultipartPartURLsNeverOutliveTheWindow(t *testing.T) {
	t.Parallel()
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: multipartEnv, Clock: clock})
	c, _ := login(t, s, "mp-window")
	up := c.createMultipart("late.m4a", 6*mib)
	clock.Advance(s.Config.MultipartUploadTTL - 90*time.Second)
	p := c.signParts(up.Recording.ID, nil, 0, 2)[0]
	if p.ExpiresAt.After(up.Upload.ExpiresAt) || up.Upload.ExpiresAt.Sub(p.ExpiresAt) > 2*time.Second {
		t.Fatalf("part URL expires %s, window ends %s", p.ExpiresAt, up.Upload.ExpiresAt)
	}
	clock.Advance(2 * time.Minute)
	wantProblem(t, c.do("POST", "/v1/recordings/"+up.Recording.ID+"/parts", signOne()), 409, "conflict")
	// What storage holds is still readable until the reconciler closes it.
	wantStatus(t, c.do("GET", "/v1/recordings/"+up.Recording.ID+"/parts", nil), 200)
}

// partsOf is a request for the URLs of the numbered parts, each with a
// well-formed digest.
func partsOf(numbers ...int) map[string]any {
	parts := []map[string]any{}
	for _, n := range numbers {
		parts = append(parts, map[string]any{"part_number": n, "sha256": sha256B64(nil)})
	}
	return map[string]any{"parts": parts}
}

// A multipart recording publishes only the digest storage verified: the
// composite of its parts' SHA-256s, each signed into its part URL, never a
// whole-file sha256 the client declared (storage cannot check that one; a
// client's hashing bug would otherwise become a backup that lies). An
// object that reached the key by another path, with no verified part
// digests, is rejected as checksum_mismatch.
func TestMultipartPublishesOnlyTheDigestStorageVerified(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: multipartEnv})
	c, uid := login(t, s, "mp-digest")
	body := audioBytes("audio/mp4", 11*mib)
	other := sha256B64([]byte("another file entirely"))
	r := c.do("POST", "/v1/recordings", map[string]any{"file_name": "lecture.m4a", "content_type": "audio/mp4", "size_bytes": len(body), "sha256": other})
	wantStatus(t, r, 201)
	var up multipartCreateJSON
	r.decode(t, &up)
	if up.Upload.Method != "MULTIPART" {
		t.Fatalf("create: %s", r.body)
	}
	if strings.Contains(string(r.body), other) {
		t.Fatalf("the pending recording shows the declared whole-file digest storage cannot verify: %s", r.body)
	}

	// A part whose body is not the one its URL signed is refused by storage.
	tampered := bytes.Clone(partOf(body, up.Upload.PartSize, 1))
	tampered[len(tampered)-1] ^= 0xff
	if st, _ := putPart(t, c.signParts(up.Recording.ID, body, up.Upload.PartSize, 1)[0], tampered); st != 400 {
		t.Fatalf("a part unlike its signed digest: %d, want 400", st)
	}
	stored := c.uploadAllParts(up, body)
	var digests []string
	for n := 1; n <= up.Upload.PartCount; n++ {
		digests = append(digests, sha256B64(partOf(body, up.Upload.PartSize, n)))
		if stored[n-1].SHA256 != digests[n-1] {
			t.Fatalf("GET parts: part %d digest %q, want %q", n, stored[n-1].SHA256, digests[n-1])
		}
	}
	want, err := recording.CompositeSHA256(digests)
	if err != nil {
		t.Fatal(err)
	}
	r = c.do("POST", "/v1/recordings/"+up.Recording.ID+"/complete", completeBody(stored))
	wantStatus(t, r, 200)
	for _, got := range []result{r, c.do("GET", "/v1/recordings/"+up.Recording.ID, nil)} {
		var rec struct {
			Status      string `json:"status"`
			SHA256      string `json:"sha256"`
			PartsSHA256 string `json:"parts_sha256"`
			PartSize    int64  `json:"part_size"`
		}
		got.decode(t, &rec)
		if rec.Status != "available" || rec.SHA256 != "" || rec.PartsSHA256 != want || rec.PartSize != up.Upload.PartSize {
			t.Fatalf("published %s; want no sha256 and parts_sha256 %s of parts of %d bytes", got.body, want, up.Upload.PartSize)
		}
	}

	// Valid audio of the declared size, put at a multipart recording's key
	// behind the API's back (no part digests), is not that upload.
	up2 := c.createMultipart("other-path.m4a", len(body))
	rec, err := s.Store.GetRecording(context.Background(), uid, up2.Recording.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Clients.S3.PutObject(context.Background(), &awss3.PutObjectInput{
		Bucket: &s.Config.Bucket, Key: &rec.Key, Body: bytes.NewReader(body), ContentType: aws.String("audio/mp4"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Keeper.Converge(context.Background(), uid, rec.ID, rec.Key); err != nil {
		t.Fatal(err)
	}
	if got := c.get(up2.Recording.ID, "rejected"); got.RejectReason != "checksum_mismatch" {
		t.Fatalf("an object without verified part digests: %+v, want rejected checksum_mismatch", got)
	}
}
