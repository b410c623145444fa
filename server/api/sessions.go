package api

import (
	"errors"
	"sync"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/dynamo"
)

// maxCachedSessions bounds the token-hash → user-id cache: about 100 bytes
// an entry, so well under a megabyte.
const maxCachedSessions = 8192

// sessionUsers remembers which user a session token hash belongs to. The
// mapping never changes for a hash, so caching it is safe; whether the
// session still exists and has not expired is never cached, it is checked
// in each request's own DynamoDB operation (dynamo.SessionGuard).
type sessionUsers struct {
	mu sync.Mutex
	m  map[string]string
}

func (c *sessionUsers) get(hash string) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	uid, ok := c.m[hash]
	return uid, ok
}

func (c *sessionUsers) put(hash, uid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]string)
	}
	if _, ok := c.m[hash]; !ok && len(c.m) >= maxCachedSessions {
		// Map iteration order is unspecified: this drops an arbitrary
		// entry, which costs its owner one extra read on the next request.
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[hash] = uid
}

func (c *sessionUsers) forget(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, hash)
}

// sessionInOperation authenticates the routes whose store calls check the
// session themselves (create, list, get, rename, delete). A token seen
// before on this instance costs no read of its own: the handler runs with
// a SessionGuard that its DynamoDB operation checks atomically with the
// work. A request the handler refuses before any operation checked the
// session (a bad body, an unknown id, a quota refusal) checks it afterwards,
// so an invalid session is answered 401 on every path, never 400 or 404.
// An unknown or malformed token takes requireSession's way, failure
// budget included; a known one that fails here spends the budget too.
func (s *server) sessionInOperation(next echo.HandlerFunc) echo.HandlerFunc {
	checked := s.requireSession(next)
	return func(c echo.Context) error {
		token, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			return checked(c)
		}
		hash := auth.HashToken(token)
		uid, ok := s.sessionUsers.get(hash)
		if !ok {
			return checked(c)
		}
		r := c.Request()
		g := &dynamo.SessionGuard{TokenHash: hash, UserID: uid, Now: s.now()}
		ctx := dynamo.WithSession(r.Context(), g)
		c.SetRequest(r.WithContext(ctx))
		c.Set(ctxUserID, uid)
		c.Set(ctxTokenHash, hash)
		err := next(c)
		if err != nil && !g.Checked() {
			if cerr := s.svc.CheckSession(ctx); cerr != nil {
				err = cerr
			}
		}
		if errors.Is(err, dynamo.ErrSessionInvalid) {
			s.sessionUsers.forget(hash)
			s.authFailures.spend(addressKey(c.RealIP()))
			return errUnauthorized
		}
		if err == nil && !g.Checked() {
			// A bug: the answer went out on a session nobody checked.
			s.log.ErrorContext(ctx, "guarded route answered without checking the session", "route", c.Path())
		}
		return err
	}
}
