package testenv

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
)

// Forward listens on a loopback port and pipes each connection to target
// (host:port), the client's bytes through the writer wrap makes of the
// upstream connection (where they can be counted). It returns the
// listener's http:// URL.
func Forward(tb testing.TB, target string, wrap func(up io.Writer) io.Writer) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer up.Close()
				go func() {
					_, _ = io.Copy(c, up)
					c.Close()
				}()
				_, _ = io.Copy(wrap(up), c)
			}()
		}
	}()
	return "http://" + ln.Addr().String()
}

// CountDynamoCalls relays a loopback port to DynamoDB at target (host:port)
// and adds to n each request sent through it: each DynamoDB call is one
// HTTP request with one X-Amz-Target header. Counted outside the code
// under test, so nothing it does can hide a call. It returns the relay's
// URL, to be the client's DynamoDB endpoint.
func CountDynamoCalls(tb testing.TB, target string, n *atomic.Int64) string {
	return Forward(tb, target, func(up io.Writer) io.Writer { return &targetCounter{w: up, n: n} })
}

// targetCounter counts X-Amz-Target headers in a request stream, also
// when one is split between two reads.
type targetCounter struct {
	w    io.Writer
	n    *atomic.Int64
	tail []byte
}

var amzTarget = []byte("\r\nX-Amz-Target:")

func (t *targetCounter) Write(b []byte) (int, error) {
	buf := append(t.tail, b...)
	t.n.Add(int64(bytes.Count(buf, amzTarget)))
	keep := min(len(buf), len(amzTarget)-1)
	t.tail = append(t.tail[:0], buf[len(buf)-keep:]...)
	return t.w.Write(b)
}
