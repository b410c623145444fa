package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// Match is where a search result matched: its name, or a moment of its
// transcript (StartMS and EndMS set).
type Match struct {
	Field   string `json:"field"`
	StartMS *int64 `json:"start_ms,omitempty"`
	EndMS   *int64 `json:"end_ms,omitempty"`
	Speaker string `json:"speaker,omitempty"`
	Snippet string `json:"snippet"`
}

// Found is a recording a search found, with where it matched.
type Found struct {
	Recording
	Matches []Match `json:"matches"`
}

// SearchOptions narrow a search.
type SearchOptions struct {
	// Status is available (the default), pending, rejected, deleted (the
	// trash), or all (every status but the trash).
	Status string
	// Limit is how many results, best first (the server's default when 0).
	Limit int
}

// Search finds the recordings whose name or transcript holds every word
// of query, best first.
func (c *Client) Search(ctx context.Context, query string, o SearchOptions) ([]Found, error) {
	q := url.Values{"q": {query}}
	if o.Status != "" {
		q.Set("status", o.Status)
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	var out struct {
		Items []Found `json:"items"`
	}
	if err := c.do(ctx, http.MethodGet, "/v1/recordings?"+q.Encode(), nil, nil, &out); err != nil {
		return nil, err
	}
	if out.Items == nil {
		out.Items = []Found{}
	}
	return out.Items, nil
}
