package api_test

import (
	"bytes"
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
