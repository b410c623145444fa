package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/auth"
	"github.com/voicerec/backend/internal/recorder"
	"github.com/voicerec/backend/internal/recording"
)

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

type tokenResponse struct {
	AccessToken      string    `json:"access_token"`
	TokenType        string    `json:"token_type"`
	ExpiresAt        time.Time `json:"expires_at"`
	RefreshToken     string    `json:"refresh_token"`
	RefreshExpiresAt time.Time `json:"refresh_expires_at"`
	SessionID        string    `json:"session_id"`
}

// refresh trades a refresh token for a new pair. A refused one spends the
// address's failure budget like a bad bearer token, so refresh tokens
// cannot be guessed at DynamoDB's expense.
func (s *server) refresh(c echo.Context) error {
	var req refreshRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	settle, wait := s.authFailures.admit(addressKey(c.RealIP()))
	if settle == nil {
		return rateLimited(msgAuthFailuresLimited, wait)
	}
	pair, err := s.svc.Refresh(c.Request().Context(), req.RefreshToken)
	settle(errors.Is(err, recorder.ErrRefreshRefused))
	if err != nil {
		return err
	}
	// Known valid, so the recording routes check it in their own operation
	// from its first request on.
	s.sessionUsers.put(auth.HashToken(pair.AccessToken), pair.UserID)
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeJSON(c, http.StatusOK, tokenResponse{AccessToken: pair.AccessToken, TokenType: "Bearer",
		ExpiresAt: pair.AccessExpiresAt, RefreshToken: pair.RefreshToken, RefreshExpiresAt: pair.RefreshExpiresAt,
		SessionID: pair.SessionID})
}

type sessionView struct {
	ID         string     `json:"id"`
	DeviceName string     `json:"device_name"`
	Provider   string     `json:"provider"`
	Platform   string     `json:"platform"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	Current    bool       `json:"current"`
}

type sessionList struct {
	Sessions []sessionView `json:"sessions"`
}

func (s *server) listSessions(c echo.Context) error {
	list, err := s.svc.Sessions(c.Request().Context(), userID(c), c.Get(ctxTokenHash).(string))
	if err != nil {
		return err
	}
	out := sessionList{Sessions: make([]sessionView, 0, len(list))}
	for _, d := range list {
		v := sessionView{ID: d.ID, DeviceName: d.DeviceName, Provider: d.Provider, Platform: d.Platform,
			CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt, Current: d.Current}
		if !d.LastUsedAt.IsZero() {
			v.LastUsedAt = &d.LastUsedAt
		}
		out.Sessions = append(out.Sessions, v)
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeJSON(c, http.StatusOK, out)
}

func (s *server) revokeSession(c echo.Context) error {
	if err := s.svc.RevokeSession(c.Request().Context(), userID(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// revokeSessions ends every other session; it takes others=true only, so
// a client that meant to end one session and lost its id cannot end them
// all, its own included, by accident.
func (s *server) revokeSessions(c echo.Context) error {
	if c.QueryParam("others") != "true" {
		return recording.Errorf(recording.CodeValidation, "others=true is required: DELETE /v1/sessions ends every session but the caller's")
	}
	if _, err := s.svc.RevokeOtherSessions(c.Request().Context(), userID(c), c.Get(ctxTokenHash).(string)); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// userAgentFamily names the kind of client that signed in, for the
// sessions list: an operating system, with the browser when there is one.
// It reads a header the client chose, so it is a label, never a fact to
// act on.
func userAgentFamily(ua string) string {
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(ua, x) {
				return true
			}
		}
		return false
	}
	if strings.HasPrefix(ua, "recorder-cli/") {
		return "recorder CLI"
	}
	os := ""
	switch {
	case has("iPhone", "iPad", "iOS", "CFNetwork"):
		os = "iOS"
	case has("Android", "okhttp"):
		os = "Android"
	case has("CrOS"):
		os = "ChromeOS"
	case has("Windows"):
		os = "Windows"
	case has("Macintosh", "Mac OS X"):
		os = "macOS"
	case has("Linux"):
		os = "Linux"
	}
	browser := ""
	switch {
	case has("Edg/"):
		browser = "Edge"
	case has("Firefox/", "FxiOS/"):
		browser = "Firefox"
	case has("Chrome/", "CriOS/"):
		browser = "Chrome"
	case has("Safari/") && has("Version/"):
		browser = "Safari"
	}
	switch {
	case browser != "" && os != "":
		return browser + " on " + os
	case os != "":
		return os
	case browser != "":
		return browser
	}
	return "unknown"
}
