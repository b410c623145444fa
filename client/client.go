package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Client speaks the public API, nothing else. It is safe for concurrent
// use once built; SetToken is not.
type Client struct {
	base    string
	ua      string
	sess    *session // nil: anonymous
	http    *http.Client
	timeout time.Duration
	log     io.Writer // nil: quiet
}

// Options are a Client's optional settings.
type Options struct {
	// Token is the session's bearer token; empty: anonymous.
	Token string
	// Timeout bounds each wait on the network (see NewHTTPClient);
	// DefaultTimeout when zero.
	Timeout time.Duration
	// Log, when set, hears one line per request and per retry.
	Log io.Writer
	// HTTP replaces NewHTTPClient(Timeout), for the API and storage alike.
	HTTP *http.Client
	// UserAgent names the client to the API (its sessions list shows it).
	UserAgent string
}

// New returns a client of the API at base (scheme://host[:port]).
func New(base string, o Options) *Client {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.HTTP == nil {
		o.HTTP = NewHTTPClient(o.Timeout)
	}
	c := &Client{base: strings.TrimRight(base, "/"), ua: o.UserAgent, http: o.HTTP, timeout: o.Timeout, log: o.Log}
	c.SetToken(o.Token)
	return c
}

// Base is the API's base URL, without a trailing slash.
func (c *Client) Base() string { return c.base }

// Token is the session's bearer token, empty when anonymous.
func (c *Client) Token() string { return c.sess.accessToken() }

// SetToken replaces the session, refresh token included; "" signs out of
// this client.
func (c *Client) SetToken(t string) {
	c.sess = nil
	if t != "" {
		c.sess = &session{access: t}
	}
}

// call sends one API request and decodes a JSON answer into out.
func (c *Client) call(ctx context.Context, method, path string, hdr http.Header, body, out any) error {
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
	if c.ua != "" {
		req.Header.Set("User-Agent", c.ua)
	}
	if t := c.sess.accessToken(); t != "" {
		req.Header.Set("Authorization", "Bearer "+t)
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

// do is call under the retry rules (see Retry).
func (c *Client) do(ctx context.Context, method, path string, hdr http.Header, body, out any) error {
	return c.Retry(ctx, func() error { return c.callRenewing(ctx, method, path, hdr, body, out) })
}

func (c *Client) logf(format string, args ...any) {
	if c.log != nil {
		fmt.Fprintf(c.log, "  "+format+"\n", args...)
	}
}

// pathOnly drops the query, where a cursor may be long and uninteresting.
func pathOnly(p string) string {
	if i := strings.IndexByte(p, '?'); i >= 0 {
		return p[:i]
	}
	return p
}

// recordingPath is the path of one recording; the id is escaped because
// it may come from a command line.
func recordingPath(id string) string { return "/v1/recordings/" + url.PathEscape(id) }
