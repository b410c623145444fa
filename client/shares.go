package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Share is a link to one recording (the OpenAPI document's Share and
// CreatedShare). URL is only ever set in CreateShare's answer: the server
// keeps no copy of the link.
type Share struct {
	ID          string    `json:"id"`
	RecordingID string    `json:"recording_id"`
	FileName    string    `json:"file_name,omitempty"`
	URL         string    `json:"url,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	ExpiresAt   time.Time `json:"expires_at"`
	Views       int64     `json:"views"`
}

// CreateShare makes a link to an available recording that works for
// expiresIn (0: the server's default, 7 days).
func (c *Client) CreateShare(ctx context.Context, recordingID string, expiresIn time.Duration) (Share, error) {
	body := map[string]string{}
	if expiresIn > 0 {
		body["expires_in"] = expiresIn.String()
	}
	var out Share
	// Not retried: a retry after a lost answer would make a second link,
	// and the first one's token would never be seen.
	err := c.call(ctx, http.MethodPost, recordingPath(recordingID)+"/shares", nil, body, &out)
	return out, err
}

// ListShares returns the caller's shares that still play, newest first.
func (c *Client) ListShares(ctx context.Context) ([]Share, error) {
	var out struct {
		Items []Share `json:"items"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/shares", nil, nil, &out)
	return out.Items, err
}

// RevokeShare ends a share at once.
func (c *Client) RevokeShare(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/shares/"+url.PathEscape(id), nil, nil, nil)
}
