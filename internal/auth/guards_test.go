package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
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
