package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"
)

// maxJWKSBytes bounds a key set document; real ones are a few KiB.
const maxJWKSBytes = 1 << 20

// keySet verifies ID token signatures against a provider's JWKS. Keys are
// cached; an unknown key id triggers a refetch (that is how providers
// rotate keys), but at most one per minInterval after a successful fetch
// (retryInterval after a failed one), and concurrent callers share one
// fetch (single-flight) bounded by fetchTimeout, so a flood of tokens with
// made-up key ids cannot turn into a flood of requests to the provider. A
// token whose key id is known but whose signature is wrong never causes a
// refetch.
//
// The lock guards only the cached state and is never held across the
// network: a slow or hanging provider never delays a login whose key is
// cached. While the last fetch failed, a token that needs the key set gets
// that failure (a 503 to the caller), never "bad signature".
type keySet struct {
	url           string
	algs          []jose.SignatureAlgorithm
	client        *http.Client
	minInterval   time.Duration
	retryInterval time.Duration
	fetchTimeout  time.Duration
	now           func() time.Time

	flight singleflight.Group

	mu          sync.Mutex
	keys        []jose.JSONWebKey
	lastAttempt time.Time
	lastErr     error // of the last fetch; nil when it succeeded
	fetches     int   // for tests and logs
}

type fetchErrKey struct{}

// withFetchError lets Verify learn that the key set could not be fetched:
// go-oidc flattens the key set's error into text, and a provider outage must
// be a 503, not "your token is bad".
func withFetchError(ctx context.Context, dst *error) context.Context {
	return context.WithValue(ctx, fetchErrKey{}, dst)
}

func recordFetchError(ctx context.Context, err error) {
	if dst, ok := ctx.Value(fetchErrKey{}).(*error); ok {
		*dst = err
	}
}

var errSignature = errors.New("signature does not verify with the provider's keys")

// VerifySignature implements oidc.KeySet.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSigned(raw, k.algs)
	if err != nil {
		return nil, err
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("want exactly one signature")
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := k.cached()
	if payload, known := verifyWith(jws, keys, kid); payload != nil {
		return payload, nil
	} else if known {
		return nil, errSignature
	}
	keys, err = k.refresh(ctx)
	if payload, _ := verifyWith(jws, keys, kid); payload != nil {
		return payload, nil
	}
	if err != nil {
		recordFetchError(ctx, err)
		return nil, err
	}
	return nil, errSignature
}

// verifyWith tries the keys matching kid (all keys when the token names
// none). known reports whether any key matched kid.
func verifyWith(jws *jose.JSONWebSignature, keys []jose.JSONWebKey, kid string) (payload []byte, known bool) {
	for i := range keys {
		if kid != "" && keys[i].KeyID != kid {
			continue
		}
		known = true
		if p, err := jws.Verify(&keys[i]); err == nil {
			return p, true
		}
	}
	return nil, known && kid != ""
}

func (k *keySet) cached() []jose.JSONWebKey {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.keys
}

// refresh fetches the key set unless that happened too recently, in which
// case the cached keys (and the last fetch's error, if it failed) are the
// answer. Concurrent callers share one fetch; each waits only as long as its
// own context allows, and the fetch itself runs on its own timeout, so one
// caller giving up does not fail the others.
func (k *keySet) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	ch := k.flight.DoChan("jwks", func() (any, error) {
		k.mu.Lock()
		interval := k.minInterval
		if k.lastErr != nil || len(k.keys) == 0 {
			// The provider may be back any moment: retry sooner.
			interval = min(interval, k.retryInterval)
		}
		if !k.lastAttempt.IsZero() && k.now().Sub(k.lastAttempt) < interval {
			keys, err := k.keys, k.lastErr
			k.mu.Unlock()
			return keys, err
		}
		k.lastAttempt = k.now()
		k.fetches++
		k.mu.Unlock()

		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), k.fetchTimeout)
		defer cancel()
		keys, err := k.fetch(fctx)
		k.mu.Lock()
		defer k.mu.Unlock()
		if err != nil {
			k.lastErr = err
			return k.keys, err
		}
		k.keys, k.lastErr = keys, nil
		return keys, nil
	})
	select {
	case r := <-ch:
		keys, _ := r.Val.([]jose.JSONWebKey)
		return keys, r.Err
	case <-ctx.Done():
		return k.cached(), fmt.Errorf("wait for JWKS %s: %w", k.url, ctx.Err())
	}
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch JWKS %s: %w", k.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch JWKS %s: status %d", k.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read JWKS %s: %w", k.url, err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("JWKS %s larger than %d bytes", k.url, maxJWKSBytes)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("decode JWKS %s: %w", k.url, err)
	}
	// Only public signing keys: a JWKS that (wrongly) carries a symmetric
	// key must not let anyone with that secret mint tokens.
	keys := set.Keys[:0]
	for _, key := range set.Keys {
		if key.Valid() && key.IsPublic() && key.Use != "enc" {
			keys = append(keys, key)
		}
	}
	return keys, nil
}

// Fetches reports how many times the key set was requested.
func (k *keySet) Fetches() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.fetches
}
