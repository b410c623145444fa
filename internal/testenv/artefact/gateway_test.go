package artefact

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// gateway is an http.RoundTripper that does what API Gateway's HTTP API does
// in front of the API function: it turns each request into the event of the
// integration's payload format version (read from the template), invokes the
// function under the emulator and turns the answer back into a response. The
// contract client wraps it, so each answer is checked against openapi.yaml.
type gateway struct {
	fn *function
	// routes is the PayloadFormatVersion of the integration behind each
	// route key of the function (template's functionSpec.routes).
	routes map[string]string
}

// route is the route key API Gateway matches a request to: an explicit
// route whose method and path fit (its path parameters with it), else
// $default.
func (g *gateway) route(req *http.Request) (key string, params map[string]string) {
	for k := range g.routes {
		method, path, ok := strings.Cut(k, " ")
		if !ok || method != req.Method {
			continue
		}
		want, got := strings.Split(path, "/"), strings.Split(req.URL.Path, "/")
		if len(want) != len(got) {
			continue
		}
		p := map[string]string{}
		for i := range want {
			if name, ok := strings.CutPrefix(want[i], "{"); ok && got[i] != "" {
				p[strings.TrimSuffix(name, "}")] = got[i]
			} else if want[i] != got[i] {
				p = nil
				break
			}
		}
		if p != nil {
			return k, p
		}
	}
	return "$default", nil
}

// defaultSourceIP is the client address the gateway reports unless the
// request's context names another (withSourceIP).
const defaultSourceIP = "198.51.100.7"

type sourceIPKey struct{}

// forceBase64 is a request header only the test sets: the gateway then
// base64-encodes the body, as API Gateway does for a type it deems binary.
const forceBase64 = "X-Artefact-Base64-Body"

// withSourceIP makes the gateway report ip as the caller's address, as API
// Gateway reports the TCP peer it saw.
func withSourceIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, sourceIPKey{}, ip)
}

func (g *gateway) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	// The test's marker for a body API Gateway would pass base64-encoded
	// (a type it does not take for text) is not sent on.
	forced := req.Header.Get(forceBase64) != ""
	if forced {
		req = req.Clone(req.Context())
		req.Header.Del(forceBase64)
	}
	ip, _ := req.Context().Value(sourceIPKey{}).(string)
	if ip == "" {
		ip = defaultSourceIP
	}
	key, params := g.route(req)
	version, ok := g.routes[key]
	if !ok {
		// No route matched and the API has no $default route: API
		// Gateway answers 404 without invoking anything.
		return nil, fmt.Errorf("no route of the HTTP API takes %s %s (routes %v)", req.Method, req.URL.Path, g.routes)
	}
	var ev any
	switch version {
	case "2.0":
		v2 := eventV2(req, body, ip, forced)
		v2.RouteKey, v2.RequestContext.RouteKey, v2.PathParameters = key, key, params
		ev = v2
	case "1.0":
		ev = eventV1(req, body, ip)
	default:
		return nil, fmt.Errorf("the HTTP API's integration for %s has payload format version %q, which API Gateway does not send", key, version)
	}
	out, err := g.fn.invoke(req.Context(), ev)
	if err != nil {
		// API Gateway answers a failed invocation with a bare 500.
		return &http.Response{
			StatusCode: http.StatusInternalServerError, Status: "500 Internal Server Error",
			Header:  http.Header{"Content-Type": {"application/json"}},
			Body:    io.NopCloser(strings.NewReader(`{"message":"Internal Server Error"}`)),
			Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		}, nil
	}
	return responseV2(req, out)
}

// eventV2 is the payload format 2.0 event: header names in lower case, a
// header sent twice joined with commas, cookies taken out of the headers
// into their own list, repeated query keys joined with commas in
// queryStringParameters (rawQueryString keeps them apart), and any body
// that is not text base64-encoded.
func eventV2(req *http.Request, body []byte, ip string, forceB64 bool) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{}
	var cookies []string
	for name, values := range req.Header {
		if strings.EqualFold(name, "Cookie") {
			for _, v := range values {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[strings.ToLower(name)] = strings.Join(values, ",")
	}
	headers["host"] = req.URL.Host
	if len(body) > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}
	var query map[string]string
	if q := req.URL.Query(); len(q) > 0 {
		query = map[string]string{}
		for k, vs := range q {
			query[k] = strings.Join(vs, ",")
		}
	}
	text, b64 := encodeBody(req.Header.Get("Content-Type"), body)
	if forceB64 && len(body) > 0 {
		text, b64 = base64.StdEncoding.EncodeToString(body), true
	}
	now := time.Now()
	return events.APIGatewayV2HTTPRequest{
		Version: "2.0", RouteKey: "$default",
		RawPath: req.URL.EscapedPath(), RawQueryString: req.URL.RawQuery,
		Cookies: cookies, Headers: headers, QueryStringParameters: query,
		Body: text, IsBase64Encoded: b64,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey: "$default", AccountID: templateAccount, Stage: "$default",
			RequestID: requestID(), APIID: "artefact", DomainName: req.URL.Host,
			DomainPrefix: strings.Split(req.URL.Host, ".")[0],
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"), TimeEpoch: now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: req.Method, Path: req.URL.Path, Protocol: "HTTP/1.1",
				SourceIP: ip, UserAgent: req.Header.Get("User-Agent"),
			},
		},
	}
}

// eventV1 is the payload format 1.0 event an HTTP API sends when its
// integration says so; the API function must not be given one (the test of
// a wrong version in the template relies on the function failing on it).
func eventV1(req *http.Request, body []byte, ip string) events.APIGatewayProxyRequest {
	headers, multi := map[string]string{}, map[string][]string{}
	for name, values := range req.Header {
		headers[name] = strings.Join(values, ",")
		multi[name] = values
	}
	text, b64 := encodeBody(req.Header.Get("Content-Type"), body)
	return events.APIGatewayProxyRequest{
		Resource: "/{proxy+}", Path: req.URL.Path, HTTPMethod: req.Method,
		Headers: headers, MultiValueHeaders: multi,
		MultiValueQueryStringParameters: req.URL.Query(),
		Body:                            text, IsBase64Encoded: b64,
		RequestContext: events.APIGatewayProxyRequestContext{
			AccountID: templateAccount, Stage: "$default", RequestID: requestID(), APIID: "artefact",
			HTTPMethod: req.Method, Path: req.URL.Path, Identity: events.APIGatewayRequestIdentity{SourceIP: ip},
		},
	}
}

// encodeBody is how API Gateway passes a body: text as it is, anything
// else base64-encoded.
func encodeBody(contentType string, body []byte) (string, bool) {
	if len(body) == 0 {
		return "", false
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	textual := strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json") ||
		mt == "application/x-www-form-urlencoded" || mt == "application/xml"
	if textual && utf8.Valid(body) {
		return string(body), false
	}
	return base64.StdEncoding.EncodeToString(body), true
}

// responseV2 reads the function's answer as API Gateway does: the status,
// single and multi-value headers, cookies as Set-Cookie, the body decoded
// from base64 when the function says so.
func responseV2(req *http.Request, raw json.RawMessage) (*http.Response, error) {
	var ans events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(raw, &ans); err != nil {
		return nil, fmt.Errorf("the API function's answer is no payload 2.0 response: %w: %.300s", err, raw)
	}
	if ans.StatusCode < 100 || ans.StatusCode > 599 {
		return nil, fmt.Errorf("the API function answered status %d: %.300s", ans.StatusCode, raw)
	}
	h := http.Header{}
	for k, v := range ans.Headers {
		h.Set(k, v)
	}
	for k, vs := range ans.MultiValueHeaders {
		h.Del(k)
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range ans.Cookies {
		h.Add("Set-Cookie", c)
	}
	body := []byte(ans.Body)
	if ans.IsBase64Encoded {
		b, err := base64.StdEncoding.DecodeString(ans.Body)
		if err != nil {
			return nil, fmt.Errorf("the API function's base64 body does not decode: %w", err)
		}
		body = b
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	return &http.Response{
		StatusCode: ans.StatusCode, Status: fmt.Sprintf("%d %s", ans.StatusCode, http.StatusText(ans.StatusCode)),
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
		Request: req, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
	}, nil
}

func requestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// apiBase is the address the gateway's requests name: any host will do,
// since nothing but the gateway sees it.
var apiBase = (&url.URL{Scheme: "https", Host: "api.artefact.invalid"}).String()

// TestGatewayMatchesTheTemplatesRoutes holds the gateway to API Gateway's
// matching: an explicit route whose method and path fit, with its path
// parameters, else $default.
func TestGatewayMatchesTheTemplatesRoutes(t *testing.T) {
	g := &gateway{routes: map[string]string{"$default": "2.0", "GET /s/{token}": "2.0", "GET /s/{token}/audio": "2.0"}}
	for _, c := range []struct {
		method, path, key, token string
	}{
		{http.MethodGet, "/s/abc", "GET /s/{token}", "abc"},
		{http.MethodGet, "/s/abc/audio", "GET /s/{token}/audio", "abc"},
		{http.MethodHead, "/s/abc", "$default", ""},
		{http.MethodGet, "/s/", "$default", ""},
		{http.MethodGet, "/v1/recordings/abc", "$default", ""},
	} {
		req, err := http.NewRequest(c.method, apiBase+c.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		key, params := g.route(req)
		if key != c.key || params["token"] != c.token {
			t.Errorf("%s %s: route %q %v; want %q with token %q", c.method, c.path, key, params, c.key, c.token)
		}
	}
}
