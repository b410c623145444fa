package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/recorder"
)

// The multipart routes; their rules are recorder.Service's (see
// internal/recorder/multipart.go).

func (s *server) signParts(c echo.Context) error {
	var req recorder.PartsRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	out, err := s.svc.SignParts(c.Request().Context(), userID(c), c.Param("id"), req)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeJSON(c, http.StatusOK, out)
}

func (s *server) listParts(c echo.Context) error {
	out, err := s.svc.ListParts(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, out)
}

// completeUpload takes an empty body too: a single PUT's complete has
// nothing to say but "done".
func (s *server) completeUpload(c echo.Context) error {
	var req recorder.CompleteRequest
	if err := decodeOptional(c, &req); err != nil {
		return err
	}
	rec, err := s.svc.Complete(c.Request().Context(), userID(c), c.Param("id"), req)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, rec)
}
