package api

import (
	"net/http/httptest"
	"testing"
)

// The rate limits key on clientIP: the source address API Gateway vouches
// for when there is one (never a header), else the socket's peer without
// its port, so one client's connections share one budget.
func TestClientIPPrefersTheVouchedSourceAddress(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, source, remote, want string
	}{
		{"API Gateway's sourceIp", "203.0.113.7", "10.0.0.1:4321", "203.0.113.7"},
		{"no sourceIp: the peer, without its port", "", "198.51.100.2:55000", "198.51.100.2"},
		{"IPv6 peer", "", "[2001:db8::1]:443", "2001:db8::1"},
		{"a peer address without a port is kept whole", "", "198.51.100.3", "198.51.100.3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/v1/me", nil)
			r.RemoteAddr = tc.remote
			r.Header.Set("X-Forwarded-For", "192.0.2.99")
			if tc.source != "" {
				r = r.WithContext(WithSourceIP(r.Context(), tc.source))
			}
			if got := clientIP(r); got != tc.want {
				t.Fatalf("clientIP = %q, want %q", got, tc.want)
			}
		})
	}
}
