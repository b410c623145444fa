package api

import (
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/recorder"
)

func (s *server) getTranscript(c echo.Context) error {
	t, err := s.svc.Transcript(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, t)
}

func (s *server) startTranscript(c echo.Context) error {
	t, err := s.svc.Retranscribe(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusAccepted, t)
}

func (s *server) patchMe(c echo.Context) error {
	var p recorder.MePatch
	if err := decode(c, &p); err != nil {
		return err
	}
	me, err := s.svc.UpdateMe(c.Request().Context(), userID(c), p)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, me)
}
