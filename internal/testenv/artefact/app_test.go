package artefact

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/client"
	"github.com/voicerec/backend/internal/testenv/contract"
)

// app is a test's view of the deployment as an app sees it: API calls go
// through the gateway to the API function and are checked against the
// OpenAPI document; storage URLs go straight to MinIO.
type app struct {
	d *deployment
	// api sends raw requests to the API (contract-checked).
	api *http.Client
	// c is the typed client the CLI uses, over the same transports.
	c *client.Client
	// sent records the method and path of every API request.
	sent *sentLog
	// unchecked is the gateway without the contract check, for the one
	// exchange the test validates itself.
	unchecked *http.Client
}

// sentLog is the API requests a test made, for the route coverage check.
type sentLog struct {
	mu   sync.Mutex
	reqs []contract.Operation
}

func (s *sentLog) add(method, path string) {
	s.mu.Lock()
	s.reqs = append(s.reqs, contract.Operation{Method: method, Path: path})
	s.mu.Unlock()
}

func (s *sentLog) all() []contract.Operation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]contract.Operation(nil), s.reqs...)
}

// routing sends requests for the API's host through the gateway, the rest
// (presigned storage URLs) over the network.
type routing struct {
	api  http.RoundTripper
	sent *sentLog
}

func (r routing) RoundTrip(req *http.Request) (*http.Response, error) {
	if "https://"+req.URL.Host == apiBase {
		r.sent.add(req.Method, req.URL.Path)
		return r.api.RoundTrip(req)
	}
	return http.DefaultTransport.RoundTrip(req)
}

func newApp(t *testing.T) *app {
	t.Helper()
	d := deploy(t)
	apiFn, err := d.template.function(apiFunctionID)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := apiFn.routes["$default"]; !ok {
		t.Fatalf("the API function serves no $default route of the HTTP API in the template (routes %v)", apiFn.routes)
	}
	gw := &gateway{fn: d.api, routes: apiFn.routes}
	checked := contract.Load(t).Client(t, gw).Transport
	sent := &sentLog{}
	hc := &http.Client{Transport: routing{api: checked, sent: sent}, Timeout: time.Minute}
	return &app{
		d: d, api: hc, c: client.New(apiBase, client.Options{HTTP: hc, Timeout: time.Minute}), sent: sent,
		unchecked: &http.Client{Transport: routing{api: gw, sent: sent}, Timeout: time.Minute},
	}
}

// signIn signs sub in the way the CLI's login --dev does: the provider
// list names the dev issuer's token URL, the issuer mints an ID token, the
// API exchanges it for a session. It returns a client holding the session.
func (a *app) signIn(t *testing.T, sub string) (*client.Client, client.Session) {
	t.Helper()
	// Each sign-in comes from an address of its own, as apps do: the login
	// limit per address never decides how many users a test may make.
	ctx := withSourceIP(context.Background(), nextAppIP())
	providers, err := a.c.Providers(ctx)
	if err != nil {
		t.Fatalf("providers: %v", err)
	}
	var tokenURL string
	for _, p := range providers {
		if p.Name == "dev" && p.Development {
			tokenURL = p.TokenURL
		}
	}
	if tokenURL == "" {
		t.Fatalf("the API lists no development provider: %+v", providers)
	}
	idToken, err := a.c.DevToken(ctx, tokenURL, sub)
	if err != nil {
		t.Fatalf("dev token: %v", err)
	}
	c := client.New(apiBase, client.Options{HTTP: a.api, Timeout: time.Minute})
	sess, err := c.Login(ctx, client.LoginRequest{Provider: "dev", IDToken: idToken})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	c.SetToken(sess.AccessToken)
	return c, sess
}

var appIPs atomic.Uint32

// nextAppIP is a new address in 10.0.0.0/8 for each call.
func nextAppIP() string {
	n := appIPs.Add(1)
	return fmt.Sprintf("10.%d.%d.%d", n>>16&0xff, n>>8&0xff, n&0xff)
}

// exchange is one raw API request's answer.
type exchange struct {
	status int
	header http.Header
	body   []byte
}

// problemCode is the answer's problem+json code.
func (e exchange) problemCode() string {
	var p struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(e.body, &p)
	return p.Code
}

// do sends one raw API request. body, when not nil, is sent as it is with
// the Content-Type in hdr.
func (a *app) do(t *testing.T, ctx context.Context, method, pathAndQuery, token string, hdr http.Header, body []byte) exchange {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, apiBase+pathAndQuery, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := a.api.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, pathAndQuery, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return exchange{status: resp.StatusCode, header: resp.Header, body: raw}
}

// jsonBody marshals v for do.
func jsonBody(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}

// stored reports whether the bucket holds key, and its size.
func (a *app) stored(t *testing.T, key string) (bool, int64) {
	t.Helper()
	c := a.d.env.Clients(a.d.config).S3
	out, err := c.HeadObject(context.Background(), &awss3.HeadObjectInput{Bucket: aws.String(a.d.config.Bucket), Key: aws.String(key)})
	if err != nil {
		if strings.Contains(err.Error(), "NotFound") || strings.Contains(err.Error(), "404") {
			return false, 0
		}
		t.Fatalf("head %s: %v", key, err)
	}
	return true, aws.ToInt64(out.ContentLength)
}

// matches reports whether a request path fits an operation's path template
// (echo's form, ":id" for a parameter).
func matches(op contract.Operation, method, path string) bool {
	if op.Method != method {
		return false
	}
	want, got := strings.Split(op.Path, "/"), strings.Split(path, "/")
	if len(want) != len(got) {
		return false
	}
	for i := range want {
		if strings.HasPrefix(want[i], ":") {
			if got[i] == "" {
				return false
			}
			continue
		}
		if seg, err := url.PathUnescape(got[i]); err != nil || seg != want[i] {
			return false
		}
	}
	return true
}

// listKeys lists the bucket's keys under prefix.
func (a *app) listKeys(t *testing.T, prefix string) []string {
	t.Helper()
	c := a.d.env.Clients(a.d.config).S3
	out, err := c.ListObjectsV2(context.Background(), &awss3.ListObjectsV2Input{Bucket: aws.String(a.d.config.Bucket), Prefix: aws.String(prefix)})
	if err != nil {
		t.Fatalf("list %s: %v", prefix, err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	return keys
}
