package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
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

// mixedIssuer publishes an RSA key (k1, the test issuer's) and an EC P-256
// key (e1) in one JWKS, as providers do during an algorithm migration.
func mixedIssuer(t *testing.T) (jwksURL string, ec *ecdsa.PrivateKey, ti *testIssuer) {
	t.Helper()
	ti = newTestIssuer(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &ti.key("k1").PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"},
			{Key: &ec.PublicKey, KeyID: "e1", Algorithm: "ES256", Use: "sig"},
		}}
		_ = json.NewEncoder(w).Encode(set)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, ec, ti
}

func signES256(t *testing.T, key *ecdsa.PrivateKey, kid string, c map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// A provider configured for RS256 refuses a correctly signed ES256 token,
// even though the provider also publishes the ES256 key: the algorithm
// allow-list, not the key set, decides what is accepted.
func TestAlgorithmAllowListRefusesPublishedES256Key(t *testing.T) {
	jwks, ec, ti := mixedIssuer(t)
	ctx := context.Background()
	p := Provider{Name: "test", Issuer: testIss, JWKSURL: jwks, ClientIDs: []string{testAud}, Algorithms: []string{"RS256"}}
	v := newVerifier(t, p)
	es := signES256(t, ec, "e1", claims(nil))
	// The RS256 token of the same issuer is fine, so the key set is reachable.
	if _, err := v.Verify(ctx, "test", ti.sign("k1", "k1", claims(nil)), ""); err != nil {
		t.Fatalf("RS256 token refused: %v", err)
	}
	if id, err := v.Verify(ctx, "test", es, ""); recording.ErrorCode(err) != recording.CodeInvalidToken || err == nil {
		t.Fatalf("ES256 token for an RS256 provider: %+v, %v; want %s", id, err, recording.CodeInvalidToken)
	}
	// With no algorithms configured the default is RS256 alone.
	p.Algorithms = nil
	if _, err := newVerifier(t, p).Verify(ctx, "test", es, ""); recording.ErrorCode(err) != recording.CodeInvalidToken || err == nil {
		t.Fatalf("ES256 token for a provider with the default algorithms: %v", err)
	}
	// The same token is accepted once ES256 is allowed: what refused it
	// above was the allow-list and nothing else.
	p.Algorithms = []string{"ES256"}
	id, err := newVerifier(t, p).Verify(ctx, "test", es, "")
	if err != nil || id.Subject != "user-1" {
		t.Fatalf("ES256 token for an ES256 provider: %+v, %v", id, err)
	}
}

// Zero options mean the defaults: a one-minute refetch bound and a
// one-minute clock skew, both ways.
func TestVerifierDefaults(t *testing.T) {
	ti := newTestIssuer(t)
	v, err := NewVerifier([]Provider{ti.provider("test", testIss)}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for name, c := range map[string]map[string]any{
		"expired 30 s ago":       claims(func(c map[string]any) { c["exp"] = time.Now().Add(-30 * time.Second).Unix() }),
		"issued 30 s from now":   claims(func(c map[string]any) { c["iat"] = time.Now().Add(30 * time.Second).Unix() }),
		"expires in 30 s":        claims(func(c map[string]any) { c["exp"] = time.Now().Add(30 * time.Second).Unix() }),
		"expired 90 s ago (out)": claims(func(c map[string]any) { c["exp"] = time.Now().Add(-90 * time.Second).Unix() }),
	} {
		_, err := v.Verify(ctx, "test", ti.sign("k1", "k1", c), "")
		if want := !strings.HasSuffix(name, "(out)"); (err == nil) != want {
			t.Errorf("%s: %v, want accepted=%v", name, err, want)
		}
	}
	ti.publish("k5")
	_, _ = v.Verify(ctx, "test", ti.sign("k5", "k5", claims(nil)), "")
	if n := ti.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for an unknown kid right after the first fetch, want 1 (the default bound)", n)
	}
}

// NewVerifier itself refuses a symmetric algorithm, whoever built the
// provider list, and says which provider and algorithm.
func TestNewVerifierRefusesSymmetricAlgorithms(t *testing.T) {
	for _, alg := range []string{"HS256", "none"} {
		_, err := NewVerifier([]Provider{{Name: "acme", Issuer: testIss, JWKSURL: "https://acme.example/jwks", ClientIDs: []string{"x"},
			Algorithms: []string{"RS256", alg}}}, Options{})
		if err == nil || !strings.Contains(err.Error(), "acme") || !strings.Contains(err.Error(), alg) {
			t.Errorf("algorithm %s: %v", alg, err)
		}
	}
}
