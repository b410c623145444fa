// Package providers talks to the identity providers on the account's
// behalf: Sign in with Apple's token and revocation endpoints, Kakao's unlink
// API and its unlink callback. Every outbound call is bounded (a timeout per
// attempt, a few attempts within a total budget), and its failure is the
// caller's to remember and retry (internal/lifecycle keeps it due).
package providers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Budgets of outbound calls.
const (
	// AttemptTimeout bounds one HTTP exchange with a provider.
	AttemptTimeout = 2 * time.Second
	// CallBudget bounds one call with its retries.
	CallBudget  = 4 * time.Second
	maxAttempts = 3
)

// Error is a provider's refusal or an unreachable provider.
type Error struct {
	Provider, Call string
	Status         int    // 0: no answer
	Body           string // the provider's error answer, shortened
	Err            error
}

func (e *Error) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s %s: %v", e.Provider, e.Call, e.Err)
	}
	return fmt.Sprintf("%s %s: status %d: %s", e.Provider, e.Call, e.Status, e.Body)
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports no answer, 429 or 5xx: the provider may be down. A 4xx
// other than 429 is an answer that a retry would only repeat.
func (e *Error) Retryable() bool {
	return e.Status == 0 || e.Status == http.StatusTooManyRequests || e.Status >= 500
}

// postForm posts form to endpoint with header, retrying failures that may
// pass within CallBudget (and ctx's deadline), and returns the body of the
// first 2xx answer.
func postForm(ctx context.Context, client *http.Client, provider, call, endpoint string, header http.Header, form url.Values) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, CallBudget)
	defer cancel()
	var last *Error
	for attempt := range maxAttempts {
		if attempt > 0 {
			wait := time.Duration(attempt) * 200 * time.Millisecond
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait+100*time.Millisecond {
				break // no time left for another attempt
			}
			select {
			case <-ctx.Done():
				return nil, last
			case <-time.After(wait):
			}
		}
		body, err := postOnce(ctx, client, endpoint, header, form)
		if err == nil {
			return body, nil
		}
		last = err
		last.Provider, last.Call = provider, call
		if !last.Retryable() || ctx.Err() != nil {
			break
		}
	}
	return nil, last
}

func postOnce(ctx context.Context, client *http.Client, endpoint string, header http.Header, form url.Values) ([]byte, *Error) {
	actx, cancel := context.WithTimeout(ctx, AttemptTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, &Error{Err: err}
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return nil, &Error{Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, &Error{Err: err}
	}
	if resp.StatusCode/100 != 2 {
		short := string(body)
		if len(short) > 200 {
			short = short[:200]
		}
		return nil, &Error{Status: resp.StatusCode, Body: short, Err: errors.New(http.StatusText(resp.StatusCode))}
	}
	return body, nil
}
