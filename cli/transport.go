package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// DefaultTimeout bounds each wait on the network: connecting, the answer's
// headers, and any pause inside a body in either direction. A transfer
// that keeps moving may take as long as it needs.
const DefaultTimeout = 30 * time.Second

// newHTTPClient is the one HTTP client of a run, for the API and storage
// alike, so no request can wait forever.
func newHTTPClient(timeout time.Duration) *http.Client {
	connect := min(timeout, 10*time.Second)
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: connect, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   connect,
		ResponseHeaderTimeout: timeout,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   16,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: &idleTransport{base: tr, idle: timeout}}
}

// errIdle is the cause a request is cancelled with when nothing moved for
// the idle timeout.
var errIdle = errors.New("no progress")

// idleTransport cancels a request when neither its body nor its answer's
// body moves for idle. The transport's own timeouts cannot see a PUT whose
// write blocks because the server stopped reading (a frozen MinIO fills the
// socket buffers and the write never returns).
type idleTransport struct {
	base http.RoundTripper
	idle time.Duration
}

func (t *idleTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	w := &watchdog{timer: time.AfterFunc(t.idle, func() { cancel(errIdle) }), idle: t.idle}
	stop := func() { w.timer.Stop(); cancel(nil) }
	r := req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody {
		r.Body = &watchedBody{ReadCloser: req.Body, w: w, ctx: ctx}
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		stop()
		if errors.Is(context.Cause(ctx), errIdle) {
			return nil, &timeoutError{after: t.idle}
		}
		return nil, err
	}
	w.kick()
	resp.Body = &watchedBody{ReadCloser: resp.Body, w: w, ctx: ctx, done: stop}
	return resp, nil
}

type watchdog struct {
	mu    sync.Mutex
	timer *time.Timer
	idle  time.Duration
}

func (w *watchdog) kick() {
	w.mu.Lock()
	w.timer.Reset(w.idle)
	w.mu.Unlock()
}

type watchedBody struct {
	io.ReadCloser
	w    *watchdog
	ctx  context.Context
	done func()
	once sync.Once
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if n > 0 {
		b.w.kick()
	}
	if err != nil && err != io.EOF && errors.Is(context.Cause(b.ctx), errIdle) {
		err = &timeoutError{after: b.w.idle}
	}
	return n, err
}

func (b *watchedBody) Close() error {
	err := b.ReadCloser.Close()
	if b.done != nil {
		b.once.Do(b.done)
	}
	return err
}

// timeoutError is a wait that ran out: nothing moved for after.
type timeoutError struct{ after time.Duration }

func (e *timeoutError) Error() string   { return fmt.Sprintf("no answer within %s", e.after) }
func (e *timeoutError) Timeout() bool   { return true }
func (e *timeoutError) Temporary() bool { return false }

// unreachableError is a request that never got an answer: the server is
// down, frozen, or not where the CLI looks for it. what is "the API" or
// "storage"; where is the base URL (the API) or the host (storage: a
// presigned URL is a credential and is never printed).
type unreachableError struct {
	what, where string
	timeout     time.Duration
	err         error
}

func (e *unreachableError) Error() string {
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

func (e *unreachableError) Unwrap() error { return e.err }

func (e *unreachableError) timedOut() bool {
	var ne net.Error
	return errors.As(e.err, &ne) && ne.Timeout()
}

// retryable: a connection dropped or reset midway may go through on a
// second try; a refused connection, an unknown host or a wait that already
// ran its whole timeout will not, and retrying only hides the answer.
func (e *unreachableError) retryable() bool {
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
	return &unreachableError{what: what, where: where, timeout: timeout, err: err}
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
