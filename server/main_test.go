package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
	"github.com/voicerec/backend/internal/wire"
	"github.com/voicerec/backend/server/api"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The Lambda entry serves API Gateway v2 events through the same routes.
func TestLambdaAdapterServesRoutes(t *testing.T) {
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	app := newApp(t, env, cfg)
	handle := lambdaHandler(app)
	req := func(method, path string) events.APIGatewayV2HTTPResponse {
		resp, err := handle(context.Background(), events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: "$default", RawPath: path,
			Headers: map[string]string{"accept": "application/json"},
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				RequestID: "apigw-req-1", Stage: "$default",
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, SourceIP: "203.0.113.9"},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	if r := req("GET", "/readyz"); r.StatusCode != 200 || !strings.Contains(r.Body, `"ready"`) {
		t.Errorf("readyz through Lambda: %d %s", r.StatusCode, r.Body)
	}
	r := req("GET", "/missing")
	var p api.Problem
	if err := json.Unmarshal([]byte(r.Body), &p); err != nil || r.StatusCode != 404 || p.Code != "route_not_found" {
		t.Errorf("unknown route through Lambda: %d %s", r.StatusCode, r.Body)
	}
	if ct := r.Headers["Content-Type"]; ct != "application/problem+json" {
		t.Errorf("content type %q", ct)
	}
}

func TestRunRejectsBadConfiguration(t *testing.T) {
	env := map[string]string{"UPLOAD_URL_TTL": "forever"}
	err := run(context.Background(), func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "UPLOAD_URL_TTL") {
		t.Fatalf("want an error naming UPLOAD_URL_TTL, got %v", err)
	}
}

// gatewayEvent is an API Gateway HTTP API (payload v2) event as AWS sends it.
func gatewayEvent(method, path, sourceIP, body string, headers map[string]string) events.APIGatewayV2HTTPRequest {
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default", RawPath: path, Headers: headers, Body: body,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RequestID: "apigw-req", Stage: "$default", DomainName: "api.example.com",
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: method, Path: path, SourceIP: sourceIP},
		},
	}
}

// The login limiter keys on API Gateway's sourceIp, never on a header the
// client writes: rotating X-Forwarded-For does not buy more attempts, and
// naming a victim's address in it does not lock the victim out.
func TestLambdaLoginLimiterKeysOnSourceIP(t *testing.T) {
	env := testenv.Get(t)
	cfg := env.Config(t, map[string]string{"LOGIN_RATE_LIMIT": "1", "LOGIN_RATE_BURST": "2"})
	app := newApp(t, env, cfg)
	handle := lambdaHandler(app)
	login := func(sourceIP, forwardedFor string) events.APIGatewayV2HTTPResponse {
		t.Helper()
		resp, err := handle(context.Background(), gatewayEvent("POST", "/v1/auth/login", sourceIP,
			`{"provider":"dev","id_token":"junk"}`, map[string]string{
				"content-type": "application/json", "x-forwarded-for": forwardedFor, "x-real-ip": forwardedFor,
			}))
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	attacker, victim := "198.51.100.7", "203.0.113.9"
	for i, xff := range []string{"10.0.0.1", "10.0.0.2"} {
		if r := login(attacker, xff); r.StatusCode == http.StatusTooManyRequests {
			t.Fatalf("attempt %d limited too early: %s", i, r.Body)
		}
	}
	if r := login(attacker, "10.0.0.3"); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a fresh X-Forwarded-For bought another attempt: %d %s", r.StatusCode, r.Body)
	}
	if r := login(attacker, victim); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("attacker naming the victim's address: %d %s", r.StatusCode, r.Body)
	}
	if r := login(victim, attacker); r.StatusCode == http.StatusTooManyRequests {
		t.Fatalf("the victim is locked out by the attacker's attempts: %s", r.Body)
	}
}

// Headers reach the app as they were sent, on both paths: the adapter must
// not split a value on commas (an Idempotency-Key may contain them).
func TestLambdaHeadersAreNotSplitOnCommas(t *testing.T) {
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	app := s.Handler.(*echo.Echo)
	handle := lambdaHandler(app)
	token, _ := s.Login(t, "commas")
	body := `{"file_name":"memo.m4a","content_type":"audio/mp4","size_bytes":1000}`
	headers := map[string]string{
		"content-type": "application/json", "authorization": "Bearer " + token, "idempotency-key": "order-1,retry-2",
	}
	for i, want := range []string{"", "true"} {
		r, err := handle(context.Background(), gatewayEvent("POST", "/v1/recordings", "203.0.113.9", body, headers))
		if err != nil {
			t.Fatal(err)
		}
		if r.StatusCode != http.StatusCreated || r.Headers["Idempotent-Replayed"] != want {
			t.Fatalf("Lambda attempt %d: %d, Idempotent-Replayed %q: %s", i, r.StatusCode, r.Headers["Idempotent-Replayed"], r.Body)
		}
	}
	// The same request over plain HTTP replays the same recording.
	req, _ := http.NewRequest("POST", s.APIURL+"/v1/recordings", bytes.NewReader([]byte(body)))
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("plain HTTP: %d, Idempotent-Replayed %q", resp.StatusCode, resp.Header.Get("Idempotent-Replayed"))
	}
	// Other headers keep their commas too; a repeated header arrives joined,
	// as API Gateway joins it.
	r, err := handle(context.Background(), gatewayEvent("GET", "/v1/me", "203.0.113.9", "", map[string]string{
		"authorization": "Bearer " + token, "accept": "application/json, text/plain",
	}))
	if err != nil || r.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/me through Lambda: %v %d %s", err, r.StatusCode, r.Body)
	}
}

// newApp is the API over env's emulators, built the way run builds it.
func newApp(t *testing.T, env *testenv.Env, cfg config.Config) *echo.Echo {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	parts, err := wire.Build(context.Background(), cfg, log, wire.WithClients(env.Provision(t, cfg)))
	if err != nil {
		t.Fatal(err)
	}
	return api.New(api.Deps{Config: cfg, Log: log, Service: parts.Service})
}
