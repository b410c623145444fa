package s3

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// publicClient is an S3 client as config.ClientsFrom builds the public one,
// for an endpoint style; nothing here touches the network.
func publicClient(endpoint string, pathStyle bool, token string) *awss3.Client {
	return awss3.New(awss3.Options{
		Region:                     "eu-west-1",
		Credentials:                credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret/EXAMPLE+key", token),
		UsePathStyle:               pathStyle,
		BaseEndpoint:               aws.String(endpoint),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	}, func(o *awss3.Options) {
		if endpoint == "" {
			o.BaseEndpoint = nil
		}
	})
}

// The direct signer (v4.Signer.PresignHTTP) must hand out exactly the URL
// the SDK's presign client would: same host, path, query, signed headers
// and signature, for each endpoint style we run with (MinIO's path style,
// AWS's virtual hosts, a custom endpoint) and with temporary credentials.
func TestDirectPresignMatchesTheSDK(t *testing.T) {
	const bucket = "recordings-bucket"
	// Every printable ASCII character, so each edge of the unreserved
	// ranges ('/' and ':' around the digits, '@' and '[' around the capitals,
	// '`' and '{' around the small letters) is escaped as the SDK escapes it.
	key := "recordings/01USER/01REC name+é !\"#$%&'()*,;<=>?@[\\]^`{|}~:-_.~AZaz09.m4a"
	for _, tc := range []struct {
		name, endpoint string
		pathStyle      bool
		token          string
	}{
		{"path style endpoint", "http://127.0.0.1:9000", true, ""},
		{"aws virtual host", "", false, ""},
		{"custom endpoint virtual host", "https://storage.example.com", false, ""},
		{"session token", "http://127.0.0.1:9000", true, "FwoGZXIvYXdzE+/token=="},
	} {
		t.Run(tc.name, func(t *testing.T) {
			public := publicClient(tc.endpoint, tc.pathStyle, tc.token)
			st := New(nil, public, bucket)
			if st.direct == nil {
				t.Fatal("the direct signer is off for this configuration")
			}
			sdk := awss3.NewPresignClient(public)
			ttl := 15 * time.Minute
			ctx := context.Background()
			for _, op := range []struct {
				name   string
				direct func() (string, error)
				sdk    func() (string, error)
			}{
				{"put", func() (string, error) {
					r, err := st.PresignPut(ctx, key, "audio/mp4", 12345, "", ttl, time.Now())
					return r.URL, err
				}, func() (string, error) {
					r, err := sdk.PresignPutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: &key,
						ContentType: aws.String("audio/mp4"), ContentLength: aws.Int64(12345)}, awss3.WithPresignExpires(ttl))
					if err != nil {
						return "", err
					}
					return r.URL, nil
				}},
				{"put with checksum", func() (string, error) {
					r, err := st.PresignPut(ctx, key, "audio/mp4", 12345, "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=", ttl, time.Now())
					return r.URL, err
				}, func() (string, error) {
					r, err := sdk.PresignPutObject(ctx, &awss3.PutObjectInput{Bucket: aws.String(bucket), Key: &key,
						ContentType: aws.String("audio/mp4"), ContentLength: aws.Int64(12345),
						ChecksumSHA256: aws.String("n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="), ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
					}, awss3.WithPresignExpires(ttl))
					if err != nil {
						return "", err
					}
					return r.URL, nil
				}},
				{"get", func() (string, error) {
					r, err := st.PresignGet(ctx, key, `attachment; filename="a b.m4a"; filename*=UTF-8''a%20b.m4a`, "audio/mp4", ttl, time.Now())
					return r.URL, err
				}, func() (string, error) {
					r, err := sdk.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String(bucket), Key: &key,
						ResponseContentDisposition: aws.String(`attachment; filename="a b.m4a"; filename*=UTF-8''a%20b.m4a`),
						ResponseContentType:        aws.String("audio/mp4")}, awss3.WithPresignExpires(ttl))
					if err != nil {
						return "", err
					}
					return r.URL, nil
				}},
			} {
				t.Run(op.name, func(t *testing.T) {
					// Both sign with the wall clock to the second: try
					// again when a second boundary fell between them.
					for attempt := 0; ; attempt++ {
						d, err := op.direct()
						if err != nil {
							t.Fatal(err)
						}
						s, err := op.sdk()
						if err != nil {
							t.Fatal(err)
						}
						du, su := mustURL(t, d), mustURL(t, s)
						if du.Query().Get("X-Amz-Date") != su.Query().Get("X-Amz-Date") && attempt < 5 {
							continue
						}
						if du.Scheme != su.Scheme || du.Host != su.Host || du.EscapedPath() != su.EscapedPath() {
							t.Fatalf("direct %s\n   sdk %s", d, s)
						}
						dq, sq := du.Query(), su.Query()
						for k := range sq {
							if dq.Get(k) != sq.Get(k) {
								t.Errorf("%s: direct %q, sdk %q", k, dq.Get(k), sq.Get(k))
							}
						}
						for k := range dq {
							if _, ok := sq[k]; !ok {
								t.Errorf("%s only in the direct URL", k)
							}
						}
						if dq.Get("X-Amz-Signature") == "" || dq.Get("X-Amz-SignedHeaders") == "" {
							t.Fatalf("not a presigned URL: %s", d)
						}
						return
					}
				})
			}
		})
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// BenchmarkPresign compares the direct signer with the SDK's presign
// client on a download URL (allocations and time per URL).
func BenchmarkPresign(b *testing.B) {
	public := publicClient("http://127.0.0.1:9000", true, "")
	st := New(nil, public, "recordings-bucket")
	sdk := awss3.NewPresignClient(public)
	key, disp := "recordings/01USER/01REC.m4a", `attachment; filename="a.m4a"`
	ctx := context.Background()
	b.Run("direct", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.PresignGet(ctx, key, disp, "audio/mp4", time.Hour, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := sdk.PresignGetObject(ctx, &awss3.GetObjectInput{Bucket: aws.String("recordings-bucket"), Key: &key,
				ResponseContentDisposition: &disp, ResponseContentType: aws.String("audio/mp4")}, awss3.WithPresignExpires(time.Hour)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
