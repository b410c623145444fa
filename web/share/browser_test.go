package share_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/testenv"
	"github.com/voicerec/backend/internal/testenv/stack"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The browser tools are web/test's (make web-tools): the same locked
// playwright-core drives both pages. Missing tools fail the test, as in
// web/browser_test.go: a green run means a real Chromium opened the link.
func browserTools(t *testing.T) (chromium, tools, node string) {
	chromium = os.Getenv("CHROMIUM")
	for _, name := range []string{"chromium", "chromium-browser"} {
		if chromium == "" {
			chromium, _ = exec.LookPath(name)
		}
	}
	if chromium == "" {
		t.Fatal("Chromium is not installed: apt-get install -y chromium (make chromium)")
	}
	tools = os.Getenv("WEB_TOOLS_DIR")
	if tools == "" {
		tools, _ = filepath.Abs(filepath.Join("..", "..", ".local", "web-tools"))
	}
	var lock struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	var got struct{ Version string }
	raw, err := os.ReadFile(filepath.Join("..", "test", "package-lock.json"))
	if err == nil {
		err = json.Unmarshal(raw, &lock)
	}
	if err == nil {
		raw, err = os.ReadFile(filepath.Join(tools, "node_modules", "playwright-core", "package.json"))
	}
	if err == nil {
		err = json.Unmarshal(raw, &got)
	}
	if want := lock.Packages["node_modules/playwright-core"].Version; err != nil || got.Version != want {
		t.Fatalf("playwright-core %s is not installed in %s (found %q, %v): run make web-tools", want, tools, got.Version, err)
	}
	if node, err = exec.LookPath("node"); err != nil {
		t.Fatal("node is not installed")
	}
	return chromium, tools, node
}

// tone is a WAV of a 440 Hz tone: audio Chromium plays without a codec
// question.
func tone(seconds float64) []byte {
	const rate = 16000
	n := int(seconds * rate)
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + 2*n))
	b.WriteString("WAVEfmt ")
	for _, v := range []any{uint32(16), uint16(1), uint16(1), uint32(rate), uint32(rate * 2), uint16(2), uint16(16)} {
		le(v) // format: PCM, mono, 16-bit
	}
	b.WriteString("data")
	le(uint32(2 * n))
	for i := range n {
		le(int16(8000 * math.Sin(2*math.Pi*440*float64(i)/rate)))
	}
	return b.Bytes()
}

type shown struct {
	Name          string  `json:"name"`
	DurationText  string  `json:"durationText"`
	DurationMS    int64   `json:"durationMs"`
	PlayerSeconds float64 `json:"playerSeconds"`
	Transcript    string  `json:"transcript"`
}

// TestSharedPagePlays opens a share's link in Chromium: the page loads
// under its strict CSP, canplay fires on audio that came through the
// share's redirect, the duration is the recording's; once the share is
// revoked the audio is refused and the page answers 404.
func TestSharedPagePlays(t *testing.T) {
	chromium, tools, node := browserTools(t)
	s := transcribingStack(t)
	token, userID := s.Login(t, "share-browser")
	const name = "강의 녹음 <1>.wav"
	body := tone(3)
	up := s.CreateUpload(t, token, name, "audio/wav", int64(len(body)))
	if st := stack.Put(t, up.Upload, body); st != http.StatusOK {
		t.Fatalf("put: %d", st)
	}
	rec := s.WaitStatus(t, token, up.Recording.ID, "available")
	completeTranscript(t, s, userID, rec.ID, "speakers.json")
	var sh struct {
		ID  string `json:"id"`
		URL string `json:"url"`
	}
	if st := s.Call(t, token, http.MethodPost, "/v1/recordings/"+rec.ID+"/shares", map[string]string{"expires_in": "1h"}, &sh); st != http.StatusCreated {
		t.Fatalf("share: %d", st)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join("test", "share.mjs"))
	cmd.Env = append(os.Environ(), "WEB_TOOLS_DIR="+tools, "CHROMIUM="+chromium, "SHARE_URL="+sh.URL)
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
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	next := func() string {
		if !lines.Scan() {
			_ = cmd.Wait()
			t.Fatalf("the browser stopped:\n%s", stderr.String())
		}
		return lines.Text()
	}
	var got shown
	if err := json.Unmarshal([]byte(next()), &got); err != nil {
		t.Fatalf("no summary from the browser: %v\n%s", err, stderr.String())
	}
	t.Logf("the page showed %+v", got)
	if got.Name != name || got.DurationMS != 3000 || got.DurationText != "0:03" {
		t.Errorf("the page shows %q lasting %d ms (%q), want %q, 3000 ms (0:03)", got.Name, got.DurationMS, got.DurationText, name)
	}
	if !strings.Contains(got.Transcript, "quarterly report") {
		t.Errorf("the page shows the transcript %q, want the recording's (quarterly report)", got.Transcript)
	}
	if math.Abs(got.PlayerSeconds-3) > 0.05 {
		t.Errorf("the player's duration is %.3f s, want 3", got.PlayerSeconds)
	}

	if st := s.Call(t, token, http.MethodDelete, "/v1/shares/"+sh.ID, nil, nil); st != http.StatusNoContent {
		t.Fatalf("revoke: %d", st)
	}
	if _, err := io.WriteString(stdin, "revoked\n"); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	if line := next(); line != "revoke seen" {
		t.Fatalf("after revoke the browser said %q\n%s", line, stderr.String())
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("browser: %v\n%s", err, stderr.String())
	}
}
