package api_test

import (
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// Tests that pin the guards a reshaping could drop silently:
// each was shown failing against a hand-planted bug in the guard it pins.

// Logging out ends the session at once: the very next request with the
// token is refused, on the same clock, with no expiry involved.
func TestLogoutRefusesTheTokenAtOnce(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tok, _ := s.Login(t, "logout-now")
	c := newClient(t, s.APIURL, tok)
	wantStatus(t, c.do("GET", "/v1/me", nil), 200)
	wantStatus(t, c.do("POST", "/v1/auth/logout", nil), 204)
	wantProblem(t, c.do("GET", "/v1/me", nil), 401, "unauthorized")
	wantProblem(t, c.do("GET", "/v1/recordings", nil), 401, "unauthorized")
	wantProblem(t, c.do("POST", "/v1/auth/logout", nil), 401, "unauthorized")
}

// Logging out one device leaves the user's other sessions working.
func TestLogoutLeavesOtherSessionsWorking(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	phone, uid := s.Login(t, "two-devices")
	tablet, uid2 := s.Login(t, "two-devices")
	if uid != uid2 {
		t.Fatalf("one identity, two users: %s and %s", uid, uid2)
	}
	wantStatus(t, newClient(t, s.APIURL, phone).do("POST", "/v1/auth/logout", nil), 204)
	wantProblem(t, newClient(t, s.APIURL, phone).do("GET", "/v1/me", nil), 401, "unauthorized")
	r := newClient(t, s.APIURL, tablet).do("GET", "/v1/me", nil)
	wantStatus(t, r, 200)
	var me struct {
		ID string `json:"id"`
	}
	r.decode(t, &me)
	if me.ID != uid {
		t.Fatalf("the other session is now %q, want %q", me.ID, uid)
	}
}

// swapCase changes the case of every letter.
func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsUpper(r) {
			return unicode.ToLower(r)
		}
		return unicode.ToUpper(r)
	}, s)
}

// A token that differs from a real one only in letter case is another,
// unknown token.
func TestSessionTokenDifferingInCaseIsRefused(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tok, _ := s.Login(t, "case")
	swapped := swapCase(tok)
	if swapped == tok {
		t.Fatalf("token %q has no letters", tok)
	}
	wantProblem(t, newClient(t, s.APIURL, swapped).do("GET", "/v1/me", nil), 401, "unauthorized")
	// One letter is enough.
	for i, r := range tok {
		if unicode.IsLetter(r) {
			one := tok[:i] + swapCase(tok[i:i+1]) + tok[i+1:]
			wantProblem(t, newClient(t, s.APIURL, one).do("GET", "/v1/me", nil), 401, "unauthorized")
			break
		}
	}
	wantStatus(t, newClient(t, s.APIURL, tok).do("GET", "/v1/me", nil), 200)
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

// Names with DEL or a C1 control character are refused, at creation and at
// rename alike.
func TestFileNamesWithDELOrC1ControlsAreRefused(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tok, _ := s.Login(t, "names")
	c := newClient(t, s.APIURL, tok)
	id := c.create("fine.wav", "audio/wav", 10).Recording.ID
	for _, name := range []string{"del\x7f.wav", "nel\u0085.wav", "csi\u009b2J.wav"} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			wantProblem(t, c.do("POST", "/v1/recordings", map[string]any{"file_name": name, "content_type": "audio/wav", "size_bytes": 10}),
				400, "invalid_file_name")
			wantProblem(t, c.do("PATCH", "/v1/recordings/"+id, map[string]any{"file_name": name}), 400, "invalid_file_name")
		})
	}
	if items := s.List(t, tok, "pending"); len(items) != 1 || items[0].FileName != "fine.wav" {
		t.Fatalf("pending recordings %v, want only fine.wav", items)
	}
}
