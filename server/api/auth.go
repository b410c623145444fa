package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/recording"
)

type loginRequest struct {
	Provider string  `json:"provider"`
	IDToken  string  `json:"id_token"`
	Nonce    *string `json:"nonce"`
	// AuthorizationCode is Sign in with Apple's one-time code: exchanged
	// for a refresh token, kept sealed, revoked at account deletion.
	AuthorizationCode *string `json:"authorization_code"`
}

// Bounds that reject junk before any verification work.
const (
	maxIDTokenLength = 16 << 10
	maxNonceLength   = 1024
	maxCodeLength    = 1024
)

func (r *loginRequest) validate() error {
	switch {
	case r.Provider == "":
		return recording.Errorf(recording.CodeValidation, "provider is required")
	case len(r.Provider) > 64 || !utf8.ValidString(r.Provider):
		return recording.Errorf(recording.CodeUnknownProvider, "unknown provider")
	case r.IDToken == "":
		return recording.Errorf(recording.CodeValidation, "id_token is required")
	case len(r.IDToken) > maxIDTokenLength:
		return recording.Errorf(recording.CodeInvalidToken, "ID token rejected: too long")
	case r.Nonce != nil && (*r.Nonce == "" || len(*r.Nonce) > maxNonceLength):
		return recording.Errorf(recording.CodeValidation, "nonce must be 1 to %d bytes when sent", maxNonceLength)
	case r.AuthorizationCode != nil && (*r.AuthorizationCode == "" || len(*r.AuthorizationCode) > maxCodeLength):
		return recording.Errorf(recording.CodeValidation, "authorization_code must be 1 to %d bytes when sent", maxCodeLength)
	case r.AuthorizationCode != nil && !strings.EqualFold(r.Provider, "apple"):
		return recording.Errorf(recording.CodeValidation, "authorization_code is only taken with provider apple")
	}
	return nil
}

type loginResponse struct {
	AccessToken string         `json:"access_token"`
	TokenType   string         `json:"token_type"`
	ExpiresAt   time.Time      `json:"expires_at"`
	Created     bool           `json:"created"`
	User        recording.User `json:"user"`
}

// login verifies a social ID token, signs the user up on first sight, and
// issues a session token. The token is returned once; only its hash is kept.
func (s *server) login(c echo.Context) error {
	var req loginRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	ctx := c.Request().Context()
	// Only configured providers become a metric dimension: a request can
	// name anything.
	provider := strings.ToLower(req.Provider)
	if !s.verifier.Enabled(provider) {
		provider = "unknown"
	}
	c.Set(ctxLoginProvider, provider)
	nonce := ""
	if req.Nonce != nil {
		nonce = *req.Nonce
	}
	id, err := s.verifier.Verify(ctx, strings.ToLower(req.Provider), req.IDToken, nonce)
	if err != nil {
		return err
	}
	if ok, wait := s.identityLimit.allow(identityKey(id.Provider, id.Subject)); !ok {
		return rateLimited(msgIdentityLimited, wait)
	}
	if req.Nonce != nil {
		// Verify matched the token's nonce claim to this one; spending it
		// here is what makes the token single-use.
		ok, err := s.nonces.Consume(ctx, auth.NonceHash(*req.Nonce), s.now())
		if err != nil {
			return err
		}
		if !ok {
			return errNonceSpent
		}
	}
	now := s.now().UTC()
	identity := recording.Identity{Provider: id.Provider, Subject: id.Subject, Email: id.Email, Name: id.Name}
	user, created, err := s.store.SignIn(ctx, identity, now)
	if recording.ErrorCode(err) == recording.CodeAccountDeleting && user.ID != "" {
		// The account's deletion was interrupted: finish it, then sign the
		// user up afresh. If it cannot finish now, the answer says when to
		// try again (and the reconciler keeps at it meanwhile).
		if derr := s.keeper.DeleteAccount(ctx, user.ID); derr != nil {
			s.log.WarnContext(ctx, "finishing an interrupted account deletion failed", "user_id", user.ID, "error", derr)
			return err
		}
		user, created, err = s.store.SignIn(ctx, identity, now)
	}
	if err != nil {
		return err
	}
	if req.AuthorizationCode != nil {
		s.keepAppleToken(ctx, user.ID, id, *req.AuthorizationCode)
	}
	token, hash, err := auth.NewSessionToken()
	if err != nil {
		return err
	}
	sess := recording.Session{TokenHash: hash, UserID: user.ID, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return err
	}
	// Known valid from its first request on, so the app is never held up
	// by the failure budget of an address it shares.
	s.sessionUsers.put(hash, user.ID)
	c.Set(ctxUserID, user.ID)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeJSON(c, status, loginResponse{
		AccessToken: token, TokenType: "Bearer", ExpiresAt: sess.ExpiresAt, Created: created, User: user,
	})
}

var errNonceSpent = recording.Errorf(recording.CodeInvalidToken,
	"ID token rejected: its nonce was not issued by this server, has expired or was already used; request a new one")

type nonceResponse struct {
	Nonce     string    `json:"nonce"`
	ExpiresAt time.Time `json:"expires_at"`
}

// issueNonce hands out a single-use login nonce, valid for auth.NonceTTL.
// The app passes it (or its SHA-256) to the provider's sign-in, then sends
// it with the ID token to login. Only its hash is stored.
func (s *server) issueNonce(c echo.Context) error {
	nonce, hash, err := auth.NewNonce()
	if err != nil {
		return err
	}
	expires := s.now().UTC().Add(auth.NonceTTL).Truncate(time.Second)
	if err := s.nonces.Put(c.Request().Context(), hash, expires); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeJSON(c, http.StatusOK, nonceResponse{Nonce: nonce, ExpiresAt: expires})
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
	for _, p := range s.verifier.Providers() {
		out.Providers = append(out.Providers, providerInfo{Name: p.Name, NonceRequired: p.RequireNonce,
			Development: p.TokenURL != "", TokenURL: p.TokenURL})
	}
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return writeJSON(c, http.StatusOK, out)
}

func (s *server) logout(c echo.Context) error {
	hash := c.Get(ctxTokenHash).(string)
	if err := s.store.DeleteSession(c.Request().Context(), hash); err != nil {
		return err
	}
	s.sessionUsers.forget(hash)
	return c.NoContent(http.StatusNoContent)
}

var errUnauthorized = recording.Errorf(recording.CodeUnauthorized,
	"missing, invalid or expired session token; sign in again")

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
	if hash == "" {
		return "", errUnauthorized
	}
	sess, found, err := s.store.GetSession(ctx, hash)
	if err != nil {
		return "", err
	}
	if !found || !s.now().Before(sess.ExpiresAt) {
		s.sessionUsers.forget(hash)
		return "", errUnauthorized
	}
	s.sessionUsers.put(hash, sess.UserID)
	return sess.UserID, nil
}

func userID(c echo.Context) string { return c.Get(ctxUserID).(string) }
