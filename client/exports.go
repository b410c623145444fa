package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Export is an archive of the user's recordings (the OpenAPI document's
// Export): running with progress, ready with a download, or failed.
type Export struct {
	ID                 string          `json:"id"`
	Status             string          `json:"status"`
	Statuses           []string        `json:"statuses"`
	IncludeTranscripts bool            `json:"include_transcripts"`
	RecordingsDone     int             `json:"recordings_done"`
	RecordingsTotal    int             `json:"recordings_total"`
	SizeBytes          *int64          `json:"size_bytes,omitempty"`
	CreatedAt          time.Time       `json:"created_at"`
	FinishedAt         *time.Time      `json:"finished_at,omitempty"`
	ExpiresAt          time.Time       `json:"expires_at"`
	FailureReason      string          `json:"failure_reason,omitempty"`
	Download           *ExportDownload `json:"download,omitempty"`
}

// ExportDownload is a ready archive's presigned GET and the name to save
// it under.
type ExportDownload struct {
	URL       string    `json:"url"`
	FileName  string    `json:"file_name"`
	ExpiresAt time.Time `json:"expires_at"`
}

// StartExportRequest chooses what an export takes; zero values are the
// server's defaults (available recordings, with transcripts).
type StartExportRequest struct {
	Status             []string `json:"status,omitempty"`
	IncludeTranscripts *bool    `json:"include_transcripts,omitempty"`
}

// StartExport starts an export; a 409 (code "conflict") means one is
// already running.
func (c *Client) StartExport(ctx context.Context, req StartExportRequest) (Export, error) {
	var out Export
	err := c.do(ctx, http.MethodPost, "/v1/exports", nil, req, &out)
	return out, err
}

// GetExport reads one export; a ready one carries Download.
func (c *Client) GetExport(ctx context.Context, id string) (Export, error) {
	var out Export
	err := c.do(ctx, http.MethodGet, "/v1/exports/"+url.PathEscape(id), nil, nil, &out)
	return out, err
}

// ListExports returns the recent exports, newest first.
func (c *Client) ListExports(ctx context.Context) ([]Export, error) {
	var out struct {
		Exports []Export `json:"exports"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/exports", nil, nil, &out)
	return out.Exports, err
}
