package export_test

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/voicerec/backend/internal/export"
	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// listUploadsInput lists every upload in the bucket: MinIO lists none for
// a prefix that is not a whole key. Recordings' uploads are never open in
// these tests, so every one listed is an export's.
func listUploadsInput(bucket string) *awss3.ListMultipartUploadsInput {
	return &awss3.ListMultipartUploadsInput{Bucket: &bucket}
}

// killMidArchive starts a worker process on msg and kills it (SIGKILL: no
// deferred abort runs) once its multipart upload has taken a part.
func (w *world) killMidArchive(t *testing.T, msg []byte) {
	t.Helper()
	cmd, out := w.child(t, msg)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			t.Fatalf("the worker finished (%v) before it could be killed mid-archive; make the recordings larger\n%s", err, out)
		default:
		}
		if w.partsUploaded(t) > 0 {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-exited
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the worker never began its upload")
}

// partsUploaded is how many parts the open export uploads hold.
func (w *world) partsUploaded(t *testing.T) int {
	ctx := context.Background()
	out, err := w.parts.Clients.S3.ListMultipartUploads(ctx, listUploadsInput(w.cfg.Bucket))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, u := range out.Uploads {
		parts, err := w.parts.Clients.S3.ListParts(ctx, &awss3.ListPartsInput{Bucket: &w.cfg.Bucket, Key: u.Key, UploadId: u.UploadId})
		if err == nil {
			n += len(parts.Parts)
		}
	}
	return n
}

func (w *world) assertNotPublished(t *testing.T, key string) {
	t.Helper()
	if _, err := w.parts.Objects.Head(context.Background(), key); !errors.Is(err, s3.ErrNoObject) {
		t.Fatalf("an archive is published under %s after the worker was killed (head: %v)", key, err)
	}
}

// A worker killed mid-archive publishes nothing; the next delivery of its
// message aborts the upload it left and builds the whole archive, and no
// multipart upload is left behind.
func TestKilledWorkerIsRetriedToReady(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	user := recording.NewID(time.Now())
	names := []string{"녹음 1.m4a", "녹음 2.m4a", "녹음 3.m4a", "녹음 4.m4a", "녹음 5.m4a", "녹음 6.m4a"}
	keys := w.seed(t, user, names, 24<<20)
	v, msg := w.start(t, user)
	key := recording.ExportKey(user, v.ID)

	w.killMidArchive(t, msg)
	w.assertNotPublished(t, key)
	if got := w.get(t, user, v.ID); got.Status != recording.ExportRunning || got.Download != nil {
		t.Fatalf("after the kill: %+v", got)
	}
	if w.openUploads(t) != 1 {
		t.Fatalf("the kill left %d multipart uploads, want the one it was writing", w.openUploads(t))
	}

	// The queue's redelivery.
	cmd, out := w.child(t, msg)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("retry: %v\n%s", err, out)
	}
	got := w.get(t, user, v.ID)
	if got.Status != recording.ExportReady || got.Download == nil {
		t.Fatalf("after the retry: %+v", got)
	}
	if n := w.openUploads(t); n != 0 {
		t.Errorf("%d multipart uploads left after the retry", n)
	}
	checkDownloaded(t, got, keys)
}

// A worker killed on every delivery leaves the export failed, never a
// partial archive: once its lease has passed, the reconciler's sweep fails
// it, aborts the upload it left and frees the user to start another.
func TestKilledWorkerEndsFailedAndCleaned(t *testing.T) {
	t.Parallel()
	w := newWorld(t, nil)
	user := recording.NewID(time.Now())
	w.seed(t, user, []string{"a.m4a", "b.m4a", "c.m4a", "d.m4a", "e.m4a", "f.m4a"}, 24<<20)
	v, msg := w.start(t, user)
	key := recording.ExportKey(user, v.ID)

	w.killMidArchive(t, msg)
	w.assertNotPublished(t, key)
	rep, err := w.parts.ExportWorker.Sweep(context.Background(), 100)
	if err != nil || rep != (export.SweepReport{}) {
		t.Fatalf("a sweep within the worker's lease touched it: %+v %v", rep, err)
	}
	if w.openUploads(t) != 1 {
		t.Fatal("the sweep aborted an upload a live worker could still be writing")
	}

	w.clock.Advance(w.cfg.ExportWorkerTimeout*time.Duration(export.MaxAttempts) + 10*time.Minute)
	rep, err = w.parts.ExportWorker.Sweep(context.Background(), 100)
	if err != nil || rep.Failed != 1 || rep.UploadsAborted != 1 {
		t.Fatalf("sweep after the lease: %+v %v", rep, err)
	}
	got := w.get(t, user, v.ID)
	if got.Status != recording.ExportFailed || got.FailureReason == "" || got.Download != nil {
		t.Fatalf("after the sweep: %+v", got)
	}
	w.assertNotPublished(t, key)
	if n := w.openUploads(t); n != 0 {
		t.Errorf("%d multipart uploads left after the sweep", n)
	}
	// A late delivery of the same message finds nothing to do.
	cmd, out := w.child(t, msg)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("late delivery: %v\n%s", err, out)
	}
	w.assertNotPublished(t, key)
	// The lock is free again: another export starts (start fails the test
	// otherwise).
	w.start(t, user)
}

// checkDownloaded downloads a ready export and checks it with archive/zip
// and unzip -t: every recording present, every SHA-256 the manifest's.
func checkDownloaded(t *testing.T, v export.View, keys map[string]string) {
	t.Helper()
	resp, err := http.Get(v.Download.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	path := filepath.Join(t.TempDir(), v.Download.FileName)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(f, resp.Body)
	f.Close()
	if err != nil || resp.StatusCode != 200 || n != *v.SizeBytes {
		t.Fatalf("download: %d, %d bytes of %d, %v", resp.StatusCode, n, *v.SizeBytes, err)
	}
	if out, err := exec.Command("unzip", "-tq", path).CombinedOutput(); err != nil {
		t.Fatalf("unzip -t: %v\n%s", err, out)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	sums := map[string]string{}
	var m export.Manifest
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		var buf []byte
		if f.Name == export.ManifestName {
			buf, err = io.ReadAll(rc)
			h.Write(buf)
		} else {
			_, err = io.Copy(h, rc)
		}
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		sums[f.Name] = hex.EncodeToString(h.Sum(nil))
		if buf != nil {
			if err := json.Unmarshal(buf, &m); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(m.Recordings) != len(keys) {
		t.Fatalf("manifest lists %d recordings, want %d", len(m.Recordings), len(keys))
	}
	for _, e := range m.Recordings {
		if sums[e.Name] != e.SHA256 || keys[e.ID] == "" {
			t.Errorf("%s: SHA-256 %s, manifest %s", e.Name, sums[e.Name], e.SHA256)
		}
	}
}
