package bench

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voicerec/backend/client"
	"github.com/voicerec/backend/internal/devstack"
)

// BenchmarkLoad runs 32 simulated apps against the API for a fixed time,
// each repeating the whole flow: login, create upload, PUT, wait for
// confirmation, list, download, delete. It reports completed flows per
// second, latency per step, errors, and whether the API's memory and
// goroutines return to their idle level afterwards.
func BenchmarkLoad(b *testing.B) {
	debugAddr, err := devstack.FreeAddr()
	if err != nil {
		b.Fatal(err)
	}
	p := startAPI(b, map[string]string{"DEBUG_ADDR": debugAddr})
	const apps = 32
	const size = 64 << 10
	steps := []string{"login", "create", "put", "confirm", "list", "get", "download", "delete"}
	lat := map[string]*latencies{}
	for _, s := range steps {
		lat[s] = &latencies{}
	}
	var flows, errs atomic.Int64
	var firstErr sync.Once
	fail := func(step string, err error) {
		errs.Add(1)
		firstErr.Do(func() { b.Logf("first error, %s: %v", step, err) })
	}

	idleGoroutines, _ := goroutines(b, debugAddr)
	idleRSS := p.RSS(b)
	p.ResetPeakRSS(b)
	transport := &http.Transport{MaxIdleConnsPerHost: apps * 2}
	c := &http.Client{Transport: transport, Timeout: 30 * time.Second}
	deadline := time.Now().Add(loadDuration())
	start := time.Now()
	var wg sync.WaitGroup
	for i := range apps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sub := fmt.Sprintf("load-%d", i)
			for time.Now().Before(deadline) {
				if step, err := flow(p, c, sub, size, lat); err != nil {
					fail(step, err)
					continue
				}
				flows.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	peak := p.PeakRSS(b)
	transport.CloseIdleConnections()
	// Let the server notice the closed connections before counting.
	var after, pooled int
	for range 50 {
		if after, pooled = goroutines(b, debugAddr); after-pooled <= idleGoroutines {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}

	b.ReportMetric(float64(flows.Load())/elapsed.Seconds(), "flows/s")
	b.ReportMetric(float64(errs.Load()), "errors")
	for _, s := range steps {
		b.ReportMetric(ms(lat[s].pct(.5)), s+"-p50-ms")
		b.ReportMetric(ms(lat[s].pct(.99)), s+"-p99-ms")
	}
	b.ReportMetric(float64(idleRSS)/(1<<20), "idle-rss-MiB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-rss-MiB")
	b.ReportMetric(float64(p.RSS(b))/(1<<20), "end-rss-MiB")
	b.ReportMetric(float64(idleGoroutines), "idle-goroutines")
	b.ReportMetric(float64(after), "end-goroutines")
	b.ReportMetric(float64(pooled), "end-pooled-conn-goroutines")
	b.ReportMetric(0, "ns/op")
	if errs.Load() > 0 {
		b.Errorf("%d flows failed", errs.Load())
	}
	if after-pooled > idleGoroutines {
		b.Errorf("goroutines: %d at the end (%d of them idle pooled connections), %d idle: a leak", after, pooled, idleGoroutines)
	}
}

// flow is one app's round trip; it returns the failed step.
func flow(p *apiProcess, c *http.Client, sub string, size int64, lat map[string]*latencies) (string, error) {
	timed := func(step string, fn func() error) error {
		t0 := time.Now()
		err := fn()
		lat[step].add(time.Since(t0))
		return err
	}
	expect := func(want int) func(int, error) error {
		return func(st int, err error) error {
			if err != nil {
				return err
			}
			if st != want {
				return fmt.Errorf("status %d, want %d", st, want)
			}
			return nil
		}
	}
	var token string
	if err := timed("login", func() error {
		idt, err := p.issuer.Mint(devIssuerClaims(sub))
		if err != nil {
			return err
		}
		var out client.Session
		st, err := p.call(c, "", http.MethodPost, "/v1/auth/login", map[string]string{"provider": "dev", "id_token": idt}, &out)
		if err == nil && st != http.StatusOK && st != http.StatusCreated {
			err = fmt.Errorf("status %d", st)
		}
		token = out.AccessToken
		return err
	}); err != nil {
		return "login", err
	}
	var up client.Created
	if err := timed("create", func() error {
		return expect(http.StatusCreated)(p.call(c, token, http.MethodPost, "/v1/recordings",
			map[string]any{"file_name": "load test.m4a", "content_type": "audio/mp4", "size_bytes": size}, &up))
	}); err != nil {
		return "create", err
	}
	if err := timed("put", func() error { return put(c, up, size) }); err != nil {
		return "put", err
	}
	var rec client.Recording
	if err := timed("confirm", func() error {
		for t0 := time.Now(); time.Since(t0) < 20*time.Second; time.Sleep(10 * time.Millisecond) {
			st, err := p.call(c, token, http.MethodGet, "/v1/recordings/"+up.Recording.ID, nil, &rec)
			if err != nil {
				return err
			}
			if st != http.StatusOK {
				return fmt.Errorf("status %d while waiting", st)
			}
			switch rec.Status {
			case "available":
				return nil
			case "pending":
			default:
				return fmt.Errorf("upload became %s", rec.Status)
			}
		}
		return fmt.Errorf("not confirmed in 20s")
	}); err != nil {
		return "confirm", err
	}
	if err := timed("list", func() error {
		return expect(http.StatusOK)(p.call(c, token, http.MethodGet, "/v1/recordings?limit=50", nil, nil))
	}); err != nil {
		return "list", err
	}
	if err := timed("get", func() error {
		return expect(http.StatusOK)(p.call(c, token, http.MethodGet, "/v1/recordings/"+up.Recording.ID, nil, &rec))
	}); err != nil {
		return "get", err
	}
	if err := timed("download", func() error {
		resp, err := c.Get(rec.Download.URL)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		n, err := io.Copy(io.Discard, resp.Body)
		if err == nil && (resp.StatusCode != http.StatusOK || n != size) {
			err = fmt.Errorf("download: status %d, %d bytes", resp.StatusCode, n)
		}
		return err
	}); err != nil {
		return "download", err
	}
	if err := timed("delete", func() error {
		return expect(http.StatusOK)(p.call(c, token, http.MethodDelete, "/v1/recordings/"+up.Recording.ID+"?purge=true", nil, nil))
	}); err != nil {
		return "delete", err
	}
	return "", nil
}

// goroutines reads the API's goroutine count from its debug endpoint, and
// how many of them serve idle outbound keep-alive connections (two per
// pooled connection to DynamoDB or S3): those are a bounded cache kept for
// the next request, not a leak.
func goroutines(b *testing.B, addr string) (total, pooled int) {
	resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	// "goroutine profile: total 12", then stacks, each headed "<count> @ ...".
	for i, block := range strings.Split(string(raw), "\n\n") {
		first, _, _ := strings.Cut(block, "\n")
		if i == 0 {
			first = strings.TrimSpace(first[strings.LastIndexByte(first, ' ')+1:])
			if total, err = strconv.Atoi(first); err != nil {
				b.Fatalf("goroutine count in %q: %v", first, err)
			}
			_, block, _ = strings.Cut(block, "\n")
			first, _, _ = strings.Cut(block, "\n")
		}
		n, err := strconv.Atoi(strings.Fields(first + " 0")[0])
		if err == nil && strings.Contains(block, "net/http.(*persistConn)") {
			pooled += n
		}
	}
	return total, pooled
}
