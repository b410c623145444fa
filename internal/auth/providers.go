// Package auth verifies social-login ID tokens (OIDC) and makes the opaque
// session tokens the API hands out.
package auth

// Provider is an OIDC identity provider the API accepts ID tokens from. Its
// fields are config.OIDCProvider's, which the configuration reads
// (OIDC_<NAME>_* and the built-ins' variables), so one converts to the other.
type Provider struct {
	Name       string
	Issuer     string
	JWKSURL    string
	ClientIDs  []string
	Algorithms []string
	// RequireNonce refuses ID tokens without a nonce claim, so every
	// sign-in consumes a server-issued nonce and no token signs in twice.
	RequireNonce bool
	// TokenURL is a development issuer's token endpoint (loopback only).
	// GET /v1/auth/providers lists it, so a local client finds the issuer
	// through the API it talks to, whatever the ports.
	TokenURL string
}

// asymmetric lists the algorithms a verifier accepts. No "none" and no
// HMAC: a public key must never double as a shared secret. The
// configuration refuses others by name earlier (config.Load), but the
// verifier holds the line whoever built its provider list.
var asymmetric = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true, "PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true, "EdDSA": true,
}
