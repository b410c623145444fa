package api

import (
	"container/list"
	"crypto/sha256"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/voicerec/backend/internal/recording"
)

// maxLimiterKeys bounds each limiter's memory: past it the least recently
// seen key is forgotten (its bucket starts full again). Keys are at most 32
// bytes (an address, a /64 prefix or a SHA-256), so a limiter holds at most
// about 2 MB, whatever clients send.
const maxLimiterKeys = 10000

// limiter is a set of token buckets keyed by a short string, bounded in
// number (LRU) and forgetting keys idle for longer than a bucket takes to
// refill.
type limiter struct {
	rate  rate.Limit
	burst int
	idle  time.Duration
	max   int
	now   func() time.Time

	mu   sync.Mutex
	lru  *list.List // of *bucket, most recent first
	keys map[string]*list.Element
}

type bucket struct {
	key  string
	lim  *rate.Limiter
	seen time.Time
	// pending is how many attempts admit let through whose outcome is not
	// known yet: each holds a claim on one of the bucket's tokens.
	pending int
}

// newLimiter allows burst events at once and perMinute on average per key.
func newLimiter(perMinute float64, burst int, now func() time.Time) *limiter {
	r := rate.Limit(perMinute / 60)
	// A bucket idle this long is full again: forgetting it changes nothing.
	idle := time.Duration(float64(burst)/float64(r)*float64(time.Second)) + time.Second
	return &limiter{rate: r, burst: burst, idle: idle, max: maxLimiterKeys, now: now,
		lru: list.New(), keys: map[string]*list.Element{}}
}

// allow takes one token from key's bucket. When it is empty, wait is how
// long until the next token.
func (l *limiter) allow(key string) (ok bool, wait time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.touch(key, now)
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// touch returns key's bucket, made if new, as the most recently seen one.
// The caller holds l.mu.
func (l *limiter) touch(key string, now time.Time) *bucket {
	var b *bucket
	if el, found := l.keys[key]; found {
		b = el.Value.(*bucket)
		l.lru.MoveToFront(el)
	} else {
		l.evict(now)
		b = &bucket{key: key, lim: rate.NewLimiter(l.rate, l.burst)}
		l.keys[key] = l.lru.PushFront(b)
	}
	b.seen = now
	return b
}

// admit lets through an attempt that only costs a token if it fails, when
// key's bucket has a token not already claimed by an attempt still under
// way; settle then says how it went. Counting claims, not just spent
// tokens, keeps a burst of concurrent attempts within the budget too.
// When refused, wait is how long until a token is free.
func (l *limiter) admit(key string) (settle func(failed bool), wait time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.touch(key, now)
	if short := float64(b.pending+1) - b.lim.TokensAt(now); short > 0 {
		return nil, time.Duration(short / float64(l.rate) * float64(time.Second))
	}
	b.pending++
	return func(failed bool) {
		now := l.now()
		l.mu.Lock()
		defer l.mu.Unlock()
		b.pending--
		if failed {
			b.lim.AllowN(now, 1)
		}
	}, 0
}

// spend takes a token from key's bucket, if one is left, for a failure
// that was not admitted first.
func (l *limiter) spend(key string) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.touch(key, now).lim.AllowN(now, 1)
}

// evict drops idle buckets from the tail and, when still full, the least
// recently used one.
func (l *limiter) evict(now time.Time) {
	for el := l.lru.Back(); el != nil; el = l.lru.Back() {
		b := el.Value.(*bucket)
		if now.Sub(b.seen) < l.idle && l.lru.Len() < l.max {
			return
		}
		l.lru.Remove(el)
		delete(l.keys, b.key)
	}
}

func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}

// addressKey is the limiter key of a client address: the address itself
// for IPv4, its /64 for IPv6 (one subscriber gets a whole /64, so counting
// single addresses would let one phone rotate through millions). Anything
// unparseable shares one key.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "?"
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// identityKey is the limiter key of a provider account: a fixed-size hash,
// so a long subject costs no more memory than a short one.
func identityKey(provider, subject string) string {
	sum := sha256.Sum256([]byte(provider + "\x00" + subject))
	return string(sum[:])
}

// rateLimited is the 429 problem, asking the app to wait as long as the
// bucket needs.
func rateLimited(msg string, wait time.Duration) error {
	return &recording.Error{Code: recording.CodeRateLimited, Message: msg,
		RetryAfter: time.Duration(math.Ceil(wait.Seconds())) * time.Second}
}

// limitByAddress is middleware bounding requests per client address
// (echo's RealIP, which is the socket address or API Gateway's sourceIp:
// see clientIP).
func limitByAddress(l *limiter, msg string) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if ok, wait := l.allow(addressKey(c.RealIP())); !ok {
				return rateLimited(msg, wait)
			}
			return next(c)
		}
	}
}
