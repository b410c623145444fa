package api

import (
	"github.com/labstack/echo/v4"
)

// routes is the whole API surface in one place.
func (s *server) routes(e *echo.Echo) {
	e.Use(s.recoverPanics, s.requestID, s.accessLog, s.deadline, s.limitBody)

	e.GET("/healthz", s.healthz)
	e.GET("/readyz", s.readyz)
}
