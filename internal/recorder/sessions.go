package recorder

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

// RefreshRetryGrace is how long after a rotation the retired refresh token
// still answers, with the same new pair: long enough for an app to retry a
// refresh whose answer it lost, short enough that a thief racing the owner
// rarely fits in it (and if one does, both then hold one pair, and the
// next rotation by either makes the other's a reuse).
const RefreshRetryGrace = 10 * time.Second

// maxDeviceNameRunes bounds a device name: a list label, not a document.
const maxDeviceNameRunes = 64

func validDeviceName(n string) bool {
	if n == "" || !utf8.ValidString(n) || utf8.RuneCountInString(n) > maxDeviceNameRunes {
		return false
	}
	for _, r := range n {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// ErrRefreshRefused is every refused refresh alike: unknown, expired,
// revoked or reused. The app's only way on is a new sign-in.
var ErrRefreshRefused = recording.Errorf(recording.CodeUnauthorized,
	"refresh token invalid, expired or revoked; sign in again")

var errSessionNotFound = recording.Errorf(recording.CodeNotFound, "session not found")

func newSessionID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// startSession stores a new device session for a sign-in with its first
// access and refresh tokens.
func (s *Service) startSession(ctx context.Context, userID string, v Verified, now time.Time) (recording.TokenPair, error) {
	id, err := newSessionID()
	if err != nil {
		return recording.TokenPair{}, err
	}
	access, accessHash, err := auth.NewSessionToken()
	if err != nil {
		return recording.TokenPair{}, err
	}
	refresh, _, err := auth.NewSessionToken()
	if err != nil {
		return recording.TokenPair{}, err
	}
	pair := recording.TokenPair{AccessToken: access, AccessExpiresAt: now.Add(s.cfg.AccessTokenTTL),
		RefreshToken: refresh, RefreshExpiresAt: now.Add(s.cfg.RefreshTokenTTL), SessionID: id, UserID: userID}
	name := ""
	if v.req.DeviceName != nil {
		name = *v.req.DeviceName
	}
	err = s.store.CreateDeviceSession(ctx, dynamo.NewDeviceSession{
		Session: recording.DeviceSession{ID: id, UserID: userID, DeviceName: name, Provider: v.Identity.Provider,
			Platform: v.Platform, CreatedAt: now, LastUsedAt: now.Truncate(time.Hour), ExpiresAt: pair.RefreshExpiresAt},
		AccessHash: accessHash, AccessExpiresAt: pair.AccessExpiresAt, RefreshKey: auth.RefreshKey(refresh),
	})
	if err != nil {
		return recording.TokenPair{}, err
	}
	return pair, nil
}

// Refresh trades a refresh token for a new pair and retires it. A retired
// token presented again within RefreshRetryGrace, while its successor is
// still the session's current one, answers that same pair again (a retry
// whose answer was lost); any other use of a retired token is a reuse: a
// copy exists, so the session ends for whoever holds it, owner and thief.
func (s *Service) Refresh(ctx context.Context, token string) (recording.TokenPair, error) {
	if !auth.WellFormedSessionToken(token) {
		return recording.TokenPair{}, ErrRefreshRefused
	}
	key := auth.RefreshKey(token)
	// A lost race re-reads once: the winner's rotation is then found.
	for range 2 {
		old, found, err := s.store.GetRefreshToken(ctx, key)
		if err != nil {
			return recording.TokenPair{}, err
		}
		now := s.now().UTC()
		if !found || !now.Before(old.ExpiresAt) {
			return recording.TokenPair{}, ErrRefreshRefused
		}
		dev, current, found, err := s.store.GetDeviceSession(ctx, old.SessionID)
		if err != nil {
			return recording.TokenPair{}, err
		}
		if !found || !now.Before(dev.ExpiresAt) {
			return recording.TokenPair{}, ErrRefreshRefused
		}
		old.UserID = dev.UserID
		if old.Retired {
			return s.retryOrRevoke(ctx, token, old, current, now)
		}
		salt, err := auth.NewRotationSalt()
		if err != nil {
			return recording.TokenPair{}, err
		}
		access, refresh := auth.Rotate(token, salt)
		pair := recording.TokenPair{AccessToken: access, AccessExpiresAt: now.Add(s.cfg.AccessTokenTTL),
			RefreshToken: refresh, RefreshExpiresAt: now.Add(s.cfg.RefreshTokenTTL), SessionID: old.SessionID, UserID: old.UserID}
		err = s.store.RotateSession(ctx, dynamo.Rotation{Old: old, Salt: salt,
			NewAccessHash: auth.HashToken(access), NewRefreshKey: auth.RefreshKey(refresh),
			AccessExpiresAt: pair.AccessExpiresAt, RefreshExpiresAt: pair.RefreshExpiresAt,
			GraceUntil: now.Add(RefreshRetryGrace), Now: now})
		switch {
		case err == nil:
			return pair, nil
		case errors.Is(err, dynamo.ErrRefreshSpent):
			continue
		case errors.Is(err, dynamo.ErrSessionGone):
			return recording.TokenPair{}, ErrRefreshRefused
		default:
			return recording.TokenPair{}, err
		}
	}
	return recording.TokenPair{}, ErrRefreshRefused
}

// retryOrRevoke answers a retired refresh token: the pair its rotation
// issued, for a retry within the grace while that pair's refresh token is
// still the session's current one, else the end of the session. current
// is the session's refresh key as just read.
func (s *Service) retryOrRevoke(ctx context.Context, token string, old dynamo.RefreshToken, current string, now time.Time) (recording.TokenPair, error) {
	if now.Before(old.GraceUntil) && current == old.ChildKey {
		access, refresh := auth.Rotate(token, old.Salt)
		if auth.RefreshKey(refresh) == old.ChildKey {
			return recording.TokenPair{AccessToken: access, AccessExpiresAt: old.ChildAccessExpiresAt,
				RefreshToken: refresh, RefreshExpiresAt: old.ChildRefreshExpiresAt, SessionID: old.SessionID,
				UserID: old.UserID}, nil
		}
	}
	revoked, err := s.store.RevokeDeviceSession(ctx, old.UserID, old.SessionID)
	if err != nil {
		return recording.TokenPair{}, err
	}
	if revoked {
		s.log.WarnContext(ctx, "retired refresh token presented again: session revoked",
			"user_id", old.UserID, "session_id", old.SessionID)
	}
	return recording.TokenPair{}, ErrRefreshRefused
}

// DeviceSession is a session as its owner sees it in the list.
type DeviceSession struct {
	recording.DeviceSession
	// Current is the session of the access token asking.
	Current bool
}

// currentSessionID names the session of an access token's hash.
func (s *Service) currentSessionID(ctx context.Context, tokenHash string) (string, error) {
	sess, found, err := s.store.GetSession(ctx, tokenHash)
	if err != nil || !found {
		return "", err
	}
	if sess.SessionID == "" {
		return dynamo.LegacySessionID(tokenHash), nil
	}
	return sess.SessionID, nil
}

// Sessions lists the user's live sessions, the asking one marked.
func (s *Service) Sessions(ctx context.Context, userID, tokenHash string) ([]DeviceSession, error) {
	current, err := s.currentSessionID(ctx, tokenHash)
	if err != nil {
		return nil, err
	}
	all, err := s.store.UserSessions(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := []DeviceSession{}
	for _, d := range all {
		if now.Before(d.ExpiresAt) {
			out = append(out, DeviceSession{DeviceSession: d, Current: d.ID == current})
		}
	}
	return out, nil
}

// RevokeSession ends one of the user's sessions at once: every token of
// it stops working on the next request, on every instance.
func (s *Service) RevokeSession(ctx context.Context, userID, id string) error {
	if id == "" || len(id) > 64 {
		return errSessionNotFound
	}
	revoked, err := s.store.RevokeDeviceSession(ctx, userID, id)
	if err != nil || revoked {
		return err
	}
	hash, found, err := s.store.LegacyTokenHash(ctx, userID, id)
	if err != nil {
		return err
	}
	if !found {
		return errSessionNotFound
	}
	return s.store.DeleteSession(ctx, hash)
}

// RevokeOtherSessions ends every session of the user but the asking one,
// and answers how many it ended.
func (s *Service) RevokeOtherSessions(ctx context.Context, userID, tokenHash string) (int, error) {
	list, err := s.Sessions(ctx, userID, tokenHash)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, d := range list {
		if d.Current {
			continue
		}
		if err := s.RevokeSession(ctx, userID, d.ID); err != nil && !errors.Is(err, errSessionNotFound) {
			return n, err
		}
		n++
	}
	return n, nil
}
