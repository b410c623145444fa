// Package api is the HTTP API: one echo application, built from explicit
// dependencies, that serves the local stack, the Lambda adapter and the tests
// through the same code path.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/labstack/echo/v4"
	"golang.org/x/sync/singleflight"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/lifecycle"
	"github.com/voicerec/backend/internal/providers"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// Deps is everything the API needs. Tests build it against the emulators.
type Deps struct {
	Config   config.Config
	Log      *slog.Logger
	DynamoDB *dynamodb.Client
	Store    *dynamo.Store
	Objects  *s3.Store
	Verifier *auth.Verifier
	// Providers are the identity providers the API calls on a user's
	// behalf (nil: none).
	Providers *providers.Set
	Now       func() time.Time
}

type server struct {
	cfg      config.Config
	log      *slog.Logger
	ddb      *dynamodb.Client
	store    *dynamo.Store
	objects  *s3.Store
	verifier *auth.Verifier
	keeper   *lifecycle.Keeper
	// providers may be nil.
	providers *providers.Set
	limits    recording.Limits
	now       func() time.Time

	nonces *dynamo.Nonces

	sessionUsers sessionUsers

	// readyz's last dependency check, and the one under way.
	readyMu   sync.Mutex
	ready     readiness
	readyOnce singleflight.Group

	loginLimit    *limiter // per client address
	identityLimit *limiter // per provider account
	nonceLimit    *limiter // nonce issues per client address
	authFailures  *limiter // failed session checks per client address
}

// New returns the API as an http.Handler (an *echo.Echo).
func New(d Deps) *echo.Echo {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Verifier == nil {
		d.Verifier, _ = auth.NewVerifier(nil, auth.Options{}) // every provider unknown
	}
	s := &server{cfg: d.Config, log: d.Log, ddb: d.DynamoDB, store: d.Store, objects: d.Objects, verifier: d.Verifier, now: d.Now,
		keeper: &lifecycle.Keeper{Store: d.Store, Objects: d.Objects, Log: d.Log, Now: d.Now, TrashRetention: d.Config.TrashRetention,
			Providers: d.Providers},
		providers: d.Providers,
		limits: recording.Limits{
			MaxUploadBytes: d.Config.MaxUploadBytes, MaxBytes: d.Config.QuotaMaxBytes,
			MaxRecordings: d.Config.QuotaMaxRecordings, MaxPending: d.Config.QuotaMaxPendingUploads,
		}}
	if d.DynamoDB != nil {
		s.nonces = dynamo.NewNonces(d.DynamoDB, d.Config.TablePrefix)
	}
	s.nonceLimit = newLimiter(d.Config.LoginRateLimit, d.Config.LoginBurst, d.Now)
	s.loginLimit = newLimiter(d.Config.LoginRateLimit, d.Config.LoginBurst, d.Now)
	s.identityLimit = newLimiter(d.Config.LoginIdentityRateLimit/60, d.Config.LoginIdentityBurst, d.Now)
	s.authFailures = newLimiter(d.Config.AuthFailureRateLimit, d.Config.AuthFailureBurst, d.Now)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.IPExtractor = clientIP
	e.HTTPErrorHandler = s.errorHandler
	s.routes(e)
	return e
}

// readiness bounds each dependency check so /readyz answers promptly even
// when a dependency hangs.
const readinessTimeout = 2 * time.Second

// readinessMaxAge is how old a /readyz answer may be. /readyz is anonymous
// and its check costs several AWS calls; answering from the last check
// bounds what any number of callers cost to one check per interval.
const readinessMaxAge = 5 * time.Second

// readiness is the last dependency check and when it started.
type readiness struct {
	at     time.Time
	checks map[string]string // dependency: ok or unavailable
	failed bool
}

func (s *server) healthz(c echo.Context) error {
	return writeJSON(c, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) readyz(c echo.Context) error {
	r := s.currentReadiness(c.Request().Context())
	if !r.failed {
		return writeJSON(c, http.StatusOK, map[string]any{"status": "ready", "checks": r.checks})
	}
	c.Response().Header().Set("Retry-After", "5")
	var names []string
	for _, n := range []string{"dynamodb", "s3"} {
		if r.checks[n] != "ok" {
			names = append(names, n)
		}
	}
	return writeProblemDoc(c, Problem{
		Type: "about:blank", Title: http.StatusText(http.StatusServiceUnavailable), Status: http.StatusServiceUnavailable,
		Detail: "not ready: " + strings.Join(names, ", ") + " unreachable", Code: "not_ready",
		RequestID: c.Response().Header().Get(echo.HeaderXRequestID), Checks: r.checks,
	})
}

// currentReadiness is the last check if it is recent enough, else a new
// one, which callers arriving meanwhile wait for and share.
func (s *server) currentReadiness(ctx context.Context) readiness {
	if r, ok := s.freshReadiness(); ok {
		return r
	}
	v, _, _ := s.readyOnce.Do("readyz", func() (any, error) {
		// A caller that waited for the previous check finds it here.
		if r, ok := s.freshReadiness(); ok {
			return r, nil
		}
		// The check is shared: one caller going away must not cut it short.
		r := s.checkDependencies(context.WithoutCancel(ctx))
		s.readyMu.Lock()
		s.ready = r
		s.readyMu.Unlock()
		return r, nil
	})
	return v.(readiness)
}

func (s *server) freshReadiness() (readiness, bool) {
	s.readyMu.Lock()
	defer s.readyMu.Unlock()
	r := s.ready
	return r, r.checks != nil && s.now().Sub(r.at) < readinessMaxAge
}

// checkDependencies asks each dependency at once, each within
// readinessTimeout.
func (s *server) checkDependencies(ctx context.Context) readiness {
	at := s.now()
	checks := map[string]func(context.Context) error{
		"dynamodb": func(ctx context.Context) error { return pingTables(ctx, s.ddb, s.cfg.TablePrefix) },
		"s3":       s.objects.Ping,
	}
	type result struct {
		name string
		err  error
	}
	results := make(chan result, len(checks))
	for name, check := range checks {
		go func() {
			cctx, cancel := context.WithTimeout(ctx, readinessTimeout)
			defer cancel()
			results <- result{name, check(cctx)}
		}()
	}
	r := readiness{at: at, checks: map[string]string{}}
	for range checks {
		res := <-results
		r.checks[res.name] = "ok"
		if res.err != nil {
			r.failed = true
			r.checks[res.name] = "unavailable"
			s.log.WarnContext(ctx, "readiness check failed", "dependency", res.name, "error", res.err)
		}
	}
	return r
}
