package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
)

// RefreshKey is the key a refresh token's item is stored under: its hash
// behind a prefix no access token's hash can have, so a refresh token
// presented as a bearer token finds nothing and an access token presented
// to the refresh endpoint finds nothing either.
func RefreshKey(refreshToken string) string { return "r:" + HashToken(refreshToken) }

// NewRotationSalt returns the random salt a rotation's new pair is derived
// with (see Rotate). It is stored beside the retired refresh token's hash.
func NewRotationSalt() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Rotate derives the pair that replaces refreshToken: HMAC-SHA256 keyed by
// the old refresh token over the stored salt. Only a holder of the old
// token can compute it, and only with the salt, which never leaves the
// database: a retry of a refresh whose answer was lost recomputes the same
// pair without the server keeping any token, and a thief who copied the
// old token cannot compute its successor offline.
func Rotate(refreshToken, salt string) (access, refresh string) {
	derive := func(label string) string {
		m := hmac.New(sha256.New, []byte(refreshToken))
		m.Write([]byte(label))
		m.Write([]byte{0})
		m.Write([]byte(salt))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	return derive("access"), derive("refresh")
}
