package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/recording"
)

// FuzzVerify feeds the verifier arbitrary ID tokens, starting from real and
// forged ones. Whatever it is given, it must not panic; it accepts the
// issuer's token, and any other token only with exactly the header and
// claims the issuer signed (no input forges an identity); every refusal is
// invalid_id_token (the provider is up, so nothing is "unavailable").
func FuzzVerify(f *testing.F) {
	ti := newTestIssuer(f)
	v := newVerifier(f, ti.provider("test", testIss))
	// Valid for a day, so a long fuzzing run does not outlive it.
	valid := ti.sign("k1", "k1", claims(func(c map[string]any) { c["exp"] = time.Now().Add(24 * time.Hour).Unix() }))
	parts := strings.Split(valid, ".")
	signed := parts[0] + "." + parts[1] + "."
	for _, seed := range []string{
		valid,
		ti.sign("k1", "k1", claims(func(c map[string]any) { c["sub"] = "someone-else"; c["aud"] = "wrong" })),
		ti.sign("unknown-kid", "k1", claims(nil)),
		ti.hs256WithPublicKey(claims(nil)),
		b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + parts[1] + ".",
		parts[0] + "." + parts[1],
		parts[0] + ".." + parts[2],
		"", ".", "..", "....", "a.b.c", "eyJ.eyJ.sig", strings.Repeat("A", 10000),
		"\x00\xff.\xfe.\xfd",
	} {
		f.Add(seed)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, token string) {
		id, err := v.Verify(ctx, "test", token, "")
		if err != nil {
			if token == valid {
				t.Fatalf("the issuer's own token was refused: %v", err)
			}
			if recording.ErrorCode(err) != recording.CodeInvalidToken {
				t.Fatalf("token %q refused with %v, want %s", token, err, recording.CodeInvalidToken)
			}
			return
		}
		if id.Subject != "user-1" || id.Provider != "test" {
			t.Fatalf("accepted a token for %+v", id)
		}
		if !strings.HasPrefix(strings.TrimSpace(token), signed) {
			t.Fatalf("accepted %q, which is not what the issuer signed", token)
		}
	})
}
