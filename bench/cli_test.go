package bench

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/devissuer"
	"github.com/voicerec/backend/internal/testenv/testaudio"
)

// 10. A 1 GiB recording uploaded by the built CLI, as one presigned PUT and
// as a multipart upload (16 MiB parts, 4 at a time): wall time to
// confirmed, the CLI's peak RSS (memory stays flat whatever the size), and
// the bytes the API saw (JSON only; the audio goes to storage).
func BenchmarkCLIUpload(b *testing.B) {
	dir := b.TempDir()
	bin := filepath.Join(dir, "recorder")
	if out, err := exec.Command("go", "build", "-o", bin, "../cli/recorder").CombinedOutput(); err != nil {
		b.Fatalf("build the CLI: %v\n%s", err, out)
	}
	const size = 1 << 30
	file := filepath.Join(dir, "lecture.m4a")
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(f, testaudio.Reader("audio/mp4", size)); err != nil {
		b.Fatal(err)
	}
	f.Close()
	for _, mode := range []struct{ name, threshold string }{
		{"single-put", strconv.Itoa(2 * size)},
		{"multipart", strconv.Itoa(32 << 20)},
	} {
		b.Run(mode.name, func(b *testing.B) {
			p := startAPI(b, map[string]string{
				"MULTIPART_THRESHOLD_BYTES": mode.threshold, "MAX_UPLOAD_BYTES": strconv.Itoa(2 * size),
				"QUOTA_MAX_BYTES": strconv.Itoa(4 * size), "UPLOAD_URL_TTL": "1h",
			})
			home := b.TempDir()
			env := append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
				"XDG_STATE_HOME="+filepath.Join(home, ".state"), "RECORDER_API="+p.URL)
			tok, err := p.issuer.Mint(devissuer.Claims{Subject: "cli-" + mode.name, Audience: clientID})
			if err != nil {
				b.Fatal(err)
			}
			login := exec.Command(bin, "login", "--provider", "dev", "--id-token", "-")
			login.Env, login.Stdin = env, strings.NewReader(tok)
			if out, err := login.CombinedOutput(); err != nil {
				b.Fatalf("login: %v\n%s", err, out)
			}
			before := p.BytesIn()
			up := exec.Command(bin, "upload", "--wait", "5m", file)
			up.Env = env
			var out bytes.Buffer
			up.Stdout, up.Stderr = &out, &out
			t0 := time.Now()
			if err := up.Start(); err != nil {
				b.Fatal(err)
			}
			peak := watchPeakRSS(up.Process.Pid)
			if err := up.Wait(); err != nil {
				b.Fatalf("upload: %v\n%s", err, out.Bytes())
			}
			wall := time.Since(t0)
			rss := peak() // KiB
			b.ReportMetric(wall.Seconds(), "wall-s")
			b.ReportMetric(float64(size)/(1<<20)/wall.Seconds(), "MiB/s")
			b.ReportMetric(float64(rss)/1024, "cli-peak-rss-MiB")
			b.ReportMetric(float64(p.BytesIn()-before), "api-bytes-in")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// watchPeakRSS samples a running process's own high-water RSS (VmHWM)
// until it exits; the returned function stops and gives the last value,
// in KiB. The exit status's Maxrss cannot be used: Linux carries the
// parent's peak into a child that forks and execs (Go starts commands
// with vfork, so the child's first image is this benchmark's), and it
// reported this process's ~100 MiB for any CLI run.
func watchPeakRSS(pid int) (stop func() int64) {
	done := make(chan struct{})
	var last atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			if kb, ok := vmHWM(pid); ok {
				last.Store(kb)
			}
			select {
			case <-done:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	return func() int64 {
		close(done)
		wg.Wait()
		return last.Load()
	}
}

// vmHWM reads /proc/<pid>/status's VmHWM, in KiB; false once the process
// is gone.
func vmHWM(pid int) (int64, bool) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
