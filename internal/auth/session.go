package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"
)

// sessionTokenBytes is 256 bits of randomness.
const sessionTokenBytes = 32

// NewSessionToken returns a fresh opaque bearer token and the hash under
// which it is stored. The token itself is shown to the app once and kept
// nowhere.
func NewSessionToken() (token, hash string, err error) {
	b := make([]byte, sessionTokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	token = base64.RawURLEncoding.EncodeToString(b)
	return token, HashToken(token), nil
}

// HashToken is the lowercase hex SHA-256 of a token. A fast hash is right
// here: the token has 256 bits of entropy, so there is nothing to brute-force.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// WellFormedSessionToken reports whether s has the shape NewSessionToken
// produces, so junk is refused without a database lookup.
func WellFormedSessionToken(s string) bool {
	if len(s) != base64.RawURLEncoding.EncodedLen(sessionTokenBytes) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// NonceTTL is how long a server-issued login nonce stays usable.
const NonceTTL = 10 * time.Minute

// NewNonce returns a fresh login nonce (256 bits, base64url) and the hash
// under which it is stored.
func NewNonce() (nonce, hash string, err error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	nonce = base64.RawURLEncoding.EncodeToString(b)
	return nonce, NonceHash(nonce), nil
}

// NonceHash is the key a raw nonce is stored under: its lowercase hex
// SHA-256, the same as HashToken.
func NonceHash(nonce string) string { return HashToken(nonce) }
