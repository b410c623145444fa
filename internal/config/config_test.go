package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/config"
)

func TestDefaults(t *testing.T) {
	c, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if c.APIAddr != "127.0.0.1:8080" || c.UploadURLTTL != 15*time.Minute || c.DownloadURLTTL != 15*time.Minute ||
		c.PendingUploadTTL != time.Hour || c.SessionTTL != 30*24*time.Hour || c.MaxUploadBytes != 512<<20 ||
		c.S3PathStyle || c.S3PublicEndpoint != "" || c.TablePrefix != "recorder-" ||
		c.MultipartThresholdBytes != 32<<20 || c.MultipartPartSize != 16<<20 || c.MultipartUploadTTL != 24*time.Hour ||
		c.QuotaMaxPendingUploads != 100 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestEndpointsAndPathStyle(t *testing.T) {
	env := map[string]string{"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000/", "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000"}
	c, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if !c.S3PathStyle || c.S3PublicEndpoint != "http://127.0.0.1:9000" || c.DynamoEndpoint != "http://127.0.0.1:8000" {
		t.Fatalf("%+v", c)
	}
	env["S3_PUBLIC_ENDPOINT"] = "http://192.168.1.20:9000"
	c, _ = config.Load(func(k string) string { return env[k] })
	if c.S3PublicEndpoint != "http://192.168.1.20:9000" || c.S3Endpoint != "http://127.0.0.1:9000" {
		t.Fatalf("public endpoint: %+v", c)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	cases := map[string]string{
		"API_ADDR":                  "nonsense",
		"UPLOAD_URL_TTL":            "forever",
		"DOWNLOAD_URL_TTL":          "200h",
		"PENDING_UPLOAD_TTL":        "1m", // shorter than the upload URL's life
		"MAX_UPLOAD_BYTES":          "-1",
		"QUOTA_MAX_RECORDINGS":      "many",
		"QUOTA_MAX_PENDING_UPLOADS": "1001", // the reservations live on the user's item
		"S3_FORCE_PATH_STYLE":       "perhaps",
		"AWS_ENDPOINT_URL_S3":       "not a url",
		"AWS_ENDPOINT_URL_DYNAMODB": "ftp://x",
		"LOG_LEVEL":                 "loud",
		"LOG_FORMAT":                "xml",
		"MULTIPART_PART_SIZE":       "1048576",    // below S3's 5 MiB minimum
		"MULTIPART_THRESHOLD_BYTES": "6442450944", // above one PUT's 5 GiB
		"MULTIPART_UPLOAD_TTL":      "10s",
		"MAX_BODY_BYTES":            "1024", // too small for a complete of MAX_UPLOAD_BYTES in 16 MiB parts
	}
	for name, value := range cases {
		_, err := config.Load(func(k string) string {
			if k == name {
				return value
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s=%q: error %v does not name the variable", name, value, err)
		}
	}
}

// CORS_ALLOWED_ORIGINS is a list of exact origins; anything that is not one
// (a path, a wildcard, another scheme) stops start-up.
func TestCORSAllowedOrigins(t *testing.T) {
	env := map[string]string{"CORS_ALLOWED_ORIGINS": " https://App.Example.com , http://localhost:5173,https://app.example.com/"}
	c, err := config.Load(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.CORSAllowedOrigins, " "); got != "https://app.example.com http://localhost:5173" {
		t.Fatalf("origins %q", got)
	}
	for _, bad := range []string{"*", "https://app.example.com/path", "app.example.com", "ftp://x.example", "https://*.example.com", "https://a.example?x=1", "https://user@a.example"} {
		_, err := config.Load(func(k string) string {
			if k == "CORS_ALLOWED_ORIGINS" {
				return bad
			}
			return ""
		})
		if err == nil || !strings.Contains(err.Error(), "CORS_ALLOWED_ORIGINS") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if c, _ := config.Load(func(string) string { return "" }); len(c.CORSAllowedOrigins) != 0 {
		t.Errorf("default origins %q, want none", c.CORSAllowedOrigins)
	}
}

// Provider settings: complete or refused, and secrets never from a plain
// variable in Lambda.
func TestProviderSettings(t *testing.T) {
	key := "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := config.Load(env("APPLE_TEAM_ID", "T", "APPLE_KEY_ID", "K", "APPLE_PRIVATE_KEY", "pem", "TOKEN_ENCRYPTION_KEY", key,
		"KAKAO_APP_ID", "1", "KAKAO_ADMIN_KEY", "a"))
	if err != nil || !c.Providers.AppleEnabled() || !c.Providers.KakaoEnabled() || c.Providers.AppleBaseURL != "https://appleid.apple.com" ||
		c.Providers.KakaoAPIBaseURL != "https://kapi.kakao.com" {
		t.Fatalf("%+v %v", c.Providers, err)
	}
	for name, getenv := range map[string]func(string) string{
		"no key id":       env("APPLE_TEAM_ID", "T", "APPLE_PRIVATE_KEY", "pem", "TOKEN_ENCRYPTION_KEY", key),
		"no private key":  env("APPLE_TEAM_ID", "T", "APPLE_KEY_ID", "K", "TOKEN_ENCRYPTION_KEY", key),
		"no sealing key":  env("APPLE_TEAM_ID", "T", "APPLE_KEY_ID", "K", "APPLE_PRIVATE_KEY", "pem"),
		"short key":       env("TOKEN_ENCRYPTION_KEY", "c2hvcnQ="),
		"kakao no admin":  env("KAKAO_APP_ID", "1"),
		"plain in lambda": env("AWS_LAMBDA_FUNCTION_NAME", "f", "KAKAO_APP_ID", "1", "KAKAO_ADMIN_KEY", "a"),
		"apple http url":  env("APPLE_BASE_URL", "ftp://x"),
		"kms and local":   env("APPLE_TEAM_ID", "T", "APPLE_KEY_ID", "K", "APPLE_PRIVATE_KEY_SECRET", "arn", "TOKEN_ENCRYPTION_KEY", key, "TOKEN_KMS_KEY_ID", "k"),
	} {
		if _, err := config.Load(getenv); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := config.Load(env("AWS_LAMBDA_FUNCTION_NAME", "f", "APPLE_TEAM_ID", "T", "APPLE_KEY_ID", "K", "APPLE_PRIVATE_KEY_SECRET", "arn",
		"TOKEN_KMS_KEY_ID", "k", "KAKAO_APP_ID", "1", "KAKAO_ADMIN_KEY_SECRET", "arn2")); err != nil {
		t.Fatalf("secrets from Secrets Manager in Lambda refused: %v", err)
	}
}
