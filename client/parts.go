package client

import (
	"context"
	"net/http"
	"time"
)

// PartDigest asks for one part's URL, signed with the part's SHA-256.
type PartDigest struct {
	PartNumber int    `json:"part_number"`
	SHA256     string `json:"sha256"`
}

// PartUpload is a presigned PUT of one part.
type PartUpload struct {
	PartNumber int               `json:"part_number"`
	URL        string            `json:"url"`
	Headers    map[string]string `json:"headers"`
	ExpiresAt  time.Time         `json:"expires_at"`
}

// StoredPart is a part storage holds, with the SHA-256 it verified.
type StoredPart struct {
	PartNumber int    `json:"part_number"`
	ETag       string `json:"etag"`
	SizeBytes  int64  `json:"size_bytes"`
	SHA256     string `json:"sha256"`
}

// CompletedPart names one part of a complete: its ETag, and the SHA-256
// its URL was signed with.
type CompletedPart struct {
	PartNumber int    `json:"part_number"`
	ETag       string `json:"etag"`
	SHA256     string `json:"sha256"`
}

// SignParts signs the PUT of each part (at most 100 at once).
func (c *Client) SignParts(ctx context.Context, id string, parts []PartDigest) ([]PartUpload, error) {
	var out struct {
		Parts []PartUpload `json:"parts"`
	}
	err := c.do(ctx, http.MethodPost, recordingPath(id)+"/parts", nil, map[string]any{"parts": parts}, &out)
	return out.Parts, err
}

// StoredParts lists the parts storage holds for a pending multipart
// upload; a completed one answers a conflict.
func (c *Client) StoredParts(ctx context.Context, id string) ([]StoredPart, error) {
	var out struct {
		Parts []StoredPart `json:"parts"`
	}
	err := c.do(ctx, http.MethodGet, recordingPath(id)+"/parts", nil, nil, &out)
	return out.Parts, err
}

// Complete says an upload is done: a multipart one is assembled from its
// parts, a single PUT's (parts nil) is sent as {}. The server checks it at
// once and answers the recording as it is then: available, rejected, or
// still pending when storage does not show the object yet.
func (c *Client) Complete(ctx context.Context, id string, parts []CompletedPart) (Recording, error) {
	var out Recording
	body := map[string]any{}
	if parts != nil {
		body["parts"] = parts
	}
	err := c.do(ctx, http.MethodPost, recordingPath(id)+"/complete", nil, body, &out)
	return out, err
}
