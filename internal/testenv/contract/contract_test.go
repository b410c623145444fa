package contract

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// scripted is what the fake server answers.
type scripted struct {
	status  int
	ctype   string
	headers map[string]string // "" deletes
	body    string
}

func (s scripted) serve(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("X-Request-Id", "req-1")
	if s.ctype != "" {
		h.Set("Content-Type", s.ctype)
	}
	for k, v := range s.headers {
		if v == "" {
			h.Del(k)
		} else {
			h.Set(k, v)
		}
	}
	w.WriteHeader(s.status)
	_, _ = io.WriteString(w, s.body)
}

const (
	jsonCT    = "application/json"
	problemCT = "application/problem+json"
	ulid      = "01J9Z3M0A1B2C3D4E5F6G7H8J9"
	when      = "2026-07-02T09:31:00Z"
	bearer    = "Bearer test-token"
	wwwAuth   = `Bearer realm="recorder"`
)

func problem(status int, code string) string {
	return fmt.Sprintf(`{"type":"about:blank","title":%q,"status":%d,"detail":"d","code":%q,"request_id":"req-1"}`,
		http.StatusText(status), status, code)
}

func rec(status, extra string) string {
	return `{"id":"` + ulid + `","file_name":"a.m4a","content_type":"audio/mp4","size_bytes":3,"status":"` + status +
		`","created_at":"` + when + `"` + extra + `}`
}

var download = `,"uploaded_at":"` + when + `","download":{"url":"http://127.0.0.1:9000/b/k?X-Amz-Signature=abc","expires_at":"` + when + `"}`

func TestValidate(t *testing.T) {
	c := Load(t)
	user := `{"id":"` + ulid + `","providers":["google"],"created_at":"` + when + `","recording_count":0,"bytes_stored":0}`
	quota := `,"quota":{"bytes_limit":10,"bytes_used":0,"bytes_reserved":3,"recordings_limit":5,"uploads_in_flight":1,"uploads_in_flight_limit":100}}`
	me := strings.TrimSuffix(user, "}") + quota
	login := func(created bool) string {
		return fmt.Sprintf(`{"access_token":"BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY","token_type":"Bearer","expires_at":%q,`+
			`"refresh_token":"ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8","refresh_expires_at":%q,"session_id":"3f2a9c1e5b7d4e6f8a0b1c2d3e4f5a6b",`+
			`"created":%v,"user":%s}`, when, when, created, user)
	}
	cases := []struct {
		name, method, target, body string
		resp                       scripted
		want                       string // substring of the error; "" means valid
	}{
		{"health", "GET", "/healthz", "", scripted{200, jsonCT, nil, `{"status":"ok"}`}, ""},
		{"wrong value", "GET", "/healthz", "", scripted{200, jsonCT, nil, `{"status":"fine"}`}, "status"},
		{"undocumented field", "GET", "/healthz", "", scripted{200, jsonCT, nil, `{"status":"ok","uptime":3}`}, "uptime"},
		{"missing X-Request-Id", "GET", "/healthz", "", scripted{200, jsonCT, map[string]string{"X-Request-Id": ""}, `{"status":"ok"}`}, "X-Request-Id"},
		{"undocumented status", "GET", "/healthz", "", scripted{418, jsonCT, nil, `{}`}, "418"},
		{"not JSON", "GET", "/healthz", "", scripted{200, jsonCT, nil, `ok`}, "healthz"},
		{"yaml document", "GET", "/openapi.yaml", "", scripted{200, "application/yaml", nil, "openapi: 3.1.1\n"}, ""},

		{"me", "GET", "/v1/me", "", scripted{200, jsonCT, nil, me}, ""},
		{"me ignores a query", "GET", "/v1/me?cache=no", "", scripted{200, jsonCT, nil, me}, ""},
		{"me as problem type", "GET", "/v1/me", "", scripted{200, problemCT, nil, me}, "application/problem+json"},
		{"me missing field", "GET", "/v1/me", "", scripted{200, jsonCT, nil, strings.Replace(me, `,"bytes_stored":0`, "", 1)}, "bytes_stored"},
		{"me without quota", "GET", "/v1/me", "", scripted{200, jsonCT, nil, user}, "quota"},
		{"401", "GET", "/v1/me", "", scripted{401, problemCT, map[string]string{"WWW-Authenticate": wwwAuth}, problem(401, "unauthorized")}, ""},
		{"401 without challenge", "GET", "/v1/me", "", scripted{401, problemCT, nil, problem(401, "unauthorized")}, "WWW-Authenticate"},
		{"401 with another code", "GET", "/v1/me", "", scripted{401, problemCT, map[string]string{"WWW-Authenticate": wwwAuth}, problem(401, "invalid_id_token")}, "code"},

		{"available", "GET", "/v1/recordings/" + ulid, "", scripted{200, jsonCT, nil, rec("available", download)}, ""},
		{"available without download", "GET", "/v1/recordings/" + ulid, "", scripted{200, jsonCT, nil, rec("available", `,"uploaded_at":"`+when+`"`)}, "download"},
		{"unknown status", "GET", "/v1/recordings/" + ulid, "", scripted{200, jsonCT, nil, rec("lost", download)}, "status"},
		{"bad date", "GET", "/v1/recordings/" + ulid, "", scripted{200, jsonCT, nil, strings.Replace(rec("available", download), `"created_at":"`+when, `"created_at":"yesterday`, 1)}, "date-time"},
		{"pending", "GET", "/v1/recordings/" + ulid, "", scripted{200, jsonCT, nil, rec("pending", `,"expires_at":"`+when+`"`)}, ""},
		{"pending with a download", "GET", "/v1/recordings/" + ulid, "", scripted{200, jsonCT, nil, rec("pending", `,"expires_at":"`+when+`","download":{"url":"http://127.0.0.1:9000/b/k","expires_at":"`+when+`"}`)}, "download"},
		{"rejected", "GET", "/v1/recordings/" + ulid, "", scripted{200, jsonCT, nil, rec("rejected", `,"reject_reason":"not_audio","reject_detail":"no audio"`)}, ""},
		{"rejected without detail", "GET", "/v1/recordings/" + ulid, "", scripted{200, jsonCT, nil, rec("rejected", `,"reject_reason":"not_audio"`)}, "reject_detail"},
		{"trashed", "GET", "/v1/recordings/" + ulid, "", scripted{200, jsonCT, nil, rec("deleted", `,"uploaded_at":"`+when+`","purge_at":"`+when+`"`)}, ""},
		{"list all with URLs", "GET", "/v1/recordings?status=all&include=download_url", "", scripted{200, jsonCT, map[string]string{"Cache-Control": "no-store"},
			`{"items":[` + rec("available", download) + `,` + rec("pending", `,"expires_at":"`+when+`"`) + `]}`}, ""},
		{"listed pending with a URL", "GET", "/v1/recordings?status=all&include=download_url", "", scripted{200, jsonCT, nil,
			`{"items":[` + rec("pending", `,"expires_at":"`+when+`","download":{"url":"http://127.0.0.1:9000/b/k","expires_at":"`+when+`"}`) + `]}`}, "download"},
		{"include something else accepted", "GET", "/v1/recordings?include=waveform", "", scripted{200, jsonCT, nil, `{"items":[]}`}, "accepted a request"},
		{"create", "POST", "/v1/recordings", `{"file_name":"a.m4a","content_type":"audio/mp4","size_bytes":3}`,
			scripted{201, jsonCT, map[string]string{"Cache-Control": "no-store"}, `{"recording":` + rec("pending", `,"expires_at":"`+when+`"`) + `,"upload":{"method":"PUT","url":"http://127.0.0.1:9000/b/k","headers":{"Content-Type":"audio/mp4","Content-Length":"3","x-amz-tagging":"recording=01J0000000000000000000000B&user=01J0000000000000000000000A"},"expires_at":"` + when + `"}}`}, ""},
		{"replay", "POST", "/v1/recordings", `{"file_name":"a.m4a","content_type":"audio/mp4","size_bytes":3}`,
			scripted{200, jsonCT, map[string]string{"Cache-Control": "no-store", "Idempotent-Replayed": "true"}, `{"recording":` + rec("available", `,"uploaded_at":"`+when+`"`) + `}`}, ""},
		{"replay with a URL", "POST", "/v1/recordings", `{"file_name":"a.m4a","content_type":"audio/mp4","size_bytes":3}`,
			scripted{200, jsonCT, map[string]string{"Cache-Control": "no-store", "Idempotent-Replayed": "true"}, `{"recording":` + rec("available", `,"uploaded_at":"`+when+`"`) + `,"upload":{"method":"PUT","url":"http://127.0.0.1:9000/b/k","headers":{"Content-Type":"audio/mp4","Content-Length":"3","x-amz-tagging":"recording=01J0000000000000000000000B&user=01J0000000000000000000000A"},"expires_at":"` + when + `"}}`}, "upload"},
		{"pending without expiry", "POST", "/v1/recordings", `{"file_name":"a.m4a","content_type":"audio/mp4","size_bytes":3}`,
			scripted{201, jsonCT, map[string]string{"Cache-Control": "no-store"}, `{"recording":` + rec("pending", "") + `,"upload":{"method":"PUT","url":"http://127.0.0.1:9000/b/k","headers":{"Content-Type":"audio/mp4","Content-Length":"3","x-amz-tagging":"recording=01J0000000000000000000000B&user=01J0000000000000000000000A"},"expires_at":"` + when + `"}}`}, "expires_at"},

		{"list", "GET", "/v1/recordings?limit=10", "", scripted{200, jsonCT, nil, `{"items":[` + rec("available", `,"uploaded_at":"`+when+`"`) + `]}`}, ""},
		{"unknown query parameter accepted", "GET", "/v1/recordings?colour=red", "", scripted{200, jsonCT, nil, `{"items":[]}`}, "colour"},
		{"limit 0 accepted", "GET", "/v1/recordings?limit=0", "", scripted{200, jsonCT, nil, `{"items":[]}`}, "accepted a request"},
		{"limit 0 refused", "GET", "/v1/recordings?limit=0", "", scripted{400, problemCT, nil, problem(400, "validation_failed")}, ""},
		{"refused with an undocumented code", "GET", "/v1/recordings?limit=0", "", scripted{400, problemCT, nil, problem(400, "invalid_file_name")}, "code"},

		{"login existing", "POST", "/v1/auth/login", `{"provider":"google","id_token":"x"}`, scripted{200, jsonCT, map[string]string{"Cache-Control": "no-store"}, login(false)}, ""},
		{"login created says false", "POST", "/v1/auth/login", `{"provider":"google","id_token":"x"}`, scripted{201, jsonCT, map[string]string{"Cache-Control": "no-store"}, login(false)}, "created"},
		{"login without Content-Type", "POST", "/v1/auth/login", `{"provider":"google","id_token":"x"}`, scripted{200, jsonCT, map[string]string{"Cache-Control": "no-store"}, login(false)}, ""},
		{"undocumented response header", "GET", "/healthz", "", scripted{200, jsonCT, map[string]string{"X-Powered-By": "echo"}, `{"status":"ok"}`}, "X-Powered-By"},
		{"unknown field accepted", "POST", "/v1/auth/login", `{"provider":"google","id_token":"x","extra":1}`, scripted{200, jsonCT, map[string]string{"Cache-Control": "no-store"}, login(false)}, "accepted a request"},
		{"429", "POST", "/v1/auth/login", `{}`, scripted{429, problemCT, map[string]string{"Retry-After": "2"}, problem(429, "rate_limited")}, ""},
		{"429 without Retry-After", "POST", "/v1/auth/login", `{}`, scripted{429, problemCT, nil, problem(429, "rate_limited")}, "Retry-After"},

		{"not ready", "GET", "/readyz", "", scripted{503, problemCT, map[string]string{"Retry-After": "5"},
			`{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"d","code":"not_ready","request_id":"req-1","checks":{"dynamodb":"ok","s3":"unavailable"}}`}, ""},
		{"not ready without checks", "GET", "/readyz", "", scripted{503, problemCT, map[string]string{"Retry-After": "5"}, problem(503, "not_ready")}, "checks"},

		{"unknown route", "GET", "/nope", "", scripted{404, problemCT, nil, problem(404, "route_not_found")}, ""},
		{"unknown route, wrong code", "GET", "/nope", "", scripted{404, problemCT, nil, problem(404, "not_found")}, "code"},
		{"unknown route answered", "GET", "/nope", "", scripted{200, jsonCT, nil, `{}`}, "no operation"},
		{"unknown method", "DELETE", "/healthz", "", scripted{405, problemCT, nil, problem(405, "method_not_allowed")}, ""},
		{"401 for an unknown route", "GET", "/v1/nope", "", scripted{401, problemCT, map[string]string{"WWW-Authenticate": wwwAuth}, problem(401, "unauthorized")}, "no operation"},
		{"body limit anywhere", "GET", "/healthz", "", scripted{413, problemCT, nil, problem(413, "request_too_large")}, ""},
		{"HEAD is not GET", "HEAD", "/healthz", "", scripted{405, problemCT, nil, ""}, ""},
		{"HEAD answered as GET", "HEAD", "/healthz", "", scripted{200, jsonCT, nil, ""}, "no operation"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(tc.resp.serve))
			defer srv.Close()
			req, err := http.NewRequest(tc.method, srv.URL+tc.target, strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", bearer)
			req.Header.Set("X-Client-Version", "1.0") // unknown request headers are no breach
			if tc.body != "" && !strings.HasSuffix(tc.name, "without Content-Type") {
				req.Header.Set("Content-Type", jsonCT)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			err = c.Validate(req, []byte(tc.body), resp, body)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("valid exchange refused: %v", err)
			case tc.want != "" && err == nil:
				t.Errorf("invalid exchange accepted; want an error mentioning %q", tc.want)
			case tc.want != "" && !strings.Contains(err.Error(), tc.want):
				t.Errorf("error does not mention %q: %v", tc.want, err)
			}
		})
	}
}

// An HTTP server cannot send a body with 204, but a proxy or a hand-made
// response can; the document gives 204 no content.
func TestValidateNoContent(t *testing.T) {
	req := httptest.NewRequest("DELETE", "http://127.0.0.1/v1/me", nil)
	req.Header.Set("Authorization", bearer)
	resp := &http.Response{StatusCode: 204, Header: http.Header{"X-Request-Id": {"req-1"}}}
	if err := Load(t).Validate(req, nil, resp, nil); err != nil {
		t.Errorf("empty 204 refused: %v", err)
	}
	err := Load(t).Validate(req, nil, resp, []byte(`{}`))
	if err == nil || !strings.Contains(err.Error(), "no content") {
		t.Errorf("204 with a body: %v", err)
	}
}

// recorder is a testing.TB that keeps reported errors instead of failing.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Error(args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprint(args...))
}

func (r *recorder) Errorf(format string, args ...any) { r.Error(fmt.Sprintf(format, args...)) }

func TestClientChecksEveryExchange(t *testing.T) {
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("X-Request-Id", "req-1")
		w.Header().Set("Content-Type", problemCT)
		if r.URL.Path == "/v1/recordings" && strings.Contains(gotBody, "bad") {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, problem(400, "invalid_file_name"))
			return
		}
		// The wrong shape: a 400 with a code this operation never answers.
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, problem(400, "invalid_cursor"))
	}))
	defer srv.Close()

	tb := &recorder{TB: t}
	client := Load(t).Client(tb, nil)
	send := func(body string) string {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/recordings", strings.NewReader(body))
		req.Header.Set("Content-Type", jsonCT)
		req.Header.Set("Authorization", bearer)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	const good = `{"file_name":"bad/name","content_type":"audio/mp4","size_bytes":1}`
	if got := send(good); got != problem(400, "invalid_file_name") {
		t.Errorf("caller got body %q", got)
	}
	if gotBody != good {
		t.Errorf("server got body %q, want %q", gotBody, good)
	}
	if len(tb.errs) != 0 {
		t.Errorf("documented exchange reported: %v", tb.errs)
	}

	const other = `{"file_name":"x.m4a","content_type":"audio/mp4","size_bytes":1}`
	if got := send(other); got != problem(400, "invalid_cursor") {
		t.Errorf("caller got body %q after a breach", got)
	}
	if gotBody != other {
		t.Errorf("server got body %q, want %q", gotBody, other)
	}
	if len(tb.errs) != 1 || !strings.Contains(tb.errs[0], "$.code") {
		t.Errorf("breach not reported once, naming the code: %q", tb.errs)
	}
}

// The document is 3.1, so the checker must speak JSON Schema 2020-12, not
// the 3.0 dialect: a type array allows null, and nullable means nothing.
func TestJSONSchema2020(t *testing.T) {
	c, err := parse([]byte(`openapi: 3.1.1
info: {title: t, version: "1"}
paths:
  /x:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                required: [a]
                properties:
                  a: {type: [string, "null"]}
                  b: {type: integer, exclusiveMinimum: 0}
`))
	if err != nil {
		t.Fatal(err)
	}
	for body, valid := range map[string]bool{
		`{"a":null}`:        true,
		`{"a":"s","b":1}`:   true,
		`{"a":1}`:           false,
		`{"a":"s","b":0}`:   false,
		`{"b":1}`:           false,
		`{"a":"s","b":"1"}`: false,
	} {
		req := httptest.NewRequest("GET", "http://127.0.0.1/x", nil)
		resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {jsonCT}}}
		err := c.Validate(req, nil, resp, []byte(body))
		if (err == nil) != valid {
			t.Errorf("%s: valid=%v, error %v", body, valid, err)
		}
	}
}

func TestLint(t *testing.T) {
	if err := Load(t).Lint(); err != nil {
		t.Fatal(err)
	}
	bad, err := parse([]byte(`openapi: 3.0.3
info: {title: t, version: "1"}
paths:
  /x:
    get:
      responses:
        '200':
          content:
            application/json:
              schema: {type: object, required: [a], properties: {a: {type: string}}}
              example: {a: 1}
`))
	if err != nil {
		t.Fatal(err)
	}
	err = bad.Lint()
	for _, want := range []string{"3.1", "description", "example", "RouteNotFound"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("lint error does not mention %q: %v", want, err)
		}
	}
}

// Tests run in parallel and share one Contract.
func TestValidateConcurrently(t *testing.T) {
	c := Load(t)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			req := httptest.NewRequest("GET", "http://127.0.0.1/v1/recordings/"+ulid, nil)
			req.Header.Set("Authorization", bearer)
			resp := &http.Response{StatusCode: 200, Header: http.Header{"X-Request-Id": {"r"}, "Content-Type": {jsonCT}}}
			status := "available"
			if i%2 == 1 {
				status = "lost"
			}
			err := c.Validate(req, nil, resp, []byte(rec(status, download)))
			if (err == nil) != (i%2 == 0) {
				t.Errorf("status %s: %v", status, err)
			}
		})
	}
	wg.Wait()
}
