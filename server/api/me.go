package api

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/voicerec/backend/internal/recording"
)

// quota is what the user may still upload: stored bytes plus the bytes held
// for uploads in flight, against the limits.
type quota struct {
	BytesLimit           int64 `json:"bytes_limit"`
	BytesUsed            int64 `json:"bytes_used"`
	BytesReserved        int64 `json:"bytes_reserved"`
	RecordingsLimit      int64 `json:"recordings_limit"`
	UploadsInFlight      int   `json:"uploads_in_flight"`
	UploadsInFlightLimit int   `json:"uploads_in_flight_limit"`
}

type meResponse struct {
	recording.User
	Quota quota `json:"quota"`
}

func (s *server) getMe(c echo.Context) error {
	u, err := s.store.GetUser(c.Request().Context(), userID(c))
	if errors.Is(err, recording.ErrNotFound) {
		return errUnauthorized // a session outliving its account
	}
	if err != nil {
		return err
	}
	if u.Deleting {
		return recording.Errorf(recording.CodeAccountDeleting, "this account is being deleted; DELETE /v1/me again or wait for it to finish")
	}
	return writeJSON(c, http.StatusOK, meResponse{User: u, Quota: quota{
		BytesLimit: s.limits.MaxBytes, BytesUsed: u.BytesStored, BytesReserved: u.BytesReserved,
		RecordingsLimit: s.limits.MaxRecordings, UploadsInFlight: u.UploadsInFlight, UploadsInFlightLimit: s.limits.MaxPending,
	}})
}
