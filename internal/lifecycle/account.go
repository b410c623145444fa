package lifecycle

import (
	"context"
	"errors"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

// DeleteAccount deletes a user and everything in it. Every step is
// idempotent and the account stays on the reconciler's list until the last
// one, so whoever comes next (a retry with the old token, a new sign-in, the
// reconciler) finishes an interrupted deletion.
func (k *Keeper) DeleteAccount(ctx context.Context, userID string) error {
	u, err := k.Store.GetUser(ctx, userID)
	if errors.Is(err, recording.ErrNotFound) {
		// Only the sessions may be left.
		return k.Store.DeleteUserSessions(ctx, userID)
	}
	if err != nil {
		return err
	}
	now := k.now()
	if !u.Deleting {
		// No new uploads or confirmations from here on.
		if err := k.Store.MarkAccountDeleting(ctx, userID, now); err != nil {
			return err
		}
	}
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
		return err
	}
	// Objects that landed without a record (or are landing now) go too.
	if _, err := k.Objects.DeletePrefix(ctx, recording.UserPrefix(userID)); err != nil {
		return err
	}
	if err := k.Store.DeleteUserData(ctx, userID, u.Identities); err != nil {
		return err
	}
	if err := k.Store.DeleteUserSessions(ctx, userID); err != nil {
		return err
	}
	k.Log.InfoContext(ctx, "account deleted", "user_id", userID)
	return nil
}
