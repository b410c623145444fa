package artefact

import (
	"context"
	"net/http"
	"testing"

	"github.com/voicerec/backend/client"
)

// stepSessions signs the flow's user in on two more devices, trades one
// device's refresh token for a new pair, lists the sessions, ends one by
// id and then every other one, leaving the flow's own session.
func stepSessions(t *testing.T, f *flow) {
	ctx := context.Background()
	second, secondSess := f.signIn(t, f.sub)
	third, _ := f.signIn(t, f.sub)
	e := f.do(t, ctx, http.MethodPost, "/v1/auth/refresh", "", jsonHeader, jsonBody(t, map[string]string{"refresh_token": secondSess.RefreshToken}))
	var pair struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	decodeInto(t, e, http.StatusOK, &pair)
	if pair.AccessToken == "" || pair.RefreshToken == "" || pair.RefreshToken == secondSess.RefreshToken {
		t.Fatalf("refresh answered %s; want a new pair", e.body)
	}
	second.SetToken(pair.AccessToken)
	if _, err := second.Me(ctx); err != nil {
		t.Fatalf("me with the refreshed token: %v", err)
	}
	list, err := f.user.Sessions(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("sessions = %+v, %v; want three", list, err)
	}
	if err := f.user.RevokeSession(ctx, secondSess.SessionID); err != nil {
		t.Fatalf("revoke %s: %v", secondSess.SessionID, err)
	}
	if _, err := second.Me(ctx); !client.IsStatus(err, http.StatusUnauthorized) {
		t.Errorf("me on a revoked session: %v; want 401", err)
	}
	if err := f.user.RevokeOtherSessions(ctx); err != nil {
		t.Fatalf("revoke the others: %v", err)
	}
	if _, err := third.Me(ctx); !client.IsStatus(err, http.StatusUnauthorized) {
		t.Errorf("me on a session the others' revocation ended: %v; want 401", err)
	}
	if list, err := f.user.Sessions(ctx); err != nil || len(list) != 1 || !list[0].Current {
		t.Errorf("sessions after revoking the others = %+v, %v; want the current one", list, err)
	}
}
