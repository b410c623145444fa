package api_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/devissuer"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/fakeprov"
	"github.com/voicerec/backend/internal/testenv/faulty"
	"github.com/voicerec/backend/internal/testenv/stack"
)

// providerStack runs the API with Apple and Kakao sign-in (ID tokens from
// the dev issuer) and their outbound calls going to fake servers.
type providerStack struct {
	*stack.Stack
	apple *fakeprov.Apple
	kakao *fakeprov.Kakao
	clock *stack.Clock
}

func newProviderStack(t *testing.T, extra map[string]string) *providerStack {
	t.Helper()
	apple := fakeprov.NewApple(t, stack.ClientID)
	kakao := fakeprov.NewKakao(t)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	vars := map[string]string{
		"APPLE_TEAM_ID": apple.TeamID, "APPLE_KEY_ID": apple.KeyID, "APPLE_PRIVATE_KEY": apple.PrivateKeyPEM,
		"APPLE_BASE_URL": apple.URL, "TOKEN_ENCRYPTION_KEY": base64.StdEncoding.EncodeToString(key),
		"KAKAO_APP_ID": kakao.AppID, "KAKAO_ADMIN_KEY": kakao.AdminKey, "KAKAO_API_BASE_URL": kakao.URL,
	}
	for k, v := range extra {
		vars[k] = v
	}
	clock := &stack.Clock{}
	s := stack.Start(t, testenv.Get(t), stack.Options{StandIn: []string{"apple", "kakao"}, Env: vars, Clock: clock})
	return &providerStack{Stack: s, apple: apple, kakao: kakao, clock: clock}
}

// login signs sub in with provider (and an Apple authorization code when
// code is set) and returns the session token and user id.
func (p *providerStack) login(t *testing.T, provider, sub, code string) (string, string) {
	t.Helper()
	idTok, err := p.Issuer.Mint(devissuer.Claims{Subject: sub, Audience: stack.ClientID, Email: sub + "@example.com", EmailVerified: true, Name: "N " + sub})
	if err != nil {
		t.Fatal(err)
	}
	body := map[string]string{"provider": provider, "id_token": idTok}
	if code != "" {
		body["authorization_code"] = code
	}
	r := newClient(t, p.APIURL, "").do("POST", "/v1/auth/login", body)
	if r.status != 200 && r.status != 201 {
		t.Fatalf("login %s/%s: %d %s", provider, sub, r.status, r.body)
	}
	var out loginResp
	r.decode(t, &out)
	return out.AccessToken, out.User.ID
}

func (p *providerStack) noProblems(t *testing.T) {
	t.Helper()
	if probs := p.apple.Problems(); len(probs) > 0 {
		t.Errorf("fake Apple refused: %v", probs)
	}
	if probs := p.kakao.Problems(); len(probs) > 0 {
		t.Errorf("fake Kakao refused: %v", probs)
	}
}

func (p *providerStack) reconcile(t *testing.T) {
	t.Helper()
	if _, err := p.Keeper.Reconcile(bg, 100); err != nil {
		t.Fatal(err)
	}
}

// Apple: the login's code is exchanged (client secret verified with the
// team's public key), the refresh token kept sealed, and revoked when the
// account is deleted, before the data goes; nothing is left behind.
func TestAppleCodeExchangedAtLoginAndRevokedAtDeletion(t *testing.T) {
	t.Parallel()
	p := newProviderStack(t, nil)
	code := p.apple.Code("apple-001", stack.ClientID)
	tok, uid := p.login(t, "apple", "apple-001", code)
	refresh := p.apple.Tokens()["apple-001"]
	if refresh == "" || p.apple.Calls("/auth/token") != 1 {
		t.Fatalf("no exchange at Apple: %v", p.apple.Problems())
	}
	users := scanTable(t, p.Stack, dynamo.UsersTable)
	if strings.Contains(users, refresh) || !strings.Contains(users, "apple_token") {
		t.Fatalf("refresh token not kept sealed: %s", users)
	}
	c := newClient(t, p.APIURL, tok)
	c.upload("memo.wav", "audio/wav", audioBytes("audio/wav", 64))

	wantStatus(t, c.do("DELETE", "/v1/me", nil), 204)
	if got := p.apple.Revoked(); len(got) != 1 || got[0] != refresh {
		t.Fatalf("revoked %v, want the stored refresh token", got)
	}
	if left := leftovers(t, p.Stack, uid); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
	p.noProblems(t)
	p.AssertLogsFree(t, refresh, code)
	if !strings.Contains(p.Logs.String(), `"ProviderCalls":1`) {
		t.Error("no ProviderCalls metric logged")
	}
	if w := p.Logged("keeping the apple refresh token failed"); len(w) != 0 {
		t.Errorf("the kept token was reported lost: %v", w)
	}
	var exchanges []any
	for _, call := range p.Logged("provider call") {
		if call["Call"] == "token" {
			exchanges = append(exchanges, call["Outcome"])
		}
	}
	if len(exchanges) != 1 || exchanges[0] != "ok" {
		t.Errorf("code exchanges counted with outcomes %v, want one ok", exchanges)
	}
}

// Apple without a stored token: the deletion completes and says the user
// may revoke access in their Apple ID settings (200 with a notice).
func TestAppleWithoutTokenDeletionAsksUserToRevoke(t *testing.T) {
	t.Parallel()
	p := newProviderStack(t, nil)
	tok, uid := p.login(t, "apple", "apple-002", "")
	r := newClient(t, p.APIURL, tok).do("DELETE", "/v1/me", nil)
	wantStatus(t, r, 200)
	var out struct {
		Deleted bool                                      `json:"deleted"`
		Notices []struct{ Provider, Code, Detail string } `json:"provider_notices"`
	}
	r.decode(t, &out)
	if !out.Deleted || len(out.Notices) != 1 || out.Notices[0].Code != "revoke_in_apple_id_settings" || !strings.Contains(out.Notices[0].Detail, "Apple ID") {
		t.Fatalf("answer %s", r.body)
	}
	if left := leftovers(t, p.Stack, uid); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
	// A code that fails to exchange leaves the same situation, and the
	// sign-in still works.
	bad := p.apple.Code("someone-else", stack.ClientID)
	tok, _ = p.login(t, "apple", "apple-003", bad)
	wantStatus(t, newClient(t, p.APIURL, tok).do("DELETE", "/v1/me", nil), 200)
	if len(p.apple.Revoked()) != 0 {
		t.Fatal("revoked a token of another sign-in")
	}
}

// A revocation that fails does not hold up the deletion of our data; it is
// left due, retried by the reconciler until Apple accepts it, then the last
// trace of the account goes.
func TestAppleRevokeFailureIsRetriedByReconciler(t *testing.T) {
	t.Parallel()
	p := newProviderStack(t, nil)
	tok, uid := p.login(t, "apple", "apple-004", p.apple.Code("apple-004", stack.ClientID))
	refresh := p.apple.Tokens()["apple-004"]
	c := newClient(t, p.APIURL, tok)
	c.upload("memo.wav", "audio/wav", audioBytes("audio/wav", 64))
	p.apple.Fail(503)

	start := time.Now()
	wantStatus(t, c.do("DELETE", "/v1/me", nil), 204)
	if d := time.Since(start); d > 8*time.Second {
		t.Fatalf("deletion took %s with Apple down", d)
	}
	if n := p.apple.Calls("/auth/revoke"); n < 2 {
		t.Errorf("revoke tried %d times within the budget, want retries", n)
	}
	// Our data is gone; only the stripped marker is left.
	users := scanTable(t, p.Stack, dynamo.UsersTable)
	for _, gone := range []string{"apple-004@example.com", "N apple-004", "providers", "identities"} {
		if strings.Contains(users, gone) {
			t.Errorf("user item still holds %q: %s", gone, users)
		}
	}
	if !strings.Contains(users, "apple#apple-004") {
		t.Fatalf("no due revocation kept: %s", users)
	}
	for _, tbl := range []string{dynamo.RecordingsTable, dynamo.SessionsTable, dynamo.IdentitiesTable} {
		if strings.Contains(scanTable(t, p.Stack, tbl), uid) {
			t.Fatalf("left in %s", tbl)
		}
	}
	wantProblem(t, c.do("GET", "/v1/me", nil), 401, "unauthorized")
	if !strings.Contains(p.Logs.String(), `"Outcome":"failed"`) {
		t.Error("no failed ProviderCalls metric")
	}
	// Not yet due: the reconciler leaves it.
	p.reconcile(t)
	calls := p.apple.Calls("/auth/revoke")
	// Due, still failing: retried, kept.
	p.clock.Advance(6 * time.Minute)
	if rep, err := p.Keeper.Reconcile(bg, 100); err != nil || rep.AccountsExamined != 1 || rep.Accounts != 0 {
		t.Fatalf("reconcile with Apple down: %+v %v (a retained account is not finished)", rep, err)
	}
	if p.apple.Calls("/auth/revoke") <= calls || !strings.Contains(scanTable(t, p.Stack, dynamo.UsersTable), uid) {
		t.Fatal("reconciler did not retry, or dropped the revocation")
	}
	// Apple back: the next due pass revokes and removes the marker.
	p.apple.Fail(0)
	p.clock.Advance(time.Hour)
	if rep, err := p.Keeper.Reconcile(bg, 100); err != nil || rep.Accounts != 1 {
		t.Fatalf("reconcile with Apple back: %+v %v", rep, err)
	}
	if got := p.apple.Revoked(); len(got) != 1 || got[0] != refresh {
		t.Fatalf("revoked %v after recovery", got)
	}
	if left := leftovers(t, p.Stack, uid); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
	p.noProblems(t)
}

// In-app deletion of a Kakao account unlinks it at Kakao (Kakao does not
// call back for that).
func TestKakaoAccountDeletionUnlinksAtKakao(t *testing.T) {
	t.Parallel()
	p := newProviderStack(t, nil)
	p.kakao.Link("4001")
	tok, uid := p.login(t, "kakao", "4001", "")
	wantStatus(t, newClient(t, p.APIURL, tok).do("DELETE", "/v1/me", nil), 204)
	if got := p.kakao.Unlinked(); len(got) != 1 || got[0] != "4001" {
		t.Fatalf("unlinked %v", got)
	}
	if left := leftovers(t, p.Stack, uid); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
	p.noProblems(t)
}

func (p *providerStack) callback(t *testing.T, auth, appID, sub, referrer string) result {
	t.Helper()
	form := url.Values{"app_id": {appID}, "user_id": {sub}, "referrer_type": {referrer}}
	return newClient(t, p.APIURL, "").do("POST", "/v1/providers/kakao/unlink", form.Encode(),
		"Content-Type", "application/x-www-form-urlencoded", "Authorization", auth)
}

// Kakao's unlink callback with this app's admin key deletes the account,
// for every referrer_type, without calling Kakao back.
func TestKakaoUnlinkCallbackDeletesAccount(t *testing.T) {
	t.Parallel()
	p := newProviderStack(t, nil)
	for i, ref := range []string{"ACCOUNT_DELETE", "FORCED_ACCOUNT_DELETE", "UNLINK_FROM_APPS", "UNLINK_FROM_ADMIN", "INCOMPLETE_SIGN_UP"} {
		sub := fmt.Sprint(5000 + i)
		tok, uid := p.login(t, "kakao", sub, "")
		newClient(t, p.APIURL, tok).upload("a.wav", "audio/wav", audioBytes("audio/wav", 64))
		start := time.Now()
		r := p.callback(t, "KakaoAK "+p.kakao.AdminKey, p.kakao.AppID, sub, ref)
		wantStatus(t, r, 200)
		if d := time.Since(start); d > 3*time.Second {
			t.Fatalf("%s: answered after %s", ref, d)
		}
		if left := leftovers(t, p.Stack, uid); len(left) > 0 {
			t.Fatalf("%s: left behind: %v", ref, left)
		}
	}
	if w := p.Logged("kakao unlink: deletion left to the reconciler"); len(w) != 0 {
		t.Errorf("deletions that finished were reported left to the reconciler: %v", w)
	}
	if p.kakao.Calls() != 0 {
		t.Fatalf("called Kakao's unlink API %d times for users Kakao unlinked", p.kakao.Calls())
	}
	// GET, as Kakao can be set to call, works the same.
	_, uid := p.login(t, "kakao", "5999", "")
	q := url.Values{"app_id": {p.kakao.AppID}, "user_id": {"5999"}, "referrer_type": {"UNLINK_FROM_APPS"}}
	wantStatus(t, newClient(t, p.APIURL, "").do("GET", "/v1/providers/kakao/unlink?"+q.Encode(), nil, "Authorization", "KakaoAK "+p.kakao.AdminKey), 200)
	if left := leftovers(t, p.Stack, uid); len(left) > 0 {
		t.Fatalf("GET: left behind: %v", left)
	}
}

// A bad key, a wrong app_id or another scheme is 401 and deletes nothing;
// an unknown user is 200.
func TestKakaoUnlinkCallbackRefusesStrangers(t *testing.T) {
	t.Parallel()
	p := newProviderStack(t, nil)
	tok, _ := p.login(t, "kakao", "6001", "")
	for _, c := range []struct{ name, auth, app string }{
		{"wrong key", "KakaoAK wrong-" + p.kakao.AdminKey, p.kakao.AppID},
		{"key prefix", "KakaoAK " + p.kakao.AdminKey[:len(p.kakao.AdminKey)-1], p.kakao.AppID},
		{"wrong app", "KakaoAK " + p.kakao.AdminKey, "999"},
		{"bearer", "Bearer " + p.kakao.AdminKey, p.kakao.AppID},
		{"none", "", p.kakao.AppID},
	} {
		wantProblem(t, p.callback(t, c.auth, c.app, "6001", "UNLINK_FROM_APPS"), 401, "unauthorized")
	}
	wantStatus(t, newClient(t, p.APIURL, tok).do("GET", "/v1/me", nil), 200)
	wantStatus(t, p.callback(t, "KakaoAK "+p.kakao.AdminKey, p.kakao.AppID, "424242", "UNLINK_FROM_APPS"), 200)
	// Kakao's user ids are numbers; up to 64 characters are looked up.
	wantStatus(t, p.callback(t, "KakaoAK "+p.kakao.AdminKey, p.kakao.AppID, strings.Repeat("9", 64), "UNLINK_FROM_APPS"), 200)
	wantProblem(t, p.callback(t, "KakaoAK "+p.kakao.AdminKey, p.kakao.AppID, strings.Repeat("9", 65), "UNLINK_FROM_APPS"), 400, "validation_failed")
	wantStatus(t, newClient(t, p.APIURL, tok).do("GET", "/v1/me", nil), 200)
}

// Without Kakao configured the callback route does not exist.
func TestKakaoUnlinkCallbackNeedsKakao(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{})
	r := newClient(t, s.APIURL, "").do("POST", "/v1/providers/kakao/unlink", "app_id=1&user_id=2",
		"Content-Type", "application/x-www-form-urlencoded", "Authorization", "KakaoAK x")
	wantProblem(t, r, 404, "route_not_found")
}

// A slow downstream never makes Kakao wait past 3 s: with storage
// answering after 6 s, the callback still answers 200 in time, the account
// is marked, and the reconciler finishes the deletion once storage is back.
func TestKakaoUnlinkCallbackAnswersInTimeWhenStorageIsSlow(t *testing.T) {
	t.Parallel()
	env := testenv.Get(t)
	s3p := faulty.New(t, "minio", env.MinIO.Endpoint())
	p := newProviderStack(t, map[string]string{"AWS_ENDPOINT_URL_S3": s3p.Endpoint(), "S3_PUBLIC_ENDPOINT": env.MinIO.Endpoint()})
	tok, uid := p.login(t, "kakao", "7001", "")
	newClient(t, p.APIURL, tok).upload("a.wav", "audio/wav", audioBytes("audio/wav", 64))
	s3p.Slow(t, 6*time.Second)
	start := time.Now()
	wantStatus(t, p.callback(t, "KakaoAK "+p.kakao.AdminKey, p.kakao.AppID, "7001", "UNLINK_FROM_APPS"), 200)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("answered after %s", d)
	}
	wantProblem(t, newClient(t, p.APIURL, tok).do("GET", "/v1/me", nil), 409, "account_deleting")
	if w := p.Logged("kakao unlink: deletion left to the reconciler"); len(w) != 1 {
		t.Errorf("the unfinished deletion was not reported to operators: %v", w)
	}
	s3p.Heal(t)
	p.reconcile(t)
	if left := leftovers(t, p.Stack, uid); len(left) > 0 {
		t.Fatalf("left behind after the reconciler: %v", left)
	}
	if p.kakao.Calls() != 0 {
		t.Fatal("called Kakao back")
	}
}

// A slow Kakao never holds up an in-app deletion: our data goes within the
// call budget, the unlink stays due, and the reconciler makes it later.
func TestKakaoUnlinkAPISlowIsRetriedByReconciler(t *testing.T) {
	t.Parallel()
	p := newProviderStack(t, nil)
	p.kakao.Link("8001")
	p.kakao.Delay(5 * time.Second)
	tok, uid := p.login(t, "kakao", "8001", "")
	start := time.Now()
	wantStatus(t, newClient(t, p.APIURL, tok).do("DELETE", "/v1/me", nil), 204)
	if d := time.Since(start); d > 6*time.Second {
		t.Fatalf("deletion took %s", d)
	}
	if !strings.Contains(scanTable(t, p.Stack, dynamo.UsersTable), "kakao#8001") || strings.Contains(scanTable(t, p.Stack, dynamo.IdentitiesTable), uid) {
		t.Fatal("want the data gone and the unlink due")
	}
	p.kakao.Delay(0)
	p.clock.Advance(10 * time.Minute)
	p.reconcile(t)
	if got := p.kakao.Unlinked(); len(got) != 1 || got[0] != "8001" {
		t.Fatalf("unlinked %v", got)
	}
	if left := leftovers(t, p.Stack, uid); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// Google: the server holds nothing from Google but the identity, email and
// name, and account deletion removes all of it.
func TestGoogleAccountDeletionRemovesWhatGoogleGave(t *testing.T) {
	t.Parallel()
	s := stack.Start(t, testenv.Get(t), stack.Options{StandIn: []string{"google"}})
	idTok, err := s.Issuer.Mint(devissuer.Claims{Subject: "g-sub-9", Audience: stack.ClientID, Email: "gina@example.com", EmailVerified: true, Name: "Gina G"})
	if err != nil {
		t.Fatal(err)
	}
	r := newClient(t, s.APIURL, "").do("POST", "/v1/auth/login", map[string]string{"provider": "google", "id_token": idTok})
	wantStatus(t, r, 201)
	var out loginResp
	r.decode(t, &out)
	c := newClient(t, s.APIURL, out.AccessToken)
	c.upload("g.wav", "audio/wav", audioBytes("audio/wav", 64))
	wantStatus(t, c.do("DELETE", "/v1/me", nil), 204)
	for _, tbl := range dynamo.Schema {
		dump := scanTable(t, s, tbl.Name)
		for _, v := range []string{"g-sub-9", "gina@example.com", "Gina G", out.User.ID} {
			if strings.Contains(dump, v) {
				t.Errorf("%s still holds %q", tbl.Name, v)
			}
		}
	}
	if left := leftovers(t, s, out.User.ID); len(left) > 0 {
		t.Fatalf("left behind: %v", left)
	}
}

// An Apple outage costs the reconciler one call budget per pass, not one
// per account due: the other accounts stay due, untouched, for the next.
func TestReconcilerSparesADownProvider(t *testing.T) {
	t.Parallel()
	p := newProviderStack(t, nil)
	var uids []string
	for _, sub := range []string{"apple-101", "apple-102", "apple-103"} {
		tok, uid := p.login(t, "apple", sub, p.apple.Code(sub, stack.ClientID))
		uids = append(uids, uid)
		p.apple.Fail(503)
		wantStatus(t, newClient(t, p.APIURL, tok).do("DELETE", "/v1/me", nil), 204)
		p.apple.Fail(0)
	}
	p.apple.Fail(503)
	before := p.apple.Calls("/auth/revoke")
	p.clock.Advance(6 * time.Minute)
	rep, err := p.Keeper.Reconcile(bg, 100)
	if err != nil || rep.AccountsExamined != 3 || rep.Accounts != 0 {
		t.Fatalf("pass with Apple down: %+v %v", rep, err)
	}
	if n := p.apple.Calls("/auth/revoke") - before; n > 3 {
		t.Fatalf("%d revoke calls in one pass with Apple down, want one call's attempts (at most 3)", n)
	}
	p.apple.Fail(0)
	p.clock.Advance(time.Hour)
	if rep, err := p.Keeper.Reconcile(bg, 100); err != nil || rep.Accounts != 3 || len(p.apple.Revoked()) != 3 {
		t.Fatalf("pass with Apple back: %+v %v, revoked %d", rep, err, len(p.apple.Revoked()))
	}
	for _, uid := range uids {
		if left := leftovers(t, p.Stack, uid); len(left) > 0 {
			t.Fatalf("left behind: %v", left)
		}
	}
}

// When the account could not even be marked for deletion within Kakao's
// budget, the callback must fail, so that Kakao calls again: a 200 would
// leave an account its owner unlinked. The call after the fault deletes it.
func TestKakaoUnlinkCallbackFailsWhenNothingWasMarked(t *testing.T) {
	t.Parallel()
	env := testenv.Get(t)
	ddb := faulty.New(t, "dynamodb", env.Dynamo.Endpoint())
	p := newProviderStack(t, map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": ddb.Endpoint()})
	_, uid := p.login(t, "kakao", "9001", "")
	// Slower than the 2 s callback budget: the deletion gives up before its
	// first read, while reads without that budget still answer.
	ddb.Slow(t, 2500*time.Millisecond)
	r := p.callback(t, "KakaoAK "+p.kakao.AdminKey, p.kakao.AppID, "9001", "UNLINK_FROM_APPS")
	if r.status < 500 {
		t.Fatalf("status %d with nothing marked, want a 5xx so Kakao calls again: %s", r.status, r.body)
	}
	ddb.Heal(t)
	if u, err := p.Store.GetUser(context.Background(), uid); err != nil || u.Deleting {
		t.Fatalf("after the failed callback: user %+v, %v; want it untouched", u, err)
	}
	wantStatus(t, p.callback(t, "KakaoAK "+p.kakao.AdminKey, p.kakao.AppID, "9001", "UNLINK_FROM_APPS"), 200)
	if left := leftovers(t, p.Stack, uid); len(left) > 0 {
		t.Fatalf("left behind after Kakao's second call: %v", left)
	}
}
