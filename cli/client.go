package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// client speaks the public API, nothing else.
type client struct {
	base    string
	token   string
	http    *http.Client
	timeout time.Duration
	verbose io.Writer // nil: quiet
}

// APIError is a problem+json answer.
type APIError struct {
	Status int
	Code   string `json:"code"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	retry  time.Duration
}

func (e *APIError) Error() string {
	msg := e.Detail
	if msg == "" {
		msg = e.Title
	}
	msg = humanizeBytes(msg)
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

// transient reports failures worth retrying: the network, a busy or
// unavailable server, throttling.
func transient(err error) bool {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusTooManyRequests || ae.Status == http.StatusBadGateway ||
			ae.Status == http.StatusServiceUnavailable || ae.Status == http.StatusGatewayTimeout
	}
	var ue *unreachableError
	if errors.As(err, &ue) {
		return ue.retryable()
	}
	var te *timeoutError
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
	if errors.As(err, &ae) && ae.retry > 0 {
		return ae.retry
	}
	return min(500*time.Millisecond<<(n-1), 8*time.Second)
}

const maxAttempts = 5

// retrying runs fn until it succeeds, fails for good, or the attempts run out.
func retrying(ctx context.Context, fn func() error) error {
	var err error
	for n := 1; ; n++ {
		if err = fn(); err == nil || !transient(err) || n == maxAttempts {
			return err
		}
		if l, ok := ctx.Value(retryLogKey{}).(func(string, ...any)); ok {
			l("retry %d of %d in %s: %v", n, maxAttempts-1, retryDelay(err, n), err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(retryDelay(err, n)):
		}
	}
}

// call sends one API request and decodes a JSON answer into out.
func (c *client) call(ctx context.Context, method, path string, hdr http.Header, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.logf("%s %s -> %v", method, pathOnly(path), scrub(err))
		return unreachable("the API", c.base, c.timeout, err)
	}
	defer resp.Body.Close()
	c.logf("%s %s -> %d (%s)", method, pathOnly(path), resp.StatusCode, time.Since(start).Round(time.Millisecond))
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return unreachable("the API", c.base, c.timeout, err)
	}
	if resp.StatusCode >= 300 {
		return problem(resp, raw)
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: unexpected answer: %w", method, path, err)
		}
	}
	return nil
}

func problem(resp *http.Response, raw []byte) *APIError {
	e := &APIError{Status: resp.StatusCode}
	_ = json.Unmarshal(raw, e)
	if e.Title == "" {
		e.Title = http.StatusText(resp.StatusCode)
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 && s < 120 {
		e.retry = time.Duration(s) * time.Second
	}
	return e
}

func (c *client) logf(format string, args ...any) {
	if c.verbose != nil {
		fmt.Fprintf(c.verbose, "  "+format+"\n", args...)
	}
}

// retryLogKey carries --verbose's logger to retrying, so a retry is never
// silent when someone asked to see what happens.
type retryLogKey struct{}

// pathOnly drops the query, where a cursor may be long and uninteresting.
func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
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

// Wire types, as the OpenAPI document names them.

type user struct {
	ID             string   `json:"id"`
	Providers      []string `json:"providers"`
	Email          string   `json:"email"`
	Name           string   `json:"name"`
	RecordingCount int64    `json:"recording_count"`
	BytesStored    int64    `json:"bytes_stored"`
	Quota          quota    `json:"quota"`
}

type quota struct {
	BytesLimit           int64 `json:"bytes_limit"`
	BytesUsed            int64 `json:"bytes_used"`
	BytesReserved        int64 `json:"bytes_reserved"`
	RecordingsLimit      int64 `json:"recordings_limit"`
	UploadsInFlight      int   `json:"uploads_in_flight"`
	UploadsInFlightLimit int   `json:"uploads_in_flight_limit"`
}

type signed struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expires_at"`
	// A multipart upload (method MULTIPART) has parts instead of a URL.
	PartSize  int64 `json:"part_size,omitempty"`
	PartCount int   `json:"part_count,omitempty"`
}

type recordingDoc struct {
	ID           string     `json:"id"`
	FileName     string     `json:"file_name"`
	ContentType  string     `json:"content_type"`
	SizeBytes    int64      `json:"size_bytes"`
	DurationMS   *int64     `json:"duration_ms,omitempty"`
	Status       string     `json:"status"`
	RejectReason string     `json:"reject_reason,omitempty"`
	RejectDetail string     `json:"reject_detail,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	RecordedAt   *time.Time `json:"recorded_at,omitempty"`
	UploadedAt   *time.Time `json:"uploaded_at,omitempty"`
	PurgeAt      *time.Time `json:"purge_at,omitempty"`
	SHA256       string     `json:"sha256,omitempty"`
	PartsSHA256  string     `json:"parts_sha256,omitempty"`
	PartSize     int64      `json:"part_size,omitempty"`
	Download     *signed    `json:"download,omitempty"`
}
