package api

import (
	"strings"
	"testing"
	"time"
)

// However many distinct keys arrive, a limiter holds at most max of them.
func TestLimiterMemoryIsBounded(t *testing.T) {
	t.Parallel()
	now := time.Now()
	l := newLimiter(30, 10, func() time.Time { return now })
	l.max = 100
	for i := 0; i < 1000; i++ {
		l.allow(addressKey("10.0." + string(rune('0'+i%10)) + "." + strings.Repeat("1", 1+i%3)))
		l.allow(identityKey("dev", strings.Repeat("x", i)))
	}
	if n := l.len(); n > 100 {
		t.Fatalf("%d keys held, bound is 100", n)
	}
	// A key is never longer than 43 bytes (an IPv6 /64 or a SHA-256).
	for _, k := range []string{addressKey(strings.Repeat("9", 1<<20)), addressKey("2001:db8:1:2:3:4:5:6"), identityKey("p", strings.Repeat("s", 1<<20))} {
		if len(k) > 43 {
			t.Errorf("key of %d bytes", len(k))
		}
	}
	if addressKey("2001:db8:1:2:3:4:5:6") != addressKey("2001:db8:1:2:ffff::1") {
		t.Error("two addresses of one IPv6 /64 are counted apart")
	}
	if addressKey("::ffff:192.0.2.1") != addressKey("192.0.2.1") {
		t.Error("an IPv4-mapped address is counted apart from the IPv4 one")
	}
	// Different clients have budgets of their own.
	for _, pair := range [][2]string{{"192.0.2.1", "192.0.2.2"}, {"2001:db8:1:2::1", "2001:db8:1:3::1"}, {"192.0.2.1", "junk"}} {
		if addressKey(pair[0]) == addressKey(pair[1]) {
			t.Errorf("%s and %s share a budget", pair[0], pair[1])
		}
	}
}

// Buckets refill: a key limited now is allowed again once a token is back.
func TestLimiterRefills(t *testing.T) {
	t.Parallel()
	now := time.Now()
	l := newLimiter(60, 2, func() time.Time { return now }) // one a second
	for i := 0; i < 2; i++ {
		if ok, _ := l.allow("k"); !ok {
			t.Fatalf("attempt %d refused", i)
		}
	}
	ok, wait := l.allow("k")
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("third attempt: ok=%v wait=%s", ok, wait)
	}
	now = now.Add(time.Second)
	if ok, _ := l.allow("k"); !ok {
		t.Fatal("refused after a token came back")
	}
}

// A bucket is forgotten only once it would be full again: a client that
// emptied its bucket cannot get a fresh one by waiting less than that.
func TestLimiterForgetsOnlyFullBuckets(t *testing.T) {
	t.Parallel()
	now := time.Now()
	l := newLimiter(1, 2, func() time.Time { return now }) // one a minute: full again after 2 min
	l.allow("k")
	l.allow("k")
	start := now
	for _, after := range []time.Duration{30 * time.Second, 55 * time.Second} {
		now = start.Add(after)
		l.allow("other " + after.String()) // arrivals are when idle keys are dropped
		if ok, _ := l.allow("k"); ok {
			t.Fatalf("%s after emptying its bucket (a token is a minute away), k has a fresh one", after)
		}
	}
	// Just before two minutes after k was last seen its bucket is not yet
	// full and is kept; two minutes (and a second) after, it may go.
	last := now
	now = last.Add(2*time.Minute - 500*time.Millisecond)
	l.allow("almost")
	if _, held := l.keys["k"]; !held {
		t.Fatal("a bucket not yet full again was forgotten")
	}
	now = last.Add(2*time.Minute + time.Second)
	l.allow("newcomer")
	if _, held := l.keys["k"]; held {
		t.Error("a bucket idle long enough to be full is still held")
	}
}

// Attempts admitted and not yet settled hold a token each, so concurrent
// session checks from one address cannot run past its budget; a success
// gives its token back, a failure spends it.
func TestAdmitHoldsATokenPerAttemptUnderWay(t *testing.T) {
	t.Parallel()
	now := time.Now()
	l := newLimiter(60, 2, func() time.Time { return now }) // one a second
	first, _ := l.admit("k")
	second, _ := l.admit("k")
	if first == nil || second == nil {
		t.Fatal("an attempt within the budget was refused")
	}
	if settle, wait := l.admit("k"); settle != nil || wait <= 0 || wait > time.Second {
		t.Fatalf("a third attempt while two are under way: admitted=%v wait=%s", settle != nil, wait)
	}
	first(false)
	third, _ := l.admit("k")
	if third == nil {
		t.Fatal("a success did not give its token back")
	}
	second(true)
	third(true)
	if settle, _ := l.admit("k"); settle != nil {
		t.Fatal("admitted after two failures spent the budget")
	}
	now = now.Add(time.Second)
	if settle, _ := l.admit("k"); settle == nil {
		t.Fatal("refused after a token came back")
	}
}
