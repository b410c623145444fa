package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

type sessionJSON struct {
	ID         string     `json:"id"`
	DeviceName string     `json:"device_name"`
	Provider   string     `json:"provider"`
	Platform   string     `json:"platform"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	Current    bool       `json:"current"`
}

type sessionListJSON struct {
	Sessions []sessionJSON `json:"sessions"`
}

func listSessions(t *testing.T, s *stack.Stack, token string) map[string]sessionJSON {
	t.Helper()
	r := newClient(t, s.APIURL, token).do("GET", "/v1/sessions", nil)
	wantStatus(t, r, http.StatusOK)
	var l sessionListJSON
	r.decode(t, &l)
	m := map[string]sessionJSON{}
	for _, d := range l.Sessions {
		m[d.ID] = d
	}
	return m
}

const (
	iPhoneUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	macUA    = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)

func TestSessionsListTheDevices(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	phone := signInDevice(t, s, "minji", "민지의 iPhone", iPhoneUA)
	laptop := signInDevice(t, s, "minji", "", macUA)
	signInDevice(t, s, "someone-else", "", "")
	list := listSessions(t, s, laptop.AccessToken)
	if len(list) != 2 {
		t.Fatalf("sessions: %+v", list)
	}
	p, l := list[phone.SessionID], list[laptop.SessionID]
	if p.DeviceName != "민지의 iPhone" || p.Platform != "Safari on iOS" || p.Provider != "dev" || p.Current {
		t.Errorf("phone: %+v", p)
	}
	if l.DeviceName != "" || l.Platform != "Chrome on macOS" || !l.Current {
		t.Errorf("laptop: %+v", l)
	}
	if p.LastUsedAt == nil || !p.LastUsedAt.Equal(p.LastUsedAt.Truncate(time.Hour)) || time.Since(*p.LastUsedAt) > time.Hour {
		t.Errorf("last used %v, want the hour of the sign-in", p.LastUsedAt)
	}
	if list := listSessions(t, s, phone.AccessToken); !list[phone.SessionID].Current || list[laptop.SessionID].Current {
		t.Errorf("from the phone: %+v", list)
	}
	bad := newClient(t, s.APIURL, "").do("POST", "/v1/auth/login",
		map[string]string{"provider": "dev", "id_token": s.IDToken(t, "minji"), "device_name": "a\x00b"})
	wantProblem(t, bad, http.StatusBadRequest, "validation_failed")
}

// A phone is lost: from the laptop, the user ends its session, and every
// token of it stops at once, though the phone's access token is cached as
// valid by the API and checked inside each route's own operation.
func TestRevokeOneSessionFromAnotherDevice(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	phone := signInDevice(t, s, "careless", "phone", iPhoneUA)
	phone = mustRefresh(t, s, phone.RefreshToken) // two live access tokens now
	older := signInDevice(t, s, "careless", "", "")
	laptop := signInDevice(t, s, "careless", "laptop", macUA)
	warm(t, s, phone.AccessToken)
	lc := newClient(t, s.APIURL, laptop.AccessToken)
	wantStatus(t, lc.do("DELETE", "/v1/sessions/"+phone.SessionID, nil), http.StatusNoContent)
	wantSignedOut(t, s, phone.AccessToken)
	wantProblem(t, refresh(t, s, phone.RefreshToken), http.StatusUnauthorized, "unauthorized")
	warm(t, s, laptop.AccessToken)
	warm(t, s, older.AccessToken)
	if _, ok := listSessions(t, s, laptop.AccessToken)[phone.SessionID]; ok {
		t.Error("the revoked session is still listed")
	}
	wantProblem(t, lc.do("DELETE", "/v1/sessions/"+phone.SessionID, nil), http.StatusNotFound, "not_found")
	// Another user's session is not found, not ended.
	stranger := signInDevice(t, s, "stranger", "", "")
	wantProblem(t, lc.do("DELETE", "/v1/sessions/"+stranger.SessionID, nil), http.StatusNotFound, "not_found")
	warm(t, s, stranger.AccessToken)
}

func TestRevokeOtherSessions(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	a := signInDevice(t, s, "many-devices", "a", "")
	b := signInDevice(t, s, "many-devices", "b", "")
	keep := signInDevice(t, s, "many-devices", "keep", "")
	// A token from before refresh tokens: no session id, no refresh token.
	legacy, legacyHash, err := auth.NewSessionToken()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	sess, _, err := s.Store.GetSession(context.Background(), auth.HashToken(keep.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Store.CreateSession(context.Background(), recording.Session{TokenHash: legacyHash, UserID: sess.UserID,
		CreatedAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{a.AccessToken, b.AccessToken, legacy} {
		warm(t, s, tok)
	}
	kc := newClient(t, s.APIURL, keep.AccessToken)
	if got := len(listSessions(t, s, keep.AccessToken)); got != 4 {
		t.Fatalf("%d sessions listed, want 4 (one from before refresh tokens)", got)
	}
	wantProblem(t, kc.do("DELETE", "/v1/sessions", nil), http.StatusBadRequest, "validation_failed")
	wantStatus(t, kc.do("DELETE", "/v1/sessions?others=true", nil), http.StatusNoContent)
	for _, tok := range []string{a.AccessToken, b.AccessToken, legacy} {
		wantSignedOut(t, s, tok)
	}
	for _, rt := range []string{a.RefreshToken, b.RefreshToken} {
		wantProblem(t, refresh(t, s, rt), http.StatusUnauthorized, "unauthorized")
	}
	warm(t, s, keep.AccessToken)
	if l := listSessions(t, s, keep.AccessToken); len(l) != 1 || !l[keep.SessionID].Current {
		t.Errorf("left: %+v", l)
	}
	mustRefresh(t, s, keep.RefreshToken)
}

// A token from before refresh tokens keeps working until it expires, is
// listed, and can be ended by its id.
func TestTokensFromBeforeRefreshTokensKeepWorking(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	now := signInDevice(t, s, "upgrading", "", "")
	owner, _, err := s.Store.GetSession(context.Background(), auth.HashToken(now.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	old, oldHash, err := auth.NewSessionToken()
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now().UTC().Add(-20 * 24 * time.Hour)
	if err := s.Store.CreateSession(context.Background(), recording.Session{TokenHash: oldHash, UserID: owner.UserID,
		CreatedAt: created, ExpiresAt: created.Add(30 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	warm(t, s, old)
	var legacy sessionJSON
	for _, d := range listSessions(t, s, old) {
		if d.ID != now.SessionID {
			legacy = d
		}
	}
	if !legacy.Current || legacy.LastUsedAt != nil || legacy.Platform != "" || !legacy.CreatedAt.Equal(created) {
		t.Fatalf("legacy session: %+v", legacy)
	}
	wantStatus(t, newClient(t, s.APIURL, now.AccessToken).do("DELETE", "/v1/sessions/"+legacy.ID, nil), http.StatusNoContent)
	wantSignedOut(t, s, old)
}

func TestLogoutAndAccountDeletionEndRefreshTokens(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	out := signInDevice(t, s, "leaving", "", "")
	other := signInDevice(t, s, "leaving", "", "")
	wantStatus(t, newClient(t, s.APIURL, out.AccessToken).do("POST", "/v1/auth/logout", nil), http.StatusNoContent)
	wantProblem(t, refresh(t, s, out.RefreshToken), http.StatusUnauthorized, "unauthorized")
	other = mustRefresh(t, s, other.RefreshToken)
	r := newClient(t, s.APIURL, other.AccessToken).do("DELETE", "/v1/me", nil)
	if r.status != http.StatusNoContent && r.status != http.StatusOK {
		t.Fatalf("delete account: %d %s", r.status, r.body)
	}
	wantProblem(t, refresh(t, s, other.RefreshToken), http.StatusUnauthorized, "unauthorized")
}
