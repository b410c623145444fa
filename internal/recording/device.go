package recording

import "time"

// DeviceSession is one signed-in device: what the sessions list shows and
// what a sign-out ends. Its tokens come and go with each refresh; the
// session stays until it is revoked, its refresh token expires unused, or
// a retired refresh token is presented again.
type DeviceSession struct {
	ID         string
	UserID     string
	DeviceName string
	// Provider is the sign-in's identity provider, Platform the family of
	// the user agent that signed in ("iOS", "Chrome on macOS", ...).
	Provider   string
	Platform   string
	CreatedAt  time.Time
	LastUsedAt time.Time // to the hour
	ExpiresAt  time.Time // when the refresh token runs out unless used
	// Legacy marks a session from before refresh tokens: one bearer token,
	// no device details, ending when that token expires.
	Legacy bool
}

// TokenPair is what a sign-in or a refresh answers. Only the hashes of
// both tokens are stored.
type TokenPair struct {
	AccessToken      string
	AccessExpiresAt  time.Time
	RefreshToken     string
	RefreshExpiresAt time.Time
	SessionID        string
	UserID           string
}
