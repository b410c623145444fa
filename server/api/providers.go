package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/metrics"
	"github.com/voicerec/backend/internal/recording"
)

// keepAppleToken exchanges a Sign in with Apple authorization code for a
// refresh token and keeps it sealed on the user, so deleting the account
// can revoke it. Sign-in never depends on it: a failure is logged and
// counted, and the account's deletion will tell the user to revoke access
// in their Apple ID settings (until a later sign-in brings a code that
// works).
func (s *server) keepAppleToken(ctx context.Context, userID string, id auth.Identity, code string) {
	set := s.providers
	if set == nil || set.Apple == nil || set.Sealer == nil {
		s.log.DebugContext(ctx, "apple authorization_code ignored: token revocation is not configured")
		return
	}
	outcome := "ok"
	defer func() { s.emitProviderCall(ctx, "apple", "token", outcome) }()
	refresh, err := set.Apple.Exchange(ctx, id.ClientID, code, id.Subject)
	if err != nil {
		outcome = "failed"
		s.log.WarnContext(ctx, "apple code exchange failed; the account cannot revoke its Apple token", "user_id", userID, "error", err)
		return
	}
	sealed, err := set.Sealer.Seal(ctx, userID, []byte(refresh))
	if err == nil {
		err = s.store.SetAppleToken(ctx, userID, id.ClientID, sealed)
	}
	if err != nil {
		outcome = "failed"
		s.log.WarnContext(ctx, "keeping the apple refresh token failed", "user_id", userID, "error", err)
	}
}

func (s *server) emitProviderCall(ctx context.Context, provider, call, outcome string) {
	dims := map[string]string{metrics.DimService: metrics.ServiceAPI, metrics.DimProvider: provider, metrics.DimCall: call, metrics.DimOutcome: outcome}
	s.log.InfoContext(ctx, "provider call", append([]any{"component", "providers"},
		metrics.Attrs(time.Now(), dims, metrics.Value{Metric: metrics.ProviderCalls, Value: 1})...)...)
}

// accountDeleted is DELETE /v1/me's answer when the user has something left
// to do at a provider.
type accountDeleted struct {
	Deleted bool             `json:"deleted"`
	Notices []providerNotice `json:"provider_notices"`
}

type providerNotice struct {
	Provider string `json:"provider"`
	Code     string `json:"code"`
	Detail   string `json:"detail"`
}

const appleRevokeDetail = "Your account and recordings are deleted. This app could not revoke its Sign in with Apple " +
	"access for you; you may remove it in Settings > Apple ID > Sign-In & Security > Sign in with Apple " +
	"(or at account.apple.com)."

// deleteMe deletes the account and everything in it. The session goes last,
// so after a failure halfway the app can retry with the same token; if it
// never does, the reconciler or the user's next sign-in finishes the job.
// Before our data goes, the providers are asked to forget the app (Apple's
// token revoked, Kakao unlinked); a failure there is retried by the
// reconciler and never holds the deletion up. The answer is 204, or 200
// with provider_notices when the user must act at a provider.
func (s *server) deleteMe(c echo.Context) error {
	d, err := s.keeper.DeleteAccountAs(c.Request().Context(), userID(c), "")
	if err != nil {
		return err
	}
	if d.AppleRevokeManually {
		return writeJSON(c, http.StatusOK, accountDeleted{Deleted: true, Notices: []providerNotice{{
			Provider: "apple", Code: "revoke_in_apple_id_settings", Detail: appleRevokeDetail,
		}}})
	}
	return c.NoContent(http.StatusNoContent)
}

// kakaoCallbackBudget is how long the unlink callback works on the deletion
// before it answers; Kakao wants an answer within 3 s, and what is left is
// the reconciler's.
const kakaoCallbackBudget = 2 * time.Second

var errKakaoUnauthorized = recording.Errorf(recording.CodeUnauthorized, "not a Kakao unlink callback for this app")

// kakaoUnlink is Kakao's unlink callback: a user disconnected the app or
// left Kakao (referrer_type ACCOUNT_DELETE, FORCED_ACCOUNT_DELETE,
// UNLINK_FROM_APPS, UNLINK_FROM_ADMIN, INCOMPLETE_SIGN_UP; all end the
// account here, since it has no other way in). Kakao authenticates with
// "Authorization: KakaoAK <admin key>" and sends app_id, user_id and
// referrer_type as a form (POST) or query (GET). The answer is 200 within
// 3 s, also for a user we do not know; the deletion is marked before the
// answer and finished by the reconciler if the budget runs out.
func (s *server) kakaoUnlink(c echo.Context) error {
	ctx := c.Request().Context()
	k := s.providers
	if k == nil || k.Kakao == nil {
		return recording.Errorf(recording.CodeRouteNotFound, "no such route")
	}
	form, err := c.FormParams()
	if err != nil {
		return recording.Errorf(recording.CodeValidation, "unreadable form")
	}
	if !k.Kakao.CallbackAuthorized(c.Request().Header.Get(echo.HeaderAuthorization), form.Get("app_id")) {
		s.emitProviderCall(ctx, "kakao", "unlink_callback", "unauthorized")
		return errKakaoUnauthorized
	}
	sub := form.Get("user_id")
	referrer := form.Get("referrer_type")
	if sub == "" || len(sub) > 64 {
		return recording.Errorf(recording.CodeValidation, "user_id must be 1 to 64 characters")
	}
	uid, found, err := s.store.UserIDByIdentity(ctx, recording.Identity{Provider: "kakao", Subject: sub}.Key())
	if err != nil {
		return err
	}
	if !found {
		s.emitProviderCall(ctx, "kakao", "unlink_callback", "unknown_user")
		return writeJSON(c, http.StatusOK, map[string]string{"status": "ok"})
	}
	dctx, cancel := context.WithTimeout(ctx, kakaoCallbackBudget)
	defer cancel()
	_, err = s.keeper.DeleteAccountAs(dctx, uid, "kakao")
	if err != nil {
		// If the account is marked, the reconciler finishes; if not even
		// that happened, Kakao should call again.
		u, gerr := s.store.GetUser(context.WithoutCancel(ctx), uid)
		if gerr != nil && !errors.Is(gerr, recording.ErrNotFound) || gerr == nil && !u.Deleting {
			s.log.ErrorContext(ctx, "kakao unlink: the account could not even be marked for deletion", "user_id", uid, "error", err)
			return err
		}
		s.log.WarnContext(ctx, "kakao unlink: deletion left to the reconciler", "user_id", uid, "error", err)
	}
	s.log.InfoContext(ctx, "kakao unlink", "user_id", uid, "referrer_type", referrer)
	s.emitProviderCall(ctx, "kakao", "unlink_callback", "ok")
	return writeJSON(c, http.StatusOK, map[string]string{"status": "ok"})
}
