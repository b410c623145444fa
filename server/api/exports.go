package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/export"
	"github.com/voicerec/backend/internal/recording"
)

// errNoExports answers the export routes of a server built without them.
var errNoExports = recording.Errorf(recording.CodeUnavailable, "exports are not available on this server")

func (s *server) startExport(c echo.Context) error {
	if s.exports == nil {
		return errNoExports
	}
	var req export.StartRequest
	if err := decodeOptional(c, &req); err != nil {
		return err
	}
	v, err := s.exports.Start(c.Request().Context(), userID(c), req)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/v1/exports/"+v.ID)
	return writeJSON(c, http.StatusAccepted, v)
}

func (s *server) getExport(c echo.Context) error {
	if s.exports == nil {
		return errNoExports
	}
	v, err := s.exports.Get(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	// A ready export carries a signed URL.
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeJSON(c, http.StatusOK, v)
}

func (s *server) listExports(c echo.Context) error {
	if s.exports == nil {
		return errNoExports
	}
	list, err := s.exports.List(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, map[string]any{"exports": list})
}
