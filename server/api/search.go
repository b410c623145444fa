package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/recorder"
)

// defaultSearchSize is a search's page without a limit: the best results
// are what a search box shows, and each costs a read.
const defaultSearchSize = 20

// searchRecordings answers GET /v1/recordings?q=...: the listing's
// recordings holding every word, best first, with their matches.
func (s *server) searchRecordings(c echo.Context, lq recorder.ListRequest) error {
	page, err := s.svc.Search(c.Request().Context(), userID(c), lq)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeJSON(c, http.StatusOK, page)
}
