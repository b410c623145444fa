package api

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
)

// routes is the whole API surface in one place.
func (s *server) routes(e *echo.Echo) {
	e.Use(s.recoverPanics, s.requestID, s.accessLog)
	if len(s.cfg.CORSAllowedOrigins) > 0 {
		e.Use(s.cors())
	}
	e.Use(s.deadline, s.limitBody, s.appFiles())

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
	e.GET("/openapi.yaml", serveOpenAPI)

	v1 := e.Group("/v1")
	v1.GET("/auth/providers", s.listProviders)
	v1.POST("/auth/nonce", s.issueNonce, limitByAddress(s.nonceLimit, msgNonceRateLimited))
	v1.POST("/auth/login", s.login, limitByAddress(s.loginLimit, msgLoginRateLimited))

	// Authentication is attached per route, not to a group: a group's
	// middleware would also claim unknown /v1 paths and answer them 401.
	auth := s.requireSession
	v1.POST("/auth/logout", s.logout, auth)
	v1.GET("/me", s.getMe, auth)
	v1.DELETE("/me", s.deleteMe, auth)
	v1.POST("/auth/refresh", s.refresh)
	v1.GET("/sessions", s.listSessions, auth)
	v1.DELETE("/sessions", s.revokeSessions, auth)
	v1.DELETE("/sessions/:id", s.revokeSession, auth)
	// These check the session inside their own DynamoDB operation.
	inOp := s.sessionInOperation
	v1.POST("/recordings", s.createRecording, inOp)
	v1.GET("/recordings", s.listRecordings, inOp)
	v1.GET("/recordings/:id", s.getRecording, inOp)
	v1.PATCH("/recordings/:id", s.renameRecording, inOp)
	v1.DELETE("/recordings/:id", s.deleteRecording, inOp)
	v1.POST("/recordings/:id/restore", s.restoreRecording, auth)
	v1.POST("/recordings/:id/parts", s.signParts, auth)
	v1.GET("/recordings/:id/parts", s.listParts, auth)
	v1.POST("/recordings/:id/complete", s.completeUpload, auth)
	v1.GET("/recordings/:id/transcript", s.getTranscript, auth)
	v1.POST("/recordings/:id/transcript", s.startTranscript, auth)
	v1.PATCH("/me", s.patchMe, auth)

	// Shares: the owner's routes, and the public link (limited per
	// address before any DynamoDB read; see shares.go).
	v1.POST("/recordings/:id/shares", s.createShare, auth)
	v1.GET("/shares", s.listShares, auth)
	v1.DELETE("/shares/:id", s.revokeShare, auth)
	e.GET("/s/:token", s.sharePage, limitByAddress(s.shareLimit, msgShareRateLimited))
	e.GET("/s/:token/audio", s.shareAudio, limitByAddress(s.shareLimit, msgShareRateLimited))

	// Exports: one archive of the caller's recordings, built by a worker.
	v1.POST("/exports", s.startExport, auth)
	v1.GET("/exports", s.listExports, auth)
	v1.GET("/exports/:id", s.getExport, auth)
	v1.GET("/changes", s.listChanges, auth)
	v1.POST("/recordings/lookup", s.lookupRecordings, auth)

	// Kakao's unlink callback, authenticated by Kakao's admin key.
	v1.POST("/providers/kakao/unlink", s.kakaoUnlink)
	v1.GET("/providers/kakao/unlink", s.kakaoUnlink)
}

// Login attempts are bounded per client address (LOGIN_RATE_LIMIT per
// minute, LOGIN_RATE_BURST at once) before any work, and per provider
// account (LOGIN_IDENTITY_RATE_LIMIT per hour, LOGIN_IDENTITY_RATE_BURST at
// once) once the ID token is verified. The address is the socket's or API
// Gateway's sourceIp, never a header (see clientIP). The counters live in
// this process, bounded in memory (maxLimiterKeys): in Lambda each instance
// counts alone, and API Gateway's stage throttling is the global bound.
const (
	msgLoginRateLimited = "too many sign-in attempts; wait a moment"
	msgIdentityLimited  = "too many sign-ins to this account; wait a while"
	msgNonceRateLimited = "too many nonce requests; wait a moment"
	// Failed session checks are bounded per client address too
	// (AUTH_FAILURE_RATE_LIMIT per minute, AUTH_FAILURE_RATE_BURST at once):
	// see requireSession.
	msgAuthFailuresLimited = "too many requests with a missing, invalid or expired session token; wait a moment, or sign in again"
)

// cors lets web apps on CORS_ALLOWED_ORIGINS call the API: exact origins
// only (a look-alike or an unlisted origin gets no Access-Control-* header
// at all), the request headers the API reads, and the response headers an
// app needs to read. No credentials: the API takes bearer tokens, never
// cookies. It runs before routing's authentication, so a preflight (which
// carries no token) is answered here.
func (s *server) cors() echo.MiddlewareFunc {
	allowed := s.cfg.CORSAllowedOrigins
	return middleware.CORSWithConfig(middleware.CORSConfig{
		AllowOriginFunc: func(origin string) (bool, error) { return slices.Contains(allowed, origin), nil },
		AllowMethods:    []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete},
		AllowHeaders:    []string{echo.HeaderAuthorization, echo.HeaderContentType, "Idempotency-Key", echo.HeaderXRequestID},
		ExposeHeaders:   []string{"Retry-After", "Idempotent-Replayed", echo.HeaderXRequestID, "WWW-Authenticate"},
		MaxAge:          600,
	})
}
