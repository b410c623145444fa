// Package fakeprov runs stand-ins for Sign in with Apple's REST API and
// Kakao's unlink API on loopback, checking each request as the real ones
// do: the client secret's ES256 signature, header and claims against the
// team's public key, every form field, the admin key. Anything wrong is
// answered as the provider would and recorded in Problems.
package fakeprov

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Apple is a fake appleid.apple.com.
type Apple struct {
	URL           string
	TeamID, KeyID string
	// PrivateKeyPEM is the team key (PKCS#8) the server is configured with.
	PrivateKeyPEM string
	ClientIDs     []string

	pub     *ecdsa.PublicKey
	idKey   *ecdsa.PrivateKey
	mu      sync.Mutex
	codes   map[string]grant // unused authorization codes
	tokens  map[string]grant // refresh tokens issued and not revoked
	revoked []string
	calls   map[string]int
	fail    int           // status answered to every call while set
	delay   time.Duration // before answering
	probs   []string
}

type grant struct{ sub, clientID string }

// NewApple starts a fake for the given clients until the test ends.
func NewApple(t testing.TB, clientIDs ...string) *Apple {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	idKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	a := &Apple{TeamID: "TEAM123456", KeyID: "KEY1234567", ClientIDs: clientIDs, pub: &key.PublicKey, idKey: idKey,
		PrivateKeyPEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		codes:         map[string]grant{}, tokens: map[string]grant{}, calls: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/auth/token", a.token)
	mux.HandleFunc("/auth/revoke", a.revoke)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	a.URL = srv.URL
	return a
}

// Code makes a one-time authorization code for sub's sign-in to clientID.
func (a *Apple) Code(sub, clientID string) string {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := "c" + strconv.Itoa(len(a.codes)+len(a.tokens)+len(a.revoked)) + "." + rand.Text()
	a.codes[c] = grant{sub, clientID}
	return c
}

// Fail makes every call answer status (0: answer normally again).
func (a *Apple) Fail(status int) { a.mu.Lock(); a.fail = status; a.mu.Unlock() }

// Delay holds every answer for d.
func (a *Apple) Delay(d time.Duration) { a.mu.Lock(); a.delay = d; a.mu.Unlock() }

// Tokens are the refresh tokens issued and not revoked, by subject.
func (a *Apple) Tokens() map[string]string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := map[string]string{}
	for tok, g := range a.tokens {
		out[g.sub] = tok
	}
	return out
}

// Revoked are the refresh tokens revoked so far.
func (a *Apple) Revoked() []string { a.mu.Lock(); defer a.mu.Unlock(); return slices.Clone(a.revoked) }

// Calls counts the requests per path.
func (a *Apple) Calls(path string) int { a.mu.Lock(); defer a.mu.Unlock(); return a.calls[path] }

// Problems lists what was wrong with the requests received.
func (a *Apple) Problems() []string { a.mu.Lock(); defer a.mu.Unlock(); return slices.Clone(a.probs) }

func (a *Apple) refuse(w http.ResponseWriter, status int, code, why string) {
	a.probs = append(a.probs, why)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code})
}

// checkClient does what Apple does with client_id and client_secret.
func (a *Apple) checkClient(r *http.Request) (string, string) {
	clientID := r.PostForm.Get("client_id")
	if !slices.Contains(a.ClientIDs, clientID) {
		return "", "unknown client_id " + clientID
	}
	tok, err := jwt.ParseSigned(r.PostForm.Get("client_secret"), []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return "", "client_secret is not an ES256 JWT: " + err.Error()
	}
	if h := tok.Headers[0]; h.KeyID != a.KeyID {
		return "", "client_secret kid " + h.KeyID
	}
	var c jwt.Claims
	if err := tok.Claims(a.pub, &c); err != nil {
		return "", "client_secret signature: " + err.Error()
	}
	now := time.Now()
	switch {
	case c.Issuer != a.TeamID:
		return "", "client_secret iss " + c.Issuer
	case c.Subject != clientID:
		return "", "client_secret sub " + c.Subject + " is not client_id"
	case len(c.Audience) != 1 || c.Audience[0] != "https://appleid.apple.com":
		return "", fmt.Sprintf("client_secret aud %v", c.Audience)
	case c.IssuedAt == nil || c.IssuedAt.Time().After(now.Add(time.Minute)):
		return "", "client_secret iat missing or in the future"
	case c.Expiry == nil || !c.Expiry.Time().After(now):
		return "", "client_secret expired or without exp"
	case c.Expiry.Time().Sub(c.IssuedAt.Time()) > 180*24*time.Hour:
		return "", "client_secret lives longer than six months"
	}
	return clientID, ""
}

func (a *Apple) begin(w http.ResponseWriter, r *http.Request, want []string) (ok bool) {
	a.mu.Lock()
	a.calls[r.URL.Path]++
	fail, delay := a.fail, a.delay
	a.mu.Unlock()
	time.Sleep(delay)
	a.mu.Lock()
	defer a.mu.Unlock()
	if fail != 0 {
		w.WriteHeader(fail)
		return false
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		a.refuse(w, 400, "invalid_request", "want a POST form, got "+r.Method+" "+r.Header.Get("Content-Type"))
		return false
	}
	if err := r.ParseForm(); err != nil {
		a.refuse(w, 400, "invalid_request", "unreadable form")
		return false
	}
	var got []string
	for k := range r.PostForm {
		got = append(got, k)
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		a.refuse(w, 400, "invalid_request", fmt.Sprintf("form fields %v, want %v", got, want))
		return false
	}
	return true
}

func (a *Apple) token(w http.ResponseWriter, r *http.Request) {
	if !a.begin(w, r, []string{"client_id", "client_secret", "code", "grant_type"}) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	clientID, why := a.checkClient(r)
	if why != "" {
		a.refuse(w, 400, "invalid_client", why)
		return
	}
	if gt := r.PostForm.Get("grant_type"); gt != "authorization_code" {
		a.refuse(w, 400, "unsupported_grant_type", "grant_type "+gt)
		return
	}
	code := r.PostForm.Get("code")
	g, ok := a.codes[code]
	if !ok || g.clientID != clientID {
		a.refuse(w, 400, "invalid_grant", "unknown, used or foreign code")
		return
	}
	delete(a.codes, code)
	refresh := "r." + rand.Text()
	a.tokens[refresh] = g
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: a.idKey}, nil)
	idTok, _ := jwt.Signed(signer).Claims(jwt.Claims{Issuer: "https://appleid.apple.com", Subject: g.sub,
		Audience: jwt.Audience{clientID}, IssuedAt: jwt.NewNumericDate(time.Now()), Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour))}).Serialize()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "a." + rand.Text(), "token_type": "Bearer",
		"expires_in": 3600, "refresh_token": refresh, "id_token": idTok})
}

func (a *Apple) revoke(w http.ResponseWriter, r *http.Request) {
	if !a.begin(w, r, []string{"client_id", "client_secret", "token", "token_type_hint"}) {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	clientID, why := a.checkClient(r)
	if why != "" {
		a.refuse(w, 400, "invalid_client", why)
		return
	}
	if h := r.PostForm.Get("token_type_hint"); h != "refresh_token" {
		a.refuse(w, 400, "invalid_request", "token_type_hint "+h)
		return
	}
	tok := r.PostForm.Get("token")
	if g, ok := a.tokens[tok]; !ok || g.clientID != clientID {
		// Apple answers 200 for tokens it does not know; a test wants to
		// hear of it.
		a.probs = append(a.probs, "revoke of an unknown token")
	} else {
		delete(a.tokens, tok)
		a.revoked = append(a.revoked, tok)
	}
	w.WriteHeader(http.StatusOK)
}

// Kakao is a fake kapi.kakao.com for the unlink API.
type Kakao struct {
	URL      string
	AdminKey string
	AppID    string

	mu       sync.Mutex
	users    map[string]bool // linked Kakao user ids
	unlinked []string
	calls    int
	fail     int
	delay    time.Duration
	probs    []string
}

// NewKakao starts a fake for the rest of the test.
func NewKakao(t testing.TB) *Kakao {
	k := &Kakao{AdminKey: "admin-" + rand.Text(), AppID: "1234567", users: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(k.unlink))
	t.Cleanup(srv.Close)
	k.URL = srv.URL
	return k
}

// Link records that a Kakao user has connected the app.
func (k *Kakao) Link(sub string) { k.mu.Lock(); k.users[sub] = true; k.mu.Unlock() }

// Fail makes every call answer status (0: answer normally again).
func (k *Kakao) Fail(status int) { k.mu.Lock(); k.fail = status; k.mu.Unlock() }

// Delay holds every answer for d.
func (k *Kakao) Delay(d time.Duration) { k.mu.Lock(); k.delay = d; k.mu.Unlock() }

// Unlinked lists the user ids unlinked so far; Calls counts requests.
func (k *Kakao) Unlinked() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.unlinked)
}
func (k *Kakao) Calls() int         { k.mu.Lock(); defer k.mu.Unlock(); return k.calls }
func (k *Kakao) Problems() []string { k.mu.Lock(); defer k.mu.Unlock(); return slices.Clone(k.probs) }

func (k *Kakao) refuse(w http.ResponseWriter, status, code int, why string) {
	k.probs = append(k.probs, why)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"msg": why, "code": code})
}

func (k *Kakao) unlink(w http.ResponseWriter, r *http.Request) {
	k.mu.Lock()
	k.calls++
	fail, delay := k.fail, k.delay
	k.mu.Unlock()
	time.Sleep(delay)
	k.mu.Lock()
	defer k.mu.Unlock()
	if fail != 0 {
		w.WriteHeader(fail)
		return
	}
	if r.URL.Path != "/v1/user/unlink" || r.Method != http.MethodPost {
		k.refuse(w, 404, -1, "unexpected "+r.Method+" "+r.URL.Path)
		return
	}
	if r.Header.Get("Authorization") != "KakaoAK "+k.AdminKey {
		k.refuse(w, 401, -401, "bad Authorization header")
		return
	}
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		k.refuse(w, 400, -2, "want a form")
		return
	}
	if r.PostForm.Get("target_id_type") != "user_id" {
		k.refuse(w, 400, -2, "target_id_type "+r.PostForm.Get("target_id_type"))
		return
	}
	sub := r.PostForm.Get("target_id")
	if !k.users[sub] {
		k.refuse(w, 400, -101, "NotRegisteredUserException")
		return
	}
	delete(k.users, sub)
	k.unlinked = append(k.unlinked, sub)
	id, _ := strconv.ParseInt(sub, 10, 64)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]int64{"id": id})
}
