package api_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/devissuer"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

type nonceResp struct {
	Nonce     string    `json:"nonce"`
	ExpiresAt time.Time `json:"expires_at"`
}

func getNonce(t *testing.T, c *client) string {
	t.Helper()
	r := c.do("POST", "/v1/auth/nonce", nil)
	wantStatus(t, r, http.StatusOK)
	var n nonceResp
	r.decode(t, &n)
	if len(n.Nonce) < 43 || time.Until(n.ExpiresAt) < 9*time.Minute || time.Until(n.ExpiresAt) > 11*time.Minute {
		t.Fatalf("nonce %+v, want 43+ characters valid for 10 minutes", n)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
	return n.Nonce
}

// A server-issued nonce signs in once: the same ID token (raw nonce, or its
// SHA-256 as Apple's iOS flow puts it) can never sign in twice, and a nonce
// the server did not issue, or one past its ten minutes, signs in never.
func TestNonceIsSingleUse(t *testing.T) {
	t.Parallel()
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock})
	anon := newClient(t, s.APIURL, "")
	login := func(tok, nonce string) result {
		body := map[string]string{"provider": "dev", "id_token": tok}
		if nonce != "" {
			body["nonce"] = nonce
		}
		return anon.do("POST", "/v1/auth/login", body)
	}
	mint := func(sub, claim string) string {
		tok, err := s.Issuer.Mint(devissuer.Claims{Subject: sub, Audience: stack.ClientID, Nonce: claim})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	raw := getNonce(t, anon)
	tok := mint("nina", raw)
	wantStatus(t, login(tok, raw), http.StatusCreated)
	wantProblem(t, login(tok, raw), http.StatusUnauthorized, "invalid_id_token")

	raw = getNonce(t, anon)
	sum := sha256.Sum256([]byte(raw))
	tok = mint("nina", hex.EncodeToString(sum[:]))
	wantStatus(t, login(tok, raw), http.StatusOK)
	wantProblem(t, login(tok, raw), http.StatusUnauthorized, "invalid_id_token")

	// A nonce the app made up protects nothing: refused.
	tok = mint("nina", "app-made-nonce")
	wantProblem(t, login(tok, "app-made-nonce"), http.StatusUnauthorized, "invalid_id_token")
	// A mismatch, and a nonce in the token but none sent, still fail.
	raw = getNonce(t, anon)
	tok = mint("nina", raw)
	wantProblem(t, login(tok, "other"), http.StatusUnauthorized, "invalid_id_token")
	wantProblem(t, login(tok, ""), http.StatusUnauthorized, "invalid_id_token")
	// ...without using the nonce up.
	wantStatus(t, login(tok, raw), http.StatusOK)

	// Expired: ten minutes and a bit later.
	raw = getNonce(t, anon)
	clock.Advance(10*time.Minute + time.Second)
	wantProblem(t, login(mint("nina", raw), raw), http.StatusUnauthorized, "invalid_id_token")

	// The table holds only hashes.
	if got := scanTable(t, s, "nonces"); len(got) == 0 || contains(got, raw) {
		t.Fatalf("nonces table: %q", got)
	}
}

// With OIDC_<NAME>_REQUIRE_NONCE a token without a nonce is refused.
func TestNonceRequiredByProviderSetting(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"OIDC_DEV_REQUIRE_NONCE": "true"}})
	anon := newClient(t, s.APIURL, "")
	wantProblem(t, anon.do("POST", "/v1/auth/login", map[string]string{"provider": "dev", "id_token": s.IDToken(t, "req")}),
		http.StatusUnauthorized, "invalid_id_token")
	raw := getNonce(t, anon)
	tok, _ := s.Issuer.Mint(devissuer.Claims{Subject: "req", Audience: stack.ClientID, Nonce: raw})
	wantStatus(t, anon.do("POST", "/v1/auth/login", map[string]string{"provider": "dev", "id_token": tok, "nonce": raw}), http.StatusCreated)
}

// The provider list names every enabled provider and, for the development
// issuer, a token endpoint that really mints tokens this API accepts.
func TestProvidersListFindsTheDevelopmentIssuer(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{
		"GOOGLE_CLIENT_IDS": "web.apps.googleusercontent.com", "OIDC_DEV_REQUIRE_NONCE": "false"}})
	anon := newClient(t, s.APIURL, "")
	resp := anon.do("GET", "/v1/auth/providers", nil)
	wantStatus(t, resp, http.StatusOK)
	var got struct {
		Providers []struct {
			Name          string `json:"name"`
			NonceRequired bool   `json:"nonce_required"`
			Development   bool   `json:"development"`
			TokenURL      string `json:"token_url"`
		} `json:"providers"`
	}
	if err := json.Unmarshal(resp.body, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Providers) != 2 || got.Providers[0].Name != "dev" || got.Providers[1].Name != "google" {
		t.Fatalf("providers %+v", got.Providers)
	}
	dev, google := got.Providers[0], got.Providers[1]
	if !dev.Development || dev.TokenURL == "" || dev.NonceRequired {
		t.Fatalf("dev %+v", dev)
	}
	if google.Development || google.TokenURL != "" || !google.NonceRequired {
		t.Fatalf("google %+v", google)
	}
	tr, err := http.Get(dev.TokenURL + "?sub=paula")
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Body.Close()
	var tok struct {
		IDToken string `json:"id_token"`
	}
	if err := json.NewDecoder(tr.Body).Decode(&tok); err != nil || tok.IDToken == "" {
		t.Fatalf("token endpoint: %v %+v", err, tok)
	}
	wantStatus(t, anon.do("POST", "/v1/auth/login", map[string]string{"provider": "dev", "id_token": tok.IDToken}), http.StatusCreated)
}

// Issuing nonces writes to the database without a session, so it is
// rate-limited per address like login.
func TestNonceIssueIsRateLimited(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"LOGIN_RATE_LIMIT": "1", "LOGIN_RATE_BURST": "2"}})
	anon := newClient(t, s.APIURL, "")
	getNonce(t, anon)
	getNonce(t, anon)
	wantProblem(t, anon.do("POST", "/v1/auth/nonce", nil), http.StatusTooManyRequests, "rate_limited")
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}
