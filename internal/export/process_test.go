package export_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/voicerec/backend/internal/config"
	"github.com/voicerec/backend/internal/devstack"
	"github.com/voicerec/backend/internal/dynamo"
	"github.com/voicerec/backend/internal/export"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/wire"
)

// childMessage names the variable that makes this test binary the export
// worker for one message: the worker then runs as its own process, which a
// test can kill outright and whose memory is its own.
const childMessage = "EXPORT_WORKER_TEST_MESSAGE"

func TestMain(m *testing.M) {
	if msg := os.Getenv(childMessage); msg != "" {
		os.Exit(runChild(msg))
	}
	testenv.Main(m)
}

// runChild is the worker process: the configuration from the environment,
// every part built as the export Lambda builds them, one message handled.
// Its last line on stdout is its own peak RSS (VmHWM, KiB).
func runChild(msg string) int {
	ctx := context.Background()
	parts, err := wire.FromEnv(ctx, os.Getenv, io.Discard)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	err = parts.ExportWorker.HandleMessage(ctx, []byte(msg))
	fmt.Printf("peak-rss-kib %d\n", selfHWM())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// selfHWM is this process's own high-water RSS. getrusage's ru_maxrss
// cannot be used: Linux carries the parent's peak into a child it forked
// with vfork, as Go does, so it would report the test binary's.
func selfHWM() int64 {
	raw, _ := os.ReadFile("/proc/self/status")
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// world is one isolated configuration on the package's emulators.
type world struct {
	env   map[string]string
	cfg   config.Config
	parts *wire.App
	clock *clock
}

type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.off += d
}

func newWorld(t testing.TB, extra map[string]string) *world {
	t.Helper()
	e := testenv.Get(t)
	getenv := e.Getenv(t, extra)
	vars := map[string]string{"AWS_ACCESS_KEY_ID": devstack.MinIOUser, "AWS_SECRET_ACCESS_KEY": devstack.MinIOPassword}
	for _, k := range []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_S3", "AWS_REGION", "DYNAMODB_TABLE_PREFIX", "S3_BUCKET"} {
		vars[k] = getenv(k)
	}
	for k, v := range extra {
		vars[k] = v
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{}
	parts, err := wire.Build(context.Background(), cfg, testLog(t), wire.WithClients(e.Provision(t, cfg)), wire.WithClock(clk.Now))
	if err != nil {
		t.Fatal(err)
	}
	return &world{env: vars, cfg: cfg, parts: parts, clock: clk}
}

// child starts the worker process on msg.
func (w *world) child(t testing.TB, msg []byte) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childMessage+"="+string(msg))
	for k, v := range w.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}

// peakRSS reads the child's report of its own peak, in KiB.
func peakRSS(t testing.TB, out string) int64 {
	t.Helper()
	for line := range strings.Lines(out) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "peak-rss-kib "); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	t.Fatalf("the worker reported no peak RSS:\n%s", out)
	return 0
}

// seed stores n available recordings of size bytes each (pseudo-random
// content, streamed: the test never holds one) and writes their records.
func (w *world) seed(t testing.TB, userID string, names []string, size int64) map[string]string {
	t.Helper()
	ctx := context.Background()
	table := dynamo.TableName(w.cfg.TablePrefix, dynamo.RecordingsTable)
	now := time.Now().UTC()
	keys := map[string]string{}
	for i, name := range names {
		id := recording.NewID(now.Add(time.Duration(i) * time.Millisecond))
		key := recording.ObjectKey(userID, id, ".m4a")
		body := io.LimitReader(rand.NewChaCha8([32]byte{byte(i), 7}), size)
		if _, err := w.parts.Objects.UploadStream(ctx, key, "audio/mp4", body, size); err != nil {
			t.Fatal(err)
		}
		item, err := attributevalue.MarshalMap(map[string]any{
			"user_id": userID, "recording_id": id, "user_status": userID + "#available", "status": "available",
			"file_name": name, "content_type": "audio/mp4", "size_bytes": size,
			"created_at": now.Format(time.RFC3339Nano), "uploaded_at": now.Format(time.RFC3339Nano),
			"recorded_at": now.Add(-time.Duration(i) * time.Hour).Format(time.RFC3339Nano), "object_key": key,
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.parts.Clients.DynamoDB.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: item}); err != nil {
			t.Fatal(err)
		}
		keys[id] = key
	}
	return keys
}

// captured is a queue that keeps what the API sent, for a test to deliver
// to a worker process of its choosing.
type captured struct{ msgs [][]byte }

func (c *captured) Send(_ context.Context, body []byte) error {
	c.msgs = append(c.msgs, body)
	return nil
}

// start records an export as the API does, with the message kept.
func (w *world) start(t testing.TB, userID string) (export.View, []byte) {
	t.Helper()
	q := &captured{}
	svc := *w.parts.Exports
	svc.Queue = q
	v, err := svc.Start(context.Background(), userID, export.StartRequest{})
	if err != nil {
		t.Fatal(err)
	}
	return v, q.msgs[0]
}

func (w *world) get(t testing.TB, userID, id string) export.View {
	t.Helper()
	v, err := w.parts.Exports.Get(context.Background(), userID, id)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// openUploads counts the multipart uploads open under exports/.
func (w *world) openUploads(t testing.TB) int {
	t.Helper()
	n, err := countUploads(w)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func countUploads(w *world) (int, error) {
	out, err := w.parts.Clients.S3.ListMultipartUploads(context.Background(), listUploadsInput(w.cfg.Bucket))
	if err != nil {
		return 0, err
	}
	return len(out.Uploads), nil
}
