package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// The fuzz targets drive the real app, in process, over the emulators. The
// promise they check is the same for every input: never a panic, never a
// 5xx, and every refusal a problem+json document with a stable code.

type fuzzTarget struct {
	s     *stack.Stack
	token string
	uid   string // the signed-in user
	id    string // an existing recording of the signed-in user
}

func newFuzzTarget(f *testing.F) *fuzzTarget {
	s := stack.Start(f, testenv.Get(f), stack.Options{Env: map[string]string{"QUOTA_MAX_RECORDINGS": "1000000"}})
	token, uid := s.Login(f, "fuzzer")
	up := s.CreateUpload(f, token, "seed.m4a", "audio/mp4", 10)
	return &fuzzTarget{s: s, token: token, uid: uid, id: up.Recording.ID}
}

var codeShape = regexp.MustCompile(`^[a-z][a-z_]{2,40}$`)

// serve runs one request through the app and checks the promise.
func (ft *fuzzTarget) serve(t *testing.T, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	ft.s.Handler.ServeHTTP(rec, req)
	if rec.Code >= 500 {
		t.Fatalf("%s %s: %d %s", req.Method, req.URL, rec.Code, rec.Body)
	}
	if rec.Code >= 400 {
		var p struct {
			Code   string `json:"code"`
			Status int    `json:"status"`
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s %s: %d with Content-Type %q", req.Method, req.URL, rec.Code, ct)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || !codeShape.MatchString(p.Code) || p.Status != rec.Code {
			t.Fatalf("%s %s: %d problem %q (%v)", req.Method, req.URL, rec.Code, rec.Body, err)
		}
	}
	return rec
}

// request builds a request for path?query with the query exactly as given:
// no URL parser gets to tidy (or refuse) it first.
func (ft *fuzzTarget) request(t *testing.T, method, target string, body string) *http.Request {
	req := httptest.NewRequest(method, "http://api.test/", strings.NewReader(body))
	req.URL.Path, req.URL.RawQuery, _ = strings.Cut(target, "?")
	req.RequestURI = target
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+ft.token)
	return req
}

// FuzzRequestBodies sends arbitrary bodies to every route that reads one.
func FuzzRequestBodies(f *testing.F) {
	ft := newFuzzTarget(f)
	routes := []struct{ method, path string }{
		{http.MethodPost, "/v1/auth/login"},
		{http.MethodPost, "/v1/recordings"},
		{http.MethodPatch, "/v1/recordings/" + ft.id},
		{http.MethodPost, "/v1/auth/logout"},
	}
	for _, seed := range []struct {
		route byte
		body  string
	}{
		{0, `{"provider":"dev","id_token":"x.y.z"}`},
		{0, `{"provider":"google","id_token":"","nonce":null}`},
		{0, `{"provider":"dev","id_token":"a","extra":1}`},
		{1, `{"file_name":"회의 녹음.m4a","content_type":"audio/x-m4a","size_bytes":1000}`},
		{1, `{"file_name":"a","content_type":"audio/mp4","size_bytes":-1}`},
		{1, `{"file_name":"a","content_type":"audio/mp4","size_bytes":1e400}`},
		{1, `{"file_name":"a","content_type":"audio/mp4","size_bytes":1,"size_bytes":2}`},
		{1, `{"file_name":"../../etc/passwd","content_type":"text/html","size_bytes":"12"}`},
		{1, `{"file_name":"a\u0000b","content_type":"audio/mp4","size_bytes":1,"recorded_at":"yesterday"}`},
		{2, `{"file_name":"renamed.m4a"}`},
		{2, `{"file_name":null}`},
		{2, `[]`},
		{3, ``},
		{1, `{`}, {1, `null`}, {1, `"string"`}, {1, "\xff\xfe"}, {1, strings.Repeat("[", 10000)},
	} {
		f.Add(seed.route, seed.body)
	}
	f.Fuzz(func(t *testing.T, route byte, body string) {
		r := routes[int(route)%len(routes)]
		if r.path == "/v1/auth/logout" {
			ft.logout(t, body)
			return
		}
		ft.serve(t, ft.request(t, r.method, r.path, body))
	})
}

// logout signs a new device of the fuzzer's user in (straight in the
// store: no login rate limit), logs it out sending body, and checks that
// exactly that session ended, whatever the body: logout reads none.
func (ft *fuzzTarget) logout(t *testing.T, body string) {
	t.Helper()
	tok, hash, err := auth.NewSessionToken()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := ft.s.Store.CreateSession(bg, recording.Session{TokenHash: hash, UserID: ft.uid, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	as := func(token, method, path, body string) int {
		req := ft.request(t, method, path, body)
		req.Header.Set("Authorization", "Bearer "+token)
		return ft.serve(t, req).Code
	}
	want, after := http.StatusNoContent, http.StatusUnauthorized
	if int64(len(body)) > ft.s.Config.MaxBodyBytes {
		want, after = http.StatusRequestEntityTooLarge, http.StatusOK // refused before the handler
	}
	if got := as(tok, http.MethodPost, "/v1/auth/logout", body); got != want {
		t.Fatalf("logout with a %d-byte body: %d, want %d", len(body), got, want)
	}
	if got := as(tok, http.MethodGet, "/v1/me", ""); got != after {
		t.Fatalf("the logged-out token then got %d, want %d", got, after)
	}
	if got := as(ft.token, http.MethodGet, "/v1/me", ""); got != http.StatusOK {
		t.Fatalf("the fuzzer's own session then got %d, want 200", got)
	}
}

// FuzzListQuery sends arbitrary query strings, cursors included, to the list.
func FuzzListQuery(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, seed := range []string{
		"", "limit=50", "limit=0", "limit=-1", "limit=101", "limit=99999999999999999999", "limit=1&limit=2",
		"limit=%41", "status=pending", "status=rejected", "status=deleting", "status=%ff", "cursor=", "cursor=abc",
		"cursor=eyJ1IjoieCJ9", "cursor=" + strings.Repeat("A", 300), "unknown=1", "limit=1;status=pending", "%zz", "&&&=",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		ft.serve(t, ft.request(t, http.MethodGet, "/v1/recordings?"+query, ""))
	})
}

// FuzzRecordingID puts arbitrary text where a recording id goes.
func FuzzRecordingID(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, seed := range []string{ft.id, strings.ToLower(ft.id), "01ARZ3NDEKTSV4RRFFQ69G5FAV", "", "..", "%2e%2e", "a/b", strings.Repeat("Z", 300)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, id string) {
		req := ft.request(t, http.MethodGet, "/v1/recordings/x", "")
		req.URL.Path = "/v1/recordings/" + id
		ft.serve(t, req)
	})
}

// FuzzAuthorizationHeader tries every shape of Authorization header. The
// account opens exactly for "Bearer" (any case, RFC 9110), one space, and
// the token itself, give or take surrounding whitespace; everything else is
// a 401.
func FuzzAuthorizationHeader(f *testing.F) {
	ft := newFuzzTarget(f)
	for _, seed := range []string{
		"Bearer " + ft.token, "bearer " + ft.token, "BEARER " + ft.token, "Bearer  " + ft.token, "Bearer " + ft.token + " ",
		"Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Basic " + ft.token, "Token " + ft.token, "Bearer:" + ft.token,
		"Bearer\t" + ft.token, ft.token, " " + ft.token, "Bearer " + swapCase(ft.token), "Bearer " + ft.token[1:],
		"Bearer " + ft.token + "A", "Bearer " + ft.token + " extra", "Bearer " + strings.Repeat("A", 5000), "Bearer \x00", "Bearer é", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		req := ft.request(t, http.MethodGet, "/v1/me", "")
		req.Header.Set("Authorization", header)
		rec := ft.serve(t, req)
		scheme, rest, ok := strings.Cut(header, " ")
		want := http.StatusUnauthorized
		if ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(rest) == ft.token {
			want = http.StatusOK
		}
		if rec.Code != want {
			t.Fatalf("header %q: %d, want %d", header, rec.Code, want)
		}
	})
}

// FuzzLoginIDToken sends arbitrary ID tokens to login, before any of them
// could verify.
func FuzzLoginIDToken(f *testing.F) {
	ft := newFuzzTarget(f)
	valid := ft.s.IDToken(f, "fuzz-login")
	parts := strings.Split(valid, ".")
	for _, seed := range []string{
		valid, parts[0] + "." + parts[1] + ".", parts[0] + "." + parts[1], "eyJhbGciOiJub25lIn0." + parts[1] + ".",
		"", "...", strings.Repeat("a.", 1000), "\xff.\xfe.\xfd",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		body, _ := json.Marshal(map[string]string{"provider": "dev", "id_token": token})
		req := ft.request(t, http.MethodPost, "/v1/auth/login", string(body))
		req.Header.Del("Authorization")
		req.RemoteAddr = "192.0.2.1:1234"
		rec := ft.serve(t, req)
		if rec.Code < 300 && token != valid {
			t.Fatalf("login accepted a token that is not the issuer's: %q", token)
		}
	})
}

// A huge body is refused from its declared length, before it is read.
func TestHugeBodyIsRefusedEarly(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	token, _ := s.Login(t, "big-body")
	body := `{"file_name":"` + strings.Repeat("a", 10<<20) + `"}`
	req, _ := http.NewRequest(http.MethodPost, s.APIURL+"/v1/recordings", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var p struct {
		Code string `json:"code"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&p)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || p.Code != "request_too_large" {
		t.Errorf("10 MB body: %d %q", resp.StatusCode, p.Code)
	}
}
