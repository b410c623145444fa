package api

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/recorder"
	"github.com/voicerec/backend/internal/recording"
)

func parseChangesQuery(raw string) (recorder.ChangesRequest, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		return recorder.ChangesRequest{}, recording.Errorf(recording.CodeInvalidRequest, "query string is not valid URL encoding")
	}
	for name := range q {
		switch name {
		case "cursor", "limit", "wait", "from":
		default:
			return recorder.ChangesRequest{}, recording.Errorf(recording.CodeInvalidRequest, "unknown query parameter %q", name)
		}
	}
	var v [4]string
	for i, name := range []string{"cursor", "limit", "wait", "from"} {
		if v[i], err = singleQuery(q, name); err != nil {
			return recorder.ChangesRequest{}, err
		}
	}
	req := recorder.ChangesRequest{Cursor: v[0], Limit: recorder.DefaultChangesLimit}
	if v[1] != "" {
		n, err := strconv.Atoi(v[1])
		if err != nil || n < 1 || n > recorder.MaxChangesLimit {
			return recorder.ChangesRequest{}, recording.Errorf(recording.CodeValidation, "limit must be a whole number from 1 to %d", recorder.MaxChangesLimit)
		}
		req.Limit = n
	}
	if v[2] != "" {
		d, err := time.ParseDuration(v[2])
		if err != nil || d < 0 || d > recorder.MaxChangesWait {
			return recorder.ChangesRequest{}, recording.Errorf(recording.CodeValidation, "wait must be a duration from 0s to %s, such as 20s", recorder.MaxChangesWait)
		}
		req.Wait = d
	}
	switch v[3] {
	case "":
	case "latest":
		if req.Cursor != "" {
			return recorder.ChangesRequest{}, recording.Errorf(recording.CodeValidation, "from=latest takes no cursor")
		}
		req.Latest = true
	default:
		return recorder.ChangesRequest{}, recording.Errorf(recording.CodeValidation, "from must be latest")
	}
	return req, nil
}

func (s *server) listChanges(c echo.Context) error {
	req, err := parseChangesQuery(c.Request().URL.RawQuery)
	if err != nil {
		return err
	}
	page, err := s.svc.Changes(c.Request().Context(), userID(c), req)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return writeJSON(c, http.StatusOK, page)
}

func (s *server) lookupRecordings(c echo.Context) error {
	var req recorder.LookupRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	out, err := s.svc.Lookup(c.Request().Context(), userID(c), req)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, out)
}
