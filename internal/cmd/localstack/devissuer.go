package main

import (
	"fmt"
	"net/http"

	"github.com/voicerec/backend/internal/devissuer"
)

// devClientID is the audience of the local stack's development tokens.
const devClientID = "recorder-local"

// devIssuerInfo says where the development OIDC issuer runs.
type devIssuerInfo struct{ URL string }

// Quickstart shows how to sign in with curl.
func (d devIssuerInfo) Quickstart(api string) string {
	return fmt.Sprintf(`
Sign in as any user through the dev issuer:
  TOKEN=$(curl -s '%s/token?sub=alice' | sed 's/.*"id_token":"\([^"]*\)".*/\1/')
  curl -s -X POST %s/v1/auth/login -H 'Content-Type: application/json' \
       -d "{\"provider\":\"dev\",\"id_token\":\"$TOKEN\"}"
`, d.URL, api)
}

// localAuthDefaults configure the dev issuer as an ordinary provider; they
// apply only where the environment does not say otherwise.
func localAuthDefaults(ls localSettings) map[string]string {
	url := loopbackURL(ls.issAddr)
	return map[string]string{
		"OIDC_PROVIDERS":      "dev",
		"OIDC_DEV_ISSUER":     url,
		"OIDC_DEV_JWKS_URL":   url + "/jwks",
		"OIDC_DEV_CLIENT_IDS": devClientID,
		"OIDC_DEV_TOKEN_URL":  url + "/token",
	}
}

func startDevIssuer(ls localSettings, serve func(string, http.Handler) error) (devIssuerInfo, error) {
	url := loopbackURL(ls.issAddr)
	iss, err := devissuer.New(url, devClientID)
	if err != nil {
		return devIssuerInfo{}, err
	}
	if err := serve(ls.issAddr, iss.Handler()); err != nil {
		return devIssuerInfo{}, err
	}
	return devIssuerInfo{URL: url}, nil
}
