package testenv

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// A start that fails every attempt names the folder of the emulators' logs,
// and that folder is still there to read; the earlier attempts' folders are
// not left behind.
func TestFailedStartKeepsTheLogsItNames(t *testing.T) {
	t.Setenv("DYNAMODB_LOCAL_JAR", "/nonexistent/DynamoDBLocal.jar")
	t.Setenv("MINIO_BINARY", "/bin/false")
	t.Setenv("TMPDIR", t.TempDir())
	e, err := start(false)
	if err == nil {
		e.stop()
		t.Fatal("emulators started from binaries that cannot run")
	}
	m := regexp.MustCompile(`logs in (\S+)\)`).FindStringSubmatch(err.Error())
	if m == nil {
		t.Fatalf("error names no log folder: %v", err)
	}
	if _, serr := os.Stat(filepath.Join(m[1], "minio.log")); serr != nil {
		t.Errorf("the log folder the error names is gone: %v (error: %v)", serr, err)
	}
	left, _ := filepath.Glob(filepath.Join(os.Getenv("TMPDIR"), "recorder-testenv-*"))
	if len(left) != 1 {
		t.Errorf("folders left after a failed start: %v, want only %s", left, m[1])
	}
}
