package api_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/voicerec/backend/internal/devissuer"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

type loginResp struct {
	AccessToken string    `json:"access_token"`
	TokenType   string    `json:"token_type"`
	ExpiresAt   time.Time `json:"expires_at"`
	Created     bool      `json:"created"`
	User        struct {
		ID        string   `json:"id"`
		Providers []string `json:"providers"`
		Email     string   `json:"email"`
		Name      string   `json:"name"`
	} `json:"user"`
}

func TestLoginSignsUpThenSignsIn(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	anon := newClient(t, s.APIURL, "")
	idTok, err := s.Issuer.Mint(devissuer.Claims{Subject: "alice", Audience: stack.ClientID,
		Email: "alice@example.com", EmailVerified: true, Name: "Alice"})
	if err != nil {
		t.Fatal(err)
	}
	r := anon.do("POST", "/v1/auth/login", map[string]string{"provider": "dev", "id_token": idTok})
	wantStatus(t, r, http.StatusCreated)
	var first loginResp
	r.decode(t, &first)
	if !first.Created || first.TokenType != "Bearer" || len(first.AccessToken) < 43 || first.User.ID == "" ||
		first.User.Email != "alice@example.com" || first.User.Name != "Alice" || first.User.Providers[0] != "dev" {
		t.Fatalf("first login: %+v", first)
	}
	if d := time.Until(first.ExpiresAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("access token expires in %s, want about an hour", d)
	}
	r = anon.do("POST", "/v1/auth/login", map[string]string{"provider": "DEV", "id_token": s.IDToken(t, "alice")})
	wantStatus(t, r, http.StatusOK)
	var second loginResp
	r.decode(t, &second)
	if second.Created || second.User.ID != first.User.ID || second.AccessToken == first.AccessToken {
		t.Fatalf("second login: %+v", second)
	}
	// Both sessions work; /v1/me is the same user object login returned.
	for _, tok := range []string{first.AccessToken, second.AccessToken} {
		me := newClient(t, s.APIURL, tok).do("GET", "/v1/me", nil)
		wantStatus(t, me, 200)
		var u map[string]any
		me.decode(t, &u)
		if u["id"] != first.User.ID || u["recording_count"] != float64(0) || u["bytes_stored"] != float64(0) {
			t.Fatalf("me: %s", me.body)
		}
	}
	// The token is stored hashed: no session item carries it.
	if strings.Contains(scanTable(t, s, dynamo.SessionsTable), first.AccessToken) {
		t.Fatal("a session token is stored in clear")
	}
	s.AssertLogsFree(t, idTok, first.AccessToken, second.AccessToken)
}

func TestLoginRejections(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	anon := newClient(t, s.APIURL, "")
	wrongAud, _ := s.Issuer.Mint(devissuer.Claims{Subject: "x", Audience: "someone-else"})
	cases := []struct {
		name   string
		body   any
		status int
		code   string
	}{
		{"empty body", "", 400, "invalid_request"},
		{"not JSON", "{", 400, "invalid_request"},
		{"unknown field", map[string]any{"provider": "dev", "id_token": "x", "extra": 1}, 400, "invalid_request"},
		{"wrong type", map[string]any{"provider": "dev", "id_token": 5}, 400, "invalid_request"},
		{"missing provider", map[string]any{"id_token": "x"}, 400, "validation_failed"},
		{"missing token", map[string]any{"provider": "dev"}, 400, "validation_failed"},
		{"unknown provider", map[string]any{"provider": "myspace", "id_token": "x"}, 400, "unknown_provider"},
		{"disabled built-in provider", map[string]any{"provider": "google", "id_token": "x"}, 400, "unknown_provider"},
		{"garbage token", map[string]any{"provider": "dev", "id_token": "not.a.jwt"}, 401, "invalid_id_token"},
		{"wrong audience", map[string]any{"provider": "dev", "id_token": wrongAud}, 401, "invalid_id_token"},
		{"nonce sent, none in token", map[string]any{"provider": "dev", "id_token": s.IDToken(t, "x"), "nonce": "n"}, 401, "invalid_id_token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, anon.do("POST", "/v1/auth/login", tc.body), tc.status, tc.code)
		})
	}
}

// Missing, malformed, unknown, expired and revoked tokens all get the same
// 401, so a caller learns nothing about which it was.
func TestSessionRejectionsLookAlike(t *testing.T) {
	t.Parallel()
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock, Env: map[string]string{"ACCESS_TOKEN_TTL": "1h"}})
	revoked, _ := s.Login(t, "revoked")
	wantStatus(t, newClient(t, s.APIURL, revoked).do("POST", "/v1/auth/logout", nil), 204)
	expired, _ := s.Login(t, "expired")
	live, _ := s.Login(t, "live")
	wantStatus(t, newClient(t, s.APIURL, expired).do("GET", "/v1/me", nil), 200)
	clock.Advance(61 * time.Minute)
	fresh, _ := s.Login(t, "fresh") // issued on the advanced clock

	var bodies []string
	for _, tc := range []struct{ name, header string }{
		{"no header", ""},
		{"basic scheme", "Basic dXNlcjpwYXNz"},
		{"empty bearer", "Bearer "},
		{"malformed bearer", "Bearer not a token"},
		{"unknown token", "Bearer " + strings.Repeat("A", 43)},
		{"expired", "Bearer " + expired},
		{"revoked", "Bearer " + revoked},
		{"live but past expiry", "Bearer " + live},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newClient(t, s.APIURL, "").do("GET", "/v1/me", nil, "Authorization", tc.header)
			p := wantProblem(t, r, 401, "unauthorized")
			if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
			}
			bodies = append(bodies, p.Detail+"|"+p.Title+"|"+p.Type)
		})
	}
	for _, b := range bodies {
		if b != bodies[0] {
			t.Fatalf("401 bodies differ: %q vs %q", b, bodies[0])
		}
	}
	wantStatus(t, newClient(t, s.APIURL, fresh).do("GET", "/v1/me", nil), 200)
}

func TestLoginIsRateLimited(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"LOGIN_RATE_LIMIT": "1", "LOGIN_RATE_BURST": "2"}})
	anon := newClient(t, s.APIURL, "")
	body := map[string]string{"provider": "dev", "id_token": "junk"}
	wantStatus(t, anon.do("POST", "/v1/auth/login", body), 401)
	wantStatus(t, anon.do("POST", "/v1/auth/login", body), 401)
	r := anon.do("POST", "/v1/auth/login", body)
	wantProblem(t, r, 429, "rate_limited")
	// One attempt a minute: the next is a minute away (a little less by
	// the time the answer is read), not the 2 s a busy server asks for.
	if wait, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || wait < 50 || wait > 60 {
		t.Errorf("Retry-After %q, want the bucket's wait, 50 to 60 s", r.header.Get("Retry-After"))
	}
	// Other routes are not limited.
	wantStatus(t, anon.do("GET", "/healthz", nil), 200)
}

// scanTable returns every item of a table as text, for "nothing is left"
// checks. Tests only: the API never scans.
func scanTable(t *testing.T, s *stack.Stack, logical string) string {
	t.Helper()
	return testenv.DumpTable(t, s.Clients.DynamoDB, dynamo.TableName(s.Config.TablePrefix, logical))
}

var bg = context.Background()

// An identity provider whose key set cannot be fetched is a 503 with
// Retry-After on every attempt, never a 401 that tells the app the user's
// token is bad.
func TestLoginWithKeySetDownIsUnavailable(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{Env: map[string]string{"OIDC_DEV_JWKS_URL": "http://127.0.0.1:1/jwks"}})
	anon := newClient(t, s.APIURL, "")
	for i := 0; i < 3; i++ {
		r := anon.do("POST", "/v1/auth/login", map[string]string{"provider": "dev", "id_token": s.IDToken(t, "outage")})
		wantProblem(t, r, http.StatusServiceUnavailable, "service_unavailable")
		if r.header.Get("Retry-After") == "" {
			t.Fatalf("attempt %d: 503 without Retry-After", i)
		}
	}
}

// Logging out ends the session at once: the very next request with the
// token is refused, on the same clock, with no expiry involved.
func TestLogoutRefusesTheTokenAtOnce(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tok, _ := s.Login(t, "logout-now")
	c := newClient(t, s.APIURL, tok)
	wantStatus(t, c.do("GET", "/v1/me", nil), 200)
	wantStatus(t, c.do("POST", "/v1/auth/logout", nil), 204)
	wantProblem(t, c.do("GET", "/v1/me", nil), 401, "unauthorized")
	wantProblem(t, c.do("GET", "/v1/recordings", nil), 401, "unauthorized")
	wantProblem(t, c.do("POST", "/v1/auth/logout", nil), 401, "unauthorized")
}

// Logging out one device leaves the user's other sessions working.
func TestLogoutLeavesOtherSessionsWorking(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	phone, uid := s.Login(t, "two-devices")
	tablet, uid2 := s.Login(t, "two-devices")
	if uid != uid2 {
		t.Fatalf("one identity, two users: %s and %s", uid, uid2)
	}
	wantStatus(t, newClient(t, s.APIURL, phone).do("POST", "/v1/auth/logout", nil), 204)
	wantProblem(t, newClient(t, s.APIURL, phone).do("GET", "/v1/me", nil), 401, "unauthorized")
	r := newClient(t, s.APIURL, tablet).do("GET", "/v1/me", nil)
	wantStatus(t, r, 200)
	var me struct {
		ID string `json:"id"`
	}
	r.decode(t, &me)
	if me.ID != uid {
		t.Fatalf("the other session is now %q, want %q", me.ID, uid)
	}
}

// swapCase changes the case of every letter.
func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsUpper(r) {
			return unicode.ToLower(r)
		}
		return unicode.ToUpper(r)
	}, s)
}

// A token that differs from a real one only in letter case is another,
// unknown token.
func TestSessionTokenDifferingInCaseIsRefused(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	tok, _ := s.Login(t, "case")
	swapped := swapCase(tok)
	if swapped == tok {
		t.Fatalf("token %q has no letters", tok)
	}
	wantProblem(t, newClient(t, s.APIURL, swapped).do("GET", "/v1/me", nil), 401, "unauthorized")
	// One letter is enough.
	for i, r := range tok {
		if unicode.IsLetter(r) {
			one := tok[:i] + swapCase(tok[i:i+1]) + tok[i+1:]
			wantProblem(t, newClient(t, s.APIURL, one).do("GET", "/v1/me", nil), 401, "unauthorized")
			break
		}
	}
	wantStatus(t, newClient(t, s.APIURL, tok).do("GET", "/v1/me", nil), 200)
}
