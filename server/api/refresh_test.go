package api_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

type tokenPair struct {
	AccessToken      string    `json:"access_token"`
	ExpiresAt        time.Time `json:"expires_at"`
	RefreshToken     string    `json:"refresh_token"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
	SessionID        string    `json:"session_id"`
}

// signInDevice signs sub in as a named device with a user agent.
func signInDevice(t *testing.T, s *stack.Stack, sub, device, userAgent string) tokenPair {
	t.Helper()
	body := map[string]string{"provider": "dev", "id_token": s.IDToken(t, sub)}
	if device != "" {
		body["device_name"] = device
	}
	r := newClient(t, s.APIURL, "").do("POST", "/v1/auth/login", body, "User-Agent", userAgent)
	if r.status != http.StatusOK && r.status != http.StatusCreated {
		t.Fatalf("login %s: %d %s", sub, r.status, r.body)
	}
	var p tokenPair
	r.decode(t, &p)
	if p.RefreshToken == "" || p.SessionID == "" || p.RefreshToken == p.AccessToken {
		t.Fatalf("login answered no refresh token: %s", r.body)
	}
	return p
}

func refresh(t *testing.T, s *stack.Stack, refreshToken string) result {
	t.Helper()
	return newClient(t, s.APIURL, "").do("POST", "/v1/auth/refresh", map[string]string{"refresh_token": refreshToken})
}

func mustRefresh(t *testing.T, s *stack.Stack, refreshToken string) tokenPair {
	t.Helper()
	r := refresh(t, s, refreshToken)
	wantStatus(t, r, http.StatusOK)
	var p tokenPair
	r.decode(t, &p)
	return p
}

// wantSignedOut checks that token answers 401 on every route that takes a
// session, the recording routes that check it in their own operation
// first among them.
func wantSignedOut(t *testing.T, s *stack.Stack, token string) {
	t.Helper()
	c := newClient(t, s.APIURL, token)
	id := "01J9Z3K4M5N6P7Q8R9S0T1V2W3"
	for _, r := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/v1/recordings", map[string]any{"file_name": "a.wav", "content_type": "audio/wav", "size_bytes": 10}},
		{"GET", "/v1/recordings", nil},
		{"GET", "/v1/recordings/" + id, nil},
		{"PATCH", "/v1/recordings/" + id, map[string]string{"file_name": "b.wav"}},
		{"DELETE", "/v1/recordings/" + id, nil},
		{"POST", "/v1/recordings/" + id + "/restore", nil},
		{"GET", "/v1/recordings/" + id + "/parts", nil},
		{"POST", "/v1/recordings/" + id + "/complete", nil},
		{"GET", "/v1/me", nil},
		{"GET", "/v1/sessions", nil},
	} {
		if got := c.do(r.method, r.path, r.body); got.status != http.StatusUnauthorized {
			t.Errorf("%s %s: %d, want 401: %s", r.method, r.path, got.status, got.body)
		}
	}
}

// warm makes the API know token valid, so the recording routes check it
// inside their own DynamoDB operation rather than in a read of their own.
func warm(t *testing.T, s *stack.Stack, token string) {
	t.Helper()
	wantStatus(t, newClient(t, s.APIURL, token).do("GET", "/v1/recordings", nil), http.StatusOK)
}

func TestRefreshRotatesThePair(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	first := signInDevice(t, s, "rotating", "", "")
	if d := time.Until(first.ExpiresAt); d < 59*time.Minute || d > 61*time.Minute {
		t.Errorf("access token lasts %s, want 1h", d)
	}
	if d := time.Until(first.RefreshExpiresAt); d < 89*24*time.Hour || d > 91*24*time.Hour {
		t.Errorf("refresh token lasts %s, want 90 days", d)
	}
	next := mustRefresh(t, s, first.RefreshToken)
	if next.AccessToken == first.AccessToken || next.RefreshToken == first.RefreshToken || next.SessionID != first.SessionID {
		t.Fatalf("refresh answered %+v after %+v", next, first)
	}
	warm(t, s, next.AccessToken)
	// The refresh token from before is retired; the new one rotates again.
	third := mustRefresh(t, s, next.RefreshToken)
	warm(t, s, third.AccessToken)
	// Neither token works as the other.
	wantStatus(t, newClient(t, s.APIURL, third.RefreshToken).do("GET", "/v1/recordings", nil), http.StatusUnauthorized)
	wantProblem(t, refresh(t, s, third.AccessToken), http.StatusUnauthorized, "unauthorized")
	wantProblem(t, refresh(t, s, strings.Repeat("A", 43)), http.StatusUnauthorized, "unauthorized")
	wantProblem(t, refresh(t, s, "junk"), http.StatusUnauthorized, "unauthorized")
	s.AssertLogsFree(t, first.RefreshToken, next.RefreshToken, third.RefreshToken)
}

// A thief copies a refresh token and uses it first; when the owner's app
// refreshes with its (now retired) copy, the session ends for both, and
// the owner signs in again.
func TestRefreshTokenReuseEndsTheSession(t *testing.T) {
	t.Parallel()
	for _, thiefFirst := range []bool{true, false} {
		name := map[bool]string{true: "thief refreshes first", false: "owner refreshes first"}[thiefFirst]
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := &stack.Clock{}
			s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock})
			owner := signInDevice(t, s, "victim", "phone", "")
			stolen := owner.RefreshToken
			first := mustRefresh(t, s, stolen)
			warm(t, s, first.AccessToken)
			clock.Advance(11 * time.Second) // past the retry grace
			wantProblem(t, refresh(t, s, stolen), http.StatusUnauthorized, "unauthorized")
			// Whoever rotated first holds tokens that no longer work.
			wantSignedOut(t, s, first.AccessToken)
			wantProblem(t, refresh(t, s, first.RefreshToken), http.StatusUnauthorized, "unauthorized")
			wantSignedOut(t, s, owner.AccessToken)
			if len(s.Logged("retired refresh token presented again: session revoked")) != 1 {
				t.Errorf("the revocation was not logged once: %s", s.Logs.String())
			}
			again := signInDevice(t, s, "victim", "phone", "")
			warm(t, s, again.AccessToken)
			mustRefresh(t, s, again.RefreshToken)
		})
	}
}

// A refresh whose answer was lost is retried with the same refresh token:
// within the grace it answers the same pair, and the session goes on.
func TestRefreshRetryWithinGraceAnswersTheSamePair(t *testing.T) {
	t.Parallel()
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock})
	p := signInDevice(t, s, "flaky-network", "", "")
	lost := mustRefresh(t, s, p.RefreshToken)
	clock.Advance(5 * time.Second)
	retried := mustRefresh(t, s, p.RefreshToken)
	if retried != lost {
		t.Fatalf("retry answered %+v, the lost answer was %+v", retried, lost)
	}
	warm(t, s, retried.AccessToken)
	next := mustRefresh(t, s, retried.RefreshToken)
	warm(t, s, next.AccessToken)
	// Once the successor has been used, the retired token is a reuse even
	// within the grace.
	wantProblem(t, refresh(t, s, p.RefreshToken), http.StatusUnauthorized, "unauthorized")
	wantSignedOut(t, s, next.AccessToken)
}

func TestTokensExpire(t *testing.T) {
	t.Parallel()
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{Clock: clock,
		Env: map[string]string{"ACCESS_TOKEN_TTL": "10m", "REFRESH_TOKEN_TTL": "2h"}})
	p := signInDevice(t, s, "expiring", "", "")
	warm(t, s, p.AccessToken)
	clock.Advance(11 * time.Minute)
	wantSignedOut(t, s, p.AccessToken)
	// The refresh token outlives the access token, and slides.
	p = mustRefresh(t, s, p.RefreshToken)
	warm(t, s, p.AccessToken)
	clock.Advance(100 * time.Minute) // 111 minutes after sign-in, 100 after the refresh
	p = mustRefresh(t, s, p.RefreshToken)
	warm(t, s, p.AccessToken)
	clock.Advance(2*time.Hour + time.Minute)
	wantProblem(t, refresh(t, s, p.RefreshToken), http.StatusUnauthorized, "unauthorized")
}

// Two refreshes of one token at once (an app whose two requests both saw
// the access token expire) make one rotation: both get the same pair, and
// the account has one session.
func TestConcurrentRefreshesMakeOneSession(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	for round := range 5 {
		p := signInDevice(t, s, "racing", "", "")
		const n = 4
		var wg sync.WaitGroup
		got := make([]result, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i] = refresh(t, s, p.RefreshToken)
			}()
		}
		wg.Wait()
		var first tokenPair
		for i, r := range got {
			wantStatus(t, r, http.StatusOK)
			var q tokenPair
			r.decode(t, &q)
			if i == 0 {
				first = q
			} else if q != first {
				t.Fatalf("round %d: concurrent refreshes answered different pairs: %+v and %+v", round, first, q)
			}
		}
		warm(t, s, first.AccessToken)
		mustRefresh(t, s, first.RefreshToken)
	}
	c := newClient(t, s.APIURL, signInDevice(t, s, "racing", "", "").AccessToken)
	var list sessionListJSON
	r := c.do("GET", "/v1/sessions", nil)
	wantStatus(t, r, http.StatusOK)
	r.decode(t, &list)
	if len(list.Sessions) != 6 {
		t.Fatalf("%d sessions after 6 sign-ins: %s", len(list.Sessions), r.body)
	}
}

// A refreshed access token is as cheap as a signed-in one: the recording
// routes check it inside their own DynamoDB operation, one call for a
// create, and a refresh costs two reads and one transaction.
func TestRefreshedTokensKeepOneCallPerRecordingRequest(t *testing.T) {
	t.Parallel()
	s, calls := countedStack(t, stack.Options{Env: map[string]string{"AUTH_FAILURE_RATE_LIMIT": "60", "AUTH_FAILURE_RATE_BURST": "30"}})
	p := signInDevice(t, s, "counted", "", "")
	cost := func(token string) int64 {
		before := calls.Load()
		r := newClient(t, s.APIURL, token).do("POST", "/v1/recordings",
			map[string]any{"file_name": "a.wav", "content_type": "audio/wav", "size_bytes": 10})
		wantStatus(t, r, http.StatusCreated)
		return calls.Load() - before
	}
	if n := cost(p.AccessToken); n != 1 {
		t.Fatalf("a create with a signed-in token made %d DynamoDB calls, want 1", n)
	}
	before := calls.Load()
	q := mustRefresh(t, s, p.RefreshToken)
	if n := calls.Load() - before; n != 3 {
		t.Errorf("a refresh made %d DynamoDB calls, want 3", n)
	}
	if n := cost(q.AccessToken); n != 1 {
		t.Fatalf("a create with a refreshed token made %d DynamoDB calls, want 1", n)
	}
}
