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

	"github.com/labstack/echo/v4"
	"golang.org/x/sync/singleflight"

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/export"
	"github.com/voicerec/backend/internal/recorder"
)

// Deps is everything the API needs: the service that owns every
// operation, and what the HTTP layer itself reads (limits, CORS, timeouts).
type Deps struct {
	Config config.Config
	Log    *slog.Logger
	// Service is nil only in tests that never reach an operation.
	Service *recorder.Service
	// Exports starts and reads exports (nil: the export routes answer 503).
	Exports *export.Service
	// Now is the clock of the rate limits and the session cache; the
	// service has its own (the composition root passes both the same).
	Now func() time.Time
}

type server struct {
	cfg config.Config
	log *slog.Logger
	svc *recorder.Service
	now func() time.Time

	sessionUsers sessionUsers

	exports *export.Service

	// readyz's last dependency check, and the one under way.
	readyMu   sync.Mutex
	ready     readiness
	readyOnce singleflight.Group

	loginLimit    *limiter // per client address
	identityLimit *limiter // per provider account
	nonceLimit    *limiter // nonce issues per client address
	authFailures  *limiter // failed session checks per client address
	shareLimit    *limiter // shared-link requests per client address
}

// New returns the API as an http.Handler (an *echo.Echo).
func New(d Deps) *echo.Echo {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Service == nil {
		d.Service = recorder.New(recorder.Deps{Config: d.Config, Log: d.Log, Now: d.Now})
	}
	s := &server{cfg: d.Config, log: d.Log, svc: d.Service, now: d.Now}
	s.exports = d.Exports
	s.nonceLimit = newLimiter(d.Config.LoginRateLimit, d.Config.LoginBurst, d.Now)
	s.loginLimit = newLimiter(d.Config.LoginRateLimit, d.Config.LoginBurst, d.Now)
	s.identityLimit = newLimiter(d.Config.LoginIdentityRateLimit/60, d.Config.LoginIdentityBurst, d.Now)
	s.authFailures = newLimiter(d.Config.AuthFailureRateLimit, d.Config.AuthFailureBurst, d.Now)
	s.shareLimit = newLimiter(d.Config.ShareRateLimit, d.Config.ShareBurst, d.Now)
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
	checks := s.svc.Dependencies()
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
