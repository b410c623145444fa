package recording

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code. Apps switch on it, so a code
// never changes meaning once shipped; the HTTP layer maps each to a status.
type Code string

const (
	CodeInvalidRequest   Code = "invalid_request"   // malformed JSON, wrong field types
	CodeValidation       Code = "validation_failed" // a field has a bad value
	CodeInvalidFileName  Code = "invalid_file_name" // file_name fails the naming rules
	CodeUnsupportedType  Code = "unsupported_media_type"
	CodeTooLarge         Code = "too_large"         // declared size above the maximum
	CodeBodyTooLarge     Code = "request_too_large" // the HTTP body itself
	CodeQuotaExceeded    Code = "quota_exceeded"
	CodeInvalidCursor    Code = "invalid_cursor"
	CodeNotFound         Code = "not_found"
	CodeIdempotencyReuse Code = "idempotency_key_reused"
	CodeUnauthorized     Code = "unauthorized"
	CodeInvalidToken     Code = "invalid_id_token"
	CodeUnknownProvider  Code = "unknown_provider"
	CodeRateLimited      Code = "rate_limited"
	CodeMethodNotAllowed Code = "method_not_allowed"
	CodeRouteNotFound    Code = "route_not_found"
	CodeUnavailable      Code = "service_unavailable" // a dependency is down
	CodeTimeout          Code = "dependency_timeout"  // a dependency is too slow
	CodeInternal         Code = "internal_error"
	CodeConflict         Code = "conflict"
	CodeAccountDeleting  Code = "account_deleting"
	// CodeCursorExpired: the changes after a feed cursor are past their
	// retention; the client resyncs from a full listing.
	CodeCursorExpired Code = "cursor_expired"
)

// Error is the one error type the domain returns to callers. Message is safe
// to show to a user; anything internal stays in the wrapped error.
type Error struct {
	Code    Code
	Message string
	Err     error // optional cause, never shown to users
	// RetryAfter, when set, is how long a caller should wait (429 and 503).
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds a domain error with a user-facing message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, or
// CodeInternal when there is none.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// ErrNotFound is what every lookup of somebody else's, a malformed or a
// missing resource returns, so the three cannot be told apart.
var ErrNotFound = &Error{Code: CodeNotFound, Message: "recording not found"}
