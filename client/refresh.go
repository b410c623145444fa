package client

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"
)

// Tokens are a session's pair as the API last answered it.
type Tokens struct {
	AccessToken      string    `json:"access_token"`
	ExpiresAt        time.Time `json:"expires_at"`
	RefreshToken     string    `json:"refresh_token"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
	SessionID        string    `json:"session_id"`
}

// session holds the tokens every copy of a Client shares, so requests in
// flight at once refresh once between them, not once each.
type session struct {
	mu        sync.Mutex
	access    string
	refresh   string
	onRefresh func(Tokens)
}

func (s *session) accessToken() string {
	if s == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.access
}

// SetRefresh gives the client a refresh token: a request answered 401 then
// trades it for a new pair once and is sent again, and onRefresh (which
// may be nil) hears the new pair so it can be kept.
func (c *Client) SetRefresh(refreshToken string, onRefresh func(Tokens)) {
	if c.sess == nil {
		c.sess = &session{}
	}
	c.sess.mu.Lock()
	c.sess.refresh, c.sess.onRefresh = refreshToken, onRefresh
	c.sess.mu.Unlock()
}

// Refresh trades the client's refresh token for a new pair now.
func (c *Client) Refresh(ctx context.Context) (Tokens, error) {
	return c.renew(ctx, c.sess.accessToken())
}

// renew refreshes the session unless another request already replaced
// the access token stale was: then that one is used. The lock is held
// across the call, so concurrent requests wait for one refresh.
func (c *Client) renew(ctx context.Context, stale string) (Tokens, error) {
	s := c.sess
	if s == nil {
		return Tokens{}, errNoRefresh
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refresh == "" {
		return Tokens{}, errNoRefresh
	}
	if s.access != stale {
		return Tokens{AccessToken: s.access, RefreshToken: s.refresh}, nil
	}
	anon := *c
	anon.sess = nil
	var t Tokens
	// A refresh whose answer was lost is retried with the same token: the
	// API answers the same pair again for a few seconds.
	err := anon.do(ctx, http.MethodPost, "/v1/auth/refresh", nil, map[string]string{"refresh_token": s.refresh}, &t)
	if err != nil {
		return Tokens{}, err
	}
	s.access, s.refresh = t.AccessToken, t.RefreshToken
	if s.onRefresh != nil {
		s.onRefresh(t)
	}
	return t, nil
}

var errNoRefresh = errors.New("no refresh token")

// callRenewing is call, and on a 401 with a refresh token at hand, one
// refresh and the same request again.
func (c *Client) callRenewing(ctx context.Context, method, path string, hdr http.Header, body, out any) error {
	used := c.sess.accessToken()
	err := c.call(ctx, method, path, hdr, body, out)
	if used == "" || !IsStatus(err, http.StatusUnauthorized) {
		return err
	}
	if _, rerr := c.renew(ctx, used); rerr != nil {
		return err
	}
	return c.call(ctx, method, path, hdr, body, out)
}
