package auth

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/voicerec/backend/internal/recording"
)

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
