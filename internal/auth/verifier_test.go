package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/voicerec/backend/internal/recording"
)

// testIssuer is an OIDC provider under the test's control: its keys, its
// JWKS endpoint (which counts fetches), and tokens with any claims or header.
type testIssuer struct {
	t       testing.TB
	srv     *httptest.Server
	mu      sync.Mutex
	keys    map[string]*rsa.PrivateKey // published keys by kid
	fetches atomic.Int32
	down    atomic.Bool
	// hold, when set, makes the JWKS endpoint wait until it is closed.
	hold atomic.Pointer[chan struct{}]
}

func newTestIssuer(t testing.TB) *testIssuer {
	ti := &testIssuer{t: t, keys: map[string]*rsa.PrivateKey{}}
	ti.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ti.fetches.Add(1)
		if h := ti.hold.Load(); h != nil {
			select {
			case <-*h:
			case <-r.Context().Done():
				return
			}
		}
		if ti.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		ti.mu.Lock()
		var set jose.JSONWebKeySet
		for kid, k := range ti.keys {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: kid, Algorithm: "RS256", Use: "sig"})
		}
		ti.mu.Unlock()
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(ti.srv.Close)
	ti.publish("k1")
	return ti
}

var testKeys sync.Map // kid -> *rsa.PrivateKey, generated once per test binary

func (ti *testIssuer) publish(kid string) *rsa.PrivateKey {
	k, ok := testKeys.Load(kid)
	if !ok {
		nk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			ti.t.Fatal(err)
		}
		k, _ = testKeys.LoadOrStore(kid, nk)
	}
	ti.mu.Lock()
	ti.keys[kid] = k.(*rsa.PrivateKey)
	ti.mu.Unlock()
	return k.(*rsa.PrivateKey)
}

func (ti *testIssuer) key(kid string) *rsa.PrivateKey {
	k, _ := testKeys.Load(kid)
	if k == nil {
		return ti.publish(kid)
	}
	return k.(*rsa.PrivateKey)
}

const (
	testIss = "https://issuer.example"
	testAud = "client-1"
)

func (ti *testIssuer) provider(name, issuer string) Provider {
	return Provider{Name: name, Issuer: issuer, JWKSURL: ti.srv.URL, ClientIDs: []string{"other-client", testAud}, Algorithms: []string{"RS256"}}
}

func claims(mod func(map[string]any)) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": testIss, "sub": "user-1", "aud": testAud, "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
	if mod != nil {
		mod(c)
	}
	return c
}

// sign makes an RS256 token with kid, signed by the key of signKid.
func (ti *testIssuer) sign(kid, signKid string, c map[string]any) string {
	ti.t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: ti.key(signKid)}, opts)
	if err != nil {
		ti.t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	jws, err := signer.Sign(payload)
	if err != nil {
		ti.t.Fatal(err)
	}
	tok, _ := jws.CompactSerialize()
	return tok
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hs256WithPublicKey is the classic algorithm-confusion attack: HMAC-sign
// with the RSA public key as the secret, hoping the verifier uses it so.
func (ti *testIssuer) hs256WithPublicKey(c map[string]any) string {
	pub, _ := x509.MarshalPKIXPublicKey(&ti.key("k1").PublicKey)
	signing := b64(map[string]string{"alg": "HS256", "typ": "JWT", "kid": "k1"}) + "." + b64(c)
	mac := hmac.New(sha256.New, pub)
	mac.Write([]byte(signing))
	return signing + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

func newVerifier(t testing.TB, ps ...Provider) *Verifier {
	v, err := NewVerifier(ps, Options{MinRefetchInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestRejections(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t, ti.provider("test", testIss))
	good := ti.sign("k1", "k1", claims(nil))
	if _, err := v.Verify(context.Background(), "test", good, ""); err != nil {
		t.Fatalf("good token refused: %v", err)
	}
	// azp, when present, must be one of the provider's client IDs (Google
	// puts the Android or iOS client there and the server's in aud).
	for _, azp := range []string{testAud, "other-client"} {
		tok := ti.sign("k1", "k1", claims(func(c map[string]any) { c["azp"] = azp }))
		if _, err := v.Verify(context.Background(), "test", tok, ""); err != nil {
			t.Fatalf("azp %q refused: %v", azp, err)
		}
	}
	parts := strings.Split(good, ".")
	cases := []struct {
		name, provider, token, nonce string
		code                         recording.Code
	}{
		{"bad signature", "test", parts[0] + "." + parts[1] + "." + strings.Repeat("A", len(parts[2])), "", recording.CodeInvalidToken},
		{"signed by an unpublished key", "test", ti.sign("k1", "rogue", claims(nil)), "", recording.CodeInvalidToken},
		{"tampered payload", "test", parts[0] + "." + b64(claims(func(c map[string]any) { c["sub"] = "admin" })) + "." + parts[2], "", recording.CodeInvalidToken},
		{"wrong issuer", "test", ti.sign("k1", "k1", claims(func(c map[string]any) { c["iss"] = "https://evil.example" })), "", recording.CodeInvalidToken},
		{"wrong audience", "test", ti.sign("k1", "k1", claims(func(c map[string]any) { c["aud"] = "someone-else" })), "", recording.CodeInvalidToken},
		{"audience list without ours", "test", ti.sign("k1", "k1", claims(func(c map[string]any) { c["aud"] = []string{"a", "b"} })), "", recording.CodeInvalidToken},
		{"expired", "test", ti.sign("k1", "k1", claims(func(c map[string]any) { c["exp"] = time.Now().Add(-2 * time.Minute).Unix() })), "", recording.CodeInvalidToken},
		{"no expiry", "test", ti.sign("k1", "k1", claims(func(c map[string]any) { delete(c, "exp") })), "", recording.CodeInvalidToken},
		{"issued in the future", "test", ti.sign("k1", "k1", claims(func(c map[string]any) { c["iat"] = time.Now().Add(10 * time.Minute).Unix() })), "", recording.CodeInvalidToken},
		{"no issue time", "test", ti.sign("k1", "k1", claims(func(c map[string]any) { delete(c, "iat") })), "", recording.CodeInvalidToken},
		{"no subject", "test", ti.sign("k1", "k1", claims(func(c map[string]any) { delete(c, "sub") })), "", recording.CodeInvalidToken},
		{"nonce mismatch", "test", ti.sign("k1", "k1", claims(func(c map[string]any) { c["nonce"] = "n1" })), "n2", recording.CodeInvalidToken},
		{"nonce in token, none sent", "test", ti.sign("k1", "k1", claims(func(c map[string]any) { c["nonce"] = "n1" })), "", recording.CodeInvalidToken},
		{"nonce sent, none in token", "test", good, "n1", recording.CodeInvalidToken},
		{"azp not one of ours", "test", ti.sign("k1", "k1", claims(func(c map[string]any) { c["azp"] = "someone-else" })), "", recording.CodeInvalidToken},
		{"azp empty string", "test", ti.sign("k1", "k1", claims(func(c map[string]any) { c["azp"] = "" })), "", recording.CodeInvalidToken},
		{"azp not a string", "test", ti.sign("k1", "k1", claims(func(c map[string]any) { c["azp"] = 7 })), "", recording.CodeInvalidToken},
		{"alg none", "test", b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(claims(nil)) + ".", "", recording.CodeInvalidToken},
		{"HS256 with the public key", "test", ti.hs256WithPublicKey(claims(nil)), "", recording.CodeInvalidToken},
		{"garbage", "test", "garbage", "", recording.CodeInvalidToken},
		{"two segments", "test", parts[0] + "." + parts[1], "", recording.CodeInvalidToken},
		{"bad base64", "test", "!!!." + parts[1] + "." + parts[2], "", recording.CodeInvalidToken},
		{"empty", "test", "", "", recording.CodeInvalidToken},
		{"unknown provider", "myspace", good, "", recording.CodeUnknownProvider},
		{"disabled provider", "google", good, "", recording.CodeUnknownProvider},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tc.provider, tc.token, tc.nonce)
			if recording.ErrorCode(err) != tc.code {
				t.Fatalf("got %v, want code %s", err, tc.code)
			}
		})
	}
}

func TestKeyRotationAndBoundedRefetch(t *testing.T) {
	ti := newTestIssuer(t)
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	v, err := NewVerifier([]Provider{ti.provider("test", testIss)}, Options{Now: clock, MinRefetchInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := v.Verify(ctx, "test", ti.sign("k1", "k1", claims(nil)), ""); err != nil {
		t.Fatal(err)
	}
	if n := ti.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for the first token, want 1", n)
	}
	// The provider rotates. Within a minute of the last fetch the new key
	// is not fetched (that is the bound); after it, one refetch finds it.
	ti.publish("k2")
	if _, err := v.Verify(ctx, "test", ti.sign("k2", "k2", claims(nil)), ""); err == nil {
		t.Fatal("refetched within the minimum interval")
	}
	if n := ti.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches within the interval, want 1", n)
	}
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	if _, err := v.Verify(ctx, "test", ti.sign("k2", "k2", claims(nil)), ""); err != nil {
		t.Fatalf("token signed with the rotated key: %v", err)
	}
	if n := ti.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after rotation, want 2", n)
	}
	// A flood of made-up key ids, concurrently, costs no more fetches
	// within the refetch interval.
	var wg sync.WaitGroup
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Verify(ctx, "test", ti.sign("bogus-"+hex.EncodeToString([]byte{byte(i)}), "k1", claims(nil)), "")
			if recording.ErrorCode(err) != recording.CodeInvalidToken {
				t.Errorf("unknown kid: %v", err)
			}
		}()
	}
	wg.Wait()
	if n := ti.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches after a flood of unknown kids, want still 2", n)
	}
	// Known kid with a bad signature never refetches.
	if _, err := v.Verify(ctx, "test", ti.sign("k1", "rogue", claims(nil)), ""); err == nil {
		t.Fatal("rogue signature accepted")
	}
	if n := ti.fetches.Load(); n != 2 {
		t.Fatalf("a bad signature with a known kid caused a fetch (%d)", n)
	}
}

func TestProviderOutageIsUnavailableNotInvalid(t *testing.T) {
	ti := newTestIssuer(t)
	ti.down.Store(true)
	v := newVerifier(t, ti.provider("test", testIss))
	_, err := v.Verify(context.Background(), "test", ti.sign("k1", "k1", claims(nil)), "")
	if recording.ErrorCode(err) != recording.CodeUnavailable {
		t.Fatalf("JWKS down: %v, want %s", err, recording.CodeUnavailable)
	}
}

func TestProviderClaimShapes(t *testing.T) {
	ti := newTestIssuer(t)
	v := newVerifier(t,
		ti.provider("google", "https://accounts.google.com"),
		ti.provider("apple", "https://appleid.apple.com"),
		ti.provider("kakao", "https://kauth.kakao.com"),
	)
	ctx := context.Background()
	rawNonce := "raw-nonce-from-the-app"
	sum := sha256.Sum256([]byte(rawNonce))
	cases := []struct {
		name, provider string
		claims         map[string]any
		nonce          string
		want           Identity
	}{
		{"google", "google", claims(func(c map[string]any) {
			c["iss"] = "https://accounts.google.com"
			c["email"], c["email_verified"], c["name"] = "g@example.com", true, "Gee"
		}), "", Identity{Provider: "google", Subject: "user-1", Email: "g@example.com", Name: "Gee"}},
		{"google without scheme", "google", claims(func(c map[string]any) {
			c["iss"] = "accounts.google.com"
		}), "", Identity{Provider: "google", Subject: "user-1"}},
		{"google unverified email", "google", claims(func(c map[string]any) {
			c["iss"] = "https://accounts.google.com"
			c["email"], c["email_verified"] = "g@example.com", false
		}), "", Identity{Provider: "google", Subject: "user-1"}},
		{"apple string boolean and hashed nonce", "apple", claims(func(c map[string]any) {
			c["iss"] = "https://appleid.apple.com"
			c["email"], c["email_verified"], c["nonce"] = "a@privaterelay.appleid.com", "true", hex.EncodeToString(sum[:])
		}), rawNonce, Identity{Provider: "apple", Subject: "user-1", Email: "a@privaterelay.appleid.com"}},
		{"apple string false", "apple", claims(func(c map[string]any) {
			c["iss"] = "https://appleid.apple.com"
			c["email"], c["email_verified"] = "a@example.com", "false"
		}), "", Identity{Provider: "apple", Subject: "user-1"}},
		{"kakao nickname and raw nonce", "kakao", claims(func(c map[string]any) {
			c["iss"] = "https://kauth.kakao.com"
			c["nickname"], c["nonce"] = "카카오", rawNonce
		}), rawNonce, Identity{Provider: "kakao", Subject: "user-1", Name: "카카오"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Verify(ctx, tc.provider, ti.sign("k1", "k1", tc.claims), tc.nonce)
			if err != nil {
				t.Fatal(err)
			}
			want := tc.want
			want.ClientID = "client-1" // the audience the token was issued to
			if got != want {
				t.Fatalf("got %+v, want %+v", got, want)
			}
		})
	}
	// The scheme-less spelling is Google's alone.
	_, err := v.Verify(ctx, "apple", ti.sign("k1", "k1", claims(func(c map[string]any) { c["iss"] = "appleid.apple.com" })), "")
	if recording.ErrorCode(err) != recording.CodeInvalidToken {
		t.Fatalf("scheme-less Apple issuer accepted: %v", err)
	}
}

func TestSessionTokens(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 100; i++ {
		tok, hash, err := NewSessionToken()
		if err != nil {
			t.Fatal(err)
		}
		if !WellFormedSessionToken(tok) || seen[tok] || hash != HashToken(tok) || len(hash) != 64 || strings.Contains(hash, tok) {
			t.Fatalf("token %q hash %q", tok, hash)
		}
		seen[tok] = true
	}
	for _, bad := range []string{"", "short", strings.Repeat("A", 42), strings.Repeat("A", 44), strings.Repeat("+", 43), strings.Repeat("=", 43)} {
		if WellFormedSessionToken(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

// settableClock is a clock tests move by hand.
type settableClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *settableClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *settableClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

// A slow key-set refresh (set off by a token with a made-up kid) must not
// stall logins whose key is already cached.
func TestCachedKeyLoginsNeverWaitForARefresh(t *testing.T) {
	ti := newTestIssuer(t)
	clock := &settableClock{now: time.Now()}
	v, err := NewVerifier([]Provider{ti.provider("test", testIss)}, Options{Now: clock.Now, MinRefetchInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good := ti.sign("k1", "k1", claims(nil))
	if _, err := v.Verify(ctx, "test", good, ""); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Minute) // a refetch is allowed again
	hold := make(chan struct{})
	ti.hold.Store(&hold)
	release := time.AfterFunc(3*time.Second, func() { close(hold) })
	defer release.Stop()
	go func() { _, _ = v.Verify(ctx, "test", ti.sign("forged", "k1", claims(nil)), "") }()
	for ti.fetches.Load() < 2 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	if _, err := v.Verify(ctx, "test", good, ""); err != nil {
		t.Fatalf("cached-key login during a refresh: %v", err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("a cached-key login waited %s for a key-set refresh", d)
	}
}

// A failed fetch makes logins that need the key set a 503 (retry), never a
// 401 "bad signature", also in the moments after the failure; once the
// provider is back, logins succeed without waiting out a long pause.
func TestKeySetOutageIsNeverBadSignature(t *testing.T) {
	ti := newTestIssuer(t)
	clock := &settableClock{now: time.Now()}
	v, err := NewVerifier([]Provider{ti.provider("test", testIss)}, Options{Now: clock.Now, MinRefetchInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good := ti.sign("k1", "k1", claims(nil))
	ti.down.Store(true)
	for i := 0; i < 3; i++ {
		if _, err := v.Verify(ctx, "test", good, ""); recording.ErrorCode(err) != recording.CodeUnavailable {
			t.Fatalf("attempt %d while the key set is down: %v, want %s", i, err, recording.CodeUnavailable)
		}
	}
	ti.down.Store(false)
	if _, err := v.Verify(ctx, "test", good, ""); recording.ErrorCode(err) == recording.CodeInvalidToken {
		t.Fatalf("just after the provider came back: %v; a valid token must never be refused as invalid", err)
	}
	clock.Advance(1100 * time.Millisecond)
	if _, err := v.Verify(ctx, "test", good, ""); err != nil {
		t.Fatalf("a second after the provider came back: %v", err)
	}

	// Keys cached, provider down, a token with a new kid (a real rotation):
	// 503 each time, and logins with the cached key keep working.
	clock.Advance(2 * time.Minute)
	ti.down.Store(true)
	rotated := ti.sign("k2", "k2", claims(nil))
	for i := 0; i < 3; i++ {
		if _, err := v.Verify(ctx, "test", rotated, ""); recording.ErrorCode(err) != recording.CodeUnavailable {
			t.Fatalf("new kid while the key set is down, attempt %d: %v, want %s", i, err, recording.CodeUnavailable)
		}
		if _, err := v.Verify(ctx, "test", good, ""); err != nil {
			t.Fatalf("cached key while the key set is down: %v", err)
		}
	}
}

// A hanging provider costs one fetch for all concurrent callers, and that
// fetch gives up after FetchTimeout with a 503.
func TestKeySetFetchIsSingleFlightWithTimeout(t *testing.T) {
	ti := newTestIssuer(t)
	hold := make(chan struct{})
	ti.hold.Store(&hold)
	t.Cleanup(func() { close(hold) })
	v, err := NewVerifier([]Provider{ti.provider("test", testIss)}, Options{FetchTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := v.Verify(context.Background(), "test", ti.sign("k1", "k1", claims(nil)), "")
			if recording.ErrorCode(err) != recording.CodeUnavailable {
				t.Errorf("hanging key set: %v, want %s", err, recording.CodeUnavailable)
			}
		}()
	}
	wg.Wait()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("callers waited %s for a fetch bounded at 200ms", d)
	}
	if n := ti.fetches.Load(); n != 1 {
		t.Errorf("%d fetches for 20 concurrent callers, want 1", n)
	}
}

// A provider requiring a nonce refuses tokens without it (which providers
// require one is config's TestRequireNonceDefaults).
func TestRequireNonce(t *testing.T) {
	ti := newTestIssuer(t)
	p := ti.provider("test", testIss)
	p.RequireNonce = true
	v := newVerifier(t, p)
	if _, err := v.Verify(context.Background(), "test", ti.sign("k1", "k1", claims(nil)), ""); recording.ErrorCode(err) != recording.CodeInvalidToken {
		t.Fatalf("token without a nonce: %v", err)
	}
	tok := ti.sign("k1", "k1", claims(func(c map[string]any) { c["nonce"] = "n1" }))
	if _, err := v.Verify(context.Background(), "test", tok, "n1"); err != nil {
		t.Fatalf("token with its nonce: %v", err)
	}
}
