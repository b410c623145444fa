package config

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// OIDCProvider is an identity provider whose ID tokens sign users in, as
// the environment configures it; auth.Provider has the same fields.
type OIDCProvider struct {
	Name       string
	Issuer     string
	JWKSURL    string
	ClientIDs  []string
	Algorithms []string
	// RequireNonce refuses ID tokens without a nonce claim, so every
	// sign-in consumes a server-issued nonce and no token signs in twice.
	RequireNonce bool
	// TokenURL is a development issuer's token endpoint (OIDC_<NAME>_TOKEN_URL,
	// loopback only).
	TokenURL string
}

// requireNonceByDefault is each built-in's default for <NAME>_REQUIRE_NONCE:
// all three pass an app's nonce into the ID token on every platform (Apple
// as its SHA-256 on iOS, Google through Credential Manager, GoogleSignIn
// 7.1+ and Identity Services, Kakao through its SDKs' OIDC login), so a
// token without one is a replay or an outdated app. Extra providers default
// to false: the server cannot know whether they echo a nonce.
var requireNonceByDefault = map[string]bool{"google": true, "apple": true, "kakao": true}

// builtins are the providers the app ships with, as their documentation
// gives them. Each is enabled by configuring its client IDs.
var builtins = map[string]OIDCProvider{
	"google": {Name: "google", Issuer: "https://accounts.google.com", JWKSURL: "https://www.googleapis.com/oauth2/v3/certs"},
	"apple":  {Name: "apple", Issuer: "https://appleid.apple.com", JWKSURL: "https://appleid.apple.com/auth/keys"},
	"kakao":  {Name: "kakao", Issuer: "https://kauth.kakao.com", JWKSURL: "https://kauth.kakao.com/.well-known/jwks.json"},
}

// asymmetric lists the algorithms a provider may be configured with (the
// verifier, internal/auth, refuses any other too). No
// "none" and no HMAC: a public key must never double as a shared secret.
var asymmetric = map[string]bool{
	"RS256": true, "RS384": true, "RS512": true, "PS256": true, "PS384": true, "PS512": true,
	"ES256": true, "ES384": true, "ES512": true, "EdDSA": true,
}

var providerName = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)

// oidcProviders reads the provider configuration: GOOGLE_CLIENT_IDS,
// APPLE_CLIENT_IDS, KAKAO_CLIENT_IDS (and GOOGLE_REQUIRE_NONCE, ...) for the
// built-ins, OIDC_PROVIDERS for extra names, and OIDC_<NAME>_ISSUER,
// _JWKS_URL, _CLIENT_IDS, _ALGS, _REQUIRE_NONCE, _TOKEN_URL for each.
// It returns the enabled providers, sorted by name.
func oidcProviders(getenv func(string) string) ([]OIDCProvider, error) {
	var out []OIDCProvider
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }

	names := map[string]bool{}
	for name := range builtins {
		names[name] = true
	}
	for _, n := range splitOIDCList(getenv("OIDC_PROVIDERS")) {
		n = strings.ToLower(n)
		if !providerName.MatchString(n) {
			fail("OIDC_PROVIDERS: %q is not a valid provider name (lowercase letters, digits, - and _)", n)
			continue
		}
		names[n] = true
	}
	for name := range names {
		env := "OIDC_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_")) + "_"
		p, builtin := builtins[name]
		p.Name = name
		idsVar, nonceVar := env+"CLIENT_IDS", env+"REQUIRE_NONCE"
		if builtin {
			idsVar, nonceVar = strings.ToUpper(name)+"_CLIENT_IDS", strings.ToUpper(name)+"_REQUIRE_NONCE"
		}
		p.RequireNonce = requireNonceByDefault[name]
		if v := strings.TrimSpace(getenv(nonceVar)); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				fail("%s: want true or false, got %q", nonceVar, v)
			}
			p.RequireNonce = b
		}
		p.ClientIDs = splitOIDCList(getenv(idsVar))
		if len(p.ClientIDs) == 0 {
			if !builtin {
				fail("%s: provider %q is listed in OIDC_PROVIDERS but has no client IDs", idsVar, name)
			}
			continue // a built-in without client IDs is simply disabled
		}
		if v := strings.TrimSpace(getenv(env + "ISSUER")); v != "" {
			p.Issuer = v
		}
		if v := strings.TrimSpace(getenv(env + "JWKS_URL")); v != "" {
			p.JWKSURL = v
		}
		if p.Issuer == "" {
			fail("%sISSUER: required for provider %q", env, name)
		} else if err := checkURL(p.Issuer); err != nil && !(name == "google" && p.Issuer == "accounts.google.com") {
			fail("%sISSUER: %v", env, err)
		}
		if p.JWKSURL == "" {
			fail("%sJWKS_URL: required for provider %q", env, name)
		} else if err := checkURL(p.JWKSURL); err != nil {
			fail("%sJWKS_URL: %v", env, err)
		}
		if v := strings.TrimSpace(getenv(env + "TOKEN_URL")); v != "" {
			if builtin {
				fail("%sTOKEN_URL: only a development provider has a token endpoint, not %q", env, name)
			} else if err := checkLoopback(v); err != nil {
				fail("%sTOKEN_URL: %v", env, err)
			}
			p.TokenURL = v
		}
		p.Algorithms = []string{"RS256"}
		if !builtin {
			p.Algorithms = []string{"RS256", "ES256"}
		}
		if v := splitOIDCList(getenv(env + "ALGS")); len(v) > 0 {
			p.Algorithms = v
		}
		for _, a := range p.Algorithms {
			if !asymmetric[a] {
				fail("%sALGS: %q is not an accepted signing algorithm (asymmetric only, e.g. RS256, ES256)", env, a)
			}
		}
		out = append(out, p)
	}
	if len(errs) > 0 {
		sort.Strings(errs)
		return nil, fmt.Errorf("identity providers: %s", strings.Join(errs, "; "))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// checkURL wants https, except on loopback, where the development issuer
// and tests run over plain http.
func checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
			return nil
		}
	}
	return fmt.Errorf("%q must use https (plain http only on loopback)", raw)
}

// checkLoopback wants an http(s) URL on this machine: a token endpoint that
// mints ID tokens for anyone must never be reachable from elsewhere.
func checkLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("%q is not an absolute http URL", raw)
	}
	host := u.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return nil
	}
	return fmt.Errorf("%q must be on loopback (a development issuer mints tokens for anyone)", raw)
}

func splitOIDCList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
