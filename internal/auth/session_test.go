package auth

import (
	"strings"
	"testing"
	"unicode"
)

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
