package api

import (
	"io/fs"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/web"
)

// appConfig is what the web companion cannot learn from the API's public
// routes: the Google web client it signs in with, if any.
type appConfig struct {
	GoogleClientID string `json:"google_client_id,omitempty"`
	// TrashRetentionDays lets the delete dialog say how long a recording
	// can be restored (TRASH_RETENTION in whole days; absent under a day).
	TrashRetentionDays int `json:"trash_retention_days,omitempty"`
}

// appCSP lets the page run only its own script (and Google's sign-in
// library), never inline code; storage and the dev issuer live on other
// origins that are only known at run time, so connections and media are
// not narrowed.
const appCSP = "default-src 'self'; script-src 'self' https://accounts.google.com/gsi/client; " +
	"style-src 'self' https://accounts.google.com/gsi/style; frame-src https://accounts.google.com/gsi/; " +
	"connect-src *; media-src * blob:; img-src 'self' data:; object-src 'none'; base-uri 'none'; " +
	"form-action 'none'; frame-ancestors 'none'"

// appFiles serves the embedded web companion at /app/. It is middleware
// rather than routes: the page is not API, so the router (and the OpenAPI
// document that must match it operation for operation) never sees it,
// while logging, request ids and panics are handled as for any request.
// The files change only with the binary, but a deploy must reach browsers
// at once, so they are revalidated (no-cache) rather than cached blindly.
func (s *server) appFiles() echo.MiddlewareFunc {
	cfg := appConfig{TrashRetentionDays: int(s.cfg.TrashRetention / (24 * time.Hour))}
	if id := s.cfg.WebGoogleClientID; id != "" {
		if s.googleAccepts(id) {
			cfg.GoogleClientID = id
		} else {
			s.log.Warn("WEB_GOOGLE_CLIENT_ID is not one of GOOGLE_CLIENT_IDS; the web app offers no Google sign-in")
		}
	}
	files := http.StripPrefix("/app/", http.FileServerFS(web.Files))
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				return next(c)
			}
			h := c.Response().Header()
			switch name, ok := strings.CutPrefix(r.URL.Path, "/app/"); {
			case r.URL.Path == "/app":
				return c.Redirect(http.StatusMovedPermanently, "/app/")
			case !ok:
				return next(c)
			case name == "config.json":
				h.Set("Cache-Control", "no-cache")
				return writeJSON(c, http.StatusOK, cfg)
			case name != "" && !validAppFile(name):
				return echo.ErrNotFound
			}
			h.Set("Cache-Control", "no-cache")
			h.Set("Content-Security-Policy", appCSP)
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			files.ServeHTTP(c.Response(), r)
			return nil
		}
	}
}

// validAppFile keeps the file server to the embedded files themselves: no
// directory listings, no redirects of its own.
func validAppFile(name string) bool {
	st, err := fs.Stat(web.Files, name)
	return err == nil && !st.IsDir() && name != "index.html"
}

func (s *server) googleAccepts(clientID string) bool {
	for _, p := range s.svc.Providers() {
		if p.Name == "google" && slices.Contains(p.ClientIDs, clientID) {
			return true
		}
	}
	return false
}
