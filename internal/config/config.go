// Package config reads the backend's configuration from the environment. Every
// variable is documented in the README's configuration table; a bad value
// fails start-up with a message that names the variable.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/voicerec/backend/internal/recording"
)

// Config is what the API and the events handler need to run.
type Config struct {
	APIAddr string // listen address in server mode
	// DebugAddr, when set, serves Go's runtime profiles (net/http/pprof) in
	// server mode: for benchmarks and operators on a laptop, never in Lambda.
	DebugAddr string

	Region      string
	TablePrefix string
	Bucket      string

	// Emulator endpoints (the SDK's standard variable names). Empty means AWS.
	DynamoEndpoint string
	S3Endpoint     string
	// S3PublicEndpoint is the endpoint written into presigned URLs, so a phone
	// on the LAN can reach a local MinIO the server itself talks to on loopback.
	S3PublicEndpoint string
	S3PathStyle      bool

	UploadURLTTL     time.Duration
	DownloadURLTTL   time.Duration
	PendingUploadTTL time.Duration
	// UploadGrace is how long after its window a pending upload may still
	// land (a PUT that began before its URL expired); the reconciler closes
	// the record only after it.
	UploadGrace time.Duration
	// TrashRetention is how long a deleted recording can be restored.
	TrashRetention time.Duration
	// ChangesRetention is how long the change feed keeps a change; a
	// cursor older than that must resync from a full listing.
	ChangesRetention time.Duration
	// ReconcileInterval is how often the local stack's reconciler runs (on
	// AWS a schedule in infra/ does); ReconcileMaxItems bounds one pass.
	ReconcileInterval time.Duration
	ReconcileMaxItems int
	SessionTTL        time.Duration
	// AccessTokenTTL is how long a bearer token from a sign-in or a
	// refresh is good for; RefreshTokenTTL how long a refresh token is, each
	// refresh starting it afresh (sliding).
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	// EventsFunctionName is the events Lambda the API invokes to converge
	// a recording at complete, so the API's own function never reads
	// audio; empty converges in-process (the local stack, tests).
	EventsFunctionName string

	// ExportRetention is how long an export's archive and record are kept;
	// ExportWorkerTimeout bounds one attempt of the export worker (its
	// Lambda timeout on AWS) and is how old an export's multipart upload
	// must be before the reconciler aborts it; ExportQueueURL is the SQS
	// queue the API starts the worker through (empty: the worker runs in
	// this process, as in the local stack).
	ExportRetention     time.Duration
	ExportWorkerTimeout time.Duration
	ExportQueueURL      string

	MaxUploadBytes int64
	// MultipartThresholdBytes is the declared size from which an upload is
	// a multipart upload (parts uploaded through presigned part URLs) rather
	// than one PUT; MultipartPartSize is the part size it starts from (grown
	// when a file would need more than 10,000 parts); MultipartUploadTTL is
	// a multipart upload's window, longer than PENDING_UPLOAD_TTL because a
	// slow network may need hours.
	MultipartThresholdBytes int64
	MultipartPartSize       int64
	MultipartUploadTTL      time.Duration
	QuotaMaxBytes           int64
	QuotaMaxRecordings      int64
	// QuotaMaxPendingUploads bounds a user's uploads in flight at once.
	// Each one is a reservation on the user's item, which must stay small.
	QuotaMaxPendingUploads int
	MaxBodyBytes           int64

	LoginRateLimit float64 // login attempts per minute per client address
	LoginBurst     int
	// LoginIdentityRateLimit is sign-ins per hour per provider account
	// (provider and subject), counted once the ID token is verified.
	LoginIdentityRateLimit float64
	LoginIdentityBurst     int
	// AuthFailureRateLimit is failed session checks (a missing, malformed,
	// unknown, expired or revoked bearer token) per minute per client
	// address; AuthFailureBurst how many at once. Once an address has spent
	// them, its requests without a token this instance knows to be valid
	// are refused 429 before any DynamoDB read.
	AuthFailureRateLimit float64
	AuthFailureBurst     int
	// ShareRateLimit is requests to shared links (/s/...) per minute per
	// client address, ShareBurst how many at once: counted before any
	// DynamoDB read, so guessing tokens costs the guesser, not the table.
	ShareRateLimit float64
	ShareBurst     int

	RequestTimeout time.Duration

	// CORSAllowedOrigins are the web origins that may call the API from a
	// browser (exact scheme://host[:port], lowercase). Empty: no CORS.
	CORSAllowedOrigins []string
	// WebGoogleClientID is the OAuth web client the companion at /app/
	// signs in with through Google Identity Services; it must also be one
	// of GOOGLE_CLIENT_IDS, or the API refuses the tokens it gets.
	WebGoogleClientID string

	LogLevel  slog.Level
	LogFormat string // json or text

	Providers ProviderSettings
	// OIDC are the identity providers whose ID tokens sign users in,
	// sorted by name.
	OIDC []OIDCProvider

	// Transcription is how confirmed recordings are transcribed.
	Transcription Transcription
}

// ProviderSettings are what the server needs to act on a user's behalf at
// the identity providers (token revocation, unlink). Secrets come from
// Secrets Manager on AWS (the *Secret fields name the secret); the plain
// variables are for the local stack and refused in Lambda.
type ProviderSettings struct {
	AppleTeamID, AppleKeyID string
	ApplePrivateKey         string // PEM (local only)
	ApplePrivateKeySecret   string // Secrets Manager secret id or ARN
	AppleBaseURL            string

	KakaoAdminKey       string // local only
	KakaoAdminKeySecret string // Secrets Manager secret id or ARN
	KakaoAppID          string
	KakaoAPIBaseURL     string

	// TokenEncryptionKey is base64 of 32 bytes (local); TokenKMSKeyID a
	// KMS key for envelope encryption (AWS). One of them is needed when
	// Apple is configured.
	TokenEncryptionKey string
	TokenKMSKeyID      string
}

// AppleEnabled reports whether Apple tokens are exchanged and revoked.
func (p ProviderSettings) AppleEnabled() bool { return p.AppleTeamID != "" }

// KakaoEnabled reports whether Kakao unlink (both ways) is on.
func (p ProviderSettings) KakaoEnabled() bool { return p.KakaoAppID != "" }

// Default values, also quoted in the README.
const (
	DefaultAPIAddr     = "127.0.0.1:8080"
	DefaultRegion      = "us-east-1"
	DefaultTablePrefix = "recorder-"
	DefaultBucket      = "recorder-recordings"
)

// S3's multipart bounds: parts (all but the last) of at least 5 MiB, at
// most 10,000 parts, and at most 5 GiB in one PUT or one part.
const (
	MinPartSize = 5 << 20
	MaxParts    = 10000
	MaxPutBytes = 5 << 30
)

// completeBytesPerPart bounds one part's entry in a complete's body:
// {"part_number":10000,"etag":"\"<32 hex digits>\""}, and a comma.
const completeBytesPerPart = 64

// maxPresignTTL is SigV4's upper bound for a presigned URL's lifetime.
const maxPresignTTL = 7 * 24 * time.Hour

// Load reads the configuration through getenv (os.Getenv in production, a
// map in tests) and reports every bad variable at once.
func Load(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		APIAddr:          r.str("API_ADDR", DefaultAPIAddr),
		DebugAddr:        r.str("DEBUG_ADDR", ""),
		Region:           r.str("AWS_REGION", r.str("AWS_DEFAULT_REGION", DefaultRegion)),
		TablePrefix:      r.str("DYNAMODB_TABLE_PREFIX", DefaultTablePrefix),
		Bucket:           r.str("S3_BUCKET", DefaultBucket),
		DynamoEndpoint:   r.endpoint("AWS_ENDPOINT_URL_DYNAMODB"),
		S3Endpoint:       r.endpoint("AWS_ENDPOINT_URL_S3"),
		S3PublicEndpoint: r.endpoint("S3_PUBLIC_ENDPOINT"),

		UploadURLTTL:     r.duration("UPLOAD_URL_TTL", 15*time.Minute, time.Second, maxPresignTTL),
		DownloadURLTTL:   r.duration("DOWNLOAD_URL_TTL", 15*time.Minute, time.Second, maxPresignTTL),
		PendingUploadTTL: r.duration("PENDING_UPLOAD_TTL", time.Hour, time.Minute, 7*24*time.Hour),
		UploadGrace:      r.duration("UPLOAD_GRACE", 30*time.Minute, 0, 24*time.Hour),
		TrashRetention:   r.duration("TRASH_RETENTION", 30*24*time.Hour, 0, 365*24*time.Hour),
		ChangesRetention: r.duration("CHANGES_RETENTION", 90*24*time.Hour, time.Second, 3650*24*time.Hour),

		ReconcileInterval: r.duration("RECONCILE_INTERVAL", time.Minute, time.Second, 24*time.Hour),
		ReconcileMaxItems: int(r.int64("RECONCILE_MAX_ITEMS", 1000, 1, 1<<20)),
		SessionTTL:        r.duration("SESSION_TTL", 30*24*time.Hour, time.Minute, 365*24*time.Hour),
		AccessTokenTTL:    r.duration("ACCESS_TOKEN_TTL", time.Hour, time.Minute, 30*24*time.Hour),
		RefreshTokenTTL:   r.duration("REFRESH_TOKEN_TTL", 90*24*time.Hour, time.Hour, 365*24*time.Hour),

		EventsFunctionName: r.str("EVENTS_FUNCTION_NAME", ""),

		ExportRetention:     r.duration("EXPORT_RETENTION", 7*24*time.Hour, time.Hour, 90*24*time.Hour),
		ExportWorkerTimeout: r.duration("EXPORT_WORKER_TIMEOUT", 15*time.Minute, time.Minute, 15*time.Minute),
		ExportQueueURL:      r.str("EXPORT_QUEUE_URL", ""),

		MaxUploadBytes: r.int64("MAX_UPLOAD_BYTES", 512<<20, 1, 5<<40),

		MultipartThresholdBytes: r.int64("MULTIPART_THRESHOLD_BYTES", 32<<20, MinPartSize, MaxPutBytes),
		MultipartPartSize:       r.int64("MULTIPART_PART_SIZE", 16<<20, MinPartSize, MaxPutBytes),
		MultipartUploadTTL:      r.duration("MULTIPART_UPLOAD_TTL", 24*time.Hour, time.Minute, 7*24*time.Hour),
		QuotaMaxBytes:           r.int64("QUOTA_MAX_BYTES", 10<<30, 1, 1<<50),
		QuotaMaxRecordings:      r.int64("QUOTA_MAX_RECORDINGS", 10000, 1, 1<<31),
		QuotaMaxPendingUploads:  int(r.int64("QUOTA_MAX_PENDING_UPLOADS", 100, 1, 1000)),
		MaxBodyBytes:            r.int64("MAX_BODY_BYTES", 64<<10, 1<<10, 10<<20),

		LoginRateLimit: float64(r.int64("LOGIN_RATE_LIMIT", 30, 1, 1<<20)),
		LoginBurst:     int(r.int64("LOGIN_RATE_BURST", 10, 1, 1<<20)),

		LoginIdentityRateLimit: float64(r.int64("LOGIN_IDENTITY_RATE_LIMIT", 20, 1, 1<<20)),
		LoginIdentityBurst:     int(r.int64("LOGIN_IDENTITY_RATE_BURST", 5, 1, 1<<20)),

		// A phone whose token expired gets a handful of 401s and signs in
		// again; a flood of made-up tokens is cut to one read a second.
		AuthFailureRateLimit: float64(r.int64("AUTH_FAILURE_RATE_LIMIT", 60, 1, 1<<20)),
		AuthFailureBurst:     int(r.int64("AUTH_FAILURE_RATE_BURST", 30, 1, 1<<20)),

		// A page view and its audio are two requests; a player may ask
		// for the audio again when it seeks past what it buffered.
		ShareRateLimit: float64(r.int64("SHARE_RATE_LIMIT", 60, 1, 1<<20)),
		ShareBurst:     int(r.int64("SHARE_RATE_BURST", 20, 1, 1<<20)),

		RequestTimeout: r.duration("REQUEST_TIMEOUT", 10*time.Second, 100*time.Millisecond, 60*time.Second),

		LogFormat: r.oneOf("LOG_FORMAT", "json", "json", "text"),
	}
	c.LogLevel = r.level("LOG_LEVEL", slog.LevelInfo)
	c.WebGoogleClientID = strings.TrimSpace(r.getenv("WEB_GOOGLE_CLIENT_ID"))
	if origins, err := ParseOrigins(r.getenv("CORS_ALLOWED_ORIGINS")); err != nil {
		r.fail("CORS_ALLOWED_ORIGINS", "%v", err)
	} else {
		c.CORSAllowedOrigins = origins
	}
	if c.S3PublicEndpoint == "" {
		c.S3PublicEndpoint = c.S3Endpoint
	}
	// Emulators want path-style addressing; AWS prefers virtual-hosted style.
	c.S3PathStyle = r.boolean("S3_FORCE_PATH_STYLE", c.S3Endpoint != "")
	if _, _, err := net.SplitHostPort(c.APIAddr); err != nil {
		r.fail("API_ADDR", "want host:port, got %q", c.APIAddr)
	}
	if _, _, err := net.SplitHostPort(c.DebugAddr); c.DebugAddr != "" && err != nil {
		r.fail("DEBUG_ADDR", "want host:port, got %q", c.DebugAddr)
	}
	if c.PendingUploadTTL < c.UploadURLTTL {
		// An upload may finish only after its record is gone otherwise.
		r.fail("PENDING_UPLOAD_TTL", "must be at least UPLOAD_URL_TTL (%s)", c.UploadURLTTL)
	}
	if c.MultipartUploadTTL < c.UploadURLTTL {
		r.fail("MULTIPART_UPLOAD_TTL", "must be at least UPLOAD_URL_TTL (%s)", c.UploadURLTTL)
	}
	if c.MaxUploadBytes >= c.MultipartThresholdBytes {
		// A complete names every part in its body: the largest upload's
		// must fit in MAX_BODY_BYTES.
		parts := c.MaxUploadBytes / recording.PartSizeFor(c.MaxUploadBytes, c.MultipartPartSize, MaxParts)
		if need := (parts+1)*completeBytesPerPart + 64; need > c.MaxBodyBytes {
			r.fail("MAX_BODY_BYTES", "must be at least %d so a complete of MAX_UPLOAD_BYTES in %d parts fits; or raise MULTIPART_PART_SIZE", need, parts+1)
		}
	}
	if c.MaxUploadBytes > c.QuotaMaxBytes {
		r.fail("MAX_UPLOAD_BYTES", "must not exceed QUOTA_MAX_BYTES (%d)", c.QuotaMaxBytes)
	}
	c.Providers = r.providers()
	c.Transcription = r.transcription()
	if ps, err := oidcProviders(r.getenv); err != nil {
		r.errs = append(r.errs, err)
	} else {
		c.OIDC = ps
	}
	if err := errors.Join(r.errs...); err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return c, nil
}

// ParseOrigins reads a comma-separated list of web origins, as
// CORS_ALLOWED_ORIGINS and the CDK app's corsOrigins context take it: each an
// http(s) scheme and host, optionally a port, nothing else (no path, no
// wildcard: an origin not listed exactly gets no CORS headers). They come
// back lowercase, without a trailing slash, without duplicates.
func ParseOrigins(list string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, o := range strings.Split(list, ",") {
		o = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(o)), "/")
		if o == "" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(u.Host, "*") || u.Opaque != "" {
			return nil, fmt.Errorf("%q is not an origin (want scheme://host[:port], e.g. https://app.example.com)", o)
		}
		if !seen[o] {
			seen[o] = true
			out = append(out, o)
		}
	}
	return out, nil
}

func (r *reader) providers() ProviderSettings {
	p := ProviderSettings{
		AppleTeamID:           r.str("APPLE_TEAM_ID", ""),
		AppleKeyID:            r.str("APPLE_KEY_ID", ""),
		ApplePrivateKey:       strings.TrimSpace(r.getenv("APPLE_PRIVATE_KEY")),
		ApplePrivateKeySecret: r.str("APPLE_PRIVATE_KEY_SECRET", ""),
		AppleBaseURL:          r.endpoint("APPLE_BASE_URL"),
		KakaoAdminKey:         r.str("KAKAO_ADMIN_KEY", ""),
		KakaoAdminKeySecret:   r.str("KAKAO_ADMIN_KEY_SECRET", ""),
		KakaoAppID:            r.str("KAKAO_APP_ID", ""),
		KakaoAPIBaseURL:       r.endpoint("KAKAO_API_BASE_URL"),
		TokenEncryptionKey:    r.str("TOKEN_ENCRYPTION_KEY", ""),
		TokenKMSKeyID:         r.str("TOKEN_KMS_KEY_ID", ""),
	}
	if p.AppleBaseURL == "" {
		p.AppleBaseURL = "https://appleid.apple.com"
	}
	if p.KakaoAPIBaseURL == "" {
		p.KakaoAPIBaseURL = "https://kapi.kakao.com"
	}
	inLambda := r.getenv("AWS_LAMBDA_FUNCTION_NAME") != ""
	if p.AppleEnabled() {
		if p.AppleKeyID == "" {
			r.fail("APPLE_KEY_ID", "required with APPLE_TEAM_ID")
		}
		if (p.ApplePrivateKey == "") == (p.ApplePrivateKeySecret == "") {
			r.fail("APPLE_PRIVATE_KEY_SECRET", "give exactly one of APPLE_PRIVATE_KEY_SECRET and APPLE_PRIVATE_KEY with APPLE_TEAM_ID")
		}
		if (p.TokenEncryptionKey == "") == (p.TokenKMSKeyID == "") {
			r.fail("TOKEN_KMS_KEY_ID", "give exactly one of TOKEN_KMS_KEY_ID and TOKEN_ENCRYPTION_KEY with APPLE_TEAM_ID")
		}
	}
	if p.TokenEncryptionKey != "" {
		if k, err := base64.StdEncoding.DecodeString(p.TokenEncryptionKey); err != nil || len(k) != 32 {
			r.fail("TOKEN_ENCRYPTION_KEY", "want standard base64 of 32 random bytes (openssl rand -base64 32)")
		}
	}
	if p.KakaoEnabled() && (p.KakaoAdminKey == "") == (p.KakaoAdminKeySecret == "") {
		r.fail("KAKAO_ADMIN_KEY_SECRET", "give exactly one of KAKAO_ADMIN_KEY_SECRET and KAKAO_ADMIN_KEY with KAKAO_APP_ID")
	}
	if inLambda {
		// Secrets never sit in a function's plain environment.
		for _, v := range []struct{ name, value string }{
			{"APPLE_PRIVATE_KEY", p.ApplePrivateKey}, {"KAKAO_ADMIN_KEY", p.KakaoAdminKey}, {"TOKEN_ENCRYPTION_KEY", p.TokenEncryptionKey},
		} {
			if v.value != "" {
				r.fail(v.name, "not accepted in Lambda; use the _SECRET (or TOKEN_KMS_KEY_ID) variable")
			}
		}
	}
	return p
}

type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

func (r *reader) endpoint(name string) string {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		r.fail(name, "want an http(s) URL, got %q", v)
		return ""
	}
	return strings.TrimRight(v, "/")
}

func (r *reader) duration(name string, def, lo, hi time.Duration) time.Duration {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.fail(name, "want a duration such as 15m, got %q", v)
		return def
	}
	if d < lo || d > hi {
		r.fail(name, "must be between %s and %s, got %s", lo, hi, d)
	}
	return d
}

func (r *reader) int64(name string, def, lo, hi int64) int64 {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		r.fail(name, "want a whole number, got %q", v)
		return def
	}
	if n < lo || n > hi {
		r.fail(name, "must be between %d and %d, got %d", lo, hi, n)
	}
	return n
}

func (r *reader) boolean(name string, def bool) bool {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, "want true or false, got %q", v)
		return def
	}
	return b
}

func (r *reader) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(r.str(name, def))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, "want one of %s, got %q", strings.Join(allowed, ", "), v)
	return def
}

func (r *reader) level(name string, def slog.Level) slog.Level {
	v := strings.TrimSpace(r.getenv(name))
	if v == "" {
		return def
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		r.fail(name, "want debug, info, warn or error, got %q", v)
		return def
	}
	return l
}
