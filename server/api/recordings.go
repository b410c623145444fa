package api

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/recorder"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

func (s *server) createRecording(c echo.Context) error {
	var req recorder.CreateRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	req.IdempotencyKeys = c.Request().Header.Values("Idempotency-Key")
	out, err := s.svc.Create(c.Request().Context(), userID(c), req)
	if err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	if out.Replayed {
		c.Response().Header().Set("Idempotent-Replayed", "true")
	}
	if out.Upload == nil {
		return writeJSON(c, http.StatusOK, out)
	}
	if put, ok := out.Upload.(*s3.SignedRequest); ok && !out.Replayed {
		c.Set(ctxUploadMethod, put.Method)
	}
	return writeJSON(c, http.StatusCreated, out)
}

const (
	defaultPageSize = 50
	maxPageSize     = 100
)

// includeDownloadURL asks for presigned GET URLs on a page's available
// items.
const includeDownloadURL = "download_url"

// singleQuery returns a query parameter that may appear at most once.
func singleQuery(q url.Values, name string) (string, error) {
	v := q[name]
	if len(v) > 1 {
		return "", recording.Errorf(recording.CodeInvalidRequest, "query parameter %q given more than once", name)
	}
	if len(v) == 0 {
		return "", nil
	}
	return v[0], nil
}

func parseListQuery(raw string) (recorder.ListRequest, error) {
	// Parsed here rather than with c.QueryParams, which silently drops
	// pairs that are not valid URL encoding.
	q, err := url.ParseQuery(raw)
	if err != nil {
		return recorder.ListRequest{}, recording.Errorf(recording.CodeInvalidRequest, "query string is not valid URL encoding")
	}
	for name := range q {
		switch name {
		case "limit", "cursor", "status", "include", "q":
		default:
			return recorder.ListRequest{}, recording.Errorf(recording.CodeInvalidRequest, "unknown query parameter %q", name)
		}
	}
	var v [5]string
	for i, name := range []string{"limit", "status", "cursor", "include", "q"} {
		if v[i], err = singleQuery(q, name); err != nil {
			return recorder.ListRequest{}, err
		}
	}
	limitStr, statusStr, include := v[0], v[1], v[3]
	lq := recorder.ListRequest{Limit: defaultPageSize, Status: string(recording.StatusAvailable), Cursor: v[2], Query: v[4]}
	if _, asked := q["q"]; asked && limitStr == "" {
		lq.Limit = defaultSearchSize
	}
	if limitStr != "" {
		n, err := strconv.Atoi(limitStr)
		if err != nil || n < 1 || n > maxPageSize {
			return recorder.ListRequest{}, recording.Errorf(recording.CodeValidation, "limit must be a whole number from 1 to %d", maxPageSize)
		}
		lq.Limit = n
	}
	switch statusStr {
	case "":
	case string(recording.StatusAvailable), string(recording.StatusPending), string(recording.StatusRejected),
		string(recording.StatusDeleted), recorder.StatusAll:
		lq.Status = statusStr
	default:
		return recorder.ListRequest{}, recording.Errorf(recording.CodeValidation, "status must be available, pending, rejected, deleted or all")
	}
	switch include {
	case "":
	case includeDownloadURL:
		lq.Downloads = true
	default:
		return recorder.ListRequest{}, recording.Errorf(recording.CodeValidation, "include must be %s", includeDownloadURL)
	}
	return lq, nil
}

func (s *server) listRecordings(c echo.Context) error {
	lq, err := parseListQuery(c.Request().URL.RawQuery)
	if err != nil {
		return err
	}
	if _, asked := c.QueryParams()["q"]; asked {
		return s.searchRecordings(c, lq)
	}
	page, err := s.svc.List(c.Request().Context(), userID(c), lq)
	if err != nil {
		return err
	}
	if page.Signed {
		c.Response().Header().Set("Cache-Control", "no-store")
	}
	return writeJSON(c, http.StatusOK, page)
}

func (s *server) getRecording(c echo.Context) error {
	rec, err := s.svc.Get(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	if rec.Download != nil {
		c.Response().Header().Set("Cache-Control", "no-store")
	}
	return writeJSON(c, http.StatusOK, rec)
}

func (s *server) renameRecording(c echo.Context) error {
	id := c.Param("id")
	if !recording.ValidID(id) {
		// Before the body: an id that names nothing is not found, whatever
		// was sent with it.
		return recording.ErrNotFound
	}
	var req recorder.RenameRequest
	if err := decode(c, &req); err != nil {
		return err
	}
	rec, err := s.svc.Rename(c.Request().Context(), userID(c), id, req)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, rec)
}

// deleteRecording reads ?purge (true: for good; otherwise to the trash)
// and answers what the delete did.
func (s *server) deleteRecording(c echo.Context) error {
	q, err := url.ParseQuery(c.Request().URL.RawQuery)
	if err != nil {
		return recording.Errorf(recording.CodeInvalidRequest, "query string is not valid URL encoding")
	}
	for name := range q {
		if name != "purge" {
			return recording.Errorf(recording.CodeInvalidRequest, "unknown query parameter %q", name)
		}
	}
	purgeStr, err := singleQuery(q, "purge")
	if err != nil {
		return err
	}
	purge := false
	switch purgeStr {
	case "", "false":
	case "true":
		purge = true
	default:
		return recording.Errorf(recording.CodeValidation, "purge must be true or false")
	}
	d, err := s.svc.Delete(c.Request().Context(), userID(c), c.Param("id"), purge)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, d)
}

func (s *server) restoreRecording(c echo.Context) error {
	rec, err := s.svc.Restore(c.Request().Context(), userID(c), c.Param("id"))
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, rec)
}
