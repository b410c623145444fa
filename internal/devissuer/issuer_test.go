package devissuer_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/devissuer"
	"github.com/voicerec/backend/internal/wire"
)

// The dev issuer is an ordinary OIDC provider to the verifier: its tokens
// verify through discovery-free configuration, and its /token endpoint works
// for curl (GET) and for programs (POST form or JSON).
func TestTokensVerifyAsAnOrdinaryProvider(t *testing.T) {
	srv := httptest.NewUnstartedServer(nil)
	issuerURL := "http://" + srv.Listener.Addr().String()
	iss, err := devissuer.New(issuerURL, "local")
	if err != nil {
		t.Fatal(err)
	}
	srv.Config.Handler = iss.Handler()
	srv.Start()
	defer srv.Close()

	env := map[string]string{"OIDC_PROVIDERS": "dev", "OIDC_DEV_ISSUER": issuerURL, "OIDC_DEV_JWKS_URL": issuerURL + "/jwks", "OIDC_DEV_CLIENT_IDS": "local"}
	cfg, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	v, err := wire.Verifier(cfg)
	if err != nil {
		t.Fatal(err)
	}
	fetch := func(req *http.Request) string {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out struct {
			IDToken string `json:"id_token"`
		}
		if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil || out.IDToken == "" {
			t.Fatalf("token endpoint: %d", resp.StatusCode)
		}
		return out.IDToken
	}
	get, _ := http.NewRequest("GET", issuerURL+"/token?sub=alice&email=a@example.com&name=Alice", nil)
	form, _ := http.NewRequest("POST", issuerURL+"/token", strings.NewReader(url.Values{"sub": {"bob"}}.Encode()))
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	js, _ := http.NewRequest("POST", issuerURL+"/token", strings.NewReader(`{"sub":"carol","nonce":"n"}`))
	js.Header.Set("Content-Type", "application/json")

	for _, tc := range []struct {
		req        *http.Request
		nonce      string
		sub, email string
	}{{get, "", "alice", "a@example.com"}, {form, "", "bob", ""}, {js, "n", "carol", ""}} {
		id, err := v.Verify(context.Background(), "dev", fetch(tc.req), tc.nonce)
		if err != nil {
			t.Fatalf("%s: %v", tc.sub, err)
		}
		if id.Subject != tc.sub || id.Email != tc.email || id.Provider != "dev" {
			t.Fatalf("identity %+v", id)
		}
	}
	resp, err := http.Get(issuerURL + "/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("token without sub: %d", resp.StatusCode)
	}
}

// A page on another origin (the web companion at the API's port) reads
// /token: the answer carries Access-Control-Allow-Origin, and a preflight
// for a JSON POST is allowed.
func TestTokenEndpointAllowsBrowsers(t *testing.T) {
	iss, err := devissuer.New("http://127.0.0.1:1", "local")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(iss.Handler())
	defer srv.Close()

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/token?sub=alice", nil)
	req.Header.Set("Origin", "http://127.0.0.1:8080")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("GET /token: %d, Access-Control-Allow-Origin %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}

	req, _ = http.NewRequest(http.MethodOptions, srv.URL+"/token", nil)
	req.Header.Set("Origin", "http://127.0.0.1:8080")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		!strings.EqualFold(resp.Header.Get("Access-Control-Allow-Headers"), "content-type") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}
