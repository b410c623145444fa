package auth

import (
	"strings"
	"testing"
)

func TestProvidersFromEnv(t *testing.T) {
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
			ps, err := ProvidersFromEnv(func(k string) string { return tc.env[k] })
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
			_, err := ProvidersFromEnv(func(k string) string { return tc.env[k] })
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
			ps, err := ProvidersFromEnv(func(k string) string { return tc.env[k] })
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
