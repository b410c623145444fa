package client

import (
	"io"
	"net"
	"syscall"
	"testing"
	"time"
)

func TestHumanizeBytes(t *testing.T) {
	for in, want := range map[string]string{
		"size_bytes is above the maximum of 1024 bytes":   "size_bytes is above the maximum of 1.0 KiB",
		"storage quota exceeded: 3000 of 4096 bytes used": "storage quota exceeded: 3000 of 4.0 KiB used",
		"at most 10 bytes": "at most 10 bytes",
		"5368709120 bytes": "5.0 GiB",
	} {
		if got := HumanizeBytes(in); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
}

// Retried: what may go through on a second try. Not retried: what would
// only answer later the same way.
func TestWhatIsRetried(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"refused", unreachable("the API", "http://127.0.0.1:1", time.Second, &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), false},
		{"reset", unreachable("storage", "http://s3", time.Second, &net.OpError{Op: "read", Err: syscall.ECONNRESET}), true},
		{"unknown host", unreachable("the API", "http://nowhere", time.Second, &net.DNSError{Err: "no such host", Name: "nowhere"}), false},
		{"timed out", unreachable("the API", "http://x", time.Second, &TimeoutError{After: time.Second}), false},
		{"dropped", unreachable("storage", "http://s3", time.Second, io.ErrUnexpectedEOF), true},
		{"503", &APIError{Status: 503}, true},
		{"429", &APIError{Status: 429}, true},
		{"400", &APIError{Status: 400}, false},
		{"401", &APIError{Status: 401}, false},
	} {
		if got := Transient(tc.err); got != tc.want {
			t.Errorf("%s: transient %v, want %v", tc.name, got, tc.want)
		}
	}
}
