package lifecycle

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/metrics"
	"github.com/voicerec/backend/internal/providers"
	"github.com/voicerec/backend/internal/recording"
)

// Deletion is what a deletion tells the user about the providers.
type Deletion struct {
	// AppleRevokeManually: the user signed in with Apple and the server
	// holds no token to revoke, so only the user can end the app's access
	// (Settings > Apple ID > Sign-In & Security > Sign in with Apple).
	AppleRevokeManually bool
	// ProviderCallsPending: our data is gone, but provider calls failed and
	// the stripped account stays due for the reconciler.
	ProviderCallsPending bool
}

// Provider obligations are retried by the reconciler with a growing delay,
// at most maxRevokeAttempts rounds (about four days), then given up loudly.
const (
	revokeRetryBase   = 5 * time.Minute
	revokeRetryMax    = 6 * time.Hour
	maxRevokeAttempts = 20
)

func revokeRetryDelay(attempts int) time.Duration {
	d := revokeRetryBase
	for range attempts {
		d *= 2
		if d >= revokeRetryMax {
			return revokeRetryMax
		}
	}
	return d
}

// DeleteAccount deletes a user and everything in it. Every step is
// idempotent and the account stays on the reconciler's list until the last
// one, so whoever comes next (a retry with the old token, a new sign-in, the
// reconciler) finishes an interrupted deletion.
func (k *Keeper) DeleteAccount(ctx context.Context, userID string) error {
	_, err := k.DeleteAccountAs(ctx, userID, "")
	return err
}

// DeleteAccountAs is DeleteAccount when a provider (unlinkedBy, e.g.
// "kakao" from its unlink callback) has already disconnected the user: the
// server does not call it back to do so again. Before our data goes, the
// providers are asked to forget the app (Apple: revoke the refresh token;
// Kakao: unlink), within a budget; what fails stays due on a stripped user
// item, and the reconciler retries it, so no provider call ever holds up
// the deletion of our own data.
func (k *Keeper) DeleteAccountAs(ctx context.Context, userID, unlinkedBy string) (Deletion, error) {
	u, err := k.Store.GetUser(ctx, userID)
	if errors.Is(err, recording.ErrNotFound) {
		// Only the sessions may be left.
		return Deletion{}, k.Store.DeleteUserSessions(ctx, userID)
	}
	if err != nil {
		return Deletion{}, err
	}
	now := k.now()
	revoke, manual := k.obligations(u)
	d := Deletion{AppleRevokeManually: manual}
	if !u.Deleting {
		// No new uploads or confirmations from here on.
		if err := k.Store.MarkAccountDeleting(ctx, userID, now, revoke...); err != nil {
			return d, err
		}
		u.Revoke = revoke
	}
	// Links to the account's recordings end first, before the slower
	// provider calls; a share made meanwhile ends with its recording.
	if err := k.Store.DeleteUserShares(ctx, userID); err != nil {
		return d, err
	}
	if unlinkedBy != "" {
		for _, e := range u.Revoke {
			if strings.HasPrefix(e, unlinkedBy+"#") {
				if err := k.Store.DropRevocation(ctx, userID, e); err != nil {
					return d, err
				}
				u.Revoke = slices.DeleteFunc(slices.Clone(u.Revoke), func(x string) bool { return x == e })
			}
		}
	}
	left := k.revokeAll(ctx, u)
	// Objects before records, page by page: a failure leaves records that
	// point at nothing, which the next attempt deletes, never objects that
	// nothing points at.
	err = k.Store.EachRecordingPage(ctx, userID, func(refs []dynamo.RecordingRef) error {
		var keys, ids []string
		for _, r := range refs {
			if r.UploadID != "" && (r.Status == recording.StatusPending || r.Status == recording.StatusDeleting) {
				// Once aborted, nothing can complete a multipart upload:
				// its record can go now, like any other.
				if err := k.Objects.AbortMultipart(ctx, r.Key, r.UploadID); err != nil {
					return err
				}
			} else if r.DueAt.After(now) && (r.Status == recording.StatusPending || r.Status == recording.StatusDeleting) {
				// An upload URL of this record may still land. The record
				// stays, as "deleting", to catch it; the reconciler removes
				// both at its due time.
				if r.Status == recording.StatusPending {
					rec := recording.Recording{UserID: userID, ID: r.ID, Status: r.Status, Key: r.Key}
					if err := k.Store.BeginDelete(ctx, rec, r.DueAt); err != nil && !errors.Is(err, dynamo.ErrStateChanged) {
						return err
					}
				}
				continue
			} else if r.Status == recording.StatusRejected && r.LandBy.After(now) {
				// Its URL may still store a body, as an app retries after
				// the rejection: caught the same way.
				if err := k.Store.DeleteRejectedAt(ctx, userID, r.ID, r.LandBy); err != nil && !errors.Is(err, dynamo.ErrStateChanged) {
					return err
				}
				continue
			}
			keys = append(keys, r.Key)
			ids = append(ids, r.ID)
		}
		if err := k.Objects.DeleteKeys(ctx, keys); err != nil {
			return err
		}
		return k.Store.DeleteRecordings(ctx, userID, ids)
	})
	if err != nil {
		return d, err
	}
	// Objects that landed without a record (or are landing now) go too.
	if _, err := k.Objects.DeletePrefix(ctx, recording.UserPrefix(userID)); err != nil {
		return d, err
	}
	if err := k.dropUserTranscripts(ctx, userID); err != nil {
		return d, err
	}
	if err := k.deleteExports(ctx, userID); err != nil {
		return d, err
	}
	if err := k.Store.DeleteUserRecords(ctx, userID, u.Identities); err != nil {
		return d, err
	}
	if len(left) > 0 && u.RevokeAttempts+1 < maxRevokeAttempts {
		// Our data is gone; what the providers still hold of the app is
		// not. Keep only what retrying needs, due later.
		if err := k.Store.RetainForRevocation(ctx, userID, now.Add(revokeRetryDelay(u.RevokeAttempts))); err != nil {
			return d, err
		}
		if err := k.Store.DeleteUserSessions(ctx, userID); err != nil {
			return d, err
		}
		k.Log.WarnContext(ctx, "account data deleted; provider calls left for the reconciler", "user_id", userID,
			"pending", providerNames(left), "attempts", u.RevokeAttempts+1)
		d.ProviderCallsPending = true
		return d, nil
	}
	for _, e := range left {
		k.Log.ErrorContext(ctx, "provider call given up after its retries", "user_id", userID, "provider", providerOf(e), "attempts", u.RevokeAttempts+1)
		k.emitCall(ctx, providerOf(e), callOf(e), "abandoned")
	}
	if err := k.Store.DeleteUser(ctx, userID); err != nil {
		return d, err
	}
	if err := k.Store.DeleteUserSessions(ctx, userID); err != nil {
		return d, err
	}
	k.Log.InfoContext(ctx, "account deleted", "user_id", userID)
	return d, nil
}

// obligations are the provider calls a deletion of u must make, and
// whether the user must revoke Apple's access themselves.
func (k *Keeper) obligations(u recording.User) (revoke []string, appleManual bool) {
	set := k.Providers
	if set == nil {
		set = &providers.Set{}
	}
	for _, id := range u.Identities {
		switch providerOf(id) {
		case "apple":
			if set.Apple != nil && set.Sealer != nil && len(u.AppleToken) > 0 {
				revoke = append(revoke, id)
			} else {
				appleManual = true
			}
		case "kakao":
			if set.Kakao != nil {
				revoke = append(revoke, id)
			}
		}
	}
	return revoke, appleManual
}

func providerOf(identity string) string { p, _, _ := strings.Cut(identity, "#"); return p }

func callOf(identity string) string {
	if providerOf(identity) == "kakao" {
		return "unlink"
	}
	return "revoke"
}

func providerNames(entries []string) []string {
	var out []string
	for _, e := range entries {
		out = append(out, providerOf(e))
	}
	return out
}

// revokeAll makes the provider calls u still owes, within one call budget
// of its own, and returns those that failed and stay due.
func (k *Keeper) revokeAll(ctx context.Context, u recording.User) (left []string) {
	if len(u.Revoke) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, providers.CallBudget)
	defer cancel()
	for _, e := range u.Revoke {
		if outage(ctx, providerOf(e)) {
			// Down earlier in this reconcile pass: spend nothing on it.
			left = append(left, e)
			continue
		}
		err := k.revokeOne(ctx, u, e)
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Retryable() {
			markOutage(ctx, providerOf(e))
		}
		if errors.Is(err, errGiveUp) {
			k.Log.ErrorContext(ctx, "provider call impossible; given up", "user_id", u.ID, "provider", providerOf(e))
			k.emitCall(ctx, providerOf(e), callOf(e), "abandoned")
			err = nil
		} else if err != nil {
			k.Log.WarnContext(ctx, "provider call failed; will retry", "user_id", u.ID, "provider", providerOf(e), "error", err)
			k.emitCall(ctx, providerOf(e), callOf(e), "failed")
			left = append(left, e)
			continue
		} else {
			k.emitCall(ctx, providerOf(e), callOf(e), "ok")
		}
		// Done (or hopeless): the next attempt must not call again. The
		// store call has its own context: the budget may be spent.
		if derr := k.Store.DropRevocation(context.WithoutCancel(ctx), u.ID, e); derr != nil {
			left = append(left, e)
		}
	}
	return left
}

var errGiveUp = errors.New("cannot be done")

func (k *Keeper) revokeOne(ctx context.Context, u recording.User, entry string) error {
	set := k.Providers
	provider, sub, _ := strings.Cut(entry, "#")
	switch {
	case provider == "apple" && set != nil && set.Apple != nil && set.Sealer != nil:
		if len(u.AppleToken) == 0 {
			return errGiveUp
		}
		token, err := set.Sealer.Open(ctx, u.ID, u.AppleToken)
		if errors.Is(err, providers.ErrUnsealable) {
			return errGiveUp
		}
		if err != nil {
			return err // KMS unreachable: worth retrying
		}
		return set.Apple.Revoke(ctx, u.AppleClientID, string(token))
	case provider == "kakao" && set != nil && set.Kakao != nil:
		err := set.Kakao.Unlink(ctx, sub)
		var pe *providers.Error
		if errors.As(err, &pe) && pe.Status == 400 && strings.Contains(pe.Body, "-101") {
			return nil // "not a user of this app": already unlinked
		}
		return err
	}
	// The provider is no longer configured: nothing can be called.
	return errGiveUp
}

func (k *Keeper) emitCall(ctx context.Context, provider, call, outcome string) {
	k.emit(ctx, "provider call", map[string]string{metrics.DimProvider: provider, metrics.DimCall: call, metrics.DimOutcome: outcome},
		[]any{"component", "providers"}, metrics.Value{Metric: metrics.ProviderCalls, Value: 1})
}

// A reconcile pass remembers which providers did not answer (or answered
// 429 or 5xx), so an outage costs one call budget per pass rather than one
// per account due; the accounts stay due for the next pass.
type outageKey struct{}

type outages struct {
	mu   sync.Mutex
	down map[string]bool
}

func withOutages(ctx context.Context) context.Context {
	return context.WithValue(ctx, outageKey{}, &outages{down: map[string]bool{}})
}

func outage(ctx context.Context, provider string) bool {
	o, ok := ctx.Value(outageKey{}).(*outages)
	if !ok {
		return false
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.down[provider]
}

func markOutage(ctx context.Context, provider string) {
	if o, ok := ctx.Value(outageKey{}).(*outages); ok {
		o.mu.Lock()
		o.down[provider] = true
		o.mu.Unlock()
	}
}
