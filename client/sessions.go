package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// DeviceSession is a signed-in device of the account.
type DeviceSession struct {
	ID         string     `json:"id"`
	DeviceName string     `json:"device_name"`
	Provider   string     `json:"provider"`
	Platform   string     `json:"platform"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	Current    bool       `json:"current"`
}

// Sessions lists the account's signed-in devices.
func (c *Client) Sessions(ctx context.Context) ([]DeviceSession, error) {
	var out struct {
		Sessions []DeviceSession `json:"sessions"`
	}
	err := c.do(ctx, http.MethodGet, "/v1/sessions", nil, nil, &out)
	return out.Sessions, err
}

// RevokeSession signs one device out.
func (c *Client) RevokeSession(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/v1/sessions/"+url.PathEscape(id), nil, nil, nil)
}

// RevokeOtherSessions signs every device but this one out.
func (c *Client) RevokeOtherSessions(ctx context.Context) error {
	return c.do(ctx, http.MethodDelete, "/v1/sessions?others=true", nil, nil, nil)
}
