package auth

import (
	"context"
	"strings"
	"testing"
)

// FuzzVerify feeds the verifier arbitrary ID tokens, starting from real and
// forged ones. Whatever it is given, it must not panic, and it may accept a
// token only with exactly the claims the issuer signed: no input forges an
// identity.
func FuzzVerify(f *testing.F) {
	ti := newTestIssuer(f)
	v := newVerifier(f, ti.provider("test", testIss))
	valid := ti.sign("k1", "k1", claims(nil))
	parts := strings.Split(valid, ".")
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
			return
		}
		if id.Subject != "user-1" || id.Provider != "test" {
			t.Fatalf("accepted a token for %+v", id)
		}
	})
}
