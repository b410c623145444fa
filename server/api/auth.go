package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/recorder"
	"github.com/voicerec/backend/internal/recording"
)

// loginResponse is a refresh's answer and who signed in. A client that
// ignores the refresh token keeps working until the access token expires,
// then signs in again, as before refresh tokens.
type loginResponse struct {
	tokenResponse
	Created bool           `json:"created"`
	User    recording.User `json:"user"`
}

// login signs a user in with a provider's ID token. Between verifying the
// token and signing in, the provider account's own rate limit applies.
func (s *server) login(c echo.Context) error {
	var req recorder.SignInRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	v, err := s.svc.VerifySignIn(ctx, req)
	if v.Provider != "" {
		c.Set(ctxLoginProvider, v.Provider)
	}
	if err != nil {
		return err
	}
	if ok, wait := s.identityLimit.allow(identityKey(v.Identity.Provider, v.Identity.Subject)); !ok {
		return rateLimited(msgIdentityLimited, wait)
	}
	v.Platform = userAgentFamily(c.Request().UserAgent())
	sess, err := s.svc.SignIn(ctx, v)
	if err != nil {
		return err
	}
	// Known valid from its first request on, so the app is never held up
	// by the failure budget of an address it shares.
	s.sessionUsers.put(sess.TokenHash, sess.User.ID)
	c.Set(ctxUserID, sess.User.ID)
	status := http.StatusOK
	if sess.Created {
		status = http.StatusCreated
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeJSON(c, status, loginResponse{
		tokenResponse: tokenResponse{AccessToken: sess.Token, TokenType: "Bearer", ExpiresAt: sess.ExpiresAt,
			RefreshToken: sess.RefreshToken, RefreshExpiresAt: sess.RefreshExpiresAt, SessionID: sess.SessionID},
		Created: sess.Created, User: sess.User,
	})
}

func (s *server) issueNonce(c echo.Context) error {
	n, err := s.svc.IssueNonce(c.Request().Context())
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeJSON(c, http.StatusOK, n)
}

type providerList struct {
	Providers []providerInfo `json:"providers"`
}

type providerInfo struct {
	Name          string `json:"name"`
	NonceRequired bool   `json:"nonce_required"`
	// Development is true for a local issuer that mints tokens for anyone;
	// TokenURL is where (GET ?sub=NAME). Production never configures one.
	Development bool   `json:"development"`
	TokenURL    string `json:"token_url,omitempty"`
}

// listProviders tells a client which sign-ins this deployment takes, so an
// app shows only those buttons and a local client finds the development
// issuer through the API it talks to.
func (s *server) listProviders(c echo.Context) error {
	out := providerList{Providers: []providerInfo{}}
	for _, p := range s.svc.Providers() {
		out.Providers = append(out.Providers, providerInfo{Name: p.Name, NonceRequired: p.RequireNonce,
			Development: p.TokenURL != "", TokenURL: p.TokenURL})
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return writeJSON(c, http.StatusOK, out)
}

func (s *server) logout(c echo.Context) error {
	hash := c.Get(ctxTokenHash).(string)
	if err := s.svc.SignOut(c.Request().Context(), hash); err != nil {
		return err
	}
	s.sessionUsers.forget(hash)
	return c.NoContent(http.StatusNoContent)
}

var errUnauthorized = recorder.ErrUnauthorized

// bearerToken extracts the token of an "Authorization: Bearer <token>"
// header. The scheme is case-insensitive (RFC 9110); the token must have the
// shape we issue, so junk never reaches DynamoDB.
func bearerToken(header string) (string, bool) {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, auth.WellFormedSessionToken(token)
}

// requireSession authenticates the request: one GetItem by token hash, and
// an expiry check against the clock rather than DynamoDB's late TTL. Every
// failure is the same 401, so a caller cannot tell them apart, and each
// one spends the client address's failure budget: once that is gone, a
// token this instance has not seen valid is refused 429 before the read,
// so made-up tokens cannot turn into DynamoDB traffic. A token seen valid
// skips the budget, so a session behind the same NAT as a flood keeps
// working.
func (s *server) requireSession(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		token, wellFormed := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
		hash := ""
		if wellFormed {
			hash = auth.HashToken(token)
		}
		settle, err := s.admitSessionCheck(c, hash)
		if err != nil {
			return err
		}
		uid, err := s.checkSession(c.Request().Context(), hash)
		settle(errors.Is(err, errUnauthorized))
		if err != nil {
			return err
		}
		c.Set(ctxUserID, uid)
		c.Set(ctxTokenHash, hash)
		return next(c)
	}
}

// admitSessionCheck lets a session check go ahead: at once for a token
// hash known valid here, against the address's failure budget otherwise.
// settle records the check's outcome.
func (s *server) admitSessionCheck(c echo.Context, hash string) (settle func(failed bool), err error) {
	key := addressKey(c.RealIP())
	if _, known := s.sessionUsers.get(hash); known {
		return func(failed bool) {
			if failed {
				s.authFailures.spend(key)
			}
		}, nil
	}
	settle, wait := s.authFailures.admit(key)
	if settle == nil {
		return nil, rateLimited(msgAuthFailuresLimited, wait)
	}
	return settle, nil
}

// checkSession returns the user of a live session, errUnauthorized for a
// missing, unknown or expired one. A hash that fails is forgotten, so a
// revoked token stops counting as known valid.
func (s *server) checkSession(ctx context.Context, hash string) (string, error) {
	uid, err := s.svc.SessionUser(ctx, hash)
	if errors.Is(err, errUnauthorized) {
		s.sessionUsers.forget(hash)
	}
	if err != nil {
		return "", err
	}
	s.sessionUsers.put(hash, uid)
	return uid, nil
}

func userID(c echo.Context) string { return c.Get(ctxUserID).(string) }
