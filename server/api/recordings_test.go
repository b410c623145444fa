package api_test

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
	"github.com/voicerec/backend/internal/testenv/testaudio"
)

type recordingJSON struct {
	ID           string     `json:"id"`
	FileName     string     `json:"file_name"`
	ContentType  string     `json:"content_type"`
	SizeBytes    int64      `json:"size_bytes"`
	Status       string     `json:"status"`
	RejectReason string     `json:"reject_reason"`
	CreatedAt    time.Time  `json:"created_at"`
	UploadedAt   *time.Time `json:"uploaded_at"`
	ExpiresAt    *time.Time `json:"expires_at"`
	Download     *struct {
		URL       string    `json:"url"`
		ExpiresAt time.Time `json:"expires_at"`
	} `json:"download"`
}

type createJSON struct {
	Recording recordingJSON `json:"recording"`
	Upload    struct {
		Method    string            `json:"method"`
		URL       string            `json:"url"`
		Headers   map[string]string `json:"headers"`
		ExpiresAt time.Time         `json:"expires_at"`
	} `json:"upload"`
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// audioBytes is n bytes of real audio of type ct with random content: the
// server rejects an upload that is not audio of its declared type.
func audioBytes(ct string, n int) []byte {
	seed := randomBytes(1)[0]
	return testaudio.Body(ct, n, seed)
}

// create declares an upload and returns the response.
func (c *client) create(name, ct string, size int, headers ...string) createJSON {
	c.t.Helper()
	r := c.do("POST", "/v1/recordings", map[string]any{"file_name": name, "content_type": ct, "size_bytes": size}, headers...)
	wantStatus(c.t, r, 201)
	var out createJSON
	r.decode(c.t, &out)
	return out
}

// putBytes sends body to the upload URL with exactly the headers given.
func putBytes(t *testing.T, up createJSON, body []byte) {
	t.Helper()
	req, _ := http.NewRequest(up.Upload.Method, up.Upload.URL, bytes.NewReader(body))
	for k, v := range up.Upload.Headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT to storage: %d", resp.StatusCode)
	}
}

// get reads one recording and asserts it answers 200 with the given status
// (any, when status is empty).
func (c *client) get(id, status string) recordingJSON {
	c.t.Helper()
	r := c.do("GET", "/v1/recordings/"+id, nil)
	wantStatus(c.t, r, 200)
	var rec recordingJSON
	r.decode(c.t, &rec)
	if status != "" && rec.Status != status {
		c.t.Fatalf("recording %s is %s, want %s", id, rec.Status, status)
	}
	return rec
}

// waitAvailable polls the recording until the events handler confirmed it.
func (c *client) waitAvailable(id string) recordingJSON {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		r := c.do("GET", "/v1/recordings/"+id, nil)
		wantStatus(c.t, r, 200)
		var rec recordingJSON
		r.decode(c.t, &rec)
		switch rec.Status {
		case "available":
			return rec
		case "pending":
		default:
			c.t.Fatalf("recording became %s: %s", rec.Status, rec.RejectReason)
		}
		time.Sleep(20 * time.Millisecond)
	}
	c.t.Fatalf("recording %s not available within 15s", id)
	return recordingJSON{}
}

// upload runs the whole app flow for one file and returns the recording.
func (c *client) upload(name, ct string, body []byte) recordingJSON {
	c.t.Helper()
	up := c.create(name, ct, len(body))
	putBytes(c.t, up, body)
	return c.waitAvailable(up.Recording.ID)
}

func TestUploadListDownloadRenameDelete(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tok, uid := s.Login(t, "flow")
	c := newClient(t, s.APIURL, tok)
	name := "회의 녹음 a+b.m4a"
	body := audioBytes("audio/mp4", 300_000)

	up := c.create(name, "audio/x-m4a", len(body))
	if up.Recording.Status != "pending" || up.Recording.ContentType != "audio/mp4" || up.Recording.FileName != name ||
		up.Recording.ExpiresAt == nil || up.Upload.Method != "PUT" {
		t.Fatalf("create: %+v", up)
	}
	tagging := up.Upload.Headers["x-amz-tagging"]
	if !strings.HasPrefix(tagging, "recording="+up.Recording.ID+"&user=") {
		t.Fatalf("tags to send %q, want this recording's and its owner's", tagging)
	}
	if want := map[string]string{"Content-Type": "audio/mp4", "Content-Length": strconv.Itoa(len(body)), "x-amz-tagging": tagging}; fmt.Sprint(up.Upload.Headers) != fmt.Sprint(want) {
		t.Fatalf("headers to send %v, want %v", up.Upload.Headers, want)
	}
	if d := time.Until(up.Upload.ExpiresAt); d < 14*time.Minute || d > 16*time.Minute {
		t.Errorf("upload URL lives %s, want 15m", d)
	}
	u, _ := url.Parse(up.Upload.URL)
	if !strings.HasPrefix(u.Path, "/"+s.Config.Bucket+"/recordings/"+uid+"/"+up.Recording.ID) {
		t.Errorf("object key not built from server ids: %s", u.Path)
	}
	// Pending: listed only on request, and no download yet.
	if rec := c.get(up.Recording.ID, "pending"); rec.Download != nil || rec.ExpiresAt == nil {
		t.Fatalf("pending recording: %+v", rec)
	}
	var list struct {
		Items      []recordingJSON `json:"items"`
		NextCursor string          `json:"next_cursor"`
	}
	c.do("GET", "/v1/recordings", nil).decode(t, &list)
	if len(list.Items) != 0 {
		t.Fatalf("a pending recording is listed by default: %+v", list)
	}
	c.do("GET", "/v1/recordings?status=pending", nil).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != up.Recording.ID {
		t.Fatalf("pending listing: %+v", list)
	}

	putBytes(t, up, body)
	rec := c.waitAvailable(up.Recording.ID)
	if rec.Download == nil || rec.UploadedAt == nil || rec.ExpiresAt != nil || rec.SizeBytes != int64(len(body)) {
		t.Fatalf("available recording: %+v", rec)
	}
	c.do("GET", "/v1/recordings", nil).decode(t, &list)
	if len(list.Items) != 1 || list.Items[0].ID != rec.ID || list.NextCursor != "" {
		t.Fatalf("listing after upload: %+v", list)
	}

	resp, err := http.Get(rec.Download.URL)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || sha256.Sum256(got) != sha256.Sum256(body) {
		t.Fatalf("download: %d, %d bytes", resp.StatusCode, len(got))
	}
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	if err != nil || params["filename"] != name || resp.Header.Get("Content-Type") != "audio/mp4" {
		t.Fatalf("download headers: %q %q %v", resp.Header.Get("Content-Disposition"), resp.Header.Get("Content-Type"), err)
	}

	r := c.do("PATCH", "/v1/recordings/"+rec.ID, map[string]string{"file_name": "새 이름.m4a"})
	wantStatus(t, r, 200)
	var renamed recordingJSON
	r.decode(t, &renamed)
	if renamed.FileName != "새 이름.m4a" || renamed.Status != "available" {
		t.Fatalf("rename: %+v", renamed)
	}
	wantProblem(t, c.do("PATCH", "/v1/recordings/"+rec.ID, map[string]string{"file_name": "a/b"}), 400, "invalid_file_name")

	var me map[string]any
	c.do("GET", "/v1/me", nil).decode(t, &me)
	if me["recording_count"] != float64(1) || me["bytes_stored"] != float64(len(body)) {
		t.Fatalf("me after upload: %v", me)
	}

	wantStatus(t, c.do("DELETE", "/v1/recordings/"+rec.ID+"?purge=true", nil), 200)
	wantProblem(t, c.do("GET", "/v1/recordings/"+rec.ID, nil), 404, "not_found")
	wantProblem(t, c.do("DELETE", "/v1/recordings/"+rec.ID, nil), 404, "not_found")
	if _, err := s.Objects.Head(bg, recording.ObjectKey(uid, rec.ID, ".m4a")); err == nil {
		t.Fatal("object survived the delete")
	}
	c.do("GET", "/v1/me", nil).decode(t, &me)
	if me["recording_count"] != float64(0) || me["bytes_stored"] != float64(0) {
		t.Fatalf("me after delete: %v", me)
	}
	s.AssertLogsFree(t, tok, up.Upload.URL, rec.Download.URL, u.Query().Get("X-Amz-Signature"))
}

func TestCreateValidation(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"MAX_UPLOAD_BYTES": "1000"}})
	tok, _ := s.Login(t, "v")
	c := newClient(t, s.APIURL, tok)
	ok := map[string]any{"file_name": "a.wav", "content_type": "audio/wav", "size_bytes": 10}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range ok {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"video type", with("content_type", "video/mp4"), 415, "unsupported_media_type"},
		{"no type", with("content_type", nil), 400, "validation_failed"},
		{"size above max", with("size_bytes", 1001), 413, "too_large"},
		{"size zero", with("size_bytes", 0), 400, "validation_failed"},
		{"negative size", with("size_bytes", -5), 400, "validation_failed"},
		{"fractional size", with("size_bytes", 1.5), 400, "invalid_request"},
		{"no size", with("size_bytes", nil), 400, "validation_failed"},
		{"path in name", with("file_name", "../x.wav"), 400, "invalid_file_name"},
		{"control char in name", with("file_name", "a\u0007.wav"), 400, "invalid_file_name"},
		{"empty name", with("file_name", ""), 400, "invalid_file_name"},
		{"name too long", with("file_name", strings.Repeat("가", 256)), 400, "invalid_file_name"},
		{"negative duration", with("duration_ms", -1), 400, "validation_failed"},
		{"bad recorded_at", with("recorded_at", "yesterday"), 400, "invalid_request"},
		{"unknown field", with("colour", "red"), 400, "invalid_request"},
		{"array body", "[]", 400, "invalid_request"},
		{"two objects", `{"file_name":"a.wav"} {}`, 400, "invalid_request"},
		{"huge body", `{"file_name":"` + strings.Repeat("x", 10<<20) + `"}`, 413, "request_too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, c.do("POST", "/v1/recordings", tc.body), tc.status, tc.code)
		})
	}
	r := c.do("POST", "/v1/recordings", with("file_name", strings.Repeat("가", 255)))
	wantStatus(t, r, 201)
	wantProblem(t, c.do("POST", "/v1/recordings", ok, "Idempotency-Key", "has space"), 400, "validation_failed")
}

func TestQuotaCountsPendingUploads(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{
		"QUOTA_MAX_RECORDINGS": "2", "QUOTA_MAX_BYTES": "1000", "MAX_UPLOAD_BYTES": "600"}})
	tok, _ := s.Login(t, "q")
	c := newClient(t, s.APIURL, tok)
	c.upload("one.wav", "audio/wav", audioBytes("audio/wav", 500))
	c.create("two.wav", "audio/wav", 100) // pending, counts
	wantProblem(t, c.do("POST", "/v1/recordings", map[string]any{"file_name": "3.wav", "content_type": "audio/wav", "size_bytes": 1}), 403, "quota_exceeded")
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tok, _ := s.Login(t, "idem")
	c := newClient(t, s.APIURL, tok)
	first := c.create("a.wav", "audio/wav", 100, "Idempotency-Key", "k-123")
	r := c.do("POST", "/v1/recordings", map[string]any{"file_name": "a.wav", "content_type": "audio/wav", "size_bytes": 100}, "Idempotency-Key", "k-123")
	wantStatus(t, r, 201)
	var again createJSON
	r.decode(t, &again)
	if again.Recording.ID != first.Recording.ID || r.header.Get("Idempotent-Replayed") != "true" || again.Upload.URL == "" {
		t.Fatalf("replay: %+v, header %q", again, r.header.Get("Idempotent-Replayed"))
	}
	wantProblem(t, c.do("POST", "/v1/recordings", map[string]any{"file_name": "b.wav", "content_type": "audio/wav", "size_bytes": 10},
		"Idempotency-Key", "k-123"), 422, "idempotency_key_reused")
	// The replayed URL works.
	putBytes(t, again, audioBytes("audio/wav", 100))
	c.waitAvailable(first.Recording.ID)
}

func TestPaginationAcrossPagesWhileAdding(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tok, _ := s.Login(t, "pages")
	c := newClient(t, s.APIURL, tok)
	var want []string
	for i := 0; i < 25; i++ {
		want = append([]string{c.upload(fmt.Sprintf("r%02d.wav", i), "audio/wav", testaudio.Body("audio/wav", 50, byte(i))).ID}, want...)
	}
	var got []string
	seen := map[string]bool{}
	cur := ""
	pages := 0
	for {
		path := "/v1/recordings?limit=10"
		if cur != "" {
			path += "&cursor=" + url.QueryEscape(cur)
		}
		var page struct {
			Items      []recordingJSON `json:"items"`
			NextCursor string          `json:"next_cursor"`
		}
		r := c.do("GET", path, nil)
		wantStatus(t, r, 200)
		r.decode(t, &page)
		for _, it := range page.Items {
			if seen[it.ID] {
				t.Fatalf("duplicate %s across pages", it.ID)
			}
			seen[it.ID] = true
			got = append(got, it.ID)
		}
		pages++
		c.upload(fmt.Sprintf("new%d.wav", pages), "audio/wav", audioBytes("audio/wav", 50)) // lands while paging
		if page.NextCursor == "" {
			break
		}
		cur = page.NextCursor
	}
	if pages != 3 || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%d pages saw %v, want %v", pages, got, want)
	}
}

func TestListParameters(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tok, _ := s.Login(t, "params")
	c := newClient(t, s.APIURL, tok)
	for _, tc := range []struct{ query, code string }{
		{"limit=0", "validation_failed"},
		{"limit=101", "validation_failed"},
		{"limit=-1", "validation_failed"},
		{"limit=abc", "validation_failed"},
		{"limit=99999999999999999999", "validation_failed"},
		{"limit=5&limit=6", "invalid_request"},
		{"status=deleting", "validation_failed"},
		{"cursor=%%%", "invalid_request"},
		{"cursor=garbled", "invalid_cursor"},
		{"cursor=" + url.QueryEscape(strings.Repeat("A", 300)), "invalid_cursor"},
		{"sort=asc", "invalid_request"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			wantProblem(t, c.do("GET", "/v1/recordings?"+tc.query, nil), 400, tc.code)
		})
	}
	wantStatus(t, c.do("GET", "/v1/recordings?limit=100&status=pending", nil), 200)
}

// User B can neither see nor touch user A's recordings; A's ids, malformed
// ids and missing ids answer the very same 404.
func TestOwnershipMatrix(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tokA, _ := s.Login(t, "owner-a")
	tokB, _ := s.Login(t, "owner-b")
	a, b := newClient(t, s.APIURL, tokA), newClient(t, s.APIURL, tokB)
	avail := a.upload("a.wav", "audio/wav", audioBytes("audio/wav", 100))
	pending := a.create("p.wav", "audio/wav", 10).Recording
	for i := 0; i < 3; i++ {
		a.upload(fmt.Sprintf("more%d.wav", i), "audio/wav", audioBytes("audio/wav", 50))
	}
	var pageA struct {
		NextCursor string `json:"next_cursor"`
	}
	a.do("GET", "/v1/recordings?limit=2", nil).decode(t, &pageA)
	if pageA.NextCursor == "" {
		t.Fatal("no cursor for A")
	}

	ids := map[string]string{
		"A's available": avail.ID, "A's pending": pending.ID,
		"nonexistent": recording.NewID(time.Now()), "malformed": "not-an-id",
	}
	var details []string
	for label, id := range ids {
		for _, op := range []struct{ method, body string }{
			{"GET", ""}, {"PATCH", `{"file_name":"mine.wav"}`}, {"DELETE", ""},
		} {
			t.Run(label+" "+op.method, func(t *testing.T) {
				var body any
				if op.body != "" {
					body = op.body
				}
				p := wantProblem(t, b.do(op.method, "/v1/recordings/"+id, body), 404, "not_found")
				details = append(details, p.Detail+"|"+p.Title)
			})
		}
	}
	for _, d := range details {
		if d != details[0] {
			t.Fatalf("404s differ: %q vs %q", d, details[0])
		}
	}
	wantProblem(t, b.do("GET", "/v1/recordings?limit=2&cursor="+url.QueryEscape(pageA.NextCursor), nil), 400, "invalid_cursor")
	var listB struct {
		Items []recordingJSON `json:"items"`
	}
	b.do("GET", "/v1/recordings", nil).decode(t, &listB)
	if len(listB.Items) != 0 {
		t.Fatalf("B lists %d recordings", len(listB.Items))
	}
	// A's recordings are untouched by B's attempts.
	if got := a.waitAvailable(avail.ID); got.FileName != "a.wav" {
		t.Fatalf("A's recording changed: %+v", got)
	}
}

// An Idempotency-Key reused with any other field of the request is refused,
// whichever field it is; the same request again is still a replay.
func TestIdempotencyKeyReusedWithAnyOtherField(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tok, _ := s.Login(t, "idem-fields")
	c := newClient(t, s.APIURL, tok)
	req := func(mod func(map[string]any)) map[string]any {
		b := map[string]any{"file_name": "a.wav", "content_type": "audio/wav", "size_bytes": 10,
			"duration_ms": 1000, "recorded_at": "2026-11-20T09:30:00Z"}
		if mod != nil {
			mod(b)
		}
		return b
	}
	r := c.do("POST", "/v1/recordings", req(nil), "Idempotency-Key", "k-fields")
	wantStatus(t, r, 201)
	var first createJSON
	r.decode(t, &first)
	for _, tc := range []struct {
		name string
		mod  func(map[string]any)
	}{
		{"size_bytes", func(b map[string]any) { b["size_bytes"] = 11 }},
		{"content_type", func(b map[string]any) { b["content_type"] = "audio/mpeg" }},
		{"duration_ms", func(b map[string]any) { b["duration_ms"] = 1001 }},
		{"duration_ms left out", func(b map[string]any) { delete(b, "duration_ms") }},
		{"recorded_at", func(b map[string]any) { b["recorded_at"] = "2026-11-20T09:30:01Z" }},
		{"recorded_at left out", func(b map[string]any) { delete(b, "recorded_at") }},
		{"file_name", func(b map[string]any) { b["file_name"] = "b.wav" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, c.do("POST", "/v1/recordings", req(tc.mod), "Idempotency-Key", "k-fields"), 422, "idempotency_key_reused")
		})
	}
	// An alias of the same type is the same request: the stored type is
	// the canonical one.
	same := req(func(b map[string]any) { b["content_type"] = "audio/x-wav" })
	r = c.do("POST", "/v1/recordings", same, "Idempotency-Key", "k-fields")
	wantStatus(t, r, 201)
	var again createJSON
	r.decode(t, &again)
	if again.Recording.ID != first.Recording.ID || r.header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %s, want %s replayed", again.Recording.ID, first.Recording.ID)
	}
	if items := s.List(t, tok, "pending"); len(items) != 1 {
		t.Fatalf("%d pending recordings, want 1", len(items))
	}
}

// maxPendingUploads is QUOTA_MAX_PENDING_UPLOADS in TestInFlightUploadCap,
// below the default (100) so the test is quick and the variable is read.
const maxPendingUploads = 7

// The in-flight upload cap is reached and refused with a quota problem;
// finishing one (here: deleting it) makes room for exactly one more.
func TestInFlightUploadCap(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"QUOTA_MAX_PENDING_UPLOADS": strconv.Itoa(maxPendingUploads)}})
	tok, _ := s.Login(t, "in-flight")
	var first string
	for i := 0; i < maxPendingUploads; i++ {
		up := s.CreateUpload(t, tok, fmt.Sprintf("p%03d.wav", i), "audio/wav", 1)
		if i == 0 {
			first = up.Recording.ID
		}
	}
	c := newClient(t, s.APIURL, tok)
	one := map[string]any{"file_name": "one-more.wav", "content_type": "audio/wav", "size_bytes": 1}
	p := wantProblem(t, c.do("POST", "/v1/recordings", one), 403, "quota_exceeded")
	if !strings.Contains(p.Detail, "uploads in progress") || !strings.Contains(p.Detail, strconv.Itoa(maxPendingUploads)) {
		t.Fatalf("refused for another reason: %q", p.Detail)
	}
	wantStatus(t, c.do("DELETE", "/v1/recordings/"+first, nil), 200)
	wantStatus(t, c.do("POST", "/v1/recordings", one), 201)
	wantProblem(t, c.do("POST", "/v1/recordings", one), 403, "quota_exceeded")
}

func fetch(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// The download URL lives exactly DOWNLOAD_URL_TTL: the URL says so
// (X-Amz-Expires, and X-Amz-Date plus it is expires_at), storage serves it
// within that time and refuses it after.
func TestDownloadURLLivesForDownloadTTL(t *testing.T) {
	t.Parallel()
	const ttl = 4 * time.Second
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"DOWNLOAD_URL_TTL": ttl.String()}})
	tok, _ := s.Login(t, "ttl")
	c := newClient(t, s.APIURL, tok)
	body := audioBytes("audio/wav", 1000)
	id := c.upload("ttl.wav", "audio/wav", body).ID

	var dlURL string
	var expires time.Time
	for attempt := 0; ; attempt++ {
		before := time.Now()
		r := c.do("GET", "/v1/recordings/"+id, nil)
		after := time.Now()
		wantStatus(t, r, 200)
		var rec recordingJSON
		r.decode(t, &rec)
		if rec.Download == nil {
			t.Fatalf("no download: %s", r.body)
		}
		dlURL, expires = rec.Download.URL, rec.Download.ExpiresAt
		if expires.Before(before.Add(ttl).Add(-time.Second)) || expires.After(after.Add(ttl).Add(time.Second)) {
			t.Fatalf("expires_at %s, want %s after the request (%s)", expires, ttl, before)
		}
		u, err := url.Parse(dlURL)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		if q.Get("X-Amz-Expires") != strconv.Itoa(int(ttl.Seconds())) {
			t.Fatalf("X-Amz-Expires=%q, want %d", q.Get("X-Amz-Expires"), int(ttl.Seconds()))
		}
		signed, err := time.Parse("20060102T150405Z", q.Get("X-Amz-Date"))
		if err != nil {
			t.Fatal(err)
		}
		if d := signed.Add(ttl).Sub(expires); d < -time.Second || d > time.Second {
			t.Fatalf("the URL expires at %s, expires_at says %s", signed.Add(ttl), expires)
		}
		status, got := fetch(t, dlURL)
		if status == http.StatusOK && sha256.Sum256(got) == sha256.Sum256(body) {
			break
		}
		// Only a machine too slow to fetch within the TTL may try again.
		if time.Now().Before(expires) || attempt == 2 {
			t.Fatalf("download within its lifetime: %d, %d bytes", status, len(got))
		}
	}
	time.Sleep(time.Until(expires) + 2*time.Second) // past the URL's own lifetime
	if status, got := fetch(t, dlURL); status != http.StatusForbidden {
		t.Fatalf("download %s after expires_at: %d %s; want 403", time.Since(expires).Round(time.Millisecond), status, got)
	}
}
