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
)

// maxJWKSBytes bounds a key set document; real ones are a few KiB.
const maxJWKSBytes = 1 << 20

// keySet verifies ID token signatures against a provider's JWKS. Keys are
// cached; an unknown key id triggers a refetch (that is how providers
// rotate keys), but at most one per minInterval, and concurrent callers share
// it, so a flood of tokens with made-up key ids cannot turn into a flood of
// requests to the provider. A token whose key id is known but whose signature
// is wrong never causes a refetch.
type keySet struct {
	url         string
	algs        []jose.SignatureAlgorithm
	client      *http.Client
	minInterval time.Duration
	now         func() time.Time

	mu          sync.Mutex
	keys        []jose.JSONWebKey
	lastAttempt time.Time
	fetches     int // for tests and logs
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
	if err != nil {
		recordFetchError(ctx, err)
		return nil, err
	}
	if payload, _ := verifyWith(jws, keys, kid); payload != nil {
		return payload, nil
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
// case the cached keys are the answer. Holding the lock while fetching is
// what collapses concurrent refreshes into one request.
func (k *keySet) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	interval := k.minInterval
	if len(k.keys) == 0 {
		// Never fetched successfully: retry sooner, the provider may be back.
		interval = min(interval, 5*time.Second)
	}
	if !k.lastAttempt.IsZero() && k.now().Sub(k.lastAttempt) < interval {
		return k.keys, nil
	}
	k.lastAttempt = k.now()
	k.fetches++
	keys, err := k.fetch(ctx)
	if err != nil {
		return k.keys, err
	}
	k.keys = keys
	return keys, nil
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
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
