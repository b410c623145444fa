package recording

import (
	"fmt"
	"time"
)

// ExportStatus is where an export of a user's recordings stands.
type ExportStatus string

const (
	// ExportRunning: the worker is (or will be, after a retry) writing the
	// archive; nothing is published under the archive's key yet.
	ExportRunning ExportStatus = "running"
	// ExportReady: the archive is complete and can be downloaded until
	// ExpiresAt.
	ExportReady ExportStatus = "ready"
	// ExportFailed: no archive was published; FailureReason says why.
	ExportFailed ExportStatus = "failed"
)

// Export is one archive of a user's recordings.
type Export struct {
	UserID string       `json:"-"`
	ID     string       `json:"id"`
	Status ExportStatus `json:"status"`
	// Statuses are the recording statuses the archive takes, and
	// IncludeTranscripts whether each recording's transcript goes beside it.
	Statuses           []Status   `json:"statuses"`
	IncludeTranscripts bool       `json:"include_transcripts"`
	RecordingsDone     int        `json:"recordings_done"`
	RecordingsTotal    int        `json:"recordings_total"`
	SizeBytes          int64      `json:"size_bytes,omitempty"`
	FailureReason      string     `json:"failure_reason,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	FinishedAt         *time.Time `json:"finished_at,omitempty"`
	// ExpiresAt is when the archive and this record are deleted.
	ExpiresAt time.Time `json:"expires_at"`
	// Attempts counts the worker's starts; a retry after a killed worker
	// starts the archive again from nothing.
	Attempts int    `json:"-"`
	Key      string `json:"-"`
}

// ExportPrefix is where archives live in the bucket: outside KeyPrefix, so
// nothing that converges recordings ever reads them, and under their own
// lifecycle rule.
const ExportPrefix = "exports/"

// ExportKey is the object key of an export's archive.
func ExportKey(userID, exportID string) string {
	return ExportPrefix + userID + "/" + exportID + ".zip"
}

// ExportFileName is the name an archive downloads under: the day it was
// asked for, in UTC.
func ExportFileName(created time.Time) string {
	return fmt.Sprintf("recordings-%s.zip", created.UTC().Format("2006-01-02"))
}
