// Package faulty puts a fault-injecting TCP proxy (Shopify's toxiproxy, as
// a library) between the backend and an emulator, so tests can make
// DynamoDB or S3 disappear, crawl, or cut a response halfway.
package faulty

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

var (
	once   sync.Once
	server *toxiproxy.ApiServer
)

// Proxy forwards a loopback port to an emulator until told otherwise.
type Proxy struct {
	p *toxiproxy.Proxy
}

// New starts a proxy to upstream (an http://host:port endpoint or a
// host:port) for the rest of the test.
func New(t testing.TB, name, upstream string) *Proxy {
	t.Helper()
	once.Do(func() {
		server = toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	})
	upstream = strings.TrimPrefix(upstream, "http://")
	p := toxiproxy.NewProxy(server, name, "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatalf("start proxy to %s: %v", upstream, err)
	}
	t.Cleanup(p.Stop)
	return &Proxy{p: p}
}

// Endpoint is the proxy's address as an SDK endpoint URL.
func (x *Proxy) Endpoint() string { return "http://" + x.p.Listen }

// Down refuses every connection and drops the open ones, as a crashed or
// unreachable service would.
func (x *Proxy) Down() { x.p.Stop() }

// Up starts accepting connections again on the same port.
func (x *Proxy) Up(t testing.TB) {
	t.Helper()
	if err := x.p.Start(); err != nil && err != toxiproxy.ErrProxyAlreadyStarted {
		t.Fatalf("restart proxy: %v", err)
	}
}

// Slow delays every response by d.
func (x *Proxy) Slow(t testing.TB, d time.Duration) {
	x.add(t, "latency", fmt.Sprintf(`{"latency": %d}`, d.Milliseconds()))
}

// CutAfter closes each connection after n bytes of response: the caller
// sees a response that stops halfway.
func (x *Proxy) CutAfter(t testing.TB, n int) {
	x.add(t, "limit_data", fmt.Sprintf(`{"bytes": %d}`, n))
}

func (x *Proxy) add(t testing.TB, typ, attrs string) {
	t.Helper()
	doc := fmt.Sprintf(`{"name": %q, "type": %q, "stream": "downstream", "toxicity": 1, "attributes": %s}`, typ, typ, attrs)
	if _, err := x.p.Toxics.AddToxicJson(strings.NewReader(doc)); err != nil {
		t.Fatalf("add %s toxic: %v", typ, err)
	}
}

// Heal removes every fault and accepts connections again.
func (x *Proxy) Heal(t testing.TB) {
	t.Helper()
	x.p.Toxics.ResetToxics(context.Background())
	x.Up(t)
}
