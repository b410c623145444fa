package api_test

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/testenv/contract"
	"github.com/voicerec/backend/server/api"
)

func TestOpenAPIDocumentIsValid31(t *testing.T) {
	t.Parallel()
	if err := contract.Load(t).Lint(); err != nil {
		t.Fatal(err)
	}
}

// bareAPI is the application with no dependency wired: enough for whatever
// touches none, such as the route table and the document, without emulators.
func bareAPI(t *testing.T) *echo.Echo {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return api.New(api.Deps{Config: cfg, Log: slog.New(slog.DiscardHandler)})
}

// The document and the router must list the same operations: a route
// missing from the document is undocumented API, and an operation missing
// from the router is a promise the server does not keep.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	e := bareAPI(t)
	var served []contract.Operation
	for _, r := range e.Routes() {
		// echo registers catch-all routes under pseudo-methods (for
		// example to run group middleware on unknown paths); they are
		// no operations.
		if !slices.Contains(httpMethods, r.Method) {
			continue
		}
		op := contract.Operation{Method: r.Method, Path: r.Path}
		if !slices.Contains(served, op) {
			served = append(served, op)
		}
	}
	documented := contract.Load(t).Operations()
	for _, op := range served {
		if !slices.Contains(documented, op) {
			t.Errorf("%s %s is served but not in openapi.yaml", op.Method, op.Path)
		}
	}
	for _, op := range documented {
		if !slices.Contains(served, op) {
			t.Errorf("%s %s is in openapi.yaml but not served", op.Method, op.Path)
		}
	}
}

var httpMethods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace,
}

func TestOpenAPIDocumentIsServed(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(bareAPI(t))
	defer srv.Close()
	resp, err := contract.Load(t).Client(t, nil).Get(srv.URL + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("content type %q", ct)
	}
	if !bytes.Equal(body, api.OpenAPIDocument()) {
		t.Errorf("served document differs from the embedded one (%d bytes vs %d)", len(body), len(api.OpenAPIDocument()))
	}
}

// The answers the document gives for requests that match no operation are
// what the server sends. None of them reaches a dependency, so the bare
// application serves them.
func TestOpenAPIConventionsHold(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(bareAPI(t))
	defer srv.Close()
	client := contract.Load(t).Client(t, nil)
	cases := []struct {
		method, path, body string
		status             int
	}{
		{"GET", "/healthz", "", http.StatusOK},
		{"GET", "/no/such/route", "", http.StatusNotFound},
		{"DELETE", "/healthz", "", http.StatusMethodNotAllowed},
		{"HEAD", "/healthz", "", http.StatusMethodNotAllowed},
		{"GET", "/v1/no/such/route", "", http.StatusNotFound},
		{"PUT", "/v1/me", "", http.StatusMethodNotAllowed},
		{"GET", "/v1/me", "", http.StatusUnauthorized},
		{"POST", "/healthz", strings.Repeat("x", 1<<20), http.StatusRequestEntityTooLarge},
		{"GET", "/healthz", strings.Repeat("x", 1<<20), http.StatusRequestEntityTooLarge},
	}
	for _, tc := range cases {
		req, err := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}
}

// OPTIONS is the one method the document's conventions answer apart: echo
// answers it on every served path with 204 and an Allow header, and the CORS
// middleware, when on, answers it on any path. The document used to promise
// a 405 instead.
func TestOptionsIsAnsweredAsDocumented(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cors        bool
		path        string
		status      int
		allowListed string
	}{
		{false, "/v1/me", http.StatusNoContent, "DELETE"},
		{false, "/v1/recordings/01J9Z3M0A1B2C3D4E5F6G7H8J9", http.StatusNoContent, "PATCH"},
		{false, "/no/such/route", http.StatusNotFound, ""},
		{true, "/v1/me", http.StatusNoContent, ""},
		{true, "/no/such/route", http.StatusNoContent, ""},
	} {
		t.Run(fmt.Sprintf("cors=%v %s", tc.cors, tc.path), func(t *testing.T) {
			env := map[string]string{}
			if tc.cors {
				env["CORS_ALLOWED_ORIGINS"] = "https://app.example.com"
			}
			cfg, err := config.Load(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(api.New(api.Deps{Config: cfg, Log: slog.New(slog.DiscardHandler)}))
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodOptions, srv.URL+tc.path, nil)
			if tc.cors {
				req.Header.Set("Origin", "https://app.example.com")
				req.Header.Set("Access-Control-Request-Method", "GET")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.status)
			}
			if tc.status == http.StatusNoContent && len(body) != 0 {
				t.Errorf("204 with a body: %q", body)
			}
			if tc.allowListed != "" && !strings.Contains(resp.Header.Get("Allow"), tc.allowListed) {
				t.Errorf("Allow %q does not list %s", resp.Header.Get("Allow"), tc.allowListed)
			}
			if tc.cors && resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
				t.Errorf("preflight without CORS headers: %v", resp.Header)
			}
		})
	}
}
