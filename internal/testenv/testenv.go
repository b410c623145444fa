// Package testenv gives tests the real emulators: one DynamoDB Local and one
// MinIO per `go test` package binary, started on free loopback ports the
// first time a test asks, and stopped when the package's tests end. Tests
// isolate themselves with unique table prefixes and buckets.
//
// A package that uses it calls testenv.Main from TestMain. If the emulators
// cannot start, every test that needs them fails: there is no skip, in CI or
// anywhere else, so a green run always means the real thing was exercised.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/voicerec/backend/internal/awsclients"
	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/devstack"
	"github.com/voicerec/backend/internal/s3"
	"github.com/voicerec/backend/internal/s3event"
)

// WebhookID is the MinIO notification target the harness registers.
const WebhookID = "TESTENV"

// Env is the running emulator pair.
type Env struct {
	Dynamo *devstack.Process
	MinIO  *devstack.Process
	dir    string
	hook   *http.Server

	mu    sync.Mutex
	sinks map[string]func(context.Context, events.S3Event) error // by bucket
}

var (
	once     sync.Once
	shared   *Env
	startErr error
)

// Main runs the package's tests and stops the emulators afterwards.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.stop()
	}
	os.Exit(code)
}

// MainThen is Main for a package that starts processes of its own on the
// emulators: after runs once the tests end, before the emulators stop.
func MainThen(m *testing.M, after func()) {
	code := m.Run()
	after()
	if shared != nil {
		shared.stop()
	}
	os.Exit(code)
}

// Get returns the package's emulators, starting them on first use.
func Get(t testing.TB) *Env {
	t.Helper()
	once.Do(func() { shared, startErr = start(false) })
	if startErr != nil {
		t.Fatalf("emulators unavailable (run `make test`, which installs them): %v", startErr)
	}
	return shared
}

// start runs an emulator pair. queued gives MinIO's webhook target a queue
// directory, as the local stack has: failed deliveries are retried, but
// every delivery then waits for MinIO's 3-second store poll, so only the
// tests of redelivery pay for it.
func start(queued bool) (*Env, error) {
	jar, minioBin, err := tools()
	if err != nil {
		return nil, err
	}
	// The emulators' ports are picked free and then bound by another
	// process; with tests in parallel, another listener can take one in
	// between. A start that failed is tried again on new ports. The last
	// failure keeps its folder: its error points there for the logs.
	for attempt := 1; ; attempt++ {
		e, err := startOnce(queued, jar, minioBin)
		switch {
		case err == nil:
			return e, nil
		case attempt == 3:
			if e != nil {
				e.halt()
			}
			return nil, err
		case e != nil:
			e.stop()
		}
	}
}

// startOnce makes one attempt; on failure it returns what it started, if
// anything, for the caller to stop.
func startOnce(queued bool, jar, minioBin string) (*Env, error) {
	dir, err := os.MkdirTemp("", "recorder-testenv-")
	if err != nil {
		return nil, err
	}
	e := &Env{dir: dir, sinks: map[string]func(context.Context, events.S3Event) error{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return e, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	token := devstack.NewToken()
	e.hook = &http.Server{Handler: s3event.Webhook(e.dispatch, token, log), ReadHeaderTimeout: 5 * time.Second}
	go e.hook.Serve(ln)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ddbAddr, err := devstack.FreeAddr()
	if err != nil {
		return e, err
	}
	ddbLog, err := os.Create(filepath.Join(dir, "dynamodb.log"))
	if err != nil {
		return e, err
	}
	minioAddr, err := devstack.FreeAddr()
	if err != nil {
		return e, err
	}
	minioLog, err := os.Create(filepath.Join(dir, "minio.log"))
	if err != nil {
		return e, err
	}
	queueDir := ""
	if queued {
		queueDir = filepath.Join(dir, "events-queue")
	}
	// Start both at once: together they take about as long as the slower.
	var wg sync.WaitGroup
	var ddbErr, minioErr error
	wg.Add(2)
	go func() {
		defer wg.Done()
		e.Dynamo, ddbErr = devstack.StartDynamoDB(ctx, devstack.DynamoDBOptions{Jar: jar, Addr: ddbAddr, Log: ddbLog})
	}()
	go func() {
		defer wg.Done()
		e.MinIO, minioErr = devstack.StartMinIO(ctx, devstack.MinIOOptions{
			Binary: minioBin, Addr: minioAddr, DataDir: filepath.Join(dir, "minio"), Log: minioLog,
			Webhooks: map[string]devstack.Webhook{WebhookID: {
				URL: "http://" + ln.Addr().String() + "/events", AuthToken: token, QueueDir: queueDir,
			}},
		})
	}()
	wg.Wait()
	if ddbErr != nil || minioErr != nil {
		return e, fmt.Errorf("dynamodb: %v; minio: %v (logs in %s)", ddbErr, minioErr, dir)
	}
	return e, nil
}

// tools finds the emulators the Makefile installed: through the variables
// it exports, or by looking for the repo's .local folder.
func tools() (jar, minioBin string, err error) {
	jar, minioBin = os.Getenv("DYNAMODB_LOCAL_JAR"), os.Getenv("MINIO_BINARY")
	if jar != "" && minioBin != "" {
		return jar, minioBin, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", "", err
	}
	for {
		local := filepath.Join(dir, ".local")
		if _, err := os.Stat(local); err == nil {
			if jar == "" {
				m, _ := filepath.Glob(filepath.Join(local, "dynamodb-*", "DynamoDBLocal.jar"))
				if len(m) > 0 {
					jar = m[len(m)-1]
				}
			}
			if minioBin == "" {
				m, _ := filepath.Glob(filepath.Join(local, "bin", "minio-*"))
				if len(m) > 0 {
					minioBin = m[len(m)-1]
				}
			}
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	if jar == "" || minioBin == "" {
		return "", "", fmt.Errorf("DynamoDB Local or MinIO not installed; run `make tools` (or `make test`)")
	}
	return jar, minioBin, nil
}

func (e *Env) stop() {
	e.halt()
	_ = os.RemoveAll(e.dir)
}

// halt stops the emulators and the webhook but keeps their folder and logs.
func (e *Env) halt() {
	if e.hook != nil {
		_ = e.hook.Close()
	}
	if e.MinIO != nil {
		_ = e.MinIO.Stop()
	}
	if e.Dynamo != nil {
		_ = e.Dynamo.Stop()
	}
}

// StartPrivate starts an emulator pair for one test alone, stopped when the
// test ends; for tests that stop an emulator on purpose.
func StartPrivate(t testing.TB) *Env {
	t.Helper()
	return startPrivate(t, false)
}

// StartQueued is StartPrivate with MinIO's webhook queue, as in the local
// stack: a delivery the handler fails is delivered again.
func StartQueued(t testing.TB) *Env {
	t.Helper()
	return startPrivate(t, true)
}

func startPrivate(t testing.TB, queued bool) *Env {
	t.Helper()
	e, err := start(queued)
	if err != nil {
		t.Fatalf("emulators unavailable (run `make test`, which installs them): %v", err)
	}
	t.Cleanup(e.stop)
	return e
}

// StopMinIO stops MinIO for good; for tests of what happens without it. A
// package that calls it must not need MinIO in later tests.
func (e *Env) StopMinIO() { _ = e.MinIO.Stop() }

// StopDynamoDB stops DynamoDB Local for good, like StopMinIO.
func (e *Env) StopDynamoDB() { _ = e.Dynamo.Stop() }

func (e *Env) dispatch(ctx context.Context, ev events.S3Event) error {
	for _, rec := range ev.Records {
		e.mu.Lock()
		fn := e.sinks[rec.S3.Bucket.Name]
		e.mu.Unlock()
		if fn == nil {
			continue // a finished test's bucket
		}
		if err := fn(ctx, events.S3Event{Records: []events.S3EventRecord{rec}}); err != nil {
			return err
		}
	}
	return nil
}

// OnEvent routes the bucket's notifications to fn until the test ends.
func (e *Env) OnEvent(t testing.TB, bucket string, fn func(context.Context, events.S3Event) error) {
	e.mu.Lock()
	e.sinks[bucket] = fn
	e.mu.Unlock()
	t.Cleanup(func() {
		e.mu.Lock()
		delete(e.sinks, bucket)
		e.mu.Unlock()
	})
}

var unsafe = regexp.MustCompile(`[^a-z0-9]+`)

// uniqueName is lowercase, DNS-safe and unique, with the test's name in it
// so a leftover in the emulator can be traced back.
func uniqueName(t testing.TB) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := strings.Trim(unsafe.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 40 {
		name = name[:40]
	}
	return strings.Trim(name, "-") + "-" + hex.EncodeToString(b)
}

// Getenv returns a configuration environment for an isolated test: the
// emulators' endpoints, a fresh table prefix and a fresh bucket. extra
// overrides or adds variables.
func (e *Env) Getenv(t testing.TB, extra map[string]string) func(string) string {
	name := uniqueName(t)
	vars := map[string]string{
		"AWS_ENDPOINT_URL_DYNAMODB": e.Dynamo.Endpoint(),
		"AWS_ENDPOINT_URL_S3":       e.MinIO.Endpoint(),
		"AWS_REGION":                "us-east-1",
		"DYNAMODB_TABLE_PREFIX":     name + "-",
		"S3_BUCKET":                 "t-" + name,
	}
	for k, v := range extra {
		vars[k] = v
	}
	return func(k string) string { return vars[k] }
}

// Config loads a configuration for an isolated test (see Getenv) without
// creating anything.
func (e *Env) Config(t testing.TB, extra map[string]string) config.Config {
	t.Helper()
	cfg, err := config.Load(e.Getenv(t, extra))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// AWSConfig is an SDK configuration with the emulators' credentials.
func AWSConfig(region string) aws.Config {
	return aws.Config{
		Region:      region,
		Credentials: credentials.NewStaticCredentialsProvider(devstack.MinIOUser, devstack.MinIOPassword, ""),
	}
}

// Clients builds SDK clients for cfg against the emulators.
func (e *Env) Clients(cfg config.Config) awsclients.Clients {
	return awsclients.From(cfg, AWSConfig(cfg.Region))
}

// Provision creates cfg's tables and bucket and points the bucket's
// notifications at the harness's webhook, as the local stack does.
func (e *Env) Provision(t testing.TB, cfg config.Config) awsclients.Clients {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := e.Clients(cfg)
	if err := devstack.Provision(ctx, c, cfg, devstack.WebhookARN(WebhookID)); err != nil {
		t.Fatal(err)
	}
	return c
}

// NewStore is a convenience for tests of the s3 package's users.
func NewStore(c awsclients.Clients, cfg config.Config) *s3.Store {
	return s3.New(c.S3, c.Presign, cfg.Bucket)
}

// DumpTable returns every item of a table as text: for tests that check
// nothing of a user is left. Never used on a request path.
func DumpTable(t testing.TB, db *dynamodb.Client, table string) string {
	t.Helper()
	var sb strings.Builder
	p := dynamodb.NewScanPaginator(db, &dynamodb.ScanInput{TableName: &table})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			var m map[string]any
			if err := attributevalue.UnmarshalMap(it, &m); err != nil {
				t.Fatal(err)
			}
			fmt.Fprintln(&sb, m)
		}
	}
	return sb.String()
}
