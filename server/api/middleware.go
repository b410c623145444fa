package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/metrics"
)

// recoverPanics turns a panic into a logged 500 problem: the stack goes to
// the log, never to the user.
func (s *server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				s.log.ErrorContext(c.Request().Context(), "panic", "route", c.Path(),
					"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		return next(c)
	}
}

var safeRequestID = regexp.MustCompile(`^[A-Za-z0-9._:=-]{1,128}$`)

// requestID keeps a caller's X-Request-Id when it looks harmless (API
// Gateway and proxies set one), otherwise makes one, and echoes it back.
func (s *server) requestID(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		id := c.Request().Header.Get(echo.HeaderXRequestID)
		if !safeRequestID.MatchString(id) {
			b := make([]byte, 12)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Response().Header().Set(echo.HeaderXRequestID, id)
		return next(c)
	}
}

// accessLog writes one line per request. It logs the route pattern, not the
// raw URL, and no headers, so no token or signed URL can reach the logs.
func (s *server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err) // write the problem now so the status below is final
		}
		attrs := []any{
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method,
			"route", c.Path(),
			"status", c.Response().Status,
			"latency_ms", float64(time.Since(start).Microseconds()) / 1000,
			"bytes_out", c.Response().Size,
		}
		if uid, ok := c.Get(ctxUserID).(string); ok {
			attrs = append(attrs, "user_id", uid)
		}
		attrs = append(attrs, requestMetrics(c, time.Since(start))...)
		s.log.InfoContext(c.Request().Context(), "request", attrs...)
		return nil
	}
}

// deadline gives every request, and so every outbound call made with its
// context, a time budget (REQUEST_TIMEOUT).
func (s *server) deadline(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(metrics.WithService(c.Request().Context(), metrics.ServiceAPI), s.cfg.RequestTimeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		return next(c)
	}
}

// limitBody refuses oversized bodies: early from Content-Length, and while
// reading for chunked ones.
func (s *server) limitBody(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if r.ContentLength > s.cfg.MaxBodyBytes {
			return echo.NewHTTPError(http.StatusRequestEntityTooLarge)
		}
		r.Body = http.MaxBytesReader(c.Response(), r.Body, s.cfg.MaxBodyBytes)
		return next(c)
	}
}

// Context keys set by middleware.
const ctxUserID = "user_id"

const ctxTokenHash = "token_hash"

// Context keys the handlers set for the request's metrics.
const (
	ctxLoginProvider = "metrics.login_provider"
	ctxUploadMethod  = "metrics.upload_method"
)

// requestMetrics makes the access log line an EMF record: requests by
// status class, latency by route, and the login or the new upload the
// request was.
func requestMetrics(c echo.Context, took time.Duration) []any {
	status := c.Response().Status
	route := c.Path()
	if route == "" {
		route = "unmatched"
	}
	dims := map[string]string{
		metrics.DimService: metrics.ServiceAPI, metrics.DimStatusClass: metrics.StatusClass(status), metrics.DimRoute: route,
	}
	values := []metrics.Value{
		{Metric: metrics.Requests, Value: 1},
		{Metric: metrics.Latency, Value: float64(took.Microseconds()) / 1000},
	}
	if p, ok := c.Get(ctxLoginProvider).(string); ok {
		dims[metrics.DimProvider], dims[metrics.DimOutcome] = p, loginOutcome(status)
		values = append(values, metrics.Value{Metric: metrics.Logins, Value: 1})
	}
	if m, ok := c.Get(ctxUploadMethod).(string); ok && status == http.StatusCreated {
		dims[metrics.DimMethod] = m
		values = append(values, metrics.Value{Metric: metrics.UploadsCreated, Value: 1})
	}
	return metrics.Attrs(time.Now(), dims, values...)
}

func loginOutcome(status int) string {
	switch {
	case status < 300:
		return "success"
	case status == http.StatusUnauthorized:
		return "rejected"
	case status == http.StatusTooManyRequests:
		return "rate_limited"
	case status >= 500:
		return "error"
	}
	return "invalid"
}
