package s3

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
)

// The direct signer takes only the configurations whose URL it builds
// exactly as the SDK does; every other one must fall back to the presign
// client, or it would hand out URLs storage refuses.
func TestDirectSignerOnlyForConfigurationsItReproduces(t *testing.T) {
	with := func(endpoint string, pathStyle bool, edit func(*awss3.Options)) *awss3.Client {
		c := publicClient(endpoint, pathStyle, "")
		return awss3.New(c.Options(), edit)
	}
	for _, tc := range []struct {
		name   string
		client *awss3.Client
		bucket string
		direct bool
	}{
		{"path style endpoint", with("http://127.0.0.1:9000", true, func(*awss3.Options) {}), "recordings-bucket", true},
		{"aws virtual host", with("", false, func(*awss3.Options) {}), "recordings-bucket", true},
		{"accelerate", with("", false, func(o *awss3.Options) { o.UseAccelerate = true }), "recordings-bucket", false},
		{"dual stack", with("", false, func(o *awss3.Options) { o.UseDualstack = true }), "recordings-bucket", false},
		{"dual stack endpoint", with("", false, func(o *awss3.Options) {
			o.EndpointOptions.UseDualStackEndpoint = aws.DualStackEndpointStateEnabled
		}), "recordings-bucket", false},
		{"FIPS", with("", false, func(o *awss3.Options) { o.EndpointOptions.UseFIPSEndpoint = aws.FIPSEndpointStateEnabled }), "recordings-bucket", false},
		{"ARN region", with("", false, func(o *awss3.Options) { o.UseARNRegion = true }), "recordings-bucket", false},
		{"no region", with("", false, func(o *awss3.Options) { o.Region = "" }), "recordings-bucket", false},
		{"no credentials", with("", false, func(o *awss3.Options) { o.Credentials = nil }), "recordings-bucket", false},
		{"endpoint with a path", with("https://storage.example.com/s3", false, func(*awss3.Options) {}), "recordings-bucket", false},
		{"endpoint with a query", with("https://storage.example.com/?x=1", false, func(*awss3.Options) {}), "recordings-bucket", false},
		{"endpoint, bucket not a host name", with("https://storage.example.com", false, func(*awss3.Options) {}), "Recordings", false},
		{"aws, dotted bucket", with("", false, func(*awss3.Options) {}), "recordings.example", false},
		{"aws, path style", with("", true, func(*awss3.Options) {}), "recordings-bucket", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := newSigner(tc.client, tc.bucket) != nil; got != tc.direct {
				t.Fatalf("direct signer %v, want %v", got, tc.direct)
			}
		})
	}
}

// hostBucket accepts exactly the names that can be a virtual host: 3 to 63
// lower-case letters, digits, '-' and '.', not starting or ending in '-'.
func TestHostBucketNames(t *testing.T) {
	for name, want := range map[string]bool{
		"abc": true, strings.Repeat("a", 63): true, "a-b.c9": true, "0az": true, "z09": true,
		"ab": false, strings.Repeat("a", 64): false, "-abc": false, "abc-": false,
		"a`c": false, "a{c": false, "a/c": false, "a:c": false, "aBc": false, "a_c": false,
	} {
		if got := hostBucket(name); got != want {
			t.Errorf("hostBucket(%q) = %v, want %v", name, got, want)
		}
	}
}
