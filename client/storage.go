package client

import (
	"context"
	"io"
	"net/http"
	"strings"
	"time"
)

// PutPresigned sends length bytes of body to a presigned URL with exactly
// the headers it was signed with; what names the request in the log.
func (c *Client) PutPresigned(ctx context.Context, url string, headers map[string]string, body io.Reader, length int64, what string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, url, body)
	if err != nil {
		return scrub(err)
	}
	req.ContentLength = length
	for k, v := range headers {
		if !strings.EqualFold(k, "Content-Length") {
			req.Header.Set(k, v)
		}
	}
	start := time.Now()
	resp, err := c.http.Do(req)
	if err != nil {
		c.logf("PUT %s%s (presigned) -> %v", hostOf(url), what, scrub(err))
		return unreachable("storage", storageWhere(url), c.timeout, err)
	}
	defer resp.Body.Close()
	c.logf("PUT %s%s (presigned) -> %d (%s)", hostOf(url), what, resp.StatusCode, time.Since(start).Round(time.Millisecond))
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 300 {
		// Storage answers in XML; its status is what matters here.
		return &APIError{Status: resp.StatusCode, Title: storageMessage(raw, resp.Status)}
	}
	return nil
}

// OpenDownload starts the GET of a recording's presigned download and
// returns its body, which the caller closes. It is tried once: a caller
// that retries asks for a fresh URL first (see FreshDownload).
func (c *Client) OpenDownload(ctx context.Context, d Download) (io.ReadCloser, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.URL, nil)
	if err != nil {
		return nil, scrub(err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, unreachable("storage", storageWhere(d.URL), c.timeout, err)
	}
	c.logf("GET %s (presigned) -> %d", hostOf(d.URL), resp.StatusCode)
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		return nil, &APIError{Status: resp.StatusCode, Title: storageMessage(raw, resp.Status)}
	}
	return resp.Body, nil
}

func storageMessage(raw []byte, status string) string {
	s := string(raw)
	if i, j := strings.Index(s, "<Message>"), strings.Index(s, "</Message>"); i >= 0 && j > i {
		return "storage: " + s[i+len("<Message>"):j]
	}
	return "storage: " + status
}
