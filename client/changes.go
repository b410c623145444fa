package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Change is one entry of the user's change feed: Op "upsert" carries the
// recording as the change left it (without a download link), "remove"
// only the id of a recording that left the user's view for good.
type Change struct {
	Seq       int64      `json:"seq"`
	Op        string     `json:"op"`
	ID        string     `json:"id"`
	Recording *Recording `json:"recording,omitempty"`
	At        time.Time  `json:"at"`
}

// ChangesPage is one read of the feed; while HasMore, more changes are
// ready after Cursor.
type ChangesPage struct {
	Changes []Change `json:"changes"`
	Cursor  string   `json:"cursor"`
	HasMore bool     `json:"has_more"`
}

// CodeCursorExpired answers a cursor older than the feed's retention: the
// client resyncs from LatestCursor and a full listing.
const CodeCursorExpired = "cursor_expired"

// Changes reads the feed after cursor ("" from its oldest kept change),
// at most limit changes (0: the server's default).
func (c *Client) Changes(ctx context.Context, cursor string, limit int) (ChangesPage, error) {
	q := url.Values{}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	path := "/v1/changes"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var out ChangesPage
	err := c.do(ctx, http.MethodGet, path, nil, nil, &out)
	return out, err
}

// LatestCursor is the cursor of the newest change, taken before a full
// listing so that the feed after it misses nothing the listing missed.
func (c *Client) LatestCursor(ctx context.Context) (string, error) {
	var out ChangesPage
	err := c.do(ctx, http.MethodGet, "/v1/changes?from=latest", nil, nil, &out)
	return out.Cursor, err
}
