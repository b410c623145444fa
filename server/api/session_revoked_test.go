package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// A session revoked elsewhere (another instance's logout, an account
// deletion) while this instance still has its token cached: a request the
// handler refuses before any DynamoDB call must still check the session
// and answer 401, not the 400 or 404 that would tell a stranger the token
// was once good. Each case starts from a freshly cached token, because the
// first 401 drops the token from the cache.
func TestRevokedCachedSessionIsRefusedOnEveryEarlyError(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	for _, r := range []struct {
		name, method, path string
		body               any
	}{
		{"create invalid", "POST", "/v1/recordings", map[string]any{"file_name": "x.wav"}},
		{"list invalid", "GET", "/v1/recordings?limit=0", nil},
		{"get malformed id", "GET", "/v1/recordings/not-an-id", nil},
		{"rename malformed id", "PATCH", "/v1/recordings/not-an-id", map[string]string{"file_name": "x.wav"}},
		{"delete malformed id", "DELETE", "/v1/recordings/not-an-id", nil},
	} {
		t.Run(r.name, func(t *testing.T) {
			tok, _ := s.Login(t, "revoked-elsewhere")
			c := newClient(t, s.APIURL, tok)
			wantStatus(t, c.do("GET", "/v1/recordings", nil), http.StatusOK) // now cached
			if err := s.Store.DeleteSession(context.Background(), auth.HashToken(tok)); err != nil {
				t.Fatal(err)
			}
			wantProblem(t, c.do(r.method, r.path, r.body), http.StatusUnauthorized, "unauthorized")
		})
	}
}
