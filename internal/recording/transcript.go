package recording

import (
	"fmt"
	"strconv"
	"strings"
)

// TranscriptStatus is where a recording's transcript is.
type TranscriptStatus string

const (
	// TranscriptPending: a job was started and has not finished.
	TranscriptPending TranscriptStatus = "pending"
	// TranscriptCompleted: the segments are stored.
	TranscriptCompleted TranscriptStatus = "completed"
	// TranscriptFailed: the engine gave up; TranscriptReason says why.
	TranscriptFailed TranscriptStatus = "failed"
	// TranscriptSkipped: no job was started (the user switched
	// transcription off, or the month's allowance is spent).
	TranscriptSkipped TranscriptStatus = "skipped"
	// TranscriptUnsupported: the engine of this deployment does not
	// transcribe the recording's language.
	TranscriptUnsupported TranscriptStatus = "unsupported"
)

// Final reports whether nothing more happens to the transcript unless
// the user asks again.
func (s TranscriptStatus) Final() bool { return s != "" && s != TranscriptPending }

// Languages a create may ask for. LanguageAuto lets the engine identify
// the language among the ones the deployment supports.
const (
	LanguageAuto    = "auto"
	LanguageEnglish = "en-US"
	LanguageKorean  = "ko-KR"
)

// NormalizeLanguage reads a create's language: empty is auto, case is
// forgiven ("EN-us"), anything else than the known ones is refused.
func NormalizeLanguage(s string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", LanguageAuto:
		return LanguageAuto, true
	case "en-us":
		return LanguageEnglish, true
	case "ko-kr":
		return LanguageKorean, true
	}
	return "", false
}

// Why a transcript was skipped, failed or is unsupported: stable codes an
// app can switch on, beside a sentence (TranscriptDetail).
const (
	TranscriptReasonOff        = "transcription_off"
	TranscriptReasonAllowance  = "monthly_allowance_used"
	TranscriptReasonLanguage   = "language_unsupported"
	TranscriptReasonEngine     = "engine_failed"
	TranscriptReasonNoDuration = "duration_unknown"
	TranscriptReasonTooLong    = "too_long"
)

// Segment is one stretch of speech: where it is in the audio and what
// was said, and by whom when the engine tells speakers apart.
type Segment struct {
	StartMS int64  `json:"start_ms"`
	EndMS   int64  `json:"end_ms"`
	Text    string `json:"text"`
	Speaker string `json:"speaker,omitempty"`
}

// Transcript is what GET /v1/recordings/{id}/transcript answers.
type Transcript struct {
	RecordingID string           `json:"recording_id"`
	Status      TranscriptStatus `json:"status,omitempty"`
	// Language is the one transcribed (identified, for auto) once
	// completed, the one asked for before.
	Language string    `json:"language,omitempty"`
	Reason   string    `json:"reason,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	Text     string    `json:"text"`
	Segments []Segment `json:"segments"`
}

// JoinSegments is the transcript's text: the segments' in order, one
// space apart (Korean is written with spaces between words too).
func JoinSegments(segs []Segment) string {
	var b strings.Builder
	for i, s := range segs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s.Text)
	}
	return b.String()
}

// TranscriptPrefix is where the engine writes its output; its permissions
// let it write nothing else, and read nothing but KeyPrefix.
const TranscriptPrefix = "transcripts/"

// TranscriptKey is where the engine writes job's output.
func TranscriptKey(userID, recordingID, job string) string {
	return TranscriptPrefix + userID + "/" + recordingID + "/" + job + ".json"
}

// UserTranscriptPrefix holds every output of one user's jobs.
func UserTranscriptPrefix(userID string) string { return TranscriptPrefix + userID + "/" }

// JobName names the attempt-th transcription job of a recording. The
// completion event carries only the name, so the name carries the
// recording; attempts differ because an engine keeps a name per job.
func JobName(userID, recordingID string, attempt int) string {
	return fmt.Sprintf("%s-%s-%d", userID, recordingID, attempt)
}

// ParseJobName reads a job name JobName made; ok is false for any other.
func ParseJobName(name string) (userID, recordingID string, attempt int, ok bool) {
	parts := strings.Split(name, "-")
	if len(parts) != 3 || !ValidID(parts[0]) || !ValidID(parts[1]) {
		return "", "", 0, false
	}
	n, err := strconv.Atoi(parts[2])
	if err != nil || n < 1 {
		return "", "", 0, false
	}
	return parts[0], parts[1], n, true
}
