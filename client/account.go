package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// User is an account as the API shows it.
type User struct {
	ID             string    `json:"id"`
	Providers      []string  `json:"providers"`
	CreatedAt      time.Time `json:"created_at"`
	Email          string    `json:"email"`
	Name           string    `json:"name"`
	RecordingCount int64     `json:"recording_count"`
	BytesStored    int64     `json:"bytes_stored"`
}

// Me is the signed-in account with its quota.
type Me struct {
	User
	Quota Quota `json:"quota"`
	// Transcription is "on" or "off".
	Transcription string `json:"transcription,omitempty"`
}

// Quota is what the account may still upload: pending uploads hold their
// declared size in BytesReserved until they end.
type Quota struct {
	BytesLimit           int64 `json:"bytes_limit"`
	BytesUsed            int64 `json:"bytes_used"`
	BytesReserved        int64 `json:"bytes_reserved"`
	RecordingsLimit      int64 `json:"recordings_limit"`
	UploadsInFlight      int   `json:"uploads_in_flight"`
	UploadsInFlightLimit int   `json:"uploads_in_flight_limit"`
	// TranscriptionMinutesLimit and TranscriptionMinutesUsed are this
	// month's allowance of transcribed audio and its use.
	TranscriptionMinutesLimit int64 `json:"transcription_minutes_limit"`
	TranscriptionMinutesUsed  int64 `json:"transcription_minutes_used"`
}

// LoginRequest signs in with an identity provider's ID token.
type LoginRequest struct {
	Provider          string `json:"provider"`
	IDToken           string `json:"id_token"`
	Nonce             string `json:"nonce,omitempty"`
	AuthorizationCode string `json:"authorization_code,omitempty"`
	DeviceName        string `json:"device_name,omitempty"`
}

// Session is a login's answer: the bearer token and its account.
type Session struct {
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	ExpiresAt   time.Time `json:"expires_at"`
	// Created: this sign-in made the account.
	Created bool `json:"created"`
	User    User `json:"user"`
	// The refresh token renews AccessToken (see SetRefresh).
	RefreshToken     string    `json:"refresh_token"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
	SessionID        string    `json:"session_id"`
}

// Provider is an identity provider the API accepts. A Development one is
// the local stack's issuer, which mints an ID token for any subject at
// TokenURL.
type Provider struct {
	Name        string `json:"name"`
	Development bool   `json:"development"`
	TokenURL    string `json:"token_url"`
}

// Login signs in anonymously (whatever token the client holds is not
// sent) and returns the session; the client keeps its token as it was.
func (c *Client) Login(ctx context.Context, req LoginRequest) (Session, error) {
	anon := *c
	anon.sess = nil
	var out Session
	err := anon.do(ctx, http.MethodPost, "/v1/auth/login", nil, req, &out)
	return out, err
}

// Logout ends the session.
func (c *Client) Logout(ctx context.Context) error {
	return c.do(ctx, http.MethodPost, "/v1/auth/logout", nil, nil, nil)
}

// Providers lists the identity providers the API accepts.
func (c *Client) Providers(ctx context.Context) ([]Provider, error) {
	var out struct {
		Providers []Provider `json:"providers"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/auth/providers", nil, nil, &out)
	return out.Providers, err
}

// Me returns the signed-in account and its quota.
func (c *Client) Me(ctx context.Context) (Me, error) {
	var out Me
	err := c.do(ctx, http.MethodGet, "/v1/me", nil, nil, &out)
	return out, err
}

// DeleteAccount deletes the account and every recording in it.
func (c *Client) DeleteAccount(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/v1/me", nil, nil, nil)
}

// DevToken asks a local stack's development issuer (a Provider's TokenURL)
// for an ID token of subject sub, named sub.
func (c *Client) DevToken(ctx context.Context, tokenURL, sub string) (string, error) {
	// The subject doubles as the account's name, so the API can show the
	// account as the login named it (GET /v1/me).
	q := url.Values{"sub": {sub}, "name": {sub}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, tokenURL+"?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	issuer := tokenURL
	if u, err := url.Parse(tokenURL); err == nil {
		issuer = u.Scheme + "://" + u.Host
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return "", unreachable("the development issuer", issuer, c.timeout, err)
	}
	defer resp.Body.Close()
	var out struct {
		IDToken string `json:"id_token"`
		Error   string `json:"error"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&out); err != nil || out.IDToken == "" {
		return "", fmt.Errorf("development issuer at %s: HTTP %d %s", issuer, resp.StatusCode, out.Error)
	}
	return out.IDToken, nil
}
