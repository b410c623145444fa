package api

import (
	"context"
	"net"
	"net/http"
)

type sourceIPKey struct{}

// WithSourceIP records the client address a trusted front end vouches for:
// the Lambda entry sets API Gateway's requestContext.http.sourceIp here. No
// header a client writes (X-Forwarded-For, X-Real-Ip) is ever read.
func WithSourceIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, sourceIPKey{}, ip)
}

// clientIP is echo's IPExtractor: the source address set by WithSourceIP,
// else the socket's peer address.
func clientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(sourceIPKey{}).(string); ok && ip != "" {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
