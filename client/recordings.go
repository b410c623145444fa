package client

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Recording is one recording as the API shows it (the OpenAPI document's
// Recording, RecordingWithDownload and ListedRecording: one shape per
// status, so a field a status does not carry stays zero).
type Recording struct {
	ID           string     `json:"id"`
	FileName     string     `json:"file_name"`
	ContentType  string     `json:"content_type"`
	SizeBytes    int64      `json:"size_bytes"`
	DurationMS   *int64     `json:"duration_ms,omitempty"`
	Status       string     `json:"status"`
	RejectReason string     `json:"reject_reason,omitempty"`
	RejectDetail string     `json:"reject_detail,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	RecordedAt   *time.Time `json:"recorded_at,omitempty"`
	UploadedAt   *time.Time `json:"uploaded_at,omitempty"`
	PurgeAt      *time.Time `json:"purge_at,omitempty"`
	SHA256       string     `json:"sha256,omitempty"`
	PartsSHA256  string     `json:"parts_sha256,omitempty"`
	PartSize     int64      `json:"part_size,omitempty"`
	Download     *Download  `json:"download,omitempty"`
	Codec        string     `json:"codec,omitempty"`
	SampleRateHz int        `json:"sample_rate_hz,omitempty"`
	Channels     int        `json:"channels,omitempty"`
	// ExpiresAt ends a pending recording's upload window.
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
	// Language is what the recording is transcribed in (auto: identified);
	// TranscriptStatus where its transcript is (see Transcript).
	Language         string `json:"language,omitempty"`
	TranscriptStatus string `json:"transcript_status,omitempty"`
}

// String makes a Recording readable in logs and failure messages.
func (r Recording) String() string {
	return fmt.Sprintf("%s(%s, %d bytes)", r.ID, r.Status, r.SizeBytes)
}

// VerifiedDigest is the digest storage verified for the recording, the
// key a local file is matched on: the whole file's sha256, or for a
// multipart upload the composite of its parts (see Composite). "" when
// storage verified none.
func (r Recording) VerifiedDigest() string {
	if r.PartsSHA256 != "" {
		return r.PartsSHA256
	}
	return r.SHA256
}

// Date is when the recording was made, as far as the server knows: its
// recorded_at, else when it was created.
func (r Recording) Date() time.Time {
	if r.RecordedAt != nil {
		return *r.RecordedAt
	}
	return r.CreatedAt
}

// Download is a presigned GET of a recording's audio.
type Download struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// Signed is where to send a new recording's audio: a presigned PUT
// (Method "PUT", URL, Headers), or a multipart upload (Method "MULTIPART",
// PartSize and PartCount, each part signed by SignParts).
type Signed struct {
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	ExpiresAt time.Time         `json:"expires_at"`
	PartSize  int64             `json:"part_size,omitempty"`
	PartCount int               `json:"part_count,omitempty"`
}

// CreateRecordingRequest declares a recording before its upload.
type CreateRecordingRequest struct {
	FileName    string     `json:"file_name"`
	ContentType string     `json:"content_type"`
	SizeBytes   int64      `json:"size_bytes"`
	DurationMS  *int64     `json:"duration_ms,omitempty"`
	RecordedAt  *time.Time `json:"recorded_at,omitempty"`
	// SHA256 is signed into the upload URL: storage refuses any other body.
	SHA256 string `json:"sha256,omitempty"`
	// Language is en-US, ko-KR or auto (empty: auto).
	Language string `json:"language,omitempty"`
}

// Created answers a create: the recording, and where to upload it. A
// replayed create whose recording is no longer pending, or whose window is
// over, has no upload (Upload.Method and Upload.URL are empty).
type Created struct {
	Recording Recording `json:"recording"`
	Upload    Signed    `json:"upload"`
}

// CreateRecording declares a recording. idempotencyKey (may be empty)
// makes a replay answer the same recording, with a fresh upload.
func (c *Client) CreateRecording(ctx context.Context, req CreateRecordingRequest, idempotencyKey string) (Created, error) {
	var hdr http.Header
	if idempotencyKey != "" {
		hdr = http.Header{"Idempotency-Key": {idempotencyKey}}
	}
	var out Created
	err := c.do(ctx, http.MethodPost, "/v1/recordings", hdr, req, &out)
	return out, err
}

// GetRecording returns one recording; an available one carries Download.
func (c *Client) GetRecording(ctx context.Context, id string) (Recording, error) {
	var out Recording
	err := c.do(ctx, http.MethodGet, recordingPath(id), nil, nil, &out)
	return out, err
}

// ListOptions choose a page of recordings.
type ListOptions struct {
	// Status is available, pending, rejected, deleted, or all.
	Status string
	Limit  int
	Cursor string
	// WithDownloads signs a download URL for every available recording on
	// the page (include=download_url).
	WithDownloads bool
}

// Page is one page of recordings, newest first; NextCursor is empty on
// the last.
type Page struct {
	Items      []Recording `json:"items"`
	NextCursor string      `json:"next_cursor"`
}

// ListRecordings returns one page.
func (c *Client) ListRecordings(ctx context.Context, o ListOptions) (Page, error) {
	q := url.Values{}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Status != "" {
		q.Set("status", o.Status)
	}
	if o.WithDownloads {
		q.Set("include", "download_url")
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	}
	path := "/v1/recordings"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out Page
	err := c.do(ctx, http.MethodGet, path, nil, nil, &out)
	return out, err
}

// ListAll pages through the recordings o chooses, at most limit of them
// (0: all), o.Limit recordings a page (100 when zero).
func (c *Client) ListAll(ctx context.Context, o ListOptions, limit int) ([]Recording, error) {
	items := []Recording{}
	per := o.Limit
	if per <= 0 {
		per = 100
	}
	for {
		o.Limit = per
		if limit > 0 {
			o.Limit = min(per, limit-len(items))
		}
		page, err := c.ListRecordings(ctx, o)
		if err != nil {
			return nil, err
		}
		items = append(items, page.Items...)
		o.Cursor = page.NextCursor
		if o.Cursor == "" || (limit > 0 && len(items) >= limit) {
			return items, nil
		}
	}
}

// RenameRecording gives a recording a new file name.
func (c *Client) RenameRecording(ctx context.Context, id, fileName string) (Recording, error) {
	var out Recording
	err := c.do(ctx, http.MethodPatch, recordingPath(id), nil, map[string]string{"file_name": fileName}, &out)
	return out, err
}

// Deletion is what a delete did. Outcome is trashed, already_in_trash
// (both with the recording as it is in the trash) or deleted; a server
// from before the outcome was answered says 204 and no body, and Outcome
// stays empty.
type Deletion struct {
	Outcome   string     `json:"outcome"`
	Recording *Recording `json:"recording"`
}

// Delete moves a recording to the trash, or with purge deletes it for good.
func (c *Client) Delete(ctx context.Context, id string, purge bool) (Deletion, error) {
	path := recordingPath(id)
	if purge {
		path += "?purge=true"
	}
	var out Deletion
	err := c.Retry(ctx, func() error {
		out = Deletion{} // a retry must not see an earlier attempt's answer
		return c.call(ctx, http.MethodDelete, path, nil, nil, &out)
	})
	return out, err
}

// Restore brings a recording back from the trash.
func (c *Client) Restore(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodPost, recordingPath(id)+"/restore", nil, nil, nil)
}
