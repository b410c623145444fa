package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"

	"github.com/voicerec/backend/internal/recording"
)

// Identity is who a verified ID token says the user is.
type Identity struct {
	Provider, Subject, Email, Name string
	// ClientID is the configured client ID the token was issued to (its
	// audience), which a later call to the provider on the user's behalf
	// (Apple's code exchange) must name.
	ClientID string
}

// Options tune verification. Zero values mean the defaults.
type Options struct {
	HTTPClient *http.Client
	Now        func() time.Time
	// ClockSkew is tolerated on exp and iat (default 1 minute).
	ClockSkew time.Duration
	// MinRefetchInterval bounds JWKS refetches on unknown key ids (default 1 minute).
	MinRefetchInterval time.Duration
	// MinRetryInterval bounds JWKS refetches after a failed fetch (default 1 second).
	MinRetryInterval time.Duration
	// FetchTimeout bounds one JWKS fetch (default 5 seconds).
	FetchTimeout time.Duration
}

// Verifier checks ID tokens of the configured providers.
type Verifier struct {
	providers map[string]*providerVerifier
	now       func() time.Time
	skew      time.Duration
}

type providerVerifier struct {
	p        Provider
	keys     *keySet
	verifier *oidc.IDTokenVerifier
}

// NewVerifier prepares verification for providers. No network happens here:
// key sets are fetched on first use.
func NewVerifier(providers []Provider, o Options) (*Verifier, error) {
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ClockSkew == 0 {
		o.ClockSkew = time.Minute
	}
	if o.MinRefetchInterval == 0 {
		o.MinRefetchInterval = time.Minute
	}
	if o.MinRetryInterval == 0 {
		o.MinRetryInterval = time.Second
	}
	if o.FetchTimeout == 0 {
		o.FetchTimeout = 5 * time.Second
	}
	v := &Verifier{providers: map[string]*providerVerifier{}, now: o.Now, skew: o.ClockSkew}
	for _, p := range providers {
		if len(p.ClientIDs) == 0 {
			continue
		}
		var algs []jose.SignatureAlgorithm
		for _, a := range p.Algorithms {
			if !asymmetric[a] {
				return nil, errors.New("provider " + p.Name + ": algorithm " + a + " is not accepted")
			}
			algs = append(algs, jose.SignatureAlgorithm(a))
		}
		if len(algs) == 0 {
			algs = []jose.SignatureAlgorithm{jose.RS256}
			p.Algorithms = []string{"RS256"}
		}
		ks := &keySet{url: p.JWKSURL, algs: algs, client: o.HTTPClient, now: o.Now,
			minInterval: o.MinRefetchInterval, retryInterval: o.MinRetryInterval, fetchTimeout: o.FetchTimeout}
		skew := o.ClockSkew
		now := o.Now
		v.providers[p.Name] = &providerVerifier{p: p, keys: ks, verifier: oidc.NewVerifier(p.Issuer, ks, &oidc.Config{
			// Several client IDs (iOS, Android, web) are valid audiences;
			// go-oidc takes one, so the audience is checked below.
			SkipClientIDCheck:    true,
			SupportedSigningAlgs: p.Algorithms,
			// Shifting go-oidc's clock back by the skew tolerates an
			// expiry that has just passed on a slightly fast provider clock.
			Now: func() time.Time { return now().Add(-skew) },
		})}
	}
	return v, nil
}

// Providers are the enabled providers, sorted by name.
func (v *Verifier) Providers() []Provider {
	out := make([]Provider, 0, len(v.providers))
	for _, pv := range v.providers {
		out = append(out, pv.p)
	}
	slices.SortFunc(out, func(a, b Provider) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Enabled reports whether provider is configured.
func (v *Verifier) Enabled(provider string) bool {
	_, ok := v.providers[provider]
	return ok
}

func rejected(why string) error {
	return recording.Errorf(recording.CodeInvalidToken, "ID token rejected: %s", why)
}

// Verify checks rawIDToken for the named provider: signature with the
// provider's keys and allowed algorithms, issuer, audience, expiry and
// issue time, azp when present, and the nonce. nonce is "" when the app
// sent none; otherwise the token must carry it, raw or as its hex SHA-256
// (Sign in with Apple on iOS hashes it), and a token carrying a nonce needs
// it sent. A provider with RequireNonce refuses tokens without one. Whether
// the nonce is one the server issued, and unused, is the caller's check
// (see NonceHash): Verify needs no database.
func (v *Verifier) Verify(ctx context.Context, provider, rawIDToken, nonce string) (Identity, error) {
	pv, ok := v.providers[provider]
	if !ok {
		return Identity{}, recording.Errorf(recording.CodeUnknownProvider, "unknown or disabled provider %q", provider)
	}
	rawIDToken = strings.TrimSpace(rawIDToken)
	if rawIDToken == "" {
		return Identity{}, rejected("empty")
	}
	var fetchErr error
	tok, err := pv.verifier.Verify(withFetchError(ctx, &fetchErr), rawIDToken)
	if err != nil {
		if fetchErr != nil {
			return Identity{}, &recording.Error{Code: recording.CodeUnavailable,
				Message: "the identity provider's keys could not be fetched; try again", Err: fetchErr}
		}
		return Identity{}, classify(err)
	}
	clientID, audOK := v.audience(pv, tok.Audience)
	if !audOK {
		return Identity{}, rejected("wrong audience")
	}
	now := v.now()
	switch {
	case tok.IssuedAt.IsZero():
		return Identity{}, rejected("no issue time")
	case tok.IssuedAt.After(now.Add(v.skew)):
		return Identity{}, rejected("issued in the future")
	case tok.Subject == "":
		return Identity{}, rejected("no subject")
	}
	if tok.Nonce == "" && pv.p.RequireNonce {
		return Identity{}, rejected("no nonce; request one from POST /v1/auth/nonce and pass it to the provider")
	}
	if err := checkNonce(tok.Nonce, nonce); err != nil {
		return Identity{}, err
	}
	var claims struct {
		Email         string  `json:"email"`
		EmailVerified any     `json:"email_verified"`
		Name          string  `json:"name"`
		Nickname      string  `json:"nickname"`
		AZP           *string `json:"azp"`
	}
	if err := tok.Claims(&claims); err != nil {
		return Identity{}, rejected("unreadable claims")
	}
	// azp names the client the token was issued to (Google: the Android or
	// iOS client, while aud is the server's). When present it must be ours
	// too, or a token made for another app would sign in here.
	if claims.AZP != nil && !slices.Contains(pv.p.ClientIDs, *claims.AZP) {
		return Identity{}, rejected("wrong authorized party")
	}
	id := Identity{Provider: provider, Subject: tok.Subject, Name: claims.Name, ClientID: clientID}
	if id.Name == "" {
		id.Name = claims.Nickname // Kakao's display name
	}
	// Apple sends email_verified as the string "true"; others as a boolean.
	if claims.EmailVerified == true || claims.EmailVerified == "true" {
		id.Email = claims.Email
	}
	return id, nil
}

func (v *Verifier) audience(pv *providerVerifier, aud []string) (string, bool) {
	for _, a := range aud {
		for _, id := range pv.p.ClientIDs {
			if a == id {
				return id, true
			}
		}
	}
	return "", false
}

func checkNonce(inToken, sent string) error {
	switch {
	case inToken == "" && sent == "":
		return nil
	case inToken == "":
		return rejected("nonce sent but the token has none")
	case sent == "":
		return rejected("the token has a nonce but none was sent")
	}
	sum := sha256.Sum256([]byte(sent))
	hashed := hex.EncodeToString(sum[:])
	if subtle.ConstantTimeCompare([]byte(inToken), []byte(sent)) == 1 ||
		subtle.ConstantTimeCompare([]byte(strings.ToLower(inToken)), []byte(hashed)) == 1 {
		return nil
	}
	return rejected("nonce mismatch")
}

// classify turns go-oidc's errors into a short, user-facing reason.
func classify(err error) error {
	var expired *oidc.TokenExpiredError
	if errors.As(err, &expired) {
		return rejected("expired")
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "malformed"), strings.Contains(msg, "unmarshal"):
		return rejected("malformed")
	case strings.Contains(msg, "issued by a different provider"), strings.Contains(msg, "issuer"):
		return rejected("wrong issuer")
	case strings.Contains(msg, "signature"):
		return rejected("bad signature")
	case strings.Contains(msg, "nbf"):
		return rejected("not yet valid")
	}
	return rejected("invalid")
}
