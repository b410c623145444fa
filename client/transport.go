package client

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// DefaultTimeout bounds each wait on the network: connecting, the answer's
// headers, and any pause inside a body in either direction. A transfer
// that keeps moving may take as long as it needs.
const DefaultTimeout = 30 * time.Second

// NewHTTPClient is the one HTTP client of a run, for the API and storage
// alike, so no request can wait forever.
func NewHTTPClient(timeout time.Duration) *http.Client {
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
			return nil, &TimeoutError{After: t.idle}
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
		err = &TimeoutError{After: b.w.idle}
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
