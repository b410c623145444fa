// Package stack runs the whole backend in-process over a test package's
// emulators: a development OIDC issuer, the API on a loopback port, and the
// events handler behind MinIO's webhook. It is what the API tests and the
// CLI's end-to-end test talk to, exactly as an app would.
package stack

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/awsclients"
	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/devissuer"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/export"
	"github.com/voicerec/backend/internal/lifecycle"
	"github.com/voicerec/backend/internal/metrics"
	"github.com/voicerec/backend/internal/s3"
	"github.com/voicerec/backend/internal/s3event"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/wire"
	"github.com/voicerec/backend/server/api"
)

// ClientID is the audience the stack's dev issuer mints tokens for.
const ClientID = "recorder-test"

// Stack is a running backend.
type Stack struct {
	Env     *testenv.Env
	Config  config.Config
	Clients awsclients.Clients
	Store   *dynamo.Store
	Objects *s3.Store
	Issuer  *devissuer.Issuer
	// Handler is the API itself, for tests that call it without a network.
	Handler http.Handler
	// Events is the handler MinIO's notifications reach.
	Events *s3event.Handler
	// Keeper is the one lifecycle keeper the API and the events handler
	// share: tests run reconcile passes through it.
	Keeper *lifecycle.Keeper
	// ExportWorker builds the stack's exports (in-process queue).
	ExportWorker *export.Worker
	// IssuerURL and APIURL are the base URLs of the dev issuer and the API.
	IssuerURL, APIURL string
	// Logs holds everything the API and the events handler logged.
	Logs *SyncBuffer

	clock *Clock
}

// Options tune a stack.
type Options struct {
	// Env adds or overrides configuration variables.
	Env map[string]string
	// Clock, when set, is the API's clock (for expiry tests).
	Clock *Clock
	// StandIn names built-in providers ("apple", "kakao") whose ID tokens
	// the dev issuer mints (audience ClientID, nonce not required). Their
	// outbound calls (APPLE_*, KAKAO_* variables in Env) go where Env says:
	// fake servers in tests.
	StandIn []string
	// Transcripts, when set, is what the export worker reads transcripts
	// from.
	Transcripts export.TranscriptSource
}

// Start runs a stack on env's emulators until the test ends.
func Start(t testing.TB, env *testenv.Env, o Options) *Stack {
	t.Helper()
	issSrv := httptest.NewUnstartedServer(nil)
	issuerURL := "http://" + issSrv.Listener.Addr().String()
	iss, err := devissuer.New(issuerURL, ClientID)
	if err != nil {
		t.Fatal(err)
	}
	issSrv.Config.Handler = iss.Handler()
	issSrv.Start()
	t.Cleanup(issSrv.Close)

	vars := map[string]string{
		"OIDC_PROVIDERS":            "dev",
		"OIDC_DEV_ISSUER":           issuerURL,
		"OIDC_DEV_JWKS_URL":         issuerURL + "/jwks",
		"OIDC_DEV_CLIENT_IDS":       ClientID,
		"OIDC_DEV_TOKEN_URL":        issuerURL + "/token",
		"LOGIN_RATE_LIMIT":          "6000",
		"LOGIN_RATE_BURST":          "1000",
		"LOGIN_IDENTITY_RATE_LIMIT": "60000",
		"LOGIN_IDENTITY_RATE_BURST": "1000",
		// Tests and fuzzers send many bad tokens from one address; the
		// tests of the failure budget set their own.
		"AUTH_FAILURE_RATE_LIMIT": "1048576",
		"AUTH_FAILURE_RATE_BURST": "1048576",
		// Tests open shared links many times; the limit's own test sets
		// its own.
		"SHARE_RATE_LIMIT": "1048576",
		"SHARE_RATE_BURST": "1048576",
	}
	for _, name := range o.StandIn {
		n := strings.ToUpper(name)
		vars["OIDC_"+n+"_ISSUER"] = issuerURL
		vars["OIDC_"+n+"_JWKS_URL"] = issuerURL + "/jwks"
		vars[n+"_CLIENT_IDS"] = ClientID
		vars[n+"_REQUIRE_NONCE"] = "false"
	}
	if o.Clock != nil {
		// A test that moves the clock moves it past upload windows of an
		// hour or a day; its tokens outlive them unless it sets their
		// lifetime itself.
		vars["ACCESS_TOKEN_TTL"] = "720h"
	}
	for k, v := range o.Env {
		vars[k] = v
	}
	getenv := env.Getenv(t, vars)
	cfg, err := config.Load(getenv)
	if err != nil {
		t.Fatal(err)
	}
	logs := &SyncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts := []wire.Option{wire.WithClients(env.Provision(t, cfg))}
	if o.Clock != nil {
		opts = append(opts, wire.WithClock(o.Clock.Now))
	}
	if o.Transcripts != nil {
		opts = append(opts, wire.WithTranscripts(o.Transcripts))
	}
	parts, err := wire.Build(context.Background(), cfg, log, opts...)
	if err != nil {
		t.Fatal(err)
	}
	s := &Stack{
		Env: env, Config: cfg, Clients: parts.Clients, Issuer: iss, IssuerURL: issuerURL, Logs: logs, clock: o.Clock,
		Store: parts.Store, Objects: parts.Objects, Keeper: parts.Keeper,
	}
	s.Handler = api.New(api.Deps{Config: cfg, Log: log, Service: parts.Service, Now: parts.Now, Exports: parts.Exports})
	s.ExportWorker = parts.ExportWorker
	apiSrv := httptest.NewServer(s.Handler)
	t.Cleanup(apiSrv.Close)
	s.APIURL = apiSrv.URL

	s.Events = s3event.New(log, parts.Keeper, parts.Objects, cfg.ReconcileMaxItems)
	env.OnEvent(t, cfg.Bucket, s.Events.Handle)
	return s
}

// IDToken mints a dev ID token for sub.
func (s *Stack) IDToken(t testing.TB, sub string) string {
	t.Helper()
	tok, err := s.Issuer.Mint(devissuer.Claims{Subject: sub, Audience: ClientID})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Login signs sub in through the API and returns the session token and the
// user's id.
func (s *Stack) Login(t testing.TB, sub string) (token, userID string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"provider": "dev", "id_token": s.IDToken(t, sub)})
	resp, err := http.Post(s.APIURL+"/v1/auth/login", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		t.Fatalf("login %s: %d", sub, resp.StatusCode)
	}
	var out struct {
		AccessToken string `json:"access_token"`
		User        struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out.AccessToken, out.User.ID
}

// AssertLogsFree fails the test if any of secrets appears in the logs.
func (s *Stack) AssertLogsFree(t testing.TB, secrets ...string) {
	t.Helper()
	logs := s.Logs.String()
	for _, sec := range secrets {
		if sec != "" && strings.Contains(logs, sec) {
			t.Errorf("a secret reached the logs: %.24s...", sec)
		}
	}
}

// Clock is the API's current time.
func (s *Stack) Clock() time.Time {
	if s.clock != nil {
		return s.clock.Now()
	}
	return time.Now()
}

// Clock is a settable clock for expiry tests.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the real time plus the offset.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Logged returns the log entries with message msg, each decoded from its
// JSON line.
func (s *Stack) Logged(msg string) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(s.Logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// EmittedMetrics checks every EMF line the stack logged against the EMF
// rules CloudWatch enforces, failing the test on an invalid one, and
// returns the names of the metrics emitted.
func (s *Stack) EmittedMetrics(t testing.TB) map[string]bool {
	t.Helper()
	emitted := map[string]bool{}
	for _, line := range strings.Split(s.Logs.String(), "\n") {
		if !strings.Contains(line, `"_aws"`) {
			continue
		}
		names, err := metrics.ValidateEMF([]byte(line))
		if err != nil {
			t.Errorf("invalid EMF: %v: %s", err, line)
		}
		for _, n := range names {
			emitted[n] = true
		}
	}
	return emitted
}
