package api

import (
	"strconv"
	"testing"
)

// The token-hash cache is bounded: a stream of fresh tokens (one per
// sign-in, or an attacker's made-up ones that happen to be valid) must
// never grow it past maxCachedSessions, and a hash already cached is
// updated in place without evicting another.
func TestSessionCacheStaysBounded(t *testing.T) {
	t.Parallel()
	var c sessionUsers
	for i := range maxCachedSessions + 10 {
		c.put("hash-"+strconv.Itoa(i), "user")
	}
	if len(c.m) != maxCachedSessions {
		t.Fatalf("%d cached hashes, want the bound %d", len(c.m), maxCachedSessions)
	}
	var kept string
	for k := range c.m {
		kept = k
		break
	}
	c.put(kept, "user")
	if uid, ok := c.get(kept); len(c.m) != maxCachedSessions || !ok || uid != "user" {
		t.Fatalf("re-caching %s: %d entries, %q %v", kept, len(c.m), uid, ok)
	}
	c.forget(kept)
	if _, ok := c.get(kept); ok {
		t.Fatal("a forgotten hash is still cached")
	}
}
