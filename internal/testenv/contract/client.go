package contract

import (
	"bytes"
	"io"
	"net/http"
	"testing"
)

// Client returns an HTTP client whose every exchange is checked against the
// document (see Validate); a breach fails t but the caller still gets the
// response, so the test's own assertions run too. base is the transport
// underneath (nil means http.DefaultTransport).
//
// Use it for calls to the API only: presigned storage URLs are outside the
// document and would be reported as unknown routes.
func (c *Contract) Client(t testing.TB, base http.RoundTripper) *http.Client {
	if base == nil {
		base = http.DefaultTransport
	}
	return &http.Client{Transport: &checkingTransport{contract: c, t: t, base: base}}
}

type checkingTransport struct {
	contract *Contract
	t        testing.TB
	base     http.RoundTripper
}

func (ct *checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	// A RoundTripper must not change the caller's request, so the body is
	// read from it and sent on a copy, with the length the caller set.
	out := req.Clone(req.Context())
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		_ = req.Body.Close()
		if err != nil {
			return nil, err
		}
		reqBody = b
		out.Body = io.NopCloser(bytes.NewReader(b))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
	}
	resp, err := ct.base.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	ct.contract.Check(ct.t, req, reqBody, resp, respBody)
	return resp, nil
}
