package providers

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// DefaultAppleBaseURL is Sign in with Apple's REST API.
const DefaultAppleBaseURL = "https://appleid.apple.com"

// appleAudience is the aud of every client secret, whatever the base URL.
const appleAudience = "https://appleid.apple.com"

// clientSecretTTL is the client secret's lifetime: Apple allows six months;
// a secret is made per call, so minutes suffice.
const clientSecretTTL = 5 * time.Minute

// Apple calls Sign in with Apple's token and revocation endpoints for the
// team's services: POST /auth/token (exchange an app's authorization code
// for a refresh token) and POST /auth/revoke (at account deletion).
type Apple struct {
	BaseURL string
	TeamID  string
	KeyID   string
	Key     *ecdsa.PrivateKey
	HTTP    *http.Client
	Now     func() time.Time
}

// ParseApplePrivateKey reads the .p8 key Apple hands out: PEM, PKCS#8, P-256.
func ParseApplePrivateKey(pemText string) (*ecdsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(strings.TrimSpace(pemText)))
	if block == nil {
		return nil, errors.New("apple private key: no PEM block")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("apple private key: %w", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve.Params().Name != "P-256" {
		return nil, errors.New("apple private key: want an ECDSA P-256 key (ES256)")
	}
	return ec, nil
}

func (a *Apple) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

func (a *Apple) client() *http.Client {
	if a.HTTP != nil {
		return a.HTTP
	}
	return http.DefaultClient
}

// ClientSecret is the ES256 JWT Apple takes as client_secret for clientID:
// kid in the header; iss the team, sub the client, aud Apple, iat and exp.
func (a *Apple) ClientSecret(clientID string) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: a.Key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), a.KeyID))
	if err != nil {
		return "", err
	}
	now := a.now()
	return jwt.Signed(signer).Claims(jwt.Claims{
		Issuer: a.TeamID, Subject: clientID, Audience: jwt.Audience{appleAudience},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(clientSecretTTL)),
	}).Serialize()
}

// Exchange redeems an app's one-time authorization code for clientID (the
// audience of the ID token it came with) and returns the refresh token. The
// answer's ID token must name subject: a code of someone else's sign-in
// is refused. That ID token came straight from Apple over TLS, so its
// claims are read without checking its signature (OpenID Connect Core
// 3.1.3.7).
func (a *Apple) Exchange(ctx context.Context, clientID, code, subject string) (string, error) {
	secret, err := a.ClientSecret(clientID)
	if err != nil {
		return "", err
	}
	body, err := postForm(ctx, a.client(), "apple", "token", strings.TrimRight(a.BaseURL, "/")+"/auth/token", nil, url.Values{
		"client_id": {clientID}, "client_secret": {secret}, "code": {code}, "grant_type": {"authorization_code"},
	})
	if err != nil {
		return "", err
	}
	var out struct {
		RefreshToken string `json:"refresh_token"`
		IDToken      string `json:"id_token"`
	}
	if err := json.Unmarshal(body, &out); err != nil || out.RefreshToken == "" {
		return "", errors.New("apple token: answer without a refresh token")
	}
	tok, err := jwt.ParseSigned(out.IDToken, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		return "", errors.New("apple token: answer without a readable id_token")
	}
	var claims jwt.Claims
	if err := tok.UnsafeClaimsWithoutVerification(&claims); err != nil {
		return "", errors.New("apple token: unreadable id_token claims")
	}
	if claims.Subject != subject || !claims.Audience.Contains(clientID) {
		return "", errors.New("apple token: the code belongs to another sign-in")
	}
	return out.RefreshToken, nil
}

// Revoke revokes a refresh token, which ends the user's authorization of
// the app (it leaves "Apps Using Apple ID").
func (a *Apple) Revoke(ctx context.Context, clientID, refreshToken string) error {
	secret, err := a.ClientSecret(clientID)
	if err != nil {
		return err
	}
	_, err = postForm(ctx, a.client(), "apple", "revoke", strings.TrimRight(a.BaseURL, "/")+"/auth/revoke", nil, url.Values{
		"client_id": {clientID}, "client_secret": {secret}, "token": {refreshToken}, "token_type_hint": {"refresh_token"},
	})
	return err
}
