package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// Request bodies are read strictly: exactly application/json (charset
// utf-8 at most), no duplicate keys (a validator and a handler could read
// different values), and no field names that only match case-insensitively.
func TestJSONBodiesAreStrict(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	anon := newClient(t, s.APIURL, "")
	good := `{"provider":"dev","id_token":"junk"}`
	for _, tc := range []struct {
		name, contentType, body string
		status                  int
		code                    string
		detail                  string // a part of the problem's detail, if given
	}{
		{"application/jsonx", "application/jsonx", good, 415, "unsupported_media_type", ""},
		{"text/plain", "text/plain", good, 415, "unsupported_media_type", ""},
		{"no content type", "", good, 415, "unsupported_media_type", ""},
		{"json with a foreign charset", "application/json; charset=latin1", good, 415, "unsupported_media_type", ""},
		{"json with an extra parameter", "application/json; profile=x", good, 415, "unsupported_media_type", ""},
		{"duplicate key", "application/json", `{"provider":"dev","provider":"other","id_token":"junk"}`, 400, "invalid_request", ""},
		{"duplicate nested key", "application/json", `{"provider":"dev","id_token":"junk","nonce":{"a":1,"a":2}}`, 400, "invalid_request", ""},
		{"case-folded field", "application/json", `{"PROVIDER":"dev","id_token":"junk"}`, 400, "invalid_request", ""},
		{"mixed-case field", "application/json", `{"provider":"dev","Id_Token":"junk"}`, 400, "invalid_request", ""},
		{"unicode case fold", "application/json", `{"provider":"dev","id_to\u212aen":"junk"}`, 400, "invalid_request", ""},
		{"wrong type", "application/json", `{"provider":5,"id_token":"junk"}`, 400, "invalid_request", `field "provider" must be a string`},
		{"not an object", "application/json", `["dev"]`, 400, "invalid_request", "must be a JSON object"},
		// Accepted: the token itself is junk, so verification answers 401.
		{"plain json", "application/json", good, 401, "invalid_id_token", ""},
		{"json utf-8", "application/json; charset=utf-8", good, 401, "invalid_id_token", ""},
		{"json UTF-8 quoted, upper case type", `Application/JSON; charset="UTF-8"`, good, 401, "invalid_id_token", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", s.APIURL+"/v1/auth/login", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := anon.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			r := readResult(t, resp)
			p := wantProblem(t, r, tc.status, tc.code)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q, want it to say %q", p.Detail, tc.detail)
			}
		})
	}
	// The same rules on an authenticated route.
	tok, _ := s.Login(t, "json")
	c := newClient(t, s.APIURL, tok)
	wantProblem(t, c.do("PATCH", "/v1/recordings/01J9Z3M0A1B2C3D4E5F6G7H8J9", `{"file_name":"a.m4a","file_name":"b.m4a"}`), 400, "invalid_request")
	wantProblem(t, c.do("PATCH", "/v1/recordings/01J9Z3M0A1B2C3D4E5F6G7H8J9", `{"FILE_NAME":"a.m4a"}`), 400, "invalid_request")
	wantProblem(t, c.do("POST", "/v1/recordings", `{"file_name":"a.m4a"}`, "Content-Type", "application/jsonx"), 415, "unsupported_media_type")
}
