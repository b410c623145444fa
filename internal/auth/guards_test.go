package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/voicerec/backend/internal/recording"
)

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

// swapCase changes the case of every letter of s.
func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsUpper(r) {
			return unicode.ToLower(r)
		}
		return unicode.ToUpper(r)
	}, s)
}

// A session token differing from a real one only in letter case is another
// token: its hash differs, so it finds no session.
func TestSessionTokenHashIsCaseSensitive(t *testing.T) {
	tok, hash, err := NewSessionToken()
	if err != nil {
		t.Fatal(err)
	}
	other := swapCase(tok)
	if other == tok {
		t.Fatalf("token %q has no letters", tok)
	}
	if !WellFormedSessionToken(other) {
		t.Fatalf("case-swapped token %q is not well formed, so this test would prove nothing", other)
	}
	if HashToken(other) == hash {
		t.Fatalf("tokens %q and %q share a hash", tok, other)
	}
	// The hash is the lowercase hex SHA-256 the sessions table is keyed by.
	if hash != strings.ToLower(hash) || len(hash) != 64 {
		t.Fatalf("hash %q", hash)
	}
}

// fakeClock is a settable clock for the key set's refetch bounds.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func (v *Verifier) fetchesOf(provider string) int { return v.providers[provider].keys.Fetches() }

// After a failed first fetch the key set retries sooner than the normal
// interval (MinRetryInterval, 1 s by default, not a minute) but still not
// at once; its own count of fetches matches what the provider saw.
func TestKeySetRetriesSoonAfterAFailedFirstFetch(t *testing.T) {
	ti := newTestIssuer(t)
	ti.down.Store(true)
	clock := &fakeClock{now: time.Now()}
	v, err := NewVerifier([]Provider{ti.provider("test", testIss)}, Options{Now: clock.Now, MinRefetchInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok := ti.sign("k1", "k1", claims(nil))
	if _, err := v.Verify(ctx, "test", tok, ""); recording.ErrorCode(err) != recording.CodeUnavailable {
		t.Fatalf("provider down: %v", err)
	}
	clock.Advance(500 * time.Millisecond)
	_, _ = v.Verify(ctx, "test", tok, "")
	if n := ti.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches half a second after a failed one, want still 1", n)
	}
	ti.down.Store(false)
	clock.Advance(500 * time.Millisecond) // exactly 1 s after the failed fetch
	if _, err := v.Verify(ctx, "test", tok, ""); err != nil {
		t.Fatalf("1 s after a failed first fetch, with the provider back: %v", err)
	}
	if n := ti.fetches.Load(); n != 2 || v.fetchesOf("test") != 2 {
		t.Fatalf("provider saw %d fetches, key set counted %d; want 2 and 2", n, v.fetchesOf("test"))
	}
}

// The short retry bound is for a key set in trouble only: after a good
// fetch, an unknown key id two seconds later (past MinRetryInterval, well
// inside MinRefetchInterval) must not make the provider's JWKS endpoint a
// target anyone can hammer with made-up key ids.
func TestHealthyKeySetWaitsTheFullRefetchInterval(t *testing.T) {
	ti := newTestIssuer(t)
	clock := &fakeClock{now: time.Now()}
	v, err := NewVerifier([]Provider{ti.provider("test", testIss)}, Options{Now: clock.Now,
		MinRefetchInterval: time.Minute, MinRetryInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := v.Verify(ctx, "test", ti.sign("k1", "k1", claims(nil)), ""); err != nil {
		t.Fatal(err)
	}
	clock.Advance(2 * time.Second)
	if _, err := v.Verify(ctx, "test", ti.sign("made-up", "k1", claims(nil)), ""); err == nil {
		t.Fatal("a token naming an unpublished key id was accepted")
	}
	if n := ti.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches for an unknown kid 2 s after a good fetch, want 1", n)
	}
}

// The refetch bound is inclusive of its end: exactly MinRefetchInterval
// after the last fetch, an unknown key id is fetched. A known key id with
// a bad signature never refetches, however long since the last fetch, and
// a token naming no key id refetches (the key may be new).
func TestKeySetRefetchBounds(t *testing.T) {
	ti := newTestIssuer(t)
	clock := &fakeClock{now: time.Now()}
	v, err := NewVerifier([]Provider{ti.provider("test", testIss)}, Options{Now: clock.Now, MinRefetchInterval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	longLived := claims(func(c map[string]any) { c["exp"] = time.Now().Add(3 * time.Hour).Unix() })
	if _, err := v.Verify(ctx, "test", ti.sign("k1", "k1", longLived), ""); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Hour)
	if _, err := v.Verify(ctx, "test", ti.sign("k1", "rogue", longLived), ""); recording.ErrorCode(err) != recording.CodeInvalidToken {
		t.Fatalf("known kid, bad signature: %v", err)
	}
	if n := ti.fetches.Load(); n != 1 {
		t.Fatalf("a known kid with a bad signature caused a fetch (%d)", n)
	}
	ti.publish("k3")
	if _, err := v.Verify(ctx, "test", ti.sign("", "k3", longLived), ""); err != nil {
		t.Fatalf("token without kid signed by a newly published key: %v", err)
	}
	if n := ti.fetches.Load(); n != 2 {
		t.Fatalf("%d fetches, want 2", n)
	}
	ti.publish("k4")
	clock.Advance(time.Minute)
	if _, err := v.Verify(ctx, "test", ti.sign("k4", "k4", longLived), ""); err != nil {
		t.Fatalf("exactly one interval later, a new kid: %v", err)
	}
	if n := ti.fetches.Load(); n != 3 || v.fetchesOf("test") != 3 {
		t.Fatalf("provider saw %d fetches, key set counted %d; want 3 and 3", n, v.fetchesOf("test"))
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

// A key set document of exactly maxJWKSBytes is read; one byte more is
// refused as the provider's failure.
func TestJWKSSizeBound(t *testing.T) {
	ti := newTestIssuer(t)
	set, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &ti.key("k1").PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(size int) string {
		body := append(set, bytes.Repeat([]byte(" "), size-len(set))...)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) }))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	ctx := context.Background()
	tok := ti.sign("k1", "k1", claims(nil))
	for _, tc := range []struct {
		size int
		code recording.Code
	}{{maxJWKSBytes, ""}, {maxJWKSBytes + 1, recording.CodeUnavailable}} {
		p := ti.provider("test", testIss)
		p.JWKSURL = serve(tc.size)
		_, err := newVerifier(t, p).Verify(ctx, "test", tok, "")
		if (tc.code == "" && err != nil) || (tc.code != "" && recording.ErrorCode(err) != tc.code) {
			t.Errorf("JWKS of %d bytes: %v, want %q", tc.size, err, tc.code)
		}
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
