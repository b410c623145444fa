package export

import (
	"archive/zip"
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/voicerec/backend/internal/recording"
)

// zeros is an object store whose every object is size zero bytes.
type zeros map[string]int64

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func (z zeros) Open(_ context.Context, key string) (io.ReadCloser, int64, error) {
	return io.NopCloser(io.LimitReader(zeroReader{}, z[key])), z[key], nil
}

// An entry past 4 GiB is written with Zip64 records, and the system's
// unzip reads the archive whole: the ZIP32 fields cannot hold its size. The
// recordings here carry no date of their own, so their entries take the
// export's: an undated Zip64 entry with a Korean name is one unzip misreads.
func TestArchiveOver4GiBIsZip64(t *testing.T) {
	big := int64(4<<30 + 1<<20)
	objects := zeros{"recordings/u/big.wav": big, "recordings/u/small.wav": 1000}
	recs := []recording.Recording{
		{ID: recording.NewID(time.Now()), FileName: "긴 녹음.wav", Key: "recordings/u/big.wav", SizeBytes: big},
		{ID: recording.NewID(time.Now()), FileName: "short.wav", Key: "recordings/u/small.wav", SizeBytes: 1000},
	}
	path := filepath.Join(t.TempDir(), "big.zip")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	a := archive{objects: objects, transcripts: NoTranscripts{}}
	created := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	ex := recording.Export{ID: recording.NewID(created), CreatedAt: created}
	if _, err := a.write(context.Background(), w, ex, recs); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()

	if out, err := exec.Command("unzip", "-tq", path).CombinedOutput(); err != nil {
		t.Fatalf("unzip -t: %v\n%s", err, out)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	var m Manifest
	for _, f := range zr.File {
		switch f.Name {
		case "긴 녹음.wav":
			if f.UncompressedSize64 != uint64(big) || f.UncompressedSize != ^uint32(0) {
				t.Errorf("the big entry: size %d, 32-bit field %#x (want the Zip64 marker)", f.UncompressedSize64, f.UncompressedSize)
			}
			if !f.Modified.Equal(created) {
				t.Errorf("an undated recording's entry is dated %v, want the export's %v", f.Modified, created)
			}
		case ManifestName:
			rc, _ := f.Open()
			err := json.NewDecoder(rc).Decode(&m)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(m.Recordings) != 2 || m.Recordings[0].SizeBytes != big || len(m.Recordings[0].SHA256) != 64 {
		t.Errorf("manifest: %+v", m.Recordings)
	}
}
