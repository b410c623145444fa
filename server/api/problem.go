package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/recording"
)

// Problem is an RFC 9457 problem document. Code is our stable,
// machine-readable identifier; apps switch on it, not on Title or Detail.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail,omitempty"`
	Code      string `json:"code"`
	RequestID string `json:"request_id,omitempty"`
	// Checks names what is not ready, on /readyz.
	Checks map[string]string `json:"checks,omitempty"`
}

const problemContentType = "application/problem+json"

// statusOf is the one place a domain error code becomes an HTTP status.
var statusOf = map[recording.Code]int{
	recording.CodeInvalidRequest:   http.StatusBadRequest,
	recording.CodeValidation:       http.StatusBadRequest,
	recording.CodeInvalidFileName:  http.StatusBadRequest,
	recording.CodeInvalidCursor:    http.StatusBadRequest,
	recording.CodeUnknownProvider:  http.StatusBadRequest,
	recording.CodeUnsupportedType:  http.StatusUnsupportedMediaType,
	recording.CodeTooLarge:         http.StatusRequestEntityTooLarge,
	recording.CodeBodyTooLarge:     http.StatusRequestEntityTooLarge,
	recording.CodeQuotaExceeded:    http.StatusForbidden,
	recording.CodeNotFound:         http.StatusNotFound,
	recording.CodeRouteNotFound:    http.StatusNotFound,
	recording.CodeConflict:         http.StatusConflict,
	recording.CodeAccountDeleting:  http.StatusConflict,
	recording.CodeIdempotencyReuse: http.StatusUnprocessableEntity,
	recording.CodeUnauthorized:     http.StatusUnauthorized,
	recording.CodeInvalidToken:     http.StatusUnauthorized,
	recording.CodeRateLimited:      http.StatusTooManyRequests,
	recording.CodeMethodNotAllowed: http.StatusMethodNotAllowed,
	recording.CodeUnavailable:      http.StatusServiceUnavailable,
	recording.CodeTimeout:          http.StatusGatewayTimeout,
	recording.CodeInternal:         http.StatusInternalServerError,
	recording.CodeCursorExpired:    http.StatusGone,
}

// retryAfterSeconds is what a 503 or 429 asks the app to wait.
const retryAfterSeconds = 2

// toDomain turns any error a handler returns into a domain error: echo's own
// errors (unknown route, wrong method, oversized body), dependency failures
// (a deadline or an unreachable endpoint) and, last, anything unexpected.
func toDomain(err error) *recording.Error {
	var de *recording.Error
	if errors.As(err, &de) {
		return de
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		switch he.Code {
		case http.StatusNotFound:
			return recording.Errorf(recording.CodeRouteNotFound, "no such route")
		case http.StatusMethodNotAllowed:
			return recording.Errorf(recording.CodeMethodNotAllowed, "method not allowed on this route")
		case http.StatusRequestEntityTooLarge:
			return recording.Errorf(recording.CodeBodyTooLarge, "request body too large")
		case http.StatusUnsupportedMediaType:
			return recording.Errorf(recording.CodeInvalidRequest, "request body must be JSON")
		case http.StatusTooManyRequests:
			return recording.Errorf(recording.CodeRateLimited, "too many requests, slow down")
		case http.StatusBadRequest:
			return recording.Errorf(recording.CodeInvalidRequest, "malformed request")
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &recording.Error{Code: recording.CodeTimeout, Message: "a storage dependency took too long; try again", Err: err}
	}
	if unavailable(err) {
		return &recording.Error{Code: recording.CodeUnavailable, Message: "a storage dependency is unavailable; try again shortly", Err: err}
	}
	return &recording.Error{Code: recording.CodeInternal, Message: "internal error", Err: err}
}

// unavailable reports errors that mean "the dependency could not be reached
// or refused service", as opposed to a bug or a bad request.
func unavailable(err error) bool {
	var netErr net.Error
	var opErr *net.OpError
	var maxAttempts *retry.MaxAttemptsError
	if errors.As(err, &opErr) || errors.As(err, &netErr) || errors.As(err, &maxAttempts) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "ServiceUnavailable", "SlowDown", "ThrottlingException", "ProvisionedThroughputExceededException",
			"RequestLimitExceeded", "InternalServerError", "InternalError":
			return true
		}
	}
	return false
}

// writeProblem sends a domain error as problem+json.
func writeProblem(c echo.Context, de *recording.Error) error {
	status, ok := statusOf[de.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	h := c.Response().Header()
	switch status {
	case http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="recorder"`)
	case http.StatusServiceUnavailable, http.StatusTooManyRequests:
		wait := retryAfterSeconds
		if s := int(de.RetryAfter / time.Second); s > wait {
			wait = s
		}
		h.Set("Retry-After", strconv.Itoa(wait))
	}
	if de.Code == recording.CodeAccountDeleting {
		// The deletion finishes by itself (the reconciler) or on the next try.
		h.Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	p := Problem{
		Type:      "about:blank",
		Title:     http.StatusText(status),
		Status:    status,
		Detail:    de.Message,
		Code:      string(de.Code),
		RequestID: h.Get(echo.HeaderXRequestID),
	}
	return writeProblemDoc(c, p)
}

func writeProblemDoc(c echo.Context, p Problem) error {
	c.Response().Header().Set(echo.HeaderContentType, problemContentType)
	c.Response().WriteHeader(p.Status)
	return jsonEncode(c.Response(), p)
}

// errorHandler is echo's HTTPErrorHandler: every error response leaves here.
func (s *server) errorHandler(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	de := toDomain(err)
	if de.Code == recording.CodeInternal || de.Code == recording.CodeUnavailable || de.Code == recording.CodeTimeout {
		// The cause is for operators only; the user sees the generic message.
		s.log.ErrorContext(c.Request().Context(), "request failed",
			"request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"route", c.Path(), "code", de.Code, "error", err)
	}
	if c.Request().Method == http.MethodHead {
		status := statusOf[de.Code]
		if status == 0 {
			status = http.StatusInternalServerError
		}
		_ = c.NoContent(status)
		return
	}
	_ = writeProblem(c, de)
}
