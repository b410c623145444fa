package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// APIError is a problem+json answer of the API, or a refusal by storage
// (Code empty, Title "storage: ..." from its XML).
type APIError struct {
	Status    int    `json:"status"`
	Code      string `json:"code"`
	Title     string `json:"title"`
	Detail    string `json:"detail"`
	RequestID string `json:"request_id"`
	// RetryAfter is what the answer's Retry-After asked for, if anything.
	RetryAfter time.Duration `json:"-"`
}

func (e *APIError) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	msg = HumanizeBytes(msg)
	switch {
	case e.Status == http.StatusUnauthorized:
		return "not signed in, or the session expired: run `recorder login` again"
	case e.Status == http.StatusRequestEntityTooLarge:
		return "too large: " + msg
	case e.Status == http.StatusUnsupportedMediaType:
		return "unsupported audio type: " + msg
	case e.Code == "quota_exceeded":
		return "quota exceeded: " + msg
	}
	if e.Code != "" {
		return fmt.Sprintf("%s (%s, HTTP %d)", msg, e.Code, e.Status)
	}
	return fmt.Sprintf("HTTP %d %s", e.Status, msg)
}

// IsStatus reports whether err is an answer with this HTTP status.
func IsStatus(err error, status int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Status == status
}

// IsCode reports whether err is a problem answer with this code.
func IsCode(err error, code string) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code
}

func problem(resp *http.Response, raw []byte) *APIError {
	e := &APIError{Status: resp.StatusCode}
	_ = json.Unmarshal(raw, e)
	if e.Title == "" {
		e.Title = http.StatusText(resp.StatusCode)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 && s < 120 {
		e.RetryAfter = time.Duration(s) * time.Second
	}
	return e
}

// Transient reports failures worth retrying: the network, a busy or
// unavailable server, throttling.
func Transient(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusTooManyRequests || ae.Status == http.StatusBadGateway ||
			ae.Status == http.StatusServiceUnavailable || ae.Status == http.StatusGatewayTimeout
	}
	var ue *UnreachableError
	if errors.As(err, &ue) {
		return ue.retryable()
	}
	var te *TimeoutError
	if errors.As(err, &te) {
		return false
	}
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF)
}

// retryDelay is how long to wait before attempt n (from 1): what the
// server asked for, else exponential from half a second, capped.
func retryDelay(err error, n int) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return ae.RetryAfter
	}
	return min(500*time.Millisecond<<(n-1), 8*time.Second)
}

// MaxAttempts is how many times a transient failure is tried in all.
const MaxAttempts = 5

type onceKey struct{}

// Once returns a context under which the client's calls are tried once,
// for a caller that retries a larger step itself (retries inside retries
// would multiply).
func Once(ctx context.Context) context.Context { return context.WithValue(ctx, onceKey{}, true) }

// Retry runs fn until it succeeds, fails for good, or the attempts run
// out; every typed call goes through it. Each retry is logged, so it is
// never silent when someone asked to see what happens.
func (c *Client) Retry(ctx context.Context, fn func() error) error {
	if once, _ := ctx.Value(onceKey{}).(bool); once {
		return fn()
	}
	var err error
	for n := 1; ; n++ {
		if err = fn(); err == nil || !Transient(err) || n == MaxAttempts {
			return err
		}
		c.logf("retry %d of %d in %s: %v", n, MaxAttempts-1, retryDelay(err, n), err)
		if err := sleep(ctx, retryDelay(err, n)); err != nil {
			return err
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

// TimeoutError is a wait that ran out: nothing moved for After.
type TimeoutError struct{ After time.Duration }

func (e *TimeoutError) Error() string   { return fmt.Sprintf("no answer within %s", e.After) }
func (e *TimeoutError) Timeout() bool   { return true }
func (e *TimeoutError) Temporary() bool { return false }

// UnreachableError is a request that never got an answer: the server is
// down, frozen, or not where the client looks for it. what is "the API" or
// "storage"; where is the base URL (the API) or the host (storage: a
// presigned URL is a credential and is never printed).
type UnreachableError struct {
	what, where string
	timeout     time.Duration
	err         error
}

func (e *UnreachableError) Error() string {
	hint := ""
	if isLoopback(e.where) {
		hint = " (is `make run` up?)"
	}
	if e.timedOut() {
		return fmt.Sprintf("%s at %s did not answer within %s%s; --timeout sets the wait", e.what, e.where, e.timeout, hint)
	}
	reason := "unreachable"
	if errors.Is(e.err, syscall.ECONNREFUSED) {
		reason = "refused the connection"
	} else if dns := (*net.DNSError)(nil); errors.As(e.err, &dns) {
		reason = "unknown host"
	}
	return fmt.Sprintf("cannot reach %s at %s: %s%s", e.what, e.where, reason, hint)
}

func (e *UnreachableError) Unwrap() error { return e.err }

func (e *UnreachableError) timedOut() bool {
	var ne net.Error
	return errors.As(e.err, &ne) && ne.Timeout()
}

// retryable: a connection dropped or reset midway may go through on a
// second try; a refused connection, an unknown host or a wait that already
// ran its whole timeout will not, and retrying only hides the answer.
func (e *UnreachableError) retryable() bool {
	if e.timedOut() || errors.Is(e.err, syscall.ECONNREFUSED) {
		return false
	}
	var dns *net.DNSError
	return !errors.As(e.err, &dns)
}

// unreachable wraps a transport error (nil stays nil); ctx cancellation by
// the person (Ctrl-C) is passed through as it is.
func unreachable(what, where string, timeout time.Duration, err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err // the URL may be presigned
	}
	return &UnreachableError{what: what, where: where, timeout: timeout, err: err}
}

func isLoopback(where string) bool {
	host := where
	if u, err := url.Parse(where); err == nil && u.Host != "" {
		host = u.Host
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// scrub removes URLs from a transport error: a presigned URL is a
// credential and must not reach a terminal or a log.
func scrub(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, hostOf(ue.URL), ue.Err)
	}
	return err
}

// storageWhere is scheme://host of a presigned URL: enough to say which
// storage did not answer, nothing of the signature.
func storageWhere(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return "storage"
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return "storage"
}

// HumanBytes writes a byte count in B, KiB, MiB...
func HumanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

var byteCount = regexp.MustCompile(`\b(\d{4,}) bytes\b`)

// HumanizeBytes rewrites "N bytes" in a server message into KiB, MiB...
func HumanizeBytes(s string) string {
	return byteCount.ReplaceAllStringFunc(s, func(m string) string {
		n, err := strconv.ParseInt(strings.Fields(m)[0], 10, 64)
		if err != nil {
			return m
		}
		return HumanBytes(n)
	})
}
