package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// Locally the login limiter keys on the socket address: forwarding headers
// are written by the client and buy nothing, however many or large.
func TestLoginLimiterIgnoresForwardingHeaders(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"LOGIN_RATE_LIMIT": "1", "LOGIN_RATE_BURST": "2"}})
	anon := newClient(t, s.APIURL, "")
	body := map[string]string{"provider": "dev", "id_token": "junk"}
	huge := strings.Repeat("9", 64<<10)
	for i, xff := range []string{"10.0.0.1", "10.0.0.2 , " + huge} {
		r := anon.do("POST", "/v1/auth/login", body, "X-Forwarded-For", xff, "X-Real-Ip", xff)
		if r.status == http.StatusTooManyRequests {
			t.Fatalf("attempt %d limited too early", i)
		}
	}
	r := anon.do("POST", "/v1/auth/login", body, "X-Forwarded-For", "10.0.0.3", "X-Real-Ip", "10.0.0.3")
	wantProblem(t, r, http.StatusTooManyRequests, "rate_limited")
}

// After the token is verified, sign-ins are bounded per provider account
// too, so many addresses (a botnet, or one carrier NAT) cannot hammer one
// account; other accounts are unaffected.
func TestLoginIsRateLimitedPerIdentity(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{
		"LOGIN_IDENTITY_RATE_LIMIT": "1", "LOGIN_IDENTITY_RATE_BURST": "2",
	}})
	anon := newClient(t, s.APIURL, "")
	login := func(sub string) result {
		return anon.do("POST", "/v1/auth/login", map[string]string{"provider": "dev", "id_token": s.IDToken(t, sub)})
	}
	wantStatus(t, login("bob"), http.StatusCreated)
	wantStatus(t, login("bob"), http.StatusOK)
	r := login("bob")
	wantProblem(t, r, http.StatusTooManyRequests, "rate_limited")
	// One sign-in an hour: the app is asked to wait about an hour, not 2 s.
	if ra, _ := strconv.Atoi(r.header.Get("Retry-After")); ra < 3000 {
		t.Errorf("Retry-After %q, want about 3600", r.header.Get("Retry-After"))
	}
	wantStatus(t, login("carol"), http.StatusCreated)
}
