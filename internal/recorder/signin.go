package recorder

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/recording"
)

// SignInRequest is a social sign-in.
type SignInRequest struct {
	Provider string  `json:"provider"`
	IDToken  string  `json:"id_token"`
	Nonce    *string `json:"nonce"`
	// AuthorizationCode is Sign in with Apple's one-time code: exchanged
	// for a refresh token, kept sealed, revoked at account deletion.
	AuthorizationCode *string `json:"authorization_code"`
	// DeviceName is what the sessions list calls this sign-in's device.
	DeviceName *string `json:"device_name"`
}

// Bounds that reject junk before any verification work.
const (
	maxIDTokenLength = 16 << 10
	maxNonceLength   = 1024
	maxCodeLength    = 1024
)

// Validate bounds every field before any verification work.
func (r *SignInRequest) Validate() error {
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
	case r.DeviceName != nil && !validDeviceName(*r.DeviceName):
		return recording.Errorf(recording.CodeValidation, "device_name must be 1 to %d characters of printable text", maxDeviceNameRunes)
	}
	return nil
}

// Verified is a sign-in whose ID token checked out, not yet signed in:
// the caller may still refuse it (a per-account rate limit).
type Verified struct {
	// Provider is the provider as a metric dimension: a configured one's
	// name, or "unknown" (a request can name anything). Empty when the
	// request was refused before it named a provider worth counting.
	Provider string
	Identity auth.Identity
	// Platform is the family of the user agent signing in, for the
	// sessions list; the HTTP layer names it.
	Platform string

	req SignInRequest
}

// VerifySignIn validates the request and verifies its ID token against the
// provider it names.
func (s *Service) VerifySignIn(ctx context.Context, req SignInRequest) (Verified, error) {
	if err := req.Validate(); err != nil {
		return Verified{}, err
	}
	v := Verified{Provider: strings.ToLower(req.Provider), req: req}
	if !s.verifier.Enabled(v.Provider) {
		v.Provider = "unknown"
	}
	nonce := ""
	if req.Nonce != nil {
		nonce = *req.Nonce
	}
	id, err := s.verifier.Verify(ctx, strings.ToLower(req.Provider), req.IDToken, nonce)
	if err != nil {
		return v, err
	}
	v.Identity = id
	return v, nil
}

// Session is a sign-in's answer. Token is returned once; only its hash is
// kept.
type Session struct {
	Token     string
	TokenHash string
	ExpiresAt time.Time
	Created   bool
	User      recording.User
	// The refresh token that renews Token, and the device session both
	// belong to.
	RefreshToken     string
	RefreshExpiresAt time.Time
	SessionID        string
}

var errNonceSpent = recording.Errorf(recording.CodeInvalidToken,
	"ID token rejected: its nonce was not issued by this server, has expired or was already used; request a new one")

// SignIn spends the sign-in's nonce, signs the user up on first sight (or
// finishes an account deletion that was interrupted, then signs up afresh),
// keeps Apple's refresh token when a code came with it, and issues a
// session.
func (s *Service) SignIn(ctx context.Context, v Verified) (Session, error) {
	req, id := v.req, v.Identity
	if req.Nonce != nil {
		// Verify matched the token's nonce claim to this one; spending it
		// here is what makes the token single-use.
		ok, err := s.nonces.Consume(ctx, auth.NonceHash(*req.Nonce), s.now())
		if err != nil {
			return Session{}, err
		}
		if !ok {
			return Session{}, errNonceSpent
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
			return Session{}, err
		}
		user, created, err = s.store.SignIn(ctx, identity, now)
	}
	if err != nil {
		return Session{}, err
	}
	if req.AuthorizationCode != nil {
		s.keepAppleToken(ctx, user.ID, id, *req.AuthorizationCode)
	}
	pair, err := s.startSession(ctx, user.ID, v, now)
	if err != nil {
		return Session{}, err
	}
	return Session{Token: pair.AccessToken, TokenHash: auth.HashToken(pair.AccessToken), ExpiresAt: pair.AccessExpiresAt,
		Created: created, User: user, RefreshToken: pair.RefreshToken, RefreshExpiresAt: pair.RefreshExpiresAt,
		SessionID: pair.SessionID}, nil
}

// Nonce is a single-use sign-in nonce.
type Nonce struct {
	Nonce     string    `json:"nonce"`
	ExpiresAt time.Time `json:"expires_at"`
}

// IssueNonce hands out a single-use sign-in nonce, valid for
// auth.NonceTTL. The app passes it (or its SHA-256) to the provider's
// sign-in, then sends it with the ID token. Only its hash is stored.
func (s *Service) IssueNonce(ctx context.Context) (Nonce, error) {
	nonce, hash, err := auth.NewNonce()
	if err != nil {
		return Nonce{}, err
	}
	expires := s.now().UTC().Add(auth.NonceTTL).Truncate(time.Second)
	if err := s.nonces.Put(ctx, hash, expires); err != nil {
		return Nonce{}, err
	}
	return Nonce{Nonce: nonce, ExpiresAt: expires}, nil
}

// SignOut ends the session of this access token's hash: the whole device
// session, refresh token included, or the one token of a session from
// before refresh tokens.
func (s *Service) SignOut(ctx context.Context, tokenHash string) error {
	sess, found, err := s.store.GetSession(ctx, tokenHash)
	if err != nil {
		return err
	}
	if found && sess.SessionID != "" {
		revoked, err := s.store.RevokeDeviceSession(ctx, sess.UserID, sess.SessionID)
		if err != nil || revoked {
			return err
		}
	}
	return s.store.DeleteSession(ctx, tokenHash)
}

// ErrUnauthorized is every failed session check, alike, so a caller cannot
// tell a missing, unknown, expired or revoked session apart.
var ErrUnauthorized = recording.Errorf(recording.CodeUnauthorized,
	"missing, invalid or expired session token; sign in again")

// SessionUser returns the user of a live session, ErrUnauthorized for a
// missing, unknown or expired one: one GetItem by token hash, and an expiry
// check against the clock rather than DynamoDB's late TTL.
func (s *Service) SessionUser(ctx context.Context, tokenHash string) (string, error) {
	if tokenHash == "" {
		return "", ErrUnauthorized
	}
	sess, found, err := s.store.GetSession(ctx, tokenHash)
	if err != nil {
		return "", err
	}
	if !found || !s.now().Before(sess.ExpiresAt) {
		return "", ErrUnauthorized
	}
	return sess.UserID, nil
}

// CheckSession checks the session ctx carries (dynamo.WithSession) unless
// an operation already did.
func (s *Service) CheckSession(ctx context.Context) error {
	return s.store.CheckSession(ctx)
}
