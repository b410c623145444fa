package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/recorder"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/web/share"
)

const msgShareRateLimited = "too many requests to shared links; wait a moment"

// shareCreated is the answer to POST /v1/recordings/{id}/shares: the one
// time the link is shown, since only its hash is stored.
type shareCreated struct {
	recording.Share
	URL string `json:"url"`
}

func (s *server) createShare(c echo.Context) error {
	var req recorder.ShareRequest
	if err := decodeOptional(c, &req); err != nil {
		return err
	}
	sh, err := s.svc.CreateShare(c.Request().Context(), userID(c), c.Param("id"), req)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeJSON(c, http.StatusCreated, shareCreated{Share: sh.Share, URL: shareURL(c, sh.Token)})
}

// shareURL is the link on the address the caller reached the API at (API
// Gateway's domain, or a laptop's), so it works wherever the app does. Only
// the caller sees it, so a Host header of their own choosing fools nobody
// else; the scheme is http or https, never whatever a header says.
func shareURL(c echo.Context, token string) string {
	scheme := "http"
	if c.Scheme() == "https" {
		scheme = "https"
	}
	return scheme + "://" + c.Request().Host + "/s/" + token
}

func (s *server) listShares(c echo.Context) error {
	shares, err := s.svc.Shares(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, map[string]any{"items": shares})
}

func (s *server) revokeShare(c echo.Context) error {
	if err := s.svc.RevokeShare(c.Request().Context(), userID(c), c.Param("id")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// The page's stylesheet is inlined and allowed by its hash: the page then
// loads nothing but its audio, and runs no script at all.
var (
	sharePageTemplate = template.Must(template.ParseFS(share.Files, "page.html"))
	shareStyle        = func() string {
		b, err := share.Files.ReadFile("style.css")
		if err != nil {
			panic(err)
		}
		return string(b)
	}()
	shareStyleHash = func() string {
		sum := sha256.Sum256([]byte(shareStyle))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}()
)

// sharePageData is what the template shows: the recording's name, date,
// duration and transcript, and nothing about its owner.
type sharePageData struct {
	Found                   bool
	Name, Summary           string
	Date, DateISO, Duration string
	DurationMS              int64
	AudioPath, Transcript   string
	Style                   template.CSS
}

// publicHeaders keep a shared page out of caches, search engines and
// other sites' Referer headers, and let it load only its own audio.
func (s *server) publicHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
	h.Set("X-Content-Type-Options", "nosniff")
	media := "'self'"
	if o := s.svc.StorageOrigin(c.Request().Context()); o != "" {
		media += " " + o
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src "+shareStyleHash+"; media-src "+media+
		"; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
}

// sharePage is GET /s/{token}: the recording's page, or the one page every
// unknown, expired or revoked link gets.
func (s *server) sharePage(c echo.Context) error {
	rec, err := s.svc.OpenShare(c.Request().Context(), c.Param("token"))
	if errors.Is(err, recording.ErrShareNotFound) {
		return s.renderSharePage(c, http.StatusNotFound, sharePageData{})
	}
	if err != nil {
		return err
	}
	d := time.Duration(rec.DurationMS) * time.Millisecond
	data := sharePageData{
		Found: true, Name: rec.FileName, DurationMS: rec.DurationMS, Duration: clock(d),
		Date: rec.Date.UTC().Format("2 January 2006"), DateISO: rec.Date.UTC().Format(time.RFC3339),
		AudioPath: c.Param("token") + "/audio", Transcript: rec.Transcript,
	}
	data.Summary = "Voice recording · " + data.Duration
	return s.renderSharePage(c, http.StatusOK, data)
}

// shareAudio is GET /s/{token}/audio: the share is checked on every visit,
// then the player is sent to a GET of the audio signed for a minute.
func (s *server) shareAudio(c echo.Context) error {
	u, err := s.svc.ShareAudio(c.Request().Context(), c.Param("token"))
	if errors.Is(err, recording.ErrShareNotFound) {
		return s.renderSharePage(c, http.StatusNotFound, sharePageData{})
	}
	if err != nil {
		return err
	}
	s.publicHeaders(c)
	return c.Redirect(http.StatusFound, u)
}

// renderSharePage answers with the page, and its headers: an error
// answered instead is a plain problem document.
func (s *server) renderSharePage(c echo.Context, status int, data sharePageData) error {
	data.Style = template.CSS(shareStyle)
	var b bytes.Buffer
	if err := sharePageTemplate.Execute(&b, data); err != nil {
		return fmt.Errorf("render share page: %w", err)
	}
	s.publicHeaders(c)
	return c.HTMLBlob(status, b.Bytes())
}

// clock writes a duration as the player does: m:ss, or h:mm:ss.
func clock(d time.Duration) string {
	sec := int64(d.Round(time.Second) / time.Second)
	if sec >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", sec/3600, sec/60%60, sec%60)
	}
	return fmt.Sprintf("%d:%02d", sec/60, sec%60)
}
