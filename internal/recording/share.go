package recording

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// A share is a link to one recording that anyone holding it may play, until
// it expires, is revoked, or the recording leaves "available". The token in
// the link is never stored: only its hash, which is also the share's id.
type Share struct {
	ID          string `json:"id"`
	RecordingID string `json:"recording_id"`
	// FileName is the recording's name as it is now (listings only).
	FileName  string    `json:"file_name,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	// Views counts how often the share's page was opened.
	Views int64 `json:"views"`
	// Generation is the recording's share generation when the share was
	// made; moving the recording to the trash increments it, which ends
	// every share made before, and restore leaves it as it is.
	Generation int64  `json:"-"`
	UserID     string `json:"-"`
}

// Share lifetimes: the default when none is asked for, and the bounds.
const (
	DefaultShareLifetime = 7 * 24 * time.Hour
	MaxShareLifetime     = 30 * 24 * time.Hour
	MinShareLifetime     = time.Minute
)

// shareTokenBytes is the randomness in a share token: 192 bits, well above
// the 128 that make guessing hopeless at any request rate.
const shareTokenBytes = 24

// ShareTokenLength is a token's length as it appears in a link.
var ShareTokenLength = base64.RawURLEncoding.EncodedLen(shareTokenBytes)

// ShareIDLength is a share id's length: 128 bits of the token's SHA-256,
// in hex.
const ShareIDLength = 32

// NewShareToken returns a fresh link token and the id it is stored under.
func NewShareToken() (token, id string, err error) {
	b := make([]byte, shareTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, ShareIDOf(token), nil
}

// ShareIDOf is the id a token's share is stored under. The id names the
// share to its owner (to list and revoke it); no route takes it in place
// of a token, and the token cannot be recovered from it.
func ShareIDOf(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:ShareIDLength/2])
}

// ValidShareToken reports whether s has the shape of a token we issue, so
// anything else is refused without a database read.
func ValidShareToken(s string) bool {
	if len(s) != ShareTokenLength {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

// ValidShareID reports whether s has the shape of a share id.
func ValidShareID(s string) bool {
	if len(s) != ShareIDLength {
		return false
	}
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// ShareLifetime reads a requested lifetime ("168h", "30m"; empty: the
// default) and checks its bounds.
func ShareLifetime(s string) (time.Duration, error) {
	if s == "" {
		return DefaultShareLifetime, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < MinShareLifetime || d > MaxShareLifetime {
		return 0, Errorf(CodeValidation, "expires_in must be a duration from %s to %s, such as \"24h\"", "1m", "720h")
	}
	return d, nil
}

// ErrShareNotFound is every lookup of an unknown, expired, revoked or
// somebody else's share.
var ErrShareNotFound = &Error{Code: CodeNotFound, Message: "share not found"}

// ErrNotShareable refuses a share of a recording that is not available
// (pending, rejected or in the trash).
var ErrNotShareable = &Error{Code: CodeConflict, Message: "only an available recording can be shared"}
