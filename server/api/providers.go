package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/recorder"
	"github.com/voicerec/backend/internal/recording"
)

// accountDeleted is DELETE /v1/me's answer when the user has something left
// to do at a provider.
type accountDeleted struct {
	Deleted bool                      `json:"deleted"`
	Notices []recorder.ProviderNotice `json:"provider_notices"`
}

// deleteMe deletes the account and everything in it: 204, or 200 with
// provider_notices when the user must act at a provider.
func (s *server) deleteMe(c echo.Context) error {
	notices, err := s.svc.DeleteAccount(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	if len(notices) > 0 {
		return writeJSON(c, http.StatusOK, accountDeleted{Deleted: true, Notices: notices})
	}
	return c.NoContent(http.StatusNoContent)
}

// kakaoUnlink is Kakao's unlink callback. Kakao authenticates with
// "Authorization: KakaoAK <admin key>" and sends app_id, user_id and
// referrer_type as a form (POST) or query (GET); it wants 200 within 3 s,
// also for a user we do not know.
func (s *server) kakaoUnlink(c echo.Context) error {
	if !s.svc.KakaoEnabled() {
		return recorder.ErrNoKakao
	}
	form, err := c.FormParams()
	if err != nil {
		return recording.Errorf(recording.CodeValidation, "unreadable form")
	}
	err = s.svc.KakaoUnlinked(c.Request().Context(), recorder.KakaoUnlinkRequest{
		Authorization: c.Request().Header.Get(echo.HeaderAuthorization),
		AppID:         form.Get("app_id"), UserID: form.Get("user_id"), ReferrerType: form.Get("referrer_type"),
	})
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, map[string]string{"status": "ok"})
}
