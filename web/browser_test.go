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
// installed playwright-core and axe-core must be the locked ones.
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
	for _, pkg := range []string{"playwright-core", "axe-core"} {
		want := lock.Packages["node_modules/"+pkg].Version
		var got struct{ Version string }
		raw, err = os.ReadFile(filepath.Join(dir, "node_modules", pkg, "package.json"))
		if err == nil {
			err = json.Unmarshal(raw, &got)
		}
		if err != nil || want == "" || got.Version != want {
			t.Fatalf("%s %s is not installed in %s (found %q): run %s", pkg, want, dir, got.Version, installTools)
		}
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
	OfflineID     string  `json:"offlineId"`
	OfflineName   string  `json:"offlineName"`
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
	// A 5 MiB threshold and part size send a 120 s WAV (11 MiB) in three
	// parts: the multipart path, which needs the bucket to expose ETag to
	// the page, with a part on either side of the reload the test makes.
	s := stack.Start(t, env, stack.Options{Env: map[string]string{
		"MULTIPART_THRESHOLD_BYTES": "5242880", "MULTIPART_PART_SIZE": "5242880",
	}})

	dir := t.TempDir()
	capture := filepath.Join(dir, "capture.wav")
	const uploadName = "회의 녹음 (긴 파일).wav"
	upload := filepath.Join(dir, uploadName)
	// An empty file, which the page must refuse naming it, and a small one
	// whose upload the page cancels.
	empty, small := filepath.Join(dir, "빈 파일.wav"), filepath.Join(dir, "short.wav")
	for path, body := range map[string][]byte{capture: toneWAV(10), upload: toneWAV(120), empty: nil, small: toneWAV(1)} {
		if err := os.WriteFile(path, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The picked file's date is its recording's date (lastModified).
	if err := os.Chtimes(upload, fileDate, fileDate); err != nil {
		t.Fatal(err)
	}
	// One screenshot per screen and size: web-<screen>-<size>.png.
	shot := dir
	if local := os.Getenv("RECORDER_LOCAL_DIR"); local != "" {
		shot = filepath.Join(local, "web-screenshots")
	}
	if err := os.MkdirAll(shot, 0o755); err != nil {
		t.Fatal(err)
	}
	const renamed, signInAs = "한글 이름으로 바꿈.wav", "김민지"

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("test", "browser.mjs"))
	cmd.Env = append(os.Environ(),
		"WEB_TOOLS_DIR="+tools, "CHROMIUM="+chromium, "APP_URL="+s.APIURL+"/app/",
		"FAKE_CAPTURE_WAV="+capture, "UPLOAD_FILE="+upload, "UPLOAD_NAME="+uploadName,
		"RENAMED="+renamed, "SIGN_IN_AS="+signInAs, "SCREENSHOT_DIR="+shot,
		"EMPTY_FILE="+empty, "SMALL_FILE="+small,
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
			t.Fatalf("the browser test stopped:\n%s\n%s\nscreenshots: %s", strings.Join(out, "\n"), stderr.String(), shot)
		}
		out = append(out, lines.Text())
		return lines.Text()
	}
	// The browser may first ask for a transcript (see storeTranscript).
	line := next()
	var ask transcriptRequest
	if json.Unmarshal([]byte(line), &ask) == nil && ask.Transcribe.RecordingID != "" {
		storeTranscript(t, s, ask)
		if _, err := io.WriteString(stdin, "transcribed\n"); err != nil {
			t.Fatal(err)
		}
		line = next()
	}
	var got summary
	if err := json.Unmarshal([]byte(line), &got); err != nil {
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
	t.Logf("browser test took %s; screenshots: %s", time.Since(start).Round(100*time.Millisecond), shot)
	for _, id := range []string{got.OfflineID, got.UploadID} {
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
	// The first recording went through the trash and was deleted for good.
	if _, err := s.Store.GetRecording(ctx, got.UserID, got.RecordingID); recording.ErrorCode(err) != recording.CodeNotFound {
		t.Errorf("the recording deleted for good is still there: %v", err)
	}
	// The one made offline waited on the device and then arrived whole.
	rec, err := s.Store.GetRecording(ctx, got.UserID, got.OfflineID)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Status != recording.StatusAvailable || rec.ContentType != "audio/webm" || rec.Codec != "opus" {
		t.Errorf("the offline recording: status %s, type %s, codec %s; want available audio/webm opus", rec.Status, rec.ContentType, rec.Codec)
	}
	if rec.DurationMS == nil || *rec.DurationMS < 1000 {
		t.Errorf("the offline recording lasts %v ms", rec.DurationMS)
	}
	if rec.SHA256 == "" {
		t.Error("the offline recording was uploaded without its SHA-256")
	}
	// Its date is when it started, not when the network came back, and
	// its name says so in local time.
	zone, err := time.LoadLocation(pageZone)
	if err != nil {
		t.Fatal(err)
	}
	if rec.RecordedAt == nil || time.Since(*rec.RecordedAt) > 5*time.Minute || !rec.RecordedAt.Before(rec.CreatedAt) {
		t.Errorf("the offline recording has recorded_at %v, created %s; want its start, before the network returned", rec.RecordedAt, rec.CreatedAt)
	} else if want := "Recording " + rec.RecordedAt.In(zone).Format("2006-01-02 15.04.05") + ".webm"; got.OfflineName != want {
		t.Errorf("the offline recording is named %q, want %q (its start in %s)", got.OfflineName, want, pageZone)
	}
	up, err := s.Store.GetRecording(ctx, got.UserID, got.UploadID)
	if err != nil {
		t.Fatal(err)
	}
	if up.Status != recording.StatusAvailable || up.FileName != renamed || up.DurationMS == nil || *up.DurationMS != 120000 {
		t.Errorf("the uploaded file: %s %q %v ms; want available %q 120000 ms", up.Status, up.FileName, up.DurationMS, renamed)
	}
	if up.RecordedAt == nil || !up.RecordedAt.Equal(fileDate) {
		t.Errorf("the uploaded file has recorded_at %v, want its lastModified %s", up.RecordedAt, fileDate)
	}
	head, err := s.Clients.S3.HeadObject(ctx, &awss3.HeadObjectInput{Bucket: aws.String(s.Config.Bucket), Key: aws.String(up.Key)})
	if err != nil {
		t.Fatal(err)
	}
	if etag := aws.ToString(head.ETag); !strings.HasSuffix(strings.Trim(etag, `"`), "-3") {
		t.Errorf("the file's ETag %s is not a three-part multipart upload's", etag)
	}
}
