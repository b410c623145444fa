package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
	"github.com/voicerec/backend/server/api"
)

// failureBurst is the failed session checks an address may make at once
// in these tests; at one a minute after that, no token comes back while a
// test runs.
const failureBurst = 5

// countedStack is a stack whose DynamoDB calls all pass a counting relay.
func countedStack(t *testing.T, o stack.Options) (*stack.Stack, *atomic.Int64) {
	t.Helper()
	env := testenv.Get(t)
	u, err := url.Parse(env.Dynamo.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	calls := new(atomic.Int64)
	vars := map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": testenv.CountDynamoCalls(t, u.Host, calls),
		"AUTH_FAILURE_RATE_LIMIT":   "1",
		"AUTH_FAILURE_RATE_BURST":   "5",
	}
	for k, v := range o.Env {
		vars[k] = v
	}
	o.Env = vars
	return stack.Start(t, env, o), calls
}

// fromAddress serves the stack's API to requests that come, as far as the
// API can tell, from ip: the way the Lambda entry passes on API Gateway's
// sourceIp.
func fromAddress(t *testing.T, s *stack.Stack, ip string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.Handler.ServeHTTP(w, r.WithContext(api.WithSourceIP(r.Context(), ip)))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func madeUpToken(t *testing.T) string {
	t.Helper()
	tok, _, err := auth.NewSessionToken()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// spendFailures makes failureBurst requests with made-up tokens from base,
// each answered 401, then checks the address is limited.
func spendFailures(t *testing.T, base string) {
	t.Helper()
	for i := 0; i < failureBurst; i++ {
		wantProblem(t, newClient(t, base, madeUpToken(t)).do("GET", "/v1/me", nil), http.StatusUnauthorized, "unauthorized")
	}
	wantRateLimited(t, newClient(t, base, madeUpToken(t)).do("GET", "/v1/me", nil))
}

func wantRateLimited(t *testing.T, r result) {
	t.Helper()
	wantProblem(t, r, http.StatusTooManyRequests, "rate_limited")
	if r.header.Get("Retry-After") == "" {
		t.Fatal("429 without Retry-After")
	}
}

// Requests with random, well-formed bearer tokens each cost a session read
// and were answered 401 however many came from one address. Once the
// address has spent its failure budget they are refused 429, on both kinds
// of authenticated route, without any DynamoDB call.
func TestMadeUpTokensAreRefusedBeforeDynamoDBOnceTheAddressSpentItsBudget(t *testing.T) {
	t.Parallel()
	s, calls := countedStack(t, stack.Options{})
	for i := 0; i < failureBurst; i++ {
		before := calls.Load()
		wantProblem(t, newClient(t, s.APIURL, madeUpToken(t)).do("GET", "/v1/me", nil), http.StatusUnauthorized, "unauthorized")
		if n := calls.Load() - before; n != 1 {
			t.Fatalf("failure %d within the budget made %d DynamoDB calls, want the one session read", i, n)
		}
	}
	before := calls.Load()
	for i := 0; i < 20; i++ {
		for _, path := range []string{"/v1/me", "/v1/recordings", "/v1/recordings/00000000000000000000000000/parts"} {
			wantRateLimited(t, newClient(t, s.APIURL, madeUpToken(t)).do("GET", path, nil))
		}
		// Junk in the header is refused the same way.
		wantRateLimited(t, newClient(t, s.APIURL, "not-a-token").do("GET", "/v1/me", nil))
	}
	if n := calls.Load() - before; n != 0 {
		t.Fatalf("%d DynamoDB calls for 80 requests from a limited address, want 0", n)
	}
}

// A session the instance has seen valid is never refused for its address's
// failures (users behind one NAT as a flood), on either kind of route; a
// token logged out or revoked stops being known valid.
func TestValidSessionKeepsWorkingWhileItsAddressIsLimited(t *testing.T) {
	t.Parallel()
	s, calls := countedStack(t, stack.Options{})
	tok, _ := s.Login(t, "behind-nat")
	c := newClient(t, s.APIURL, tok)
	wantStatus(t, c.do("GET", "/v1/me", nil), http.StatusOK)
	used, _ := s.Login(t, "behind-nat-too")

	spendFailures(t, s.APIURL)
	for i := 0; i < 10; i++ {
		wantStatus(t, c.do("GET", "/v1/me", nil), http.StatusOK)
		wantStatus(t, c.do("GET", "/v1/recordings", nil), http.StatusOK)
	}
	// A token signed in on this instance is known valid before its first
	// request.
	wantStatus(t, newClient(t, s.APIURL, used).do("GET", "/v1/me", nil), http.StatusOK)

	// After logout the token is just another unknown one.
	wantStatus(t, newClient(t, s.APIURL, used).do("POST", "/v1/auth/logout", nil), http.StatusNoContent)
	before := calls.Load()
	wantRateLimited(t, newClient(t, s.APIURL, used).do("GET", "/v1/me", nil))
	if n := calls.Load() - before; n != 0 {
		t.Fatalf("a logged-out token from a limited address made %d DynamoDB calls", n)
	}

	// So is one revoked elsewhere, once its first 401 has shown it.
	if err := s.Store.DeleteSession(context.Background(), auth.HashToken(tok)); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, c.do("GET", "/v1/me", nil), http.StatusUnauthorized, "unauthorized")
	before = calls.Load()
	wantRateLimited(t, c.do("GET", "/v1/me", nil))
	wantRateLimited(t, c.do("GET", "/v1/recordings", nil))
	if n := calls.Load() - before; n != 0 {
		t.Fatalf("a revoked token from a limited address made %d DynamoDB calls", n)
	}
}

// A token this instance knows that turns out revoked, on a route that
// checks the session inside its own operation, spends the budget like any
// other failure.
func TestRevokedKnownTokensSpendTheBudget(t *testing.T) {
	t.Parallel()
	s, _ := countedStack(t, stack.Options{})
	for i := 0; i < failureBurst; i++ {
		tok, _ := s.Login(t, "revoked")
		if err := s.Store.DeleteSession(context.Background(), auth.HashToken(tok)); err != nil {
			t.Fatal(err)
		}
		wantProblem(t, newClient(t, s.APIURL, tok).do("GET", "/v1/recordings", nil), http.StatusUnauthorized, "unauthorized")
	}
	wantRateLimited(t, newClient(t, s.APIURL, madeUpToken(t)).do("GET", "/v1/recordings", nil))
}

// Only failures spend the budget: valid sessions this instance has not
// seen yet (signed in on another instance) pass through it without
// spending it, however many there are.
func TestSuccessfulSessionChecksDoNotSpendTheBudget(t *testing.T) {
	t.Parallel()
	s, _ := countedStack(t, stack.Options{})
	_, uid := s.Login(t, "many-devices")
	now := time.Now().UTC()
	for i := 0; i < 3*failureBurst; i++ {
		tok := madeUpToken(t)
		sess := recording.Session{TokenHash: auth.HashToken(tok), UserID: uid, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.Store.CreateSession(context.Background(), sess); err != nil {
			t.Fatal(err)
		}
		wantStatus(t, newClient(t, s.APIURL, tok).do("GET", "/v1/me", nil), http.StatusOK)
	}
	for i := 0; i < failureBurst; i++ {
		wantProblem(t, newClient(t, s.APIURL, madeUpToken(t)).do("GET", "/v1/me", nil), http.StatusUnauthorized, "unauthorized")
	}
}

// Each address has a budget of its own: one spent from one address leaves
// another's (IPv4, or another IPv6 /64) whole; addresses in one /64 share.
func TestFailureBudgetIsPerAddress(t *testing.T) {
	t.Parallel()
	s, _ := countedStack(t, stack.Options{})
	spendFailures(t, fromAddress(t, s, "2001:db8:1:2::1"))
	wantRateLimited(t, newClient(t, fromAddress(t, s, "2001:db8:1:2::99"), madeUpToken(t)).do("GET", "/v1/me", nil))
	for _, other := range []string{"192.0.2.7", "2001:db8:1:3::1"} {
		wantProblem(t, newClient(t, fromAddress(t, s, other), madeUpToken(t)).do("GET", "/v1/me", nil), http.StatusUnauthorized, "unauthorized")
	}
	wantProblem(t, newClient(t, s.APIURL, madeUpToken(t)).do("GET", "/v1/me", nil), http.StatusUnauthorized, "unauthorized")
}
