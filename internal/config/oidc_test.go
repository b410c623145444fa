package config

import (
	"strings"
	"testing"
)

// Which providers the environment enables, and every variable a bad one
// names.
func TestOIDCProviders(t *testing.T) {
	cases := []struct {
		name    string
		env     map[string]string
		want    []string // enabled provider names
		errVars []string // variables the error must name
	}{
		{"nothing configured", nil, nil, nil},
		{"built-ins by client ids", map[string]string{"GOOGLE_CLIENT_IDS": "a.apps, b.apps", "APPLE_CLIENT_IDS": "com.example.app"}, []string{"apple", "google"}, nil},
		{"extra provider", map[string]string{"OIDC_PROVIDERS": "dev", "OIDC_DEV_ISSUER": "http://127.0.0.1:8082",
			"OIDC_DEV_JWKS_URL": "http://127.0.0.1:8082/jwks", "OIDC_DEV_CLIENT_IDS": "local"}, []string{"dev"}, nil},
		{"override a built-in", map[string]string{"KAKAO_CLIENT_IDS": "k", "OIDC_KAKAO_JWKS_URL": "https://keys.example/jwks"}, []string{"kakao"}, nil},
		{"extra without issuer", map[string]string{"OIDC_PROVIDERS": "acme", "OIDC_ACME_CLIENT_IDS": "x", "OIDC_ACME_JWKS_URL": "https://acme.example/jwks"}, nil, []string{"OIDC_ACME_ISSUER"}},
		{"extra without client ids", map[string]string{"OIDC_PROVIDERS": "acme", "OIDC_ACME_ISSUER": "https://acme.example", "OIDC_ACME_JWKS_URL": "https://acme.example/jwks"}, nil, []string{"OIDC_ACME_CLIENT_IDS"}},
		{"plain http off loopback", map[string]string{"OIDC_PROVIDERS": "acme", "OIDC_ACME_ISSUER": "http://acme.example", "OIDC_ACME_JWKS_URL": "https://acme.example/jwks", "OIDC_ACME_CLIENT_IDS": "x"}, nil, []string{"OIDC_ACME_ISSUER"}},
		{"symmetric algorithm", map[string]string{"GOOGLE_CLIENT_IDS": "x", "OIDC_GOOGLE_ALGS": "HS256"}, nil, []string{"OIDC_GOOGLE_ALGS"}},
		{"alg none", map[string]string{"GOOGLE_CLIENT_IDS": "x", "OIDC_GOOGLE_ALGS": "none"}, nil, []string{"OIDC_GOOGLE_ALGS"}},
		{"bad name", map[string]string{"OIDC_PROVIDERS": "Bad Name"}, nil, []string{"OIDC_PROVIDERS"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := oidcProviders(func(k string) string { return tc.env[k] })
			if len(tc.errVars) > 0 {
				if err == nil {
					t.Fatalf("no error, providers %+v", ps)
				}
				for _, v := range tc.errVars {
					if !strings.Contains(err.Error(), v) {
						t.Errorf("error %q does not name %s", err, v)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, p := range ps {
				names = append(names, p.Name)
				if len(p.ClientIDs) == 0 || p.Issuer == "" || p.JWKSURL == "" || len(p.Algorithms) == 0 {
					t.Errorf("incomplete provider %+v", p)
				}
			}
			if strings.Join(names, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("enabled %v, want %v", names, tc.want)
			}
		})
	}
}

// Built-in providers require a nonce unless told otherwise; extra ones do
// not unless told to.
func TestRequireNonceDefaults(t *testing.T) {
	env := map[string]string{
		"GOOGLE_CLIENT_IDS": "g", "APPLE_CLIENT_IDS": "a", "KAKAO_CLIENT_IDS": "k", "KAKAO_REQUIRE_NONCE": "false",
		"OIDC_PROVIDERS": "acme,corp", "OIDC_ACME_ISSUER": "https://acme.example", "OIDC_ACME_JWKS_URL": "https://acme.example/jwks",
		"OIDC_ACME_CLIENT_IDS": "x", "OIDC_CORP_ISSUER": "https://corp.example", "OIDC_CORP_JWKS_URL": "https://corp.example/jwks",
		"OIDC_CORP_CLIENT_IDS": "y", "OIDC_CORP_REQUIRE_NONCE": "true",
	}
	ps, err := oidcProviders(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"acme": false, "apple": true, "corp": true, "google": true, "kakao": false}
	for _, p := range ps {
		if p.RequireNonce != want[p.Name] {
			t.Errorf("%s: RequireNonce %v, want %v", p.Name, p.RequireNonce, want[p.Name])
		}
	}
	env["GOOGLE_REQUIRE_NONCE"] = "maybe"
	if _, err := oidcProviders(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "GOOGLE_REQUIRE_NONCE") {
		t.Errorf("bad GOOGLE_REQUIRE_NONCE: %v", err)
	}
}

// The scheme-less issuer spelling is allowed for Google alone, and only
// that exact spelling.
func TestSchemeLessIssuerOnlyForGoogle(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		bad  string // variable the error must name; "" for accepted
	}{
		{"google, scheme-less", map[string]string{"GOOGLE_CLIENT_IDS": "x", "OIDC_GOOGLE_ISSUER": "accounts.google.com"}, ""},
		{"google, plain http elsewhere", map[string]string{"GOOGLE_CLIENT_IDS": "x", "OIDC_GOOGLE_ISSUER": "http://evil.example"}, "OIDC_GOOGLE_ISSUER"},
		{"another provider, Google's scheme-less issuer", map[string]string{"OIDC_PROVIDERS": "acme", "OIDC_ACME_ISSUER": "accounts.google.com",
			"OIDC_ACME_JWKS_URL": "https://acme.example/jwks", "OIDC_ACME_CLIENT_IDS": "x"}, "OIDC_ACME_ISSUER"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := oidcProviders(func(k string) string { return tc.env[k] })
			if tc.bad == "" && err != nil {
				t.Fatal(err)
			}
			if tc.bad != "" && (err == nil || !strings.Contains(err.Error(), tc.bad)) {
				t.Fatalf("error %v, want one naming %s", err, tc.bad)
			}
		})
	}
}

// A token endpoint mints tokens for anyone: only an extra provider may have
// one, and only on loopback.
func TestTokenURLOnlyOnLoopbackForExtraProviders(t *testing.T) {
	dev := func(url string) map[string]string {
		return map[string]string{"OIDC_PROVIDERS": "dev", "OIDC_DEV_ISSUER": "http://127.0.0.1:8082",
			"OIDC_DEV_JWKS_URL": "http://127.0.0.1:8082/jwks", "OIDC_DEV_CLIENT_IDS": "x", "OIDC_DEV_TOKEN_URL": url}
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		bad  string
	}{
		{"loopback", dev("http://127.0.0.1:8082/token"), ""},
		{"localhost", dev("http://localhost:8082/token"), ""},
		{"elsewhere", dev("https://issuer.example/token"), "OIDC_DEV_TOKEN_URL"},
		{"not a URL", dev("127.0.0.1:8082"), "OIDC_DEV_TOKEN_URL"},
		{"not http", dev("ftp://127.0.0.1/token"), "OIDC_DEV_TOKEN_URL"},
		{"no host", dev("http:///token"), "OIDC_DEV_TOKEN_URL"},
		{"built-in", map[string]string{"GOOGLE_CLIENT_IDS": "x", "OIDC_GOOGLE_TOKEN_URL": "http://127.0.0.1:1/token"}, "OIDC_GOOGLE_TOKEN_URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := oidcProviders(func(k string) string { return tc.env[k] })
			if tc.bad == "" {
				if err != nil || len(ps) != 1 || ps[0].TokenURL != tc.env["OIDC_DEV_TOKEN_URL"] {
					t.Fatalf("%v %+v", err, ps)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Fatalf("error %v, want one naming %s", err, tc.bad)
			}
		})
	}
}

// Load reads the identity providers with every other variable: a bad one
// fails start-up, a good one reaches the configuration.
func TestLoadReadsIdentityProviders(t *testing.T) {
	env := map[string]string{"GOOGLE_CLIENT_IDS": "g.apps", "OIDC_GOOGLE_ALGS": "HS256"}
	if _, err := Load(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "OIDC_GOOGLE_ALGS") {
		t.Fatalf("Load with a symmetric algorithm: %v", err)
	}
	delete(env, "OIDC_GOOGLE_ALGS")
	c, err := Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if len(c.OIDC) != 1 || c.OIDC[0].Name != "google" || c.OIDC[0].ClientIDs[0] != "g.apps" {
		t.Fatalf("OIDC %+v, want google with g.apps", c.OIDC)
	}
}
