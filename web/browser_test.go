package web_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The browser's tools are found or the test fails, never skips (like the
// emulators): a green run means a real Chromium drove the app. make test
// installs both first.
const (
	installChromium = "apt-get install -y chromium fonts-noto-cjk (make chromium does it when run as root)"
	installTools    = "make web-tools"
)

func chromiumPath(t *testing.T) string {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatalf("Chromium is not installed: run %s", installChromium)
	return ""
}

// webTools is where make web-tools ran npm ci for web/test: the directory
// the Makefile exports, else the repository's .local/web-tools. The
// installed playwright-core must be the locked one.
func webTools(t *testing.T) string {
	dir := os.Getenv("WEB_TOOLS_DIR")
	if dir == "" {
		dir, _ = filepath.Abs(filepath.Join("..", ".local", "web-tools"))
	}
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	raw, err := os.ReadFile(filepath.Join("test", "package-lock.json"))
	if err == nil {
		err = json.Unmarshal(raw, &lock)
	}
	if err != nil {
		t.Fatal(err)
	}
	want := lock.Packages["node_modules/playwright-core"].Version
	var got struct{ Version string }
	raw, err = os.ReadFile(filepath.Join(dir, "node_modules", "playwright-core", "package.json"))
	if err == nil {
		err = json.Unmarshal(raw, &got)
	}
	if err != nil || got.Version != want {
		t.Fatalf("playwright-core %s is not installed in %s (found %q): run %s", want, dir, got.Version, installTools)
	}
	return dir
}

// toneWAV is real PCM audio: 16-bit mono at 48 kHz, a 440 Hz tone whose
// loudness swells twice a second, so the level meter has something to show.
func toneWAV(seconds float64) []byte {
	const rate = 48000
	n := int(seconds * rate)
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1)) // PCM
	le(uint16(1)) // mono
	le(uint32(rate))
	le(uint32(rate * 2))
	le(uint16(2))
	le(uint16(16))
	b.WriteString("data")
	le(uint32(2 * n))
	for i := range n {
		t := float64(i) / rate
		amp := 0.25 + 0.2*math.Sin(2*math.Pi*2*t)
		le(int16(amp * 32767 * math.Sin(2*math.Pi*440*t)))
	}
	return b.Bytes()
}

type summary struct {
	RecordedMS    int64   `json:"recordedMs"`
	ServerMS      int64   `json:"serverMs"`
	PlayerSeconds float64 `json:"playerSeconds"`
	RecordingID   string  `json:"recordingId"`
	RecordingName string  `json:"recordingName"`
	UploadID      string  `json:"uploadId"`
	UserID        string  `json:"userId"`
	Seconds       float64 `json:"seconds"`
}

// TestBrowser drives the app in Chromium against the whole backend: the
// API serves /app/, the bucket is MinIO on another port (cross-origin, as
// S3 is), and confirmations come from MinIO's events through the events
// handler.
func TestBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	tools := webTools(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is not installed; the README's prerequisites list it")
	}

	env := testenv.Get(t)
	// A 5 MiB threshold lets a 5.5 MiB file test the multipart path, the
	// one that needs the bucket to expose ETag to the page.
	s := stack.Start(t, env, stack.Options{Env: map[string]string{
		"MULTIPART_THRESHOLD_BYTES": "5242880", "MULTIPART_PART_SIZE": "5242880",
	}})

	dir := t.TempDir()
	capture := filepath.Join(dir, "capture.wav")
	const uploadName = "회의 녹음 (긴 파일).wav"
	upload := filepath.Join(dir, uploadName)
	for path, body := range map[string][]byte{capture: toneWAV(10), upload: toneWAV(60)} {
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The picked file's date is its recording's date (lastModified).
	if err := os.Chtimes(upload, fileDate, fileDate); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "screenshot.png")
	if local := os.Getenv("RECORDER_LOCAL_DIR"); local != "" {
		shot = filepath.Join(local, "web-screenshot.png")
	}
	const renamed, signInAs = "한글 이름으로 바꿈.wav", "김민지"

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("test", "browser.mjs"))
	cmd.Env = append(os.Environ(),
		"WEB_TOOLS_DIR="+tools, "CHROMIUM="+chromium, "APP_URL="+s.APIURL+"/app/",
		"FAKE_CAPTURE_WAV="+capture, "UPLOAD_FILE="+upload, "UPLOAD_NAME="+uploadName,
		"RENAMED="+renamed, "SIGN_IN_AS="+signInAs, "SCREENSHOT="+shot,
		// Not UTC, so a name in UTC would show.
		"TZ="+pageZone)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	var out []string
	next := func() string {
		if !lines.Scan() {
			_ = cmd.Wait()
			t.Fatalf("the browser test stopped:\n%s\n%s\nscreenshot: %s", strings.Join(out, "\n"), stderr.String(), shot)
		}
		out = append(out, lines.Text())
		return lines.Text()
	}
	var got summary
	if err := json.Unmarshal([]byte(next()), &got); err != nil {
		t.Fatalf("no summary from the browser: %v\n%s", err, stderr.String())
	}
	t.Logf("recorded %d ms, server measured %d ms, player %.3f s", got.RecordedMS, got.ServerMS, got.PlayerSeconds)
	checkStored(t, s, got, renamed)

	if _, err := io.WriteString(stdin, "delete-account\n"); err != nil {
		t.Fatal(err)
	}
	if line := next(); line != "account deleted" {
		t.Fatalf("after deleting the account the browser said %q\n%s", line, stderr.String())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("browser test: %v\n%s", err, stderr.String())
	}
	t.Logf("browser test took %s; screenshot: %s", time.Since(start).Round(100*time.Millisecond), shot)
	for _, id := range []string{got.RecordingID, got.UploadID} {
		if _, err := s.Store.GetRecording(context.Background(), got.UserID, id); recording.ErrorCode(err) != recording.CodeNotFound {
			t.Errorf("recording %s outlived its account: %v", id, err)
		}
	}
}

// The page runs in Seoul's time zone; the file it uploads was last changed
// at fileDate.
const pageZone = "Asia/Seoul"

var fileDate = time.Date(2021, 3, 4, 5, 6, 7, 890_000_000, time.UTC)

// checkStored compares what the page showed with what the backend holds.
func checkStored(t *testing.T, s *stack.Stack, got summary, renamed string) {
	t.Helper()
	ctx := context.Background()
	rec, err := s.Store.GetRecording(ctx, got.UserID, got.RecordingID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != recording.StatusDeleted || rec.ContentType != "audio/webm" || rec.Codec != "opus" {
		t.Errorf("the browser's recording: status %s, type %s, codec %s; want deleted audio/webm opus", rec.Status, rec.ContentType, rec.Codec)
	}
	if rec.DurationMS == nil || *rec.DurationMS != got.ServerMS {
		t.Errorf("the browser's recording lasts %v ms in the store, the page showed %d", rec.DurationMS, got.ServerMS)
	}
	if rec.SHA256 == "" {
		t.Error("the browser's recording was uploaded without its SHA-256")
	}
	// Its date is when it started, and its name says so in local time.
	zone, err := time.LoadLocation(pageZone)
	if err != nil {
		t.Fatal(err)
	}
	if rec.RecordedAt == nil || time.Since(*rec.RecordedAt) > 3*time.Minute || rec.RecordedAt.After(rec.CreatedAt) {
		t.Errorf("the browser's recording has recorded_at %v, created %s; want its start", rec.RecordedAt, rec.CreatedAt)
	} else if want := "Recording " + rec.RecordedAt.In(zone).Format("2006-01-02 15.04.05") + ".webm"; got.RecordingName != want {
		t.Errorf("the browser's recording is named %q, want %q (its start in %s)", got.RecordingName, want, pageZone)
	}
	up, err := s.Store.GetRecording(ctx, got.UserID, got.UploadID)
	if err != nil {
		t.Fatal(err)
	}
	if up.Status != recording.StatusAvailable || up.FileName != renamed || up.DurationMS == nil || *up.DurationMS != 60000 {
		t.Errorf("the uploaded file: %s %q %v ms; want available %q 60000 ms", up.Status, up.FileName, up.DurationMS, renamed)
	}
	if up.RecordedAt == nil || !up.RecordedAt.Equal(fileDate) {
		t.Errorf("the uploaded file has recorded_at %v, want its lastModified %s", up.RecordedAt, fileDate)
	}
	head, err := s.Clients.S3.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(s.Config.Bucket), Key: aws.String(up.Key)})
	if err != nil {
		t.Fatal(err)
	}
	if etag := aws.ToString(head.ETag); !strings.HasSuffix(strings.Trim(etag, `"`), "-2") {
		t.Errorf("the file's ETag %s is not a two-part multipart upload's", etag)
	}
}
