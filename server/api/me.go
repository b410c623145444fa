package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

func (s *server) getMe(c echo.Context) error {
	me, err := s.svc.Me(c.Request().Context(), userID(c))
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, me)
}
