package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/faulty"
	"github.com/voicerec/backend/internal/testenv/stack"
	"github.com/voicerec/backend/internal/testenv/testaudio"
	"github.com/voicerec/backend/server/api"
)

// requestBudget is REQUEST_TIMEOUT in these tests; every answer must come
// within it plus the time to write the answer.
const requestBudget = 3 * time.Second

// faultBodySize is the size of the fixtures' uploads: a small real M4A.
const faultBodySize = 6000

type faultFixture struct {
	s       *stack.Stack
	ddb, s3 *faulty.Proxy
	token   string
	userID  string
	// clock steps past readiness's cached check before each /readyz, so
	// each one sees the dependencies as they are now.
	clock *stack.Clock
	// events captured from MinIO instead of handled, so a test delivers
	// them while a dependency is broken.
	mu     sync.Mutex
	events []events.S3Event
}

func newFaultFixture(t *testing.T) *faultFixture {
	env := testenv.Get(t)
	f := &faultFixture{
		ddb:   faulty.New(t, "dynamodb", env.Dynamo.Endpoint()),
		s3:    faulty.New(t, "minio", env.MinIO.Endpoint()),
		clock: &stack.Clock{},
	}
	f.s = stack.Start(t, env, stack.Options{Clock: f.clock, Env: map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": f.ddb.Endpoint(),
		"AWS_ENDPOINT_URL_S3":       f.s3.Endpoint(),
		// Apps reach storage directly; only the server's own calls cross
		// the faulty proxies.
		"S3_PUBLIC_ENDPOINT": env.MinIO.Endpoint(),
		"REQUEST_TIMEOUT":    requestBudget.String(),
	}})
	f.s.Events.RecordTimeout = requestBudget
	env.OnEvent(t, f.s.Config.Bucket, func(_ context.Context, ev events.S3Event) error {
		f.mu.Lock()
		f.events = append(f.events, ev)
		f.mu.Unlock()
		return nil
	})
	f.token, f.userID = f.s.Login(t, "fault-user")
	return f
}

// uploaded creates a recording, uploads it and confirms it with the
// captured event.
func (f *faultFixture) uploaded(t *testing.T, name string) stack.Upload {
	up := f.pending(t, name)
	if st := stack.Put(t, up.Upload, testaudio.Body("audio/mp4", faultBodySize, 'f')); st != http.StatusOK {
		t.Fatalf("PUT: %d", st)
	}
	if err := f.s.Events.Handle(context.Background(), f.event(t, up.Recording.ID)); err != nil {
		t.Fatal(err)
	}
	return up
}

func (f *faultFixture) pending(t *testing.T, name string) stack.Upload {
	return f.s.CreateUpload(t, f.token, name, "audio/mp4", faultBodySize)
}

// event waits for MinIO's ObjectCreated notification of a recording.
func (f *faultFixture) event(t *testing.T, id string) events.S3Event {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		f.mu.Lock()
		for _, ev := range f.events {
			r := ev.Records[0]
			if strings.Contains(r.S3.Object.URLDecodedKey, id) && strings.Contains(r.EventName, "ObjectCreated") {
				f.mu.Unlock()
				return ev
			}
		}
		f.mu.Unlock()
	}
	t.Fatalf("no event for %s", id)
	return events.S3Event{}
}

type call struct {
	name, method, path string
	body               any
	anonymous          bool
	touchesS3          bool // over the network; presigning does not
	want               int  // once healthy
}

type answer struct {
	status  int
	elapsed time.Duration
	ctype   string
	retry   string
	code    string
}

func (f *faultFixture) do(t *testing.T, c call) answer {
	t.Helper()
	body := c.body
	if c.name == "login" {
		body = map[string]string{"provider": "dev", "id_token": f.s.IDToken(t, "fault-user")}
	}
	if c.path == "/readyz" {
		f.clock.Advance(api.ReadinessMaxAge)
	}
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(c.method, f.s.APIURL+c.path, rd)
	req.Header.Set("Content-Type", "application/json")
	if !c.anonymous {
		req.Header.Set("Authorization", "Bearer "+f.token)
	}
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(raw, &p)
	return answer{resp.StatusCode, time.Since(start), resp.Header.Get("Content-Type"), resp.Header.Get("Retry-After"), p.Code}
}

// Every route, with each dependency down, slow, or cutting its responses
// short: a clear problem in bounded time, never a 500 or a hang; once the
// fault clears, the same requests succeed.
func TestFaults(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t)
	faults := []struct {
		name   string
		target func() *faulty.Proxy
		inject func(*faulty.Proxy)
		want   int // for routes that need the broken dependency
	}{
		{"dynamodb down", func() *faulty.Proxy { return f.ddb }, func(p *faulty.Proxy) { p.Down() }, http.StatusServiceUnavailable},
		{"dynamodb slow", func() *faulty.Proxy { return f.ddb }, func(p *faulty.Proxy) { p.Slow(t, 2*requestBudget) }, http.StatusGatewayTimeout},
		{"dynamodb cuts responses", func() *faulty.Proxy { return f.ddb }, func(p *faulty.Proxy) { p.CutAfter(t, 40) }, http.StatusServiceUnavailable},
		{"s3 down", func() *faulty.Proxy { return f.s3 }, func(p *faulty.Proxy) { p.Down() }, http.StatusServiceUnavailable},
		{"s3 slow", func() *faulty.Proxy { return f.s3 }, func(p *faulty.Proxy) { p.Slow(t, 2*requestBudget) }, http.StatusGatewayTimeout},
		{"s3 cuts responses", func() *faulty.Proxy { return f.s3 }, func(p *faulty.Proxy) { p.CutAfter(t, 40) }, http.StatusServiceUnavailable},
	}
	for _, fault := range faults {
		t.Run(fault.name, func(t *testing.T) {
			avail := f.uploaded(t, "kept.m4a")
			doomed := f.uploaded(t, "doomed.m4a")
			calls := []call{
				{name: "login", method: http.MethodPost, path: "/v1/auth/login", anonymous: true, want: http.StatusOK},
				{name: "me", method: http.MethodGet, path: "/v1/me", want: http.StatusOK},
				{name: "create", method: http.MethodPost, path: "/v1/recordings", want: http.StatusCreated,
					body: map[string]any{"file_name": "new.m4a", "content_type": "audio/mp4", "size_bytes": 10}},
				{name: "list", method: http.MethodGet, path: "/v1/recordings", want: http.StatusOK},
				{name: "get", method: http.MethodGet, path: "/v1/recordings/" + avail.Recording.ID, want: http.StatusOK},
				{name: "rename", method: http.MethodPatch, path: "/v1/recordings/" + avail.Recording.ID, want: http.StatusOK,
					body: map[string]any{"file_name": "renamed.m4a"}},
				{name: "delete", method: http.MethodDelete, path: "/v1/recordings/" + doomed.Recording.ID + "?purge=true", want: http.StatusOK, touchesS3: true},
				{name: "readyz", method: http.MethodGet, path: "/readyz", anonymous: true, want: http.StatusOK, touchesS3: true},
			}
			isDynamo := strings.HasPrefix(fault.name, "dynamodb")
			failedBefore := len(f.s.Logged("request failed"))
			fault.inject(fault.target())
			answers := make([]answer, len(calls))
			var wg sync.WaitGroup
			for i, c := range calls {
				wg.Add(1)
				go func() {
					defer wg.Done()
					answers[i] = f.do(t, c)
				}()
			}
			wg.Wait()
			for i, c := range calls {
				a := answers[i]
				if a.elapsed > requestBudget+2*time.Second {
					t.Errorf("%s: answered after %s", c.name, a.elapsed)
				}
				affected := isDynamo || c.touchesS3
				switch {
				case !affected:
					if a.status != c.want {
						t.Errorf("%s: %d without needing the broken dependency, want %d", c.name, a.status, c.want)
					}
				case c.name == "readyz":
					// Readiness reports the broken check, however it broke.
					if a.status != http.StatusServiceUnavailable || a.ctype != "application/problem+json" {
						t.Errorf("readyz: %d %s", a.status, a.ctype)
					}
				default:
					if a.status != fault.want || a.ctype != "application/problem+json" {
						t.Errorf("%s: %d %s (code %q), want %d problem+json", c.name, a.status, a.ctype, a.code, fault.want)
					}
					wantCode := map[int]string{503: "service_unavailable", 504: "dependency_timeout"}[fault.want]
					if a.code != wantCode {
						t.Errorf("%s: code %q, want %q", c.name, a.code, wantCode)
					}
					if fault.want == http.StatusServiceUnavailable && a.retry == "" {
						t.Errorf("%s: 503 without Retry-After", c.name)
					}
				}
			}

			// Each failure is logged with its cause, for operators.
			failed := 0
			for i, c := range calls {
				if c.name != "readyz" && answers[i].status >= 500 {
					failed++
				}
			}
			if logged := len(f.s.Logged("request failed")) - failedBefore; failed == 0 || logged < failed {
				t.Errorf("%d requests failed and %d were logged as failures", failed, logged)
			}

			fault.target().Heal(t)
			for _, c := range calls {
				if a := f.do(t, c); a.status != c.want {
					t.Errorf("after the fault cleared, %s: %d (code %q), want %d", c.name, a.status, a.code, c.want)
				}
			}
			// Nothing half-done: the deleted recording is gone with its
			// object, the kept one is whole, and the counters match what is
			// stored.
			if _, st := f.s.Get(t, f.token, doomed.Recording.ID); st != http.StatusNotFound {
				t.Errorf("deleted recording: %d", st)
			}
			key := keyOf(t, doomed.Upload.URL, f.s.Config.Bucket)
			if _, err := testenv.NewStore(f.s.Env.Clients(f.s.Config), f.s.Config).Head(context.Background(), key); err == nil {
				t.Errorf("object of the deleted recording is still stored")
			}
			assertCountersMatch(t, f)
		})
	}
	if strings.Contains(f.s.Logs.String(), "panic") {
		t.Error("a panic was logged")
	}
}

// assertCountersMatch compares the user's counters with the available
// recordings actually listed.
func assertCountersMatch(t *testing.T, f *faultFixture) {
	t.Helper()
	list := f.s.List(t, f.token, "available")
	var bytes int64
	for _, r := range list {
		bytes += r.SizeBytes
	}
	if b, n := f.s.Usage(t, f.token); b != bytes || n != int64(len(list)) {
		t.Errorf("counters say %d bytes in %d recordings; the list holds %d in %d", b, n, bytes, len(list))
	}
}

// The events handler under the same faults: the invocation fails within
// its budget (so Lambda retries it), and the retry after recovery confirms
// the upload exactly once.
func TestEventsHandlerFaults(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t)
	faults := []struct {
		name   string
		target *faulty.Proxy
		inject func(*faulty.Proxy)
	}{
		{"dynamodb down", f.ddb, func(p *faulty.Proxy) { p.Down() }},
		{"dynamodb slow", f.ddb, func(p *faulty.Proxy) { p.Slow(t, 2*requestBudget) }},
		{"dynamodb cuts responses", f.ddb, func(p *faulty.Proxy) { p.CutAfter(t, 40) }},
		{"s3 down", f.s3, func(p *faulty.Proxy) { p.Down() }},
		{"s3 slow", f.s3, func(p *faulty.Proxy) { p.Slow(t, 2*requestBudget) }},
	}
	for _, fault := range faults {
		t.Run(fault.name, func(t *testing.T) {
			before, _ := f.s.Usage(t, f.token)
			up := f.pending(t, "event.m4a")
			stack.Put(t, up.Upload, testaudio.Body("audio/mp4", faultBodySize, 'e'))
			ev := f.event(t, up.Recording.ID)

			fault.inject(fault.target)
			start := time.Now()
			err := f.s.Events.Handle(context.Background(), ev)
			if err == nil {
				t.Fatal("Handle succeeded with a broken dependency")
			}
			if el := time.Since(start); el > requestBudget+2*time.Second {
				t.Errorf("Handle took %s", el)
			}
			fault.target.Heal(t)
			if pending := f.s.List(t, f.token, "pending"); !containsID(pending, up.Recording.ID) {
				t.Errorf("after the failed invocation the upload is no longer pending: %v", pending)
			}
			if err := f.s.Events.Handle(context.Background(), ev); err != nil {
				t.Fatalf("redelivery: %v", err)
			}
			if err := f.s.Events.Handle(context.Background(), ev); err != nil {
				t.Fatalf("second redelivery: %v", err)
			}
			if r, st := f.s.Get(t, f.token, up.Recording.ID); st != http.StatusOK || r.Status != "available" {
				t.Errorf("after redelivery: %d %v", st, r)
			}
			if after, _ := f.s.Usage(t, f.token); after != before+faultBodySize {
				t.Errorf("stored bytes %d -> %d, want +%d exactly once", before, after, faultBodySize)
			}
		})
	}
}

// A create whose answer is lost keeps its promise: the record it may have
// written expires, and a retry with the same Idempotency-Key returns the
// same recording instead of a second one.
func TestLostCreateAnswerIsRetriedIdempotently(t *testing.T) {
	t.Parallel()
	f := newFaultFixture(t)
	create := func() (int, string) {
		b, _ := json.Marshal(map[string]any{"file_name": "once.m4a", "content_type": "audio/mp4", "size_bytes": 10})
		req, _ := http.NewRequest(http.MethodPost, f.s.APIURL+"/v1/recordings", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+f.token)
		req.Header.Set("Idempotency-Key", "create-once-1")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var up stack.Upload
		_ = json.NewDecoder(resp.Body).Decode(&up)
		return resp.StatusCode, up.Recording.ID
	}
	f.ddb.CutAfter(t, 40)
	if st, _ := create(); st != http.StatusServiceUnavailable {
		t.Fatalf("create with responses cut: %d", st)
	}
	f.ddb.Heal(t)
	st, id := create()
	if st != http.StatusCreated {
		t.Fatalf("retry: %d", st)
	}
	st2, id2 := create()
	if st2 != http.StatusCreated || id2 != id {
		t.Errorf("second retry: %d %s, want the same recording %s", st2, id2, id)
	}
	pending := f.s.List(t, f.token, "pending")
	if len(pending) != 1 || pending[0].ID != id || pending[0].ExpiresAt == nil {
		t.Errorf("pending after retries: %v", pending)
	}
}

func containsID(rs []stack.Recording, id string) bool {
	for _, r := range rs {
		if r.ID == id {
			return true
		}
	}
	return false
}

func keyOf(t *testing.T, rawURL, bucket string) string {
	t.Helper()
	i := strings.Index(rawURL, "/"+bucket+"/")
	if i < 0 {
		t.Fatalf("URL not in bucket %s", bucket)
	}
	rest := rawURL[i+len(bucket)+2:]
	if q := strings.IndexByte(rest, '?'); q >= 0 {
		rest = rest[:q]
	}
	return rest
}
