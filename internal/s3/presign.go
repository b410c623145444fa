package s3

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// signer presigns GET and PUT object URLs with v4.Signer.PresignHTTP
// directly. The SDK's presign client runs a whole operation pipeline
// (serialisers, endpoint rules, a dozen middlewares) for each URL: about
// three times the CPU and five times the allocations (issue 21). The URL it
// builds is the same one: TestDirectPresignMatchesTheSDK compares
// signatures and signed headers for every endpoint style we use.
type signer struct {
	v4     *v4.Signer
	creds  aws.CredentialsProvider
	region string
	// base is the URL of the bucket's root: https://bucket.s3.region.amazonaws.com,
	// or endpoint/bucket for a path-style endpoint.
	base *url.URL
}

// directSigning is false only in a build with the presign_sdk tag
// (presign_sdk.go), which the bench compares with the default build.
var directSigning = true

// payload is what a presigned S3 URL signs in place of the body's hash.
const unsignedPayload = "UNSIGNED-PAYLOAD"

// newSigner returns a direct signer for public's configuration, or nil when
// it uses something the direct path does not reproduce (FIPS, dual-stack,
// acceleration, a bucket name that cannot be a host name): the SDK's
// presign client then does the work.
func newSigner(public *awss3.Client, bucket string) *signer {
	if public == nil {
		return nil
	}
	o := public.Options()
	if o.UseAccelerate || o.UseDualstack || o.UseARNRegion || o.EndpointOptions.UseFIPSEndpoint == aws.FIPSEndpointStateEnabled ||
		o.EndpointOptions.UseDualStackEndpoint == aws.DualStackEndpointStateEnabled || o.Region == "" || o.Credentials == nil {
		return nil
	}
	var base *url.URL
	if o.BaseEndpoint != nil {
		u, err := url.Parse(*o.BaseEndpoint)
		if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil
		}
		if o.UsePathStyle {
			u.Path = "/" + bucket
		} else {
			if !hostBucket(bucket) {
				return nil
			}
			u.Host, u.Path = bucket+"."+u.Host, ""
		}
		base = u
	} else {
		if o.UsePathStyle || !hostBucket(bucket) || strings.Contains(bucket, ".") {
			return nil
		}
		base = &url.URL{Scheme: "https", Host: bucket + ".s3." + o.Region + ".amazonaws.com"}
	}
	creds := o.Credentials
	if _, cached := creds.(*aws.CredentialsCache); !cached {
		creds = aws.NewCredentialsCache(creds)
	}
	return &signer{
		v4: v4.NewSigner(func(so *v4.SignerOptions) {
			// The key is escaped once, here, as S3 expects; the signer
			// must not escape it again.
			so.DisableURIPathEscaping = true
		}),
		creds: creds, region: o.Region, base: base,
	}
}

// hostBucket reports a bucket name that is also a DNS label sequence.
func hostBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return b[0] != '-' && b[len(b)-1] != '-'
}

// escapeKey escapes an object key for a URL path the way S3 and the SDK do:
// every byte but the unreserved characters and '/'.
func escapeKey(key string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(key) + 8)
	for i := 0; i < len(key); i++ {
		c := key[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// presign signs method on key with the query parameters and headers given,
// valid for ttl from the wall clock (like the SDK: storage compares the
// signing time with its own clock, not ours). op is the operation name the
// SDK puts in x-id, kept so the two paths make identical URLs.
func (s *signer) presign(ctx context.Context, method, key, op string, query url.Values, headers http.Header, contentLength int64, ttl time.Duration) (string, error) {
	creds, err := s.creds.Retrieve(ctx)
	if err != nil {
		return "", fmt.Errorf("credentials: %w", err)
	}
	u := *s.base
	u.RawPath = strings.TrimSuffix(u.Path, "/") + "/" + escapeKey(key)
	u.Path = strings.TrimSuffix(u.Path, "/") + "/" + key
	if query == nil {
		query = url.Values{}
	}
	query.Set("x-id", op)
	query.Set("X-Amz-Expires", strconv.FormatInt(int64(ttl/time.Second), 10))
	u.RawQuery = query.Encode()
	req := &http.Request{Method: method, URL: &u, Host: u.Host, Header: headers, ContentLength: contentLength}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	signed, _, err := s.v4.PresignHTTP(ctx, creds, req, unsignedPayload, "s3", s.region, time.Now().UTC())
	if err != nil {
		return "", err
	}
	return signed, nil
}
