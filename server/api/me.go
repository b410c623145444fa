package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/recording"
)

func (s *server) getMe(c echo.Context) error {
	u, err := s.store.GetUser(c.Request().Context(), userID(c))
	if errors.Is(err, recording.ErrNotFound) {
		return errUnauthorized // a session outliving its account
	}
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, u)
}

// deleteMe deletes the account and everything in it. Each step is
// idempotent and the session goes last, so after a failure halfway the app
// retries the same call with the same token and it finishes the job.
func (s *server) deleteMe(c echo.Context) error {
	ctx := c.Request().Context()
	uid := userID(c)
	u, err := s.store.GetUser(ctx, uid)
	found := err == nil
	if err != nil && !errors.Is(err, recording.ErrNotFound) {
		return err
	}
	if found {
		// No new uploads or confirmations from here on.
		if err := s.store.MarkAccountDeleting(ctx, uid); err != nil {
			return err
		}
		// Objects before records, page by page: a failure leaves records
		// that point at nothing, which the retry deletes, never objects
		// that nothing points at.
		err := s.store.EachRecordingPage(ctx, uid, func(refs []dynamo.RecordingRef) error {
			keys := make([]string, 0, len(refs))
			ids := make([]string, 0, len(refs))
			for _, r := range refs {
				keys = append(keys, r.Key)
				ids = append(ids, r.ID)
			}
			if err := s.objects.DeleteKeys(ctx, keys); err != nil {
				return err
			}
			return s.store.DeleteRecordings(ctx, uid, ids)
		})
		if err != nil {
			return err
		}
		// Uploads that landed without a record (or are landing now) go too;
		// a later one finds no record and the events handler removes it.
		if _, err := s.objects.DeletePrefix(ctx, recording.UserPrefix(uid)); err != nil {
			return err
		}
		if err := s.store.DeleteUserData(ctx, uid, u.Identities); err != nil {
			return err
		}
	}
	if err := s.store.DeleteUserSessions(ctx, uid); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "account deleted", "user_id", uid)
	return c.NoContent(http.StatusNoContent)
}
