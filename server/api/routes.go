package api

import (
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"golang.org/x/time/rate"
)

// routes is the whole API surface in one place.
func (s *server) routes(e *echo.Echo) {
	e.Use(s.recoverPanics, s.requestID, s.accessLog, s.deadline, s.limitBody)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.yaml", serveOpenAPI)

	v1 := e.Group("/v1")
	v1.POST("/auth/login", s.login, s.loginRateLimit())

	// Authentication is attached per route, not to a group: a group's
	// middleware would also claim unknown /v1 paths and answer them 401.
	auth := s.requireSession
	v1.POST("/auth/logout", s.logout, auth)
	v1.GET("/me", s.getMe, auth)
	v1.DELETE("/me", s.deleteMe, auth)
	v1.POST("/recordings", s.createRecording, auth)
	v1.GET("/recordings", s.listRecordings, auth)
	v1.GET("/recordings/:id", s.getRecording, auth)
	v1.PATCH("/recordings/:id", s.renameRecording, auth)
	v1.DELETE("/recordings/:id", s.deleteRecording, auth)
}

// loginRateLimit bounds login attempts per client address (LOGIN_RATE_LIMIT
// per minute, LOGIN_RATE_BURST at once). The counters live in this process:
// in Lambda each instance counts alone, and API Gateway's stage throttling
// is the global bound.
func (s *server) loginRateLimit() echo.MiddlewareFunc {
	store := middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate:      rate.Limit(s.cfg.LoginRateLimit / 60),
		Burst:     s.cfg.LoginBurst,
		ExpiresIn: 5 * time.Minute,
	})
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store: store,
		IdentifierExtractor: func(c echo.Context) (string, error) {
			return c.RealIP(), nil
		},
		DenyHandler: func(c echo.Context, _ string, _ error) error {
			return errRateLimited
		},
	})
}
