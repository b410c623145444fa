package export

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"github.com/voicerec/backend/internal/recording"
	"github.com/voicerec/backend/internal/s3"
)

// ManifestName is the archive's table of contents.
const ManifestName = "manifest.json"

// Manifest describes an archive: every recording in it and how to check it.
type Manifest struct {
	ExportID   string          `json:"export_id"`
	CreatedAt  time.Time       `json:"created_at"`
	Recordings []ManifestEntry `json:"recordings"`
	// Skipped are recordings listed when the export began whose object was
	// gone when the worker reached it (deleted meanwhile).
	Skipped []string `json:"skipped,omitempty"`
}

// ManifestEntry is one recording in the archive.
type ManifestEntry struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`      // the entry's name in the archive
	FileName    string     `json:"file_name"` // the recording's name in the app
	ContentType string     `json:"content_type"`
	SizeBytes   int64      `json:"size_bytes"`
	DurationMS  *int64     `json:"duration_ms,omitempty"`
	RecordedAt  *time.Time `json:"recorded_at,omitempty"`
	Status      string     `json:"status"`
	// SHA256 is the hex SHA-256 of the entry's bytes, computed as they
	// were streamed from storage into the archive.
	SHA256             string `json:"sha256"`
	Transcript         string `json:"transcript,omitempty"`
	TranscriptSegments string `json:"transcript_segments,omitempty"`
}

// objects is what the archive reads recordings from.
type objects interface {
	Open(ctx context.Context, key string) (io.ReadCloser, int64, error)
}

// archive writes the ZIP of recs to w and returns its manifest. Entries
// are stored, not deflated (audio does not compress), so each byte passes
// through once: storage → hash → zip → w. progress is called after each
// recording.
type archive struct {
	objects     objects
	transcripts TranscriptSource
	progress    func(done int)
}

func (a archive) write(ctx context.Context, w io.Writer, ex recording.Export, recs []recording.Recording) (Manifest, error) {
	m := Manifest{ExportID: ex.ID, CreatedAt: ex.CreatedAt, Recordings: []ManifestEntry{}}
	zw := zip.NewWriter(w)
	taken := newNames(ManifestName)
	for i, rec := range recs {
		if err := ctx.Err(); err != nil {
			return m, err
		}
		entry, err := a.writeRecording(ctx, zw, taken, ex, rec)
		switch {
		case errors.Is(err, s3.ErrNoObject):
			m.Skipped = append(m.Skipped, rec.ID)
		case err != nil:
			return m, err
		default:
			m.Recordings = append(m.Recordings, entry)
		}
		if a.progress != nil {
			a.progress(i + 1)
		}
	}
	body, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, fmt.Errorf("manifest: %w", err)
	}
	if err := writeEntry(zw, ManifestName, ex.CreatedAt, body); err != nil {
		return m, err
	}
	if err := zw.Close(); err != nil {
		return m, fmt.Errorf("close archive: %w", err)
	}
	return m, nil
}

func (a archive) writeRecording(ctx context.Context, zw *zip.Writer, taken *names, ex recording.Export, rec recording.Recording) (ManifestEntry, error) {
	body, size, err := a.objects.Open(ctx, rec.Key)
	if err != nil {
		return ManifestEntry{}, err
	}
	defer body.Close()
	modified := entryTime(rec, ex)
	name := taken.claim(rec.FileName)
	f, err := zw.CreateHeader(header(name, modified))
	if err != nil {
		return ManifestEntry{}, fmt.Errorf("archive entry %s: %w", rec.ID, err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), body)
	if err != nil {
		return ManifestEntry{}, fmt.Errorf("copy recording %s into the archive: %w", rec.ID, err)
	}
	if n != size {
		return ManifestEntry{}, fmt.Errorf("recording %s: read %d bytes of %d", rec.ID, n, size)
	}
	entry := ManifestEntry{
		ID: rec.ID, Name: name, FileName: rec.FileName, ContentType: rec.ContentType, SizeBytes: n,
		DurationMS: rec.DurationMS, RecordedAt: rec.RecordedAt, Status: string(rec.Status), SHA256: hex.EncodeToString(h.Sum(nil)),
	}
	if !ex.IncludeTranscripts {
		return entry, nil
	}
	t, ok, err := a.transcripts.Transcript(ctx, ex.UserID, rec.ID)
	if err != nil {
		return ManifestEntry{}, fmt.Errorf("transcript of %s: %w", rec.ID, err)
	}
	if !ok {
		return entry, nil
	}
	stem := strings.TrimSuffix(name, path.Ext(name))
	entry.Transcript = taken.claim(stem + ".txt")
	if err := writeEntry(zw, entry.Transcript, modified, []byte(t.Text)); err != nil {
		return ManifestEntry{}, err
	}
	if len(t.Segments) > 0 {
		entry.TranscriptSegments = taken.claim(stem + ".segments.json")
		if err := writeEntry(zw, entry.TranscriptSegments, modified, t.Segments); err != nil {
			return ManifestEntry{}, err
		}
	}
	return entry, nil
}

// entryTime dates a recording's entries: when it was recorded, else when
// it was created, else when the export was. Never the zero time: without a
// date archive/zip writes no extended timestamp, and Info-ZIP's unzip 6.00
// then misreads the local name of a Zip64 entry outside ASCII ("mismatching
// local filename").
func entryTime(rec recording.Recording, ex recording.Export) time.Time {
	switch {
	case rec.RecordedAt != nil && !rec.RecordedAt.IsZero():
		return *rec.RecordedAt
	case !rec.CreatedAt.IsZero():
		return rec.CreatedAt
	case !ex.CreatedAt.IsZero():
		return ex.CreatedAt
	}
	return time.Now()
}

// header is a stored entry dated modified. archive/zip marks a name
// outside ASCII as UTF-8 (general purpose flag bit 11) by itself, adds the
// extended timestamp in UTC beside the MS-DOS date, and switches to Zip64
// records for an entry or an archive past 4 GiB.
func header(name string, modified time.Time) *zip.FileHeader {
	return &zip.FileHeader{Name: name, Method: zip.Store, Modified: modified}
}

func writeEntry(zw *zip.Writer, name string, modified time.Time, body []byte) error {
	f, err := zw.CreateHeader(header(name, modified))
	if err != nil {
		return fmt.Errorf("archive entry %s: %w", name, err)
	}
	if _, err := f.Write(body); err != nil {
		return fmt.Errorf("archive entry %s: %w", name, err)
	}
	return nil
}
