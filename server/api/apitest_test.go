package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/wire"
	"github.com/voicerec/backend/server/api"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newAPI provisions an isolated stack on env and serves the API over it.
func newAPI(t *testing.T, env *testenv.Env, extra map[string]string) (*httptest.Server, config.Config) {
	t.Helper()
	cfg := env.Config(t, extra)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	parts, err := wire.Build(context.Background(), cfg, log, wire.WithClients(env.Provision(t, cfg)))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Deps{Config: cfg, Log: log, Service: parts.Service}))
	t.Cleanup(srv.Close)
	return srv, cfg
}

func mustDo(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
