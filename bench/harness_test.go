// Package bench measures what the architecture promises, against the same
// emulators the tests use, with the API as its own process so its bytes,
// memory and CPU can be read from the outside. `make bench` runs it and
// prints the figures; `make bench WRITE=1` writes bench/results.md from them.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voicerec/backend/client"
	"github.com/voicerec/backend/internal/awsclients"
	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/devissuer"
	"github.com/voicerec/backend/internal/devstack"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/s3event"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/testaudio"
	"github.com/voicerec/backend/internal/wire"
)

func TestMain(m *testing.M) { testenv.Main(m) }

const clientID = "recorder-bench"

// buildServer compiles the API as it runs in server mode (stripped) into
// a directory removed after the benchmark; the build cache makes repeats
// cheap. BENCH_API_BIN names a binary built beforehand instead, so two
// builds can be run back to back on a shared machine (docs/performance.md).
func buildServer(tb testing.TB) string {
	tb.Helper()
	if bin := os.Getenv("BENCH_API_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(tb.TempDir(), "server")
	out, err := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "../server").CombinedOutput()
	if err != nil {
		tb.Fatalf("build server: %v\n%s", err, out)
	}
	return bin
}

// apiProcess is the API running as its own process behind a byte-counting
// TCP relay, with an in-process dev issuer and events handler.
type apiProcess struct {
	URL     string // through the relay
	Config  config.Config
	Clients awsclients.Clients
	Store   *dynamo.Store
	cmd     *exec.Cmd
	issuer  *devissuer.Issuer
	bytesIn atomic.Int64
	// ddbCalls counts the DynamoDB requests the API process sends, at a
	// relay between it and DynamoDB Local.
	ddbCalls atomic.Int64
	// DebugAddr serves the API's /debug/pprof.
	DebugAddr string
}

func startAPI(tb testing.TB, extra map[string]string) *apiProcess {
	tb.Helper()
	env := testenv.Get(tb)
	iss := httptest.NewUnstartedServer(nil)
	issuerURL := "http://" + iss.Listener.Addr().String()
	issuer, err := devissuer.New(issuerURL, clientID)
	if err != nil {
		tb.Fatal(err)
	}
	iss.Config.Handler = issuer.Handler()
	iss.Start()
	tb.Cleanup(iss.Close)

	apiAddr, err := devstack.FreeAddr()
	if err != nil {
		tb.Fatal(err)
	}
	vars := map[string]string{
		"API_ADDR":            apiAddr,
		"OIDC_PROVIDERS":      "dev",
		"OIDC_DEV_ISSUER":     issuerURL,
		"OIDC_DEV_JWKS_URL":   issuerURL + "/jwks",
		"OIDC_DEV_CLIENT_IDS": clientID,
		"LOGIN_RATE_LIMIT":    "1000000",
		"LOGIN_RATE_BURST":    "100000",
		// The load flow signs the same 32 accounts in over and over.
		"LOGIN_IDENTITY_RATE_LIMIT": "1000000",
		"LOGIN_IDENTITY_RATE_BURST": "100000",
		"LOG_LEVEL":                 "info",
		// These benchmarks measure the single-PUT flow, 100 MiB included.
		"MULTIPART_THRESHOLD_BYTES": "1073741824",
	}
	debugAddr, err := devstack.FreeAddr()
	if err != nil {
		tb.Fatal(err)
	}
	vars["DEBUG_ADDR"] = debugAddr
	for k, v := range extra {
		vars[k] = v
	}
	getenv := env.Getenv(tb, vars)
	cfg, err := config.Load(getenv)
	if err != nil {
		tb.Fatal(err)
	}
	clients := env.Provision(tb, cfg)
	p := &apiProcess{Config: cfg, Clients: clients, Store: dynamo.New(clients.DynamoDB, cfg.TablePrefix), issuer: issuer, DebugAddr: debugAddr}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	parts, err := wire.Build(context.Background(), cfg, log, wire.WithClients(clients))
	if err != nil {
		tb.Fatal(err)
	}
	env.OnEvent(tb, cfg.Bucket, s3event.New(log, parts.Keeper, parts.Objects, cfg.ReconcileMaxItems).Handle)

	names := []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "DYNAMODB_TABLE_PREFIX", "S3_BUCKET"}
	for k := range vars {
		names = append(names, k)
	}
	environ := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"AWS_ACCESS_KEY_ID=" + devstack.MinIOUser, "AWS_SECRET_ACCESS_KEY=" + devstack.MinIOPassword}
	ddbURL, err := url.Parse(getenv("AWS_ENDPOINT_URL_DYNAMODB"))
	if err != nil || ddbURL.Host == "" {
		tb.Fatalf("DynamoDB endpoint %q: %v", getenv("AWS_ENDPOINT_URL_DYNAMODB"), err)
	}
	ddbRelay := p.countCalls(tb, ddbURL.Host)
	for _, k := range names {
		v := getenv(k)
		if k == "AWS_ENDPOINT_URL_DYNAMODB" {
			v = ddbRelay
		}
		environ = append(environ, k+"="+v)
	}
	// The API runs with the GC setting it has in production (infra/
	// recorder.APIGOGC on the API Lambda), unless BENCH_GOGC says otherwise
	// (BENCH_GOGC=100 for the Go runtime's default).
	gogc := "400"
	if g := os.Getenv("BENCH_GOGC"); g != "" {
		gogc = g
	}
	environ = append(environ, "GOGC="+gogc)
	logf, err := os.CreateTemp("", "recorder-bench-api-*.log")
	if err != nil {
		tb.Fatal(err)
	}
	p.cmd = exec.Command(buildServer(tb))
	p.cmd.Env = environ
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		_ = p.cmd.Wait()
		logf.Close()
		os.Remove(logf.Name())
	})
	if _, err := waitServing("http://" + apiAddr + "/healthz"); err != nil {
		tb.Fatalf("API did not start: %v (log %s)", err, logf.Name())
	}
	p.URL = p.relay(tb, apiAddr)
	return p
}

// waitServing polls url until it answers 200 and returns how long it took.
func waitServing(url string) (time.Duration, error) {
	start := time.Now()
	c := &http.Client{Timeout: time.Second}
	for time.Since(start) < 30*time.Second {
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return time.Since(start), nil
			}
		}
		time.Sleep(500 * time.Microsecond)
	}
	return 0, fmt.Errorf("%s not serving after 30s", url)
}

// relay forwards a loopback port to the API and counts every byte sent to
// it: what the API process receives, measured outside it.
func (p *apiProcess) relay(tb testing.TB, target string) string {
	return testenv.Forward(tb, target, func(up io.Writer) io.Writer { return counter{up, &p.bytesIn} })
}

// countCalls relays a loopback port to DynamoDB and counts the requests
// the API sends through it. Counted outside the API, like its bytes.
func (p *apiProcess) countCalls(tb testing.TB, target string) string {
	return testenv.CountDynamoCalls(tb, target, &p.ddbCalls)
}

// DynamoCalls is how many DynamoDB requests the API process has made.
func (p *apiProcess) DynamoCalls() int64 { return p.ddbCalls.Load() }

// counter counts the bytes written through it as they pass.
type counter struct {
	w io.Writer
	n *atomic.Int64
}

func (c counter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// BytesIn is what the API process has received so far.
func (p *apiProcess) BytesIn() int64 { return p.bytesIn.Load() }

// ResetPeakRSS restarts the kernel's high-water mark of the API's resident
// memory, so PeakRSS covers only what follows.
func (p *apiProcess) ResetPeakRSS(tb testing.TB) {
	if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", p.cmd.Process.Pid), []byte("5"), 0); err != nil {
		tb.Fatalf("reset peak RSS: %v", err)
	}
}

// PeakRSS is the API's resident-memory high-water mark in bytes.
func (p *apiProcess) PeakRSS(tb testing.TB) int64 {
	return procStatusKB(tb, p.cmd.Process.Pid, "VmHWM") << 10
}

// RSS is the API's resident memory now, in bytes.
func (p *apiProcess) RSS(tb testing.TB) int64 {
	return procStatusKB(tb, p.cmd.Process.Pid, "VmRSS") << 10
}

func procStatusKB(tb testing.TB, pid int, field string) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				tb.Fatal(err)
			}
			return n
		}
	}
	tb.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times; 100 on
// every Linux architecture Go supports.
const clockTicks = 100

// CPUTime is the API's user+system CPU time so far.
func (p *apiProcess) CPUTime(tb testing.TB) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces.
	fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTicks
}

// Login signs sub in and returns a session token.
func (p *apiProcess) Login(tb testing.TB, sub string) string {
	tb.Helper()
	idt, err := p.issuer.Mint(devissuer.Claims{Subject: sub, Audience: clientID})
	if err != nil {
		tb.Fatal(err)
	}
	var out client.Session
	st, err := p.call(http.DefaultClient, "", http.MethodPost, "/v1/auth/login", map[string]string{"provider": "dev", "id_token": idt}, &out)
	if err != nil || st >= 300 {
		tb.Fatalf("login %s: %d %v", sub, st, err)
	}
	return out.AccessToken
}

// call is one API request; it returns the status and decodes a 2xx body.
func (p *apiProcess) call(c *http.Client, token, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, p.URL+path, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode < 300 && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, err
		}
	}
	return resp.StatusCode, nil
}

// put streams size bytes to a presigned upload without holding them.
func put(c *http.Client, up client.Created, size int64) error {
	// Real audio (an M4A padded with a free box): the server checks it.
	req, err := http.NewRequest(http.MethodPut, up.Upload.URL, testaudio.Reader("audio/mp4", size))
	if err != nil {
		return err
	}
	req.ContentLength = size
	for k, v := range up.Upload.Headers {
		if k != "Content-Length" {
			req.Header.Set(k, v)
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT: %d", resp.StatusCode)
	}
	return nil
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// latencies collects durations and reports percentiles.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) pct(p float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	i := int(float64(len(s)) * p)
	if i >= len(s) {
		i = len(s) - 1
	}
	return s[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func devIssuerClaims(sub string) devissuer.Claims {
	return devissuer.Claims{Subject: sub, Audience: clientID}
}
