package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/server/api"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The Lambda entry serves API Gateway v2 events through the same routes.
func TestLambdaAdapterServesRoutes(t *testing.T) {
	env := testenv.Get(t)
	cfg := env.Config(t, nil)
	app := api.FromClients(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), env.Provision(t, cfg), nil)
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
